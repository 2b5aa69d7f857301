/**
 * One conformance suite for every persistent replication target (SQLite, PostgreSQL), run against a
 * real Redis 7 master:
 *
 *   1. a snapshot of every type (big collections in parts, binary keys, TTLs, several dbs, a stream
 *      with a group and pending entries), then a live workload of every type (expiries, MULTI/EXEC,
 *      scripts, SWAPDB, MOVE, COPY ... DB, RESTORE), FLUSHDB and FLUSHALL: after each phase the stored
 *      rows equal the master key by key (type, value, TTL within a second, stream groups: last id and
 *      pending entries with their consumer), with no unhandled command; SORT ... STORE with BY/GET
 *      patterns and HyperLogLogs included;
 *   2. restart (close the target, open a new one over the same storage): the replica resumes with
 *      +CONTINUE, and the master's INFO stats count a partial sync, no new full sync;
 *   3. a snapshot cut off midway (after the target has stored some of its keys) leaves the old data
 *      and position as they were;
 *   4. reads hide keys whose TTL has passed.
 *
 * A harness adapts each target: how to make one over the suite's storage, and how to read it back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { createClient, type Client } from '../../src/client/index.js';
import { createReplica, type Replica, type ReplicationPosition, type Target, type UnhandledCommand } from '../../src/replication/index.js';
import type { RedisValue } from '../../src/replication/targets/sql/codec.js';
import { RedisServer, waitUntil } from '../support/redis-server.js';
import { DBS, masterOffset, runWorkload } from './workload.js';

/** A stored key as the targets' read helpers return it. */
export type ReadKey = RedisValue & { db: number; key: Buffer; expiresAt: number | undefined };

/** What a persistent target must offer for the suite to read it back. */
export interface ReadableTarget extends Target {
  scan(db?: number): Iterable<ReadKey> | Promise<Iterable<ReadKey>>;
  storedPosition(): ReplicationPosition | undefined | Promise<ReplicationPosition | undefined>;
  get(key: string | Buffer, db?: number): ReadKey | null | Promise<ReadKey | null>;
}

