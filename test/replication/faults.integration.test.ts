/**
 * Faults against real Redis 7 masters: the link cut mid-stream (expect +CONTINUE, no new snapshot) and
 * mid-snapshot (the snapshot is dropped, the previous dataset keeps answering, a new one loads), the
 * master killed and restarted (new replid -> full resync), a target slower than the master (the
 * spool absorbs it; the master's small output-buffer limit is never hit), a 100 MB value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from '../../src/client/index.js';
import {
  createReplica, MemoryMirror, type ClosedEvent, type ContinueEvent, type FullSyncInfo, type ReplicatedCommand, type ReplicationPosition,
  type Target,
} from '../../src/replication/index.js';
import { RedisServer, waitUntil } from '../support/redis-server.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { compareWithMaster, masterOffset, runWorkload, waitCaughtUp } from './workload.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function infoField(server: RedisServer, section: string, field: string): string {
  return new RegExp(`${field}:(\\S+)`).exec(server.cli('INFO', section))?.[1] ?? '';
}

/** Events of one replica, for assertions. */
function record(replica: ReturnType<typeof createReplica>) {
  const log = { fullsync: [] as FullSyncInfo[], continued: [] as ContinueEvent[], closed: [] as ClosedEvent[], unhandled: [] as string[] };
  replica.on('fullsync', (i) => log.fullsync.push(i));
  replica.on('continue', (i) => log.continued.push(i));
  replica.on('closed', (i) => log.closed.push(i));
  replica.on('unhandled', (u) => log.unhandled.push(`${u.command.name}: ${u.reason}`));
  replica.on('error', () => {});
  return log;
}

test('a link cut mid-stream resumes with PSYNC and +CONTINUE: no new snapshot, no lost or doubled command', async () => {
  const master = await RedisServer.start({ config: { 'repl-diskless-sync-delay': 0 } });
  const proxy = await TcpProxy.start(master.port);
  const mirror = new MemoryMirror();
  const replica = createReplica({ port: proxy.port, target: mirror, reconnect: { baseMs: 20, maxMs: 100 } });
  const log = record(replica);
  try {
    await runWorkload(master.port, { seed: 21, ops: 500 });
    await waitUntil(() => mirror.state === 'ready', 10_000, 'the snapshot');
    const work = runWorkload(master.port, { seed: 22, ops: 4000, batch: 20 });
    for (let i = 0; i < 3; i++) {
      await sleep(150);
      proxy.cut();
    }
    await work;
    await waitCaughtUp(master.port, mirror);
    await compareWithMaster(master.port, mirror);
    assert.equal(log.fullsync.length, 1, 'one snapshot only');
    assert.ok(log.continued.length >= 1, 'resumed with +CONTINUE');
    assert.ok(log.continued.every((c) => !c.replidChanged));
    assert.equal(infoField(master, 'stats', 'sync_full'), '1');
    assert.ok(Number(infoField(master, 'stats', 'sync_partial_ok')) >= 1);
    assert.deepEqual(log.unhandled, []);
  } finally {
    await replica.close();
    await proxy.close();
    await master.stop();
  }
});

test('reads keep answering from the previous dataset while a forced full resync loads, and across one cut mid-snapshot', async () => {
  const master = await RedisServer.start({ config: { 'repl-diskless-sync-delay': 0 } });
  const proxy = await TcpProxy.start(master.port);
  const mirror = new MemoryMirror();
  const replica = createReplica({ port: proxy.port, target: mirror, reconnect: { baseMs: 20, maxMs: 100 } });
  const log = record(replica);
  const c = createClient({ port: master.port });
  try {
    master.cli('-n', '5', 'DEBUG', 'POPULATE', '20000', 'fill', '32');
    await c.cmd(['SET', 'gen', 'one']);
    await waitUntil(() => mirror.state === 'ready', 10_000, 'the first snapshot');
    await waitCaughtUp(master.port, mirror);

    // A slow snapshot (about 50 µs per key), a new replid, and the link dropped: the replica's PSYNC
    // names an id the master no longer has, so it must load everything again.
    await c.cmd(['CONFIG', 'SET', 'rdb-key-save-delay', '50']);
    await c.cmd(['SET', 'gen', 'two']);
    await c.cmd(['DEBUG', 'CHANGE-REPL-ID']);
    const states = new Set<string>();
    let reads = 0;
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const v = mirror.get('gen')?.toString();
        assert.ok(v === 'one' || v === 'two', `read during resync: ${v}`);
        assert.ok(mirror.dbsize(5) >= 20000, 'the previous dataset is whole');
        states.add(mirror.state);
        reads++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    proxy.cut();
    // Cut once more while the new snapshot is streaming.
    await waitUntil(() => log.fullsync.length >= 2, 10_000, 'the forced resync');
    await sleep(150);
    proxy.cut();
    await waitUntil(() => log.fullsync.length >= 3, 15_000, 'a resync after the cut mid-snapshot');
    await c.cmd(['CONFIG', 'SET', 'rdb-key-save-delay', '0']);
    await waitUntil(() => mirror.state === 'ready' && mirror.get('gen')?.toString() === 'two', 20_000, 'the new dataset');
    reading = false;
    await reader;
    assert.ok(states.has('resyncing'), `states seen: ${[...states]}`);
    assert.ok(reads > 100, `${reads} reads`);
    assert.ok(log.closed.some((e) => e.willReconnect), 'the link was lost');
    assert.notEqual(log.fullsync[0]!.replid, log.fullsync.at(-1)!.replid);
    await waitCaughtUp(master.port, mirror);
    await compareWithMaster(master.port, mirror);
  } finally {
    c.disconnect();
    await replica.close();
    await proxy.close();
    await master.stop();
  }
});

