/**
 * A seeded write workload of every data type for replication tests (with expiries, scripts,
 * MULTI/EXEC, several databases, SWAPDB, RESTORE), and a key-by-key comparison of a MemoryMirror with
 * the master, read through the client.
 *
 * Keys are named by type (s: strings, n: integers, f: floats, b: bit strings, l: lists, S: sets, h:
 * hashes, z: sorted sets, zl: sorted sets for lex ranges (all scores 0), g: geo, x: streams, p: HyperLogLogs) so that most commands hit keys of the right type; the
 * ones that don't fail on the master with WRONGTYPE and are simply not propagated, which is realistic
 * too. SORT ... STORE, HyperLogLogs and geo searches that store only on request (targets that must
 * know every key a command touches up front can't plan SORT's patterns, nor, so far, geo stores).
 */
import assert from 'node:assert/strict';
import { createClient, type Client, type Command } from '../../src/client/index.js';
import type { MemoryMirror } from '../../src/replication/index.js';
import { seededRandom } from '../support/wire.js';

export const DBS = [0, 1, 2, 3];

export interface WorkloadOptions {
  seed: number;
  /** Commands to run (scripts and transactions count as one). */
  ops: number;
  /** Allow TTLs of 200..1500 ms (keys that expire, so DELs travel the stream); off for the last phase. */
  shortTtls?: boolean;
  /** Commands pipelined per round trip. */
  batch?: number;
  /**
   * Also SORT ... STORE with BY/GET patterns (keys named by patterns: a target that must know every key
   * a command touches before applying it cannot handle these; the memory mirror can).
   */
  sortStore?: boolean;
  /** Also HyperLogLogs (PFADD, PFMERGE, PFCOUNT), compared byte for byte as strings. */
  hll?: boolean;
  /**
   * Also GEOSEARCHSTORE and GEORADIUS / GEORADIUSBYMEMBER ... STORE | STOREDIST. STOREDIST stores into
   * gd: keys, whose scores (distances) compareWithMaster allows to differ slightly (DISTANCE_TOLERANCE).
   */
  geoStore?: boolean;
}

/**
 * How far a stored distance may be from the master's, relatively. Redis computes it with the C
 * library's sin/cos/asin, whose last bits depend on the machine (see apply-geo.ts), and asin
 * magnifies a last bit of its argument by 1/cos(distance / 2R): 6 ulps at 19 000 km, thousands
 * within metres of the antipode.
 */
export const DISTANCE_TOLERANCE = 1e-8;

type Gen = (r: () => number) => Command;

const N = 10;

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function int(r: () => number, n: number): number {
  return Math.floor(r() * n);
}

function key(r: () => number, t: string): string {
  return `${t}:${int(r, N)}`;
}

function value(r: () => number): string | Buffer {
  const kind = r();
  if (kind < 0.15) return Buffer.from(Array.from({ length: 1 + int(r, 20) }, () => int(r, 256)));
  if (kind < 0.25) return String(int(r, 100000) - 50000);
  if (kind < 0.3) return 'v'.repeat(500 + int(r, 3000));
  return `v${int(r, 1000)}`;
}

function member(r: () => number): string {
  return pick(r, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'm1', 'm2', '10', '-3', 'ü', '']);
}

function score(r: () => number): string {
  return pick(r, ['1', '2.5', '-3', '0', 'inf', '-inf', String(int(r, 100)), (r() * 10).toFixed(3)]);
}