export interface TargetHarness {
  name: string;
  /** Fails with a clear message when the store cannot be used (e.g. PostgreSQL down). */
  check?(): Promise<void>;
  /** A new target over the suite's one storage (a second call after close() is a restart). */
  create(options?: { now?: () => number }): ReadableTarget;
  /** Drops the storage. */
  destroy(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function hex(b: Buffer | null | undefined): string | null {
  return b == null ? null : b.toString('hex');
}

async function readAll(target: ReadableTarget, db: number): Promise<Map<string, ReadKey>> {
  const out = new Map<string, ReadKey>();
  for (const k of await target.scan(db)) out.set(k.key.toString('latin1'), k);
  return out;
}

/** Reads one key from the master in the same shape as the targets return it (null when missing). */
async function masterValue(c: Client, k: Buffer): Promise<{ type: string; value: unknown; pttl: number } | null> {
  const type = String(await c.cmd(['TYPE', k]));
  const pttl = Number(await c.cmd(['PTTL', k]));
  switch (type) {
    case 'none':
      return null;
    case 'string':
      return { type, pttl, value: hex(await c.cmd<Buffer>(['GET', k])) };
    case 'list':
      return { type, pttl, value: (await c.cmd<Buffer[]>(['LRANGE', k, '0', '-1'])).map(hex) };
    case 'set':
      return { type, pttl, value: (await c.cmd<Buffer[]>(['SMEMBERS', k])).map(hex).sort() };
    case 'hash': {
      const flat = await c.cmd<Buffer[]>(['HGETALL', k]);
      const pairs: string[] = [];
      for (let i = 0; i < flat.length; i += 2) pairs.push(`${hex(flat[i])}=${hex(flat[i + 1])}`);
      return { type, pttl, value: pairs.sort() };
    }
    case 'zset': {
      const flat = await c.cmd<Buffer[]>(['ZRANGE', k, '0', '-1', 'WITHSCORES']);
      const pairs: string[] = [];
      for (let i = 0; i < flat.length; i += 2) pairs.push(`${hex(flat[i])}=${Number(flat[i + 1]!.toString().replace('inf', 'Infinity'))}`);
      return { type, pttl, value: pairs };
    }
    case 'stream': {
      const entries = await c.cmd<[Buffer, Buffer[]][]>(['XRANGE', k, '-', '+']);
      const groups = await c.cmd<Buffer[][]>(['XINFO', 'GROUPS', k]);
      const gs: string[] = [];
      for (const g of groups) {
        const info = new Map<string, Buffer>();
        for (let i = 0; i < g.length; i += 2) info.set(String(g[i]), g[i + 1] as Buffer);
        const name = info.get('name')!;
        const pending = await c.cmd<[Buffer, Buffer, number, number][]>(['XPENDING', k, name, '-', '+', '1000000']);
        gs.push(`${hex(name)} last=${info.get('last-delivered-id')} pel=${pending.map((p) => `${p[0]}@${hex(p[1])}`).join(',')}`);
      }
      return {
        type,
        pttl,
        value: { entries: entries.map(([id, f]) => [id.toString(), f.map(hex)]), groups: gs.sort() },
      };
    }
    default:
      throw new Error(`unexpected type ${type}`);
  }
}

function storedValue(k: ReadKey): unknown {
  switch (k.type) {
    case 'string':
      return hex(k.value);
    case 'list':
      return k.value.map(hex);
    case 'set':
      return k.value.map(hex).sort();
    case 'hash':
      return k.value.map(([f, v]) => `${hex(f)}=${hex(v)}`).sort();
    case 'zset':
      return k.value.map(([m, s]) => `${hex(m)}=${s}`);
    default: {
      const s = k.value;
      return {
        entries: s.entries.map((e) => [e.id, e.fields.flatMap(([f, v]) => [hex(f), hex(v)])]),
        groups: s.groups.map((g) => {
          const owner = new Map<string, Buffer>();
          for (const c of g.consumers) for (const id of c.pending) owner.set(id, c.name);
          return `${hex(g.name)} last=${g.lastId} pel=${g.pending.map((p) => `${p.id}@${hex(owner.get(p.id))}`).join(',')}`;
        }).sort(),
      };
    }
  }
}

/** Every key of every db in DBS: same key set, type, value, TTL (within a second). Returns keys compared. */
export async function compareWithMaster(port: number, target: ReadableTarget, dbs: readonly number[] = DBS): Promise<number> {
  let compared = 0;
  for (const db of dbs) {
    const c = createClient({ port, db, returnBuffers: true });
    try {
      const keys: Buffer[] = [];
      for await (const k of c.scanIterator({ count: 1000 })) keys.push(k as Buffer);
      const stored = await readAll(target, db);
      assert.deepEqual([...stored.keys()].sort(), keys.map((k) => k.toString('latin1')).sort(), `db ${db}: key sets differ`);
      for (const k of keys) {
        const where = `db ${db} key ${JSON.stringify(k.toString('latin1'))}`;
        const m = await masterValue(c, k);
        if (!m) continue; // expired between SCAN and TYPE
        const mine = stored.get(k.toString('latin1'))!;
        assert.equal(mine.type, m.type, `${where}: type`);
        assert.deepEqual(storedValue(mine), m.value, `${where}: value`);
        const myTtl = mine.expiresAt === undefined ? -1 : Math.max(0, mine.expiresAt - Date.now());
        if (m.pttl < 0 || myTtl < 0) assert.equal(myTtl, m.pttl, `${where}: pttl`);
        else assert.ok(Math.abs(myTtl - m.pttl) <= 1000, `${where}: pttl ${myTtl} vs ${m.pttl}`);
        compared++;
      }
    } finally {
      c.disconnect();
    }
  }
  return compared;
}

/**
 * Waits until the replica has applied everything the master wrote, and the target has stored it
 * (a target may commit after applyCommands returns: PostgreSQL's group commit).
 */
async function waitCaughtUp(port: number, replica: Replica, target: ReadableTarget, timeoutMs = 20_000): Promise<void> {
  const c = createClient({ port });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const want = await masterOffset(c);
      if ((replica.position?.offset ?? -1) >= want && replica.state === 'streaming' && ((await target.storedPosition())?.offset ?? -1) >= want) return;
      if (Date.now() > deadline) throw new Error(`replica at ${replica.position?.offset} (${replica.state}), stored ${(await target.storedPosition())?.offset}, master at ${want}`);
      await sleep(20);
    }
  } finally {
    c.disconnect();
  }
}