test('a master killed and restarted has a new replid: the replica does a full resync and follows it', async () => {
  const master = await RedisServer.start({ config: { 'repl-diskless-sync-delay': 0 } });
  const mirror = new MemoryMirror();
  const replica = createReplica({ port: master.port, target: mirror, reconnect: { baseMs: 50, maxMs: 200 } });
  const log = record(replica);
  try {
    await runWorkload(master.port, { seed: 31, ops: 800 });
    await waitUntil(() => mirror.state === 'ready', 10_000);
    await waitCaughtUp(master.port, mirror);
    const before = mirror.dbsize(0);
    assert.ok(before > 0);
    await master.restart({ downMs: 300 });
    await waitUntil(() => log.fullsync.length >= 2 && mirror.state === 'ready', 20_000, 'the full resync');
    assert.notEqual(log.fullsync[1]!.replid, log.fullsync[0]!.replid);
    assert.equal(mirror.dbsize(0), 0, 'the restarted master is empty, and so is the mirror');
    await runWorkload(master.port, { seed: 32, ops: 800 });
    await waitCaughtUp(master.port, mirror);
    await compareWithMaster(master.port, mirror);
  } finally {
    await replica.close();
    await master.stop();
  }
});

/** Delays every call of a target, and holds commands back entirely while `gate` is closed. */
function slowed(inner: Target, ms: number, gate: { open: Promise<void> }): Target {
  return {
    open: () => inner.open(),
    beginFullSync: (i) => inner.beginFullSync(i),
    applyKeys: async (k) => {
      await sleep(ms);
      await inner.applyKeys(k);
    },
    endFullSync: (p) => inner.endFullSync(p),
    abortFullSync: () => inner.abortFullSync(),
    applyCommands: async (c: readonly ReplicatedCommand[], p: ReplicationPosition) => {
      await gate.open;
      await sleep(ms);
      return inner.applyCommands(c, p);
    },
    status: (s) => inner.status?.(s),
    close: () => inner.close(),
  };
}

test('a target far slower than the master: the stream is spooled to disk and the master never cuts the replica off', async () => {
  const master = await RedisServer.start({
    // Disk-based: after a diskless transfer the master holds the stream until an ACK that follows
    // its fork's exit, and a burst in that window hits the 1 MB limit whatever the replica does.
    config: { 'repl-diskless-sync': 'no', 'client-output-buffer-limit': 'replica 1mb 512kb 10' },
  });
  const mirror = new MemoryMirror();
  let release!: () => void;
  const gate = { open: new Promise<void>((r) => (release = r)) };
  const replica = createReplica({ port: master.port, target: slowed(mirror, 5, gate), spool: { memoryBytes: 256 * 1024 } });
  const log = record(replica);
  const c = createClient({ port: master.port });
  try {
    await waitUntil(() => mirror.state === 'ready', 10_000);
    // The master streams to the replica once it is online.
    await waitUntil(() => /slave0:.*state=online/.test(master.cli('INFO', 'replication')), 5_000, 'the replica online');
    // The target applies nothing while 12 MB of writes go through the master (12x its hard limit).
    const value = 'x'.repeat(1000);
    for (let round = 0; round < 40; round++) {
      await c.cmd(Array.from({ length: 300 }, (_, i) => ['SET', `k:${round}:${i}`, value]));
    }
    const written = await masterOffset(c);
    assert.ok(written > 12_000_000, `${written} bytes of stream`);
    await waitUntil(() => replica.status.lagBytes > 11_000_000, 10_000, 'the stream in the spool');
    assert.ok(replica.status.spooledBytes > 10_000_000, 'spilled to the temp file');
    assert.ok(replica.status.lagMs > 0);
    release();
    await waitCaughtUp(master.port, mirror, 60_000);
    assert.deepEqual(log.closed, [], 'the link never dropped');
    assert.equal(infoField(master, 'stats', 'sync_full'), '1');
    const masterLog = readFileSync(join(master.dir, 'redis.log'), 'utf8');
    assert.doesNotMatch(masterLog, /output buffer limits/);
    assert.equal(mirror.dbsize(0), 12_000);
    assert.equal(mirror.get('k:39:299')?.toString(), value);
    assert.equal(replica.status.lagBytes, 0);
  } finally {
    release(); // a failed assertion must not leave the target gated: close() waits for its calls
    c.disconnect();
    await replica.close();
    await master.stop();
  }
});

test('a 100 MB value in the snapshot and in the stream', async () => {
  const master = await RedisServer.start({ config: { 'repl-diskless-sync-delay': 0 } });
  const mirror = new MemoryMirror();
  const c = createClient({ port: master.port });
  const replica = createReplica({ port: master.port, target: mirror });
  record(replica);
  try {
    const sha = (b: Buffer | null) => (b ? createHash('sha1').update(b).digest('hex') : null);
    const one = randomBytes(100 * 1024 * 1024);
    await c.cmd(['SET', 'big:1', one]);
    await waitUntil(() => mirror.state === 'ready', 30_000);
    const two = randomBytes(100 * 1024 * 1024);
    await c.cmd(['SET', 'big:2', two]);
    await waitCaughtUp(master.port, mirror, 30_000);
    assert.equal(sha(mirror.get('big:1')), sha(one));
    assert.equal(sha(mirror.get('big:2')), sha(two));
  } finally {
    c.disconnect();
    await replica.close();
    await master.stop();
  }
});