function gens(shortTtls: boolean, sortStore: boolean, hll: boolean, geoStore: boolean): Gen[] {
  const ttlShort = (r: () => number) => String(200 + int(r, 1300));
  const g: Gen[] = [
    // strings
    (r) => ['SET', key(r, 's'), value(r)],
    (r) => ['SET', key(r, 's'), value(r), 'EX', String(100 + int(r, 900))],
    (r) => ['SET', key(r, 's'), value(r), 'KEEPTTL'],
    (r) => ['SET', key(r, 's'), value(r), pick(r, ['NX', 'XX']), 'GET'],
    (r) => ['SETEX', key(r, 's'), String(50 + int(r, 500)), value(r)],
    (r) => ['PSETEX', key(r, 's'), String(60000 + int(r, 500)), value(r)],
    (r) => ['GETSET', key(r, 's'), value(r)],
    (r) => ['GETDEL', key(r, 's')],
    (r) => ['GETEX', key(r, 's'), 'EX', String(300 + int(r, 300))],
    (r) => ['GETEX', key(r, 's'), 'PERSIST'],
    (r) => ['APPEND', key(r, 's'), value(r)],
    (r) => ['SETRANGE', key(r, 's'), String(int(r, 30)), value(r)],
    (r) => ['MSET', key(r, 's'), value(r), key(r, 's'), value(r)],
    (r) => ['INCR', key(r, 'n')],
    (r) => ['INCRBY', key(r, 'n'), String(int(r, 2000) - 1000)],
    (r) => ['DECRBY', key(r, 'n'), String(int(r, 100))],
    (r) => ['INCRBYFLOAT', key(r, 'f'), pick(r, ['1.5', '-0.1', '3e2', '0.0001'])],
    (r) => ['SETBIT', key(r, 'b'), String(int(r, 300)), String(int(r, 2))],
    (r) => ['BITFIELD', key(r, 'b'), 'INCRBY', pick(r, ['i8', 'u4', 'i16']), `#${int(r, 8)}`, String(int(r, 300) - 150)],
    (r) => ['BITFIELD', key(r, 'b'), 'OVERFLOW', pick(r, ['SAT', 'WRAP']), 'SET', 'u8', String(int(r, 64)), String(int(r, 400))],
    (r) => ['BITOP', pick(r, ['AND', 'OR', 'XOR']), key(r, 'b'), key(r, 'b'), key(r, 'b')],
    (r) => ['BITOP', 'NOT', key(r, 'b'), key(r, 'b')],
    // keys
    (r) => ['DEL', key(r, pick(r, ['s', 'l', 'S', 'h', 'z', 'x']))],
    (r) => ['UNLINK', key(r, pick(r, ['s', 'n']))],
    (r) => ['EXPIRE', key(r, pick(r, ['s', 'l', 'S', 'h', 'z'])), String(100 + int(r, 900))],
    (r) => ['PEXPIREAT', key(r, pick(r, ['l', 'h'])), String(Date.now() + 200000 + int(r, 5000))],
    (r) => ['PERSIST', key(r, pick(r, ['s', 'l', 'S', 'h', 'z']))],
    (r) => {
      const t = pick(r, ['s', 'l', 'S', 'h', 'z']);
      return [pick(r, ['RENAME', 'RENAMENX']), key(r, t), key(r, t)];
    },
    (r) => ['MOVE', key(r, pick(r, ['s', 'h'])), String(pick(r, DBS))],
    (r) => {
      const t = pick(r, ['s', 'l', 'S', 'h', 'z', 'x']);
      return r() < 0.5 ? ['COPY', key(r, t), key(r, t), 'REPLACE'] : ['COPY', key(r, t), key(r, t), 'DB', String(pick(r, DBS)), 'REPLACE'];
    },
    // lists
    (r) => [pick(r, ['LPUSH', 'RPUSH']), key(r, 'l'), member(r), member(r), value(r)],
    (r) => [pick(r, ['LPUSHX', 'RPUSHX']), key(r, 'l'), member(r)],
    (r) => [pick(r, ['LPOP', 'RPOP']), key(r, 'l'), String(1 + int(r, 3))],
    (r) => ['LINSERT', key(r, 'l'), pick(r, ['BEFORE', 'AFTER']), member(r), member(r)],
    (r) => ['LSET', key(r, 'l'), String(int(r, 3) - 1), member(r)],
    (r) => ['LREM', key(r, 'l'), String(int(r, 5) - 2), member(r)],
    (r) => ['LTRIM', key(r, 'l'), String(int(r, 3)), String(int(r, 30) - 5)],
    (r) => ['LMOVE', key(r, 'l'), key(r, 'l'), pick(r, ['LEFT', 'RIGHT']), pick(r, ['LEFT', 'RIGHT'])],
    (r) => ['RPOPLPUSH', key(r, 'l'), key(r, 'l')],
    // sets
    (r) => ['SADD', key(r, 'S'), member(r), member(r), member(r)],
    (r) => ['SADD', key(r, 'S'), String(int(r, 50)), String(int(r, 50))],
    (r) => ['SREM', key(r, 'S'), member(r), member(r)],
    (r) => ['SPOP', key(r, 'S'), String(1 + int(r, 2))],
    (r) => ['SMOVE', key(r, 'S'), key(r, 'S'), member(r)],
    (r) => [pick(r, ['SINTERSTORE', 'SUNIONSTORE', 'SDIFFSTORE']), key(r, 'S'), key(r, 'S'), key(r, 'S')],
    // hashes
    (r) => ['HSET', key(r, 'h'), member(r), value(r), member(r), value(r)],
    (r) => ['HSETNX', key(r, 'h'), member(r), value(r)],
    (r) => ['HDEL', key(r, 'h'), member(r)],
    (r) => ['HINCRBY', key(r, 'h'), `n${int(r, 3)}`, String(int(r, 100) - 50)],
    (r) => ['HINCRBYFLOAT', key(r, 'h'), `f${int(r, 3)}`, pick(r, ['0.25', '-1.5', '1e3'])],
    // sorted sets
    (r) => ['ZADD', key(r, 'z'), score(r), member(r), score(r), member(r)],
    (r) => ['ZADD', key(r, 'z'), pick(r, ['GT', 'LT', 'NX', 'XX']), 'CH', score(r), member(r)],
    (r) => ['ZADD', key(r, 'z'), 'INCR', String(int(r, 10)), member(r)],
    (r) => ['ZINCRBY', key(r, 'z'), pick(r, ['1', '-2.5', '0.1']), member(r)],
    (r) => ['ZREM', key(r, 'z'), member(r)],
    (r) => [pick(r, ['ZPOPMIN', 'ZPOPMAX']), key(r, 'z'), String(1 + int(r, 2))],
    (r) => ['ZREMRANGEBYSCORE', key(r, 'z'), pick(r, ['-inf', '(1', '2']), pick(r, ['(5', '10', '+inf'])],
    (r) => ['ZREMRANGEBYRANK', key(r, 'z'), '0', String(int(r, 2))],
    // Lex ranges only on sets whose scores are all equal (zl:): with mixed scores Redis's result depends
    // on the set's encoding and its skiplist's random levels, which no replica can reproduce.
    (r) => ['ZADD', key(r, 'zl'), '0', member(r), '0', member(r), '0', member(r)],
    (r) => ['ZREMRANGEBYLEX', key(r, 'zl'), pick(r, ['[a', '(b', '-']), pick(r, ['[c', '(e', '+'])],
    (r) => ['ZRANGESTORE', key(r, 'zl'), key(r, 'zl'), pick(r, ['[a', '(b', '-']), pick(r, ['[m', '+']), 'BYLEX', 'LIMIT', '0', String(1 + int(r, 4))],
    (r) => [pick(r, ['ZUNIONSTORE', 'ZINTERSTORE']), key(r, 'z'), '2', key(r, 'z'), key(r, 'z'), 'WEIGHTS', pick(r, ['1', '2', '0.5']), '3', 'AGGREGATE', pick(r, ['SUM', 'MIN', 'MAX'])],
    (r) => ['ZUNIONSTORE', key(r, 'z'), '2', key(r, 'z'), key(r, 'S')],
    (r) => ['ZDIFFSTORE', key(r, 'z'), '2', key(r, 'z'), key(r, 'z')],
    (r) => pick<Command>(r, [
      ['ZRANGESTORE', key(r, 'z'), key(r, 'z'), '0', String(int(r, 6))],
      ['ZRANGESTORE', key(r, 'z'), key(r, 'z'), '+inf', '(1', 'BYSCORE', 'REV', 'LIMIT', '0', '3'],
    ]),
    (r) => ['GEOADD', key(r, 'g'), (r() * 300 - 150).toFixed(5), (r() * 160 - 80).toFixed(5), member(r)],
    // streams
    (r) => ['XADD', key(r, 'x'), '*', 'f', value(r), 'g', member(r)],
    (r) => ['XADD', key(r, 'x'), 'MAXLEN', '~', '20', '*', 'f', member(r)],
    (r) => ['XADD', key(r, 'x'), 'MAXLEN', '=', '15', '*', 'k', member(r)],
    (r) => ['XTRIM', key(r, 'x'), 'MAXLEN', String(5 + int(r, 20))],
    (r) => ['XGROUP', 'CREATE', key(r, 'x'), 'grp', '0', 'MKSTREAM'],
    (r) => ['XREADGROUP', 'GROUP', 'grp', `c${int(r, 2)}`, 'COUNT', '2', 'STREAMS', key(r, 'x'), '>'],
    (r) => ['XAUTOCLAIM', key(r, 'x'), 'grp', `c${int(r, 2)}`, '0', '0-0', 'COUNT', '1'],
    // scripts: effects replicated, in MULTI/EXEC when there is more than one, SELECT inside
    (r) => ['EVAL', "redis.call('SET', KEYS[1], ARGV[1]); redis.call('INCR', KEYS[2]); return 1", '2', key(r, 's'), key(r, 'n'), member(r)],
    (r) => ['EVAL', "redis.call('SELECT', ARGV[2]); redis.call('SADD', KEYS[1], ARGV[1]); redis.call('SPOP', KEYS[1]); return 1", '1', key(r, 'S'), member(r), String(pick(r, DBS))],
  ];
  if (sortStore) {
    g.push(
      (r) => ['SORT', key(r, 'l'), 'ALPHA', 'LIMIT', '0', String(1 + int(r, 5)), 'STORE', key(r, 'l')],
      (r) => ['SORT', key(r, 'S'), 'ALPHA', 'DESC', 'STORE', key(r, 'l')],
      (r) => ['SORT', key(r, 'z'), 'BY', 'nosort', pick(r, ['ASC', 'DESC']), 'LIMIT', '1', '3', 'STORE', key(r, 'l')],
      (r) => ['SORT', key(r, 'S'), 'BY', 'n:*', 'GET', '#', 'GET', 's:*', 'STORE', key(r, 'l')],
      (r) => ['SORT', key(r, 'l'), 'BY', 'h:*->n0', 'DESC', 'STORE', key(r, 'l')],
    );
  }
  if (hll) {
    g.push(
      (r) => ['PFADD', key(r, 'p'), ...Array.from({ length: 1 + int(r, r() < 0.1 ? 400 : 6) }, () => `e${int(r, 100000)}`)],
      (r) => ['PFCOUNT', key(r, 'p')],
      (r) => ['PFMERGE', key(r, 'p'), key(r, 'p'), key(r, 'p')],
    );
  }
  if (geoStore) {
    // Results go to gs: (geohash scores, searched in turn) and gd: (distances); g: sets only grow.
    const lonLat = (r: () => number) => [(r() * 300 - 150).toFixed(4), (r() * 160 - 80).toFixed(4)];
    const order = (r: () => number) => pick<string[]>(r, [[], ['ASC'], ['DESC', 'COUNT', String(1 + int(r, 5))], ['COUNT', String(1 + int(r, 3)), 'ANY']]);
    const geoSrc = (r: () => number) => key(r, r() < 0.8 ? 'g' : 'gs');
    g.push(
      (r) => ['GEOADD', key(r, 'g'), ...lonLat(r), member(r), ...lonLat(r), member(r), ...lonLat(r), member(r)],
      (r) => ['GEOSEARCHSTORE', key(r, 'gs'), geoSrc(r), 'FROMLONLAT', ...lonLat(r), 'BYRADIUS', String(int(r, 9000)), 'km', ...order(r)],
      (r) => ['GEOSEARCHSTORE', key(r, 'gd'), geoSrc(r), 'FROMMEMBER', member(r), 'BYBOX', String(int(r, 12000)), String(int(r, 9000)), 'mi', ...order(r), 'STOREDIST'],
      (r) => ['GEORADIUS', geoSrc(r), ...lonLat(r), String(int(r, 9000)), 'km', ...order(r), 'STORE', key(r, 'gs')],
      (r) => ['GEORADIUSBYMEMBER', geoSrc(r), member(r), String(int(r, 9000000)), 'm', ...order(r), 'STOREDIST', key(r, 'gd')],
    );
  }
  if (shortTtls) {
    g.push(
      (r) => ['SET', key(r, 's'), value(r), 'PX', ttlShort(r)],
      (r) => ['PEXPIRE', key(r, pick(r, ['l', 'S', 'h', 'z'])), ttlShort(r)],
    );
  }
  return g;
}