async function syncStats(c: Client): Promise<{ full: number; partialOk: number }> {
  const info = String(await c.cmd(['INFO', 'stats']));
  return { full: Number(/sync_full:(\d+)/.exec(info)![1]), partialOk: Number(/sync_partial_ok:(\d+)/.exec(info)![1]) };
}

/** Keys the workload does not make: binary names, collections big enough to arrive in parts, a stream with a PEL. */
async function seedSpecialKeys(c: Client): Promise<void> {
  const bin = Buffer.from([0, 0xff, 0x0d, 0x0a, 0x80, 0x41]);
  const cmds: (string | Buffer)[][] = [
    ['SET', bin, Buffer.from([0, 1, 2, 0xfe])],
    ['HSET', Buffer.concat([Buffer.from('h:'), bin]), bin, bin, 'x', ''],
    ['SET', 'ttl:long', 'v', 'EX', '100000'],
    ['SADD', 'int-set', '1', '2', '3', '-7', '9223372036854775807'],
    ['ZADD', 'z:special', 'inf', 'top', '-inf', 'bottom', '0', 'zero', '1e-300', 'tiny'],
  ];
  const big = (n: number, f: (i: number) => string[]) => Array.from({ length: n }, (_, i) => f(i)).flat();
  cmds.push(['RPUSH', 'big:list', ...big(25_000, (i) => [`item-${i}`])]);
  cmds.push(['HSET', 'big:hash', ...big(15_000, (i) => [`f${i}`, `v${i}`])]);
  cmds.push(['SADD', 'big:set', ...big(12_000, (i) => [`m${i}`])]);
  cmds.push(['ZADD', 'big:zset', ...big(12_000, (i) => [String(i % 977), `m${i}`])]);
  for (let i = 0; i < 12; i++) cmds.push(['XADD', 'big:stream', `${1000 + i}-1`, ...big(1000, (j) => [`f${j}`, `${i}:${j}`]).slice(0, 2)]);
  await c.cmd(cmds);
  const adds: (string | Buffer)[][] = [];
  for (let i = 0; i < 12_000; i++) adds.push(['XADD', 'big:stream', '*', 'n', String(i)]);
  adds.push(['XGROUP', 'CREATE', 'big:stream', 'readers', '0']);
  adds.push(['XGROUP', 'CREATE', 'big:stream', 'late', '$']);
  adds.push(['XREADGROUP', 'GROUP', 'readers', 'alice', 'COUNT', '30', 'STREAMS', 'big:stream', '>']);
  adds.push(['XREADGROUP', 'GROUP', 'readers', 'bob', 'COUNT', '5', 'STREAMS', 'big:stream', '>']);
  adds.push(['XACK', 'big:stream', 'readers', '1000-1']);
  await c.cmd(adds);
}

/**
 * A one-connection TCP proxy that forwards everything until `limit` bytes have come from the server,
 * then holds the rest until `release` resolves, then cuts both sides.
 */
