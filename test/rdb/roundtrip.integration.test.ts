/**
 * Round trip against a real redis-server: fill it with every type in every encoding it can produce
 * (small and big collections across the listpack/intset limits, plain and compressed quicklist
 * nodes, int-encoded and LZF strings, values over 64 KB and 16 MB), with expiries, several dbs, a
 * function library and a stream with groups, PELs and consumers; SAVE with compression and checksum
 * on, then compression off (and with LFU on, so every key gets a FREQ); parse each file whole and as a stream of
 * 64 KB chunks, and compare with what was written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RedisServer } from '../support/redis-server.js';
import { parseRdb, type RdbEvent, type RdbKeyEvent } from '../../src/rdb/index.js';
import { keys, logical, logicalDataset, parseBuffer } from './helpers.js';
import { respCommand } from '../../src/cli/commands/rdb-format.js';

type Arg = string | number | Buffer;
const resp = respCommand;

/** What was written, in the shape helpers.logical() gives a parsed key. */
interface Model { db: number; key: string; type: string; expiresAt?: number; value: unknown; rdbType?: number }

function build(now: number): { commands: Buffer[]; model: Model[] } {
  const commands: Buffer[] = [];
  const model: Model[] = [];
  let db = 0;
  const cmd = (...args: Arg[]) => commands.push(resp(args));
  const select = (n: number) => {
    db = n;
    cmd('SELECT', n);
  };
  const b = (s: string | Buffer) => (Buffer.isBuffer(s) ? s : Buffer.from(s));
  const add = (key: string, type: string, value: unknown, rdbType?: number, expiresAt?: number) => {
    model.push({ db, key, type, value, rdbType, expiresAt });
    if (expiresAt !== undefined) cmd('PEXPIREAT', key, expiresAt);
  };
  const range = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i));

  select(0);
  // strings: int encodings (INT8, INT16, INT32), a big integer kept as text, binary, LZF-friendly, > 64 KB, > 16 MB
  for (const [k, v] of [['s:i8', '-100'], ['s:i16', '30000'], ['s:i32', '-2000000000'], ['s:i64', '9223372036854775807'], ['s:neg0', '-0'], ['s:empty', '']]) {
    cmd('SET', k!, v!);
    add(k!, 'string', b(v!), 0);
  }
  const bin = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x0d, 0x0a]);
  cmd('SET', 's:bin', bin);
  add('s:bin', 'string', bin, 0);
  const lzf = Buffer.from('abcdefgh'.repeat(500));
  cmd('SET', 's:lzf', lzf);
  add('s:lzf', 'string', lzf, 0, now + 3_600_000);
  const big = randomBytes(100 * 1024);
  cmd('SET', 's:100k', big);
  add('s:100k', 'string', big, 0);
  const huge = Buffer.concat([randomBytes(16 * 1024 * 1024), Buffer.from('x'.repeat(1024 * 1024))]);
  cmd('SET', 's:17m', huge);
  add('s:17m', 'string', huge, 0);

  // lists: one listpack node; many compressed nodes (list-compress-depth 1); a plain node (DEBUG threshold)
  const small = ['a', 'b', '1', '-2', '300000', 'x'.repeat(40)];
  cmd('RPUSH', 'l:small', ...small);
  add('l:small', 'list', small.map(b), 18);
  const long = range(5000, (i) => `item-${i}-${'z'.repeat(i % 50)}`);
  for (let i = 0; i < long.length; i += 500) cmd('RPUSH', 'l:long', ...long.slice(i, i + 500));
  add('l:long', 'list', long.map(b), 18, now + 7_200_000);
  const plain = ['head', 'P'.repeat(5000), 'tail'];
  cmd('RPUSH', 'l:plain', ...plain);
  add('l:plain', 'list', plain.map(b), 18);

  // sets: intsets of 16-, 32- and 64-bit members; a hashtable of strings; a big int set past set-max-intset-entries
  for (const [k, members] of [['set:i16', ['1', '-32768', '32767']], ['set:i32', ['1', '-2147483648', '70000']], ['set:i64', ['1', '-9223372036854775808', '9223372036854775807']]] as const) {
    cmd('SADD', k, ...members);
    add(k, 'set', members.map(b), 11);
  }
  const strset = ['red', 'green', 'blue'];
  cmd('SADD', 'set:str', ...strset);
  add('set:str', 'set', strset.map(b), 2);
  const intBig = range(600, (i) => String(i * 7));
  cmd('SADD', 'set:bigint', ...intBig);
  add('set:bigint', 'set', intBig.map(b), 2);

  // sorted sets: listpack with integer, fractional and infinite scores; skiplist past the limit
  const zsmall: [string, number][] = [['one', 1], ['half', 0.5], ['neg', -3], ['ninf', -Infinity], ['pinf', Infinity], ['frac', 3.14159], ['big', 1e300]];
  cmd('ZADD', 'z:small', ...zsmall.flatMap(([m, s]) => [Number.isFinite(s) ? s : s > 0 ? '+inf' : '-inf', m]));
  add('z:small', 'zset', zsmall.map(([m, s]) => [b(m), s]), 17);
  const zbig: [string, number][] = range(300, (i) => `m${i}`).map((m, i) => [m, i * 1.25 - 100]);
  cmd('ZADD', 'z:big', ...zbig.flatMap(([m, s]) => [s, m]));
  add('z:big', 'zset', zbig.map(([m, s]) => [b(m), s]), 5, now + 10_800_000);

  // hashes: listpack; hashtable past hash-max-listpack-entries; a field value past hash-max-listpack-value
  const hsmall: [string, string][] = [['f1', 'v1'], ['n', '42'], ['empty', '']];
  cmd('HSET', 'h:small', ...hsmall.flat());
  add('h:small', 'hash', hsmall.map(([f, v]) => [b(f), b(v)]), 16);
  const hbig: [string, string][] = range(700, (i) => `field${i}`).map((f, i) => [f, `value${i}`]);
  cmd('HSET', 'h:big', ...hbig.flat());
  add('h:big', 'hash', hbig.map(([f, v]) => [b(f), b(v)]), 4);
  const hlong: [string, string][] = [['k', 'L'.repeat(100)]];
  cmd('HSET', 'h:longvalue', ...hlong.flat());
  add('h:longvalue', 'hash', hlong.map(([f, v]) => [b(f), b(v)]), 4);

  // other dbs
  select(3);
  cmd('SET', 'db3:key', 'three');
  add('db3:key', 'string', b('three'), 0, now + 60_000);
  select(15);
  cmd('RPUSH', 'db15:list', 'x', 'y');
  add('db15:list', 'list', [b('x'), b('y')], 18);
  select(0);
  return { commands, model };
}