/** Runs `ops` seeded commands across the databases (a few as MULTI/EXEC, SWAPDB, RESTORE). */
export async function runWorkload(port: number, o: WorkloadOptions, auth: { password?: string } = {}): Promise<void> {
  const r = seededRandom(o.seed);
  const g = gens(o.shortTtls ?? false, o.sortStore ?? false, o.hll ?? false, o.geoStore ?? false);
  const clients = DBS.map((db) => createClient({ port, db, password: auth.password, returnBuffers: true }));
  try {
    const batch = o.batch ?? 40;
    for (let done = 0; done < o.ops; ) {
      const perDb = new Map<number, Command[]>();
      const special: Promise<unknown>[] = [];
      for (let i = 0; i < batch && done < o.ops; i++, done++) {
        const db = pick(r, DBS);
        const client = clients[db]!;
        const x = r();
        if (x < 0.02) {
          const m = client.multi();
          for (let j = 0; j < 2 + int(r, 3); j++) m.cmd(pick(r, g)(r));
          special.push(m.exec().catch(() => {}));
        } else if (x < 0.024) {
          special.push(client.cmd(['SWAPDB', String(pick(r, DBS)), String(pick(r, DBS))]).catch(() => {}));
        } else if (x < 0.03) {
          special.push(restoreCopy(client, pick(r, ['l', 'S', 'h', 'z', 'x', 's']), r));
        } else {
          const list = perDb.get(db) ?? [];
          list.push(pick(r, g)(r));
          perDb.set(db, list);
        }
      }
      await Promise.all([...[...perDb].map(([db, cmds]) => clients[db]!.cmd(cmds)), ...special]);
    }
  } finally {
    await Promise.all(clients.map((c) => c.quit().catch(() => {})));
  }
}