async function cuttingProxy(targetPort: number, limit: number, release: Promise<void>): Promise<{ port: number; close(): void }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const up = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(up);
    let down = 0;
    let holding = false;
    client.on('data', (d) => up.write(d));
    up.on('data', (d: Buffer) => {
      if (holding) return;
      if (down + d.length <= limit) {
        down += d.length;
        client.write(d);
        return;
      }
      client.write(d.subarray(0, limit - down));
      down = limit;
      holding = true;
      void release.then(() => {
        client.destroy();
        up.destroy();
      });
    });
    const close = () => {
      client.destroy();
      up.destroy();
    };
    client.on('error', close).on('close', close);
    up.on('error', close).on('close', close);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/**
 * Wraps a target to watch the calls the replica makes; open() reports a position the master does not
 * know, which forces a full sync (the stored position stays what it was).
 */
function watched(inner: ReadableTarget, on: (call: string) => void): ReadableTarget {
  return new Proxy(inner, {
    get(t, prop, receiver) {
      const v = Reflect.get(t, prop, receiver);
      if (typeof v !== 'function') return v;
      if (prop === 'open') {
        return async () => {
          await (v as () => unknown).apply(t);
          on('open');
          return { replid: '0'.repeat(40), offset: 1 };
        };
      }
      return (...args: unknown[]) => {
        const r = (v as (...a: unknown[]) => unknown).apply(t, args);
        if (r instanceof Promise) return r.then((x) => (on(String(prop)), x));
        on(String(prop));
        return r;
      };
    },
  });
}