/** The stream is written with redis-cli (its reads need replies) and modelled by hand. */
function fillStream(server: RedisServer): Model {
  for (let i = 1; i <= 6; i++) server.cli('XADD', 'st', `1700000000000-${i}`, 'n', String(i), 'sq', String(i * i));
  server.cli('XADD', 'st', '1700000000001-0', 'other', 'fields');
  server.cli('XDEL', 'st', '1700000000000-3');
  server.cli('XGROUP', 'CREATE', 'st', 'g1', '0');
  server.cli('XREADGROUP', 'GROUP', 'g1', 'alice', 'COUNT', '2', 'STREAMS', 'st', '>');
  server.cli('XREADGROUP', 'GROUP', 'g1', 'bob', 'COUNT', '1', 'STREAMS', 'st', '>');
  server.cli('XGROUP', 'CREATE', 'st', 'g2', '$');
  const live = [1, 2, 4, 5, 6].map((i) => [`1700000000000-${i}`, [['n', String(i)], ['sq', String(i * i)]]] as const);
  const hex = (s: string) => Buffer.from(s).toString('hex');
  return {
    db: 0, key: 'st', type: 'stream', rdbType: 19,
    value: {
      entries: [...live, ['1700000000001-0', [['other', 'fields']]] as const].map(([id, fields]) => [id, fields.map(([f, v]) => [hex(f), hex(v)])]),
      length: 6, lastId: '1700000000001-0',
      groups: [
        { name: hex('g1'), lastId: '1700000000000-4', pending: [['1700000000000-1', 1], ['1700000000000-2', 1], ['1700000000000-4', 1]],
          consumers: [[hex('alice'), ['1700000000000-1', '1700000000000-2']], [hex('bob'), ['1700000000000-4']]] },
        { name: hex('g2'), lastId: '1700000000001-0', pending: [], consumers: [] },
      ],
    },
  };
}