/** DUMP one key and RESTORE it under another name (absolute TTL or none). */
async function restoreCopy(c: Client, t: string, r: () => number): Promise<void> {
  const src = key(r, t);
  const dst = key(r, t);
  const payload = await c.cmd<Buffer | null>(['DUMP', src]).catch(() => null);
  if (!payload) return;
  const args: Command = r() < 0.5 ? ['RESTORE', dst, '0', payload, 'REPLACE'] : ['RESTORE', dst, String(Date.now() + 500000), payload, 'REPLACE', 'ABSTTL'];
  await c.cmd(args).catch(() => {});
}

/** The master's replication offset. */
export async function masterOffset(c: Client): Promise<number> {
  const info = String(await c.cmd(['INFO', 'replication']));
  return Number(/master_repl_offset:(\d+)/.exec(info)![1]);
}

/** Waits until the mirror has applied everything the master has written so far. */
export async function waitCaughtUp(port: number, mirror: MemoryMirror, timeoutMs = 20_000, password?: string): Promise<void> {
  const c = createClient({ port, password });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const want = await masterOffset(c);
      if ((mirror.position?.offset ?? -1) >= want && mirror.state === 'ready') return;
      if (Date.now() > deadline) throw new Error(`mirror at ${mirror.position?.offset} (${mirror.state}), master at ${want}`);
      await new Promise((res) => setTimeout(res, 20));
    }
  } finally {
    c.disconnect();
  }
}