export function runTargetConformance(h: TargetHarness): void {
  test(`${h.name}: snapshot, live workload, FLUSHDB/SWAPDB/FLUSHALL, restart with +CONTINUE, abort mid-snapshot`, async (t) => {
    await h.check?.();
    const master = await RedisServer.start({ config: { 'repl-diskless-sync': 'yes', 'repl-diskless-sync-delay': 0 } });
    const admin = createClient({ port: master.port, returnBuffers: true });
    const unhandled: UnhandledCommand[] = [];
    const watch = (r: Replica) => r.on('unhandled', (u) => unhandled.push(u));
    const noUnhandled = () => assert.deepEqual(unhandled.map((u) => `${u.command.name}: ${u.reason}`), []);
    let replica: Replica | undefined;
    let target: ReadableTarget | undefined;
    try {
      await t.test('snapshot of every type equals the master', async () => {
        await runWorkload(master.port, { seed: 21, ops: 2000, shortTtls: false, sortStore: true, hll: true });
        await seedSpecialKeys(admin);
        target = h.create();
        replica = createReplica({ port: master.port, target });
        watch(replica);
        const fullsyncs: string[] = [];
        replica.on('fullsync', (i) => fullsyncs.push(i.replid));
        await waitCaughtUp(master.port, replica, target, 30_000);
        assert.equal(fullsyncs.length, 1);
        const n = await compareWithMaster(master.port, target);
        assert.ok(n > 100, `compared ${n} keys`);
        noUnhandled();
      });

      await t.test('a live workload of every type, then FLUSHDB, SWAPDB, MOVE, FLUSHALL', async () => {
        await runWorkload(master.port, { seed: 22, ops: 3000, shortTtls: true, sortStore: true, hll: true });
        await admin.cmd([
          ['SELECT', '2'], ['FLUSHDB'], ['SET', 'after-flush', '1'], ['SELECT', '0'],
          ['MULTI'], ['SET', 'in-multi', 'x'], ['SWAPDB', '0', '1'], ['SET', 'in-multi', 'y'], ['EXEC'],
          ['SET', 'to-move', 'm'], ['MOVE', 'to-move', '3'],
        ]);
        await runWorkload(master.port, { seed: 23, ops: 2000, shortTtls: false, sortStore: true, hll: true });
        // Short TTLs from the first phase have expired by now, and the master's DELs travelled.
        await sleep(1600);
        await waitCaughtUp(master.port, replica!, target!);
        const n = await compareWithMaster(master.port, target!);
        assert.ok(n > 100, `compared ${n} keys`);
        await admin.cmd(['FLUSHALL']);
        await runWorkload(master.port, { seed: 24, ops: 1500, shortTtls: false, sortStore: true, hll: true });
        await waitCaughtUp(master.port, replica!, target!);
        await compareWithMaster(master.port, target!);
        noUnhandled();
      });

      await t.test('reads hide keys whose TTL has passed', async () => {
        await admin.cmd(['SET', 'soon-gone', 'v', 'PX', '600000']);
        await waitCaughtUp(master.port, replica!, target!);
        assert.notEqual(await target!.get('soon-gone'), null);
        const later = h.create({ now: () => Date.now() + 3_600_000 });
        // A second handle on the same storage, only for reading: open it without a replica.
        await later.open();
        try {
          assert.equal(await later.get('soon-gone'), null);
          assert.ok([...(await later.scan(0))].every((k) => k.expiresAt === undefined || k.expiresAt > Date.now() + 3_600_000));
        } finally {
          await later.close();
        }
      });

      await t.test('restart: close, reopen over the same storage, +CONTINUE without a new snapshot', async () => {
        await replica!.close();
        const stored = await (async () => {
          const r = h.create();
          await r.open();
          try {
            return await r.storedPosition();
          } finally {
            await r.close();
          }
        })();
        assert.equal(stored?.replid, replica!.position?.replid);
        assert.equal(stored?.offset, replica!.position?.offset);
        const before = await syncStats(admin);
        // Writes while the replica is down arrive through the backlog.
        await runWorkload(master.port, { seed: 25, ops: 800, shortTtls: false, sortStore: true, hll: true });
        target = h.create();
        replica = createReplica({ port: master.port, target });
        watch(replica);
        const events: string[] = [];
        replica.on('continue', () => events.push('continue'));
        replica.on('fullsync', () => events.push('fullsync'));
        await waitCaughtUp(master.port, replica, target);
        assert.deepEqual(events, ['continue']);
        const after = await syncStats(admin);
        assert.equal(after.full, before.full, 'no new full sync');
        assert.equal(after.partialOk, before.partialOk + 1, 'one partial sync');
        await compareWithMaster(master.port, target);
        noUnhandled();
      });

      await t.test('a snapshot cut off midway keeps the old data and position', async () => {
        await replica!.close();
        replica = undefined;
        const old = createClient({ port: master.port });
        const oldPosition = await (async () => {
          const r = h.create();
          await r.open();
          try {
            return await r.storedPosition();
          } finally {
            await r.close();
          }
        })();
        // A dataset change the aborted snapshot carries, and enough data for it to take many chunks.
        master.cli('-n', '5', 'DEBUG', 'POPULATE', '60000', 'filler', '64');
        await admin.cmd(['SET', 'only-in-new-snapshot', '1']);
        let release!: () => void;
        const released = new Promise<void>((r) => (release = r));
        const proxy = await cuttingProxy(master.port, 1_500_000, released);
        const calls: string[] = [];
        target = watched(h.create(), (call) => {
          calls.push(call);
          if (call === 'applyKeys') release();
        });
        replica = createReplica({ port: proxy.port, target, reconnect: false });
        await replica.whenClosed();
        proxy.close();
        old.disconnect();
        assert.ok(calls.includes('beginFullSync'), calls.join(' '));
        assert.ok(calls.includes('applyKeys'), 'the target stored keys before the cut');
        assert.ok(calls.includes('abortFullSync'), calls.join(' '));
        assert.ok(!calls.includes('endFullSync'), calls.join(' '));
        const r = h.create();
        await r.open();
        try {
          assert.deepEqual(await r.storedPosition(), oldPosition);
          assert.equal((await r.get('only-in-new-snapshot')), null);
          assert.equal([...(await r.scan(5))].length, 0, 'no row of the aborted snapshot');
          // Everything else is as the master had it before the populate.
          await admin.cmd(['DEL', 'only-in-new-snapshot']);
          await compareWithMaster(master.port, r, [0, 1, 2, 3]);
        } finally {
          await r.close();
        }
        replica = undefined;
      });
    } finally {
      await replica?.close().catch(() => {});
      admin.disconnect();
      await master.stop();
      await h.destroy();
    }
  });
}
