/**
 * The mirror keeps snapshot values packed (string values as binary strings, small collections as
 * their RDB blobs) until first use. Every fixture loaded packed reads the same as loaded decoded,
 * and writes to packed keys apply as to decoded ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryMirror } from '../../src/replication/index.js';
import { RdbParser, type RdbKeyEvent } from '../../src/rdb/index.js';
import { allFixtures, fixture } from '../rdb/helpers.js';

const POS = { replid: 'a'.repeat(40), offset: 1 };

function load(data: Buffer, encoded: boolean): MemoryMirror | undefined {
  const keys: RdbKeyEvent[] = [];
  try {
    const p = new RdbParser({ onEvent: (e) => void (e.kind === 'key' && keys.push(e)), encoded, partItems: 3 });
    p.write(data);
    p.end();
  } catch {
    return undefined; // negative fixtures: the parser's tests cover them
  }
  const m = new MemoryMirror({ sweepIntervalMs: 0, now: () => 0 });
  m.beginFullSync({ replid: POS.replid, offset: 1, transfer: 'disk', bytes: data.length });
  m.applyKeys(keys);
  m.endFullSync(POS);
  return m;
}

function read(m: MemoryMirror): unknown[] {
  const out: unknown[] = [];
  for (let db = 0; db < 16; db++) {
    for (const k of m.keys('*', db).sort(Buffer.compare)) {
      const type = m.type(k, db);
      const value =
        type === 'string' ? m.get(k, db)
          : type === 'list' ? m.lrange(k, 0, -1, db)
            : type === 'set' ? m.smembers(k, db).sort(Buffer.compare)
              : type === 'hash' ? m.hgetall(k, db).sort((a, b) => Buffer.compare(a[0], b[0]))
                : type === 'zset' ? m.zrange(k, 0, -1, db)
                  : m.xrange(k, '-', '+', db);
      out.push([db, k, type, m.pttl(k, db), value]);
    }
  }
  return out;
}

test('every fixture reads the same loaded packed as loaded decoded', () => {
  let compared = 0;
  for (const name of allFixtures()) {
    const data = fixture(name);
    const plain = load(data, false);
    if (!plain) continue;
    const packed = load(data, true)!;
    assert.deepEqual(read(packed), read(plain), name);
    compared++;
  }
  assert.ok(compared > 60, `compared ${compared} fixtures`);
});

test('writes to packed keys: collections decode once and take the command; RENAME and COPY keep values', () => {
  const m = load(fixture('generated-redis-7.0.15/gen_types_v10.rdb'), true)!;
  const plain = load(fixture('generated-redis-7.0.15/gen_types_v10.rdb'), false)!;
  const b = (s: string) => Buffer.from(s);
  const commands: [string, string[]][] = [];
  for (const k of plain.keys('*')) {
    const key = k.toString('latin1');
    const type = plain.type(k);
    if (type === 'hash') commands.push(['HSET', [key, 'added', 'v']]);
    else if (type === 'list') commands.push(['RPUSH', [key, 'tail']]);
    else if (type === 'set') commands.push(['SADD', [key, 'm-added']]);
    else if (type === 'zset') commands.push(['ZADD', [key, '1.5', 'z-added']]);
    else if (type === 'string') commands.push(['APPEND', [key, '!']]);
  }
  const keys = plain.keys('*').map((k) => k.toString('latin1'));
  commands.push(['RENAME', [keys[0]!, 'renamed']], ['COPY', [keys[1]!, 'copied']]);
  let offset = 1;
  for (const target of [m, plain]) {
    offset = 1;
    const u = target.applyCommands(commands.map(([name, args]) => ({ db: 0, name, args: args.map(b), offset: ++offset })), { ...POS, offset });
    assert.equal(u, undefined);
  }
  assert.ok(commands.length > 10);
  assert.deepEqual(read(m), read(plain));
});