function hex(b: Buffer | null | undefined): string | null {
  return b == null ? null : b.toString('hex');
}

/**
 * Stored distances (`member=score` pairs): the same members, each score within DISTANCE_TOLERANCE of
 * the master's. Returns how many scores are not equal to the last bit.
 */
export function assertSameDistances(mine: string[], theirs: string[], where: string): number {
  const split = (p: string): [string, number] => [p.slice(0, p.indexOf('=')), Number(p.slice(p.indexOf('=') + 1))];
  const m = new Map(mine.map(split));
  assert.deepEqual([...m.keys()].sort(), theirs.map((p) => split(p)[0]).sort(), `${where}: members`);
  let off = 0;
  for (const [member, score] of theirs.map(split)) {
    const d = m.get(member)!;
    if (d === score) continue;
    assert.ok(Math.abs(d - score) <= DISTANCE_TOLERANCE * Math.abs(score), `${where}: member ${member} at ${d}, the master's at ${score}`);
    off++;
  }
  return off;
}

/**
 * Compares every key of every database: type, value (GET / LRANGE / SMEMBERS / HGETALL / ZRANGE
 * WITHSCORES / XRANGE and the groups' last id and pending count) and PTTL (within a second); stored
 * distances (gd: keys) to within DISTANCE_TOLERANCE. Returns the number of keys compared.
 */