const LIBRARY = "#!lua name=rtlib\nredis.register_function('rtf', function(keys, args) return 1 end)";

/** The model in helpers.logical()'s shape, sorted like logicalDataset(). */
function expected(model: Model[]): unknown[] {
  const fake = model.map((m) => (m.type === 'stream' ? { ...m } : { kind: 'key', db: m.db, key: Buffer.from(m.key), type: m.type, expiresAt: m.expiresAt, value: m.value }));
  return fake.map((f) => ('kind' in f ? logical(f as unknown as RdbKeyEvent) : { db: f.db, key: f.key, type: f.type, expiresAt: f.expiresAt, value: f.value }))
    .sort((a, b) => {
      const x = a as { db: number; key: string };
      const y = b as { db: number; key: string };
      return x.db - y.db || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0);
    });
}

async function streamed(path: string): Promise<RdbEvent[]> {
  const out: RdbEvent[] = [];
  for await (const ev of parseRdb(createReadStream(path, { highWaterMark: 64 * 1024 }))) out.push(ev);
  return out;
}

test('round trip: every type and encoding redis-server 7.0 writes, compressed and not', { timeout: 120_000 }, async () => {
  const server = await RedisServer.start({ config: { 'list-compress-depth': 1, 'list-max-listpack-size': 64 } });
  try {
    const now = Date.now();
    server.cli('DEBUG', 'QUICKLIST-PACKED-THRESHOLD', '1000');
    const { commands, model } = build(now);
    const pipe = spawnSync('redis-cli', ['-p', String(server.port), '--pipe'], { input: Buffer.concat(commands), maxBuffer: 1 << 20 });
    assert.match(pipe.stdout.toString(), /errors: 0, replies: \d+/, pipe.stderr.toString());
    model.push(fillStream(server));
    server.cli('FUNCTION', 'LOAD', LIBRARY);
    const want = expected(model);
    const rdbTypes = Object.fromEntries(model.map((m) => [`${m.db}/${m.key}`, m.rdbType]));

    const sizes: number[] = [];
    for (const variant of ['compressed', 'plain'] as const) {
      if (variant === 'plain') {
        server.cli('CONFIG', 'SET', 'rdbcompression', 'no');
        server.cli('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lfu');
      }
      server.cli('SAVE');
      const path = join(server.dir, 'dump.rdb');
      const file = readFileSync(path);
      const whole = parseBuffer(file);
      assert.equal(whole.error, undefined, whole.error?.message);
      assert.deepEqual(logicalDataset(whole.events), want, `${variant}: contents differ`);
      for (const k of keys(whole.events)) assert.equal(k.rdbType, rdbTypes[`${k.db}/${k.key.toString()}`], `${variant}: encoding of ${k.key}`);
      const end = whole.events.at(-1)!;
      assert.ok(end.kind === 'end' && end.bytes === file.length);
      assert.equal(end.kind === 'end' && end.checksumStatus, 'ok');
      sizes.push(file.length);
      const fn = whole.events.find((e) => e.kind === 'function');
      assert.ok(fn?.kind === 'function' && fn.code.toString() === LIBRARY && fn.name === 'rtlib');
      assert.deepEqual(whole.events.filter((e) => e.kind === 'db').map((e) => e.kind === 'db' && e.db), [0, 3, 15]);
      if (variant === 'plain') assert.ok(keys(whole.events).every((k) => k.freq !== undefined), 'LFU policy: every key has a FREQ');
      // The same file as a stream of 64 KB chunks: the 17 MB value spans ~270 of them.
      assert.deepEqual(logicalDataset(await streamed(path)), want, `${variant}: streamed contents differ`);
      // Values not decoded: the same keys and sizes.
      const bare = keys(parseBuffer(file, { values: false }).events);
      assert.deepEqual(bare.map((k) => [k.db, k.key.toString(), k.bytes]), keys(whole.events).map((k) => [k.db, k.key.toString(), k.bytes]));
    }
    assert.ok(sizes[1]! > sizes[0]!, 'rdbcompression no writes the LZF-compressible values raw');
  } finally {
    await server.stop();
  }
});