export async function compareWithMaster(port: number, mirror: MemoryMirror, password?: string): Promise<number> {
  let compared = 0;
  for (const db of DBS) {
    const c = createClient({ port, db, password, returnBuffers: true });
    try {
      const keys: Buffer[] = [];
      for await (const k of c.scanIterator({ count: 1000 })) keys.push(k as Buffer);
      const names = keys.map((k) => k.toString('latin1')).sort();
      const mirrorNames = mirror.keys('*', db).map((k) => k.toString('latin1')).sort();
      assert.deepEqual(mirrorNames, names, `db ${db}: key sets differ`);
      for (const k of keys) {
        const where = `db ${db} key ${JSON.stringify(k.toString('latin1'))}`;
        const type = String(await c.cmd(['TYPE', k]));
        assert.equal(mirror.type(k, db), type, `${where}: type`);
        const pttl = Number(await c.cmd(['PTTL', k]));
        const mine = mirror.pttl(k, db);
        if (pttl < 0 || mine < 0) assert.equal(mine, pttl, `${where}: pttl`);
        else assert.ok(Math.abs(mine - pttl) <= 1000, `${where}: pttl ${mine} vs ${pttl}`);
        switch (type) {
          case 'string':
            assert.equal(hex(mirror.get(k, db)), hex(await c.cmd<Buffer>(['GET', k])), `${where}: value`);
            break;
          case 'list':
            assert.deepEqual(mirror.lrange(k, 0, -1, db).map(hex), (await c.cmd<Buffer[]>(['LRANGE', k, '0', '-1'])).map(hex), `${where}: list`);
            break;
          case 'set':
            assert.deepEqual(mirror.smembers(k, db).map(hex).sort(), (await c.cmd<Buffer[]>(['SMEMBERS', k])).map(hex).sort(), `${where}: set`);
            break;
          case 'hash': {
            const flat = await c.cmd<Buffer[]>(['HGETALL', k]);
            const pairs: string[] = [];
            for (let i = 0; i < flat.length; i += 2) pairs.push(`${hex(flat[i])}=${hex(flat[i + 1])}`);
            assert.deepEqual(mirror.hgetall(k, db).map(([f, v]) => `${hex(f)}=${hex(v)}`).sort(), pairs.sort(), `${where}: hash`);
            break;
          }
          case 'zset': {
            const flat = await c.cmd<Buffer[]>(['ZRANGE', k, '0', '-1', 'WITHSCORES']);
            const pairs: string[] = [];
            for (let i = 0; i < flat.length; i += 2) pairs.push(`${hex(flat[i])}=${Number(flat[i + 1]!.toString().replace('inf', 'Infinity'))}`);
            const mine = mirror.zrange(k, 0, -1, db).map(([m, s]) => `${hex(m)}=${s}`);
            if (k.toString('latin1').startsWith('gd:')) assertSameDistances(mine, pairs, where);
            else assert.deepEqual(mine, pairs, `${where}: zset`);
            break;
          }
          case 'stream': {
            const entries = await c.cmd<[Buffer, Buffer[]][]>(['XRANGE', k, '-', '+']);
            assert.deepEqual(
              mirror.xrange(k, '-', '+', db).map(([id, f]) => [id, f.map(hex)]),
              entries.map(([id, f]) => [id.toString(), f.map(hex)]),
              `${where}: stream`,
            );
            // Groups: name, last delivered id, pending count (entries-read and lag no replica reproduces).
            const groups = await c.cmd<Buffer[][]>(['XINFO', 'GROUPS', k]);
            const theirs = groups.map((g) => {
              const f = new Map<string, string>();
              for (let i = 0; i + 1 < g.length; i += 2) f.set(String(g[i]), String(g[i + 1]));
              return `${f.get('name')} ${f.get('last-delivered-id')} ${f.get('pending')}`;
            });
            assert.deepEqual(mirror.xgroups(k, db).map((g) => `${g.name} ${g.lastId} ${g.pending}`).sort(), theirs.sort(), `${where}: stream groups`);
            break;
          }
          default:
            assert.fail(`${where}: unexpected type ${type}`);
        }
        compared++;
      }
    } finally {
      c.disconnect();
    }
  }
  return compared;
}
