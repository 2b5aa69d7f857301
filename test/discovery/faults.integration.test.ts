/**
 * Faults against real servers: Redis restarted empty, failover to a replica, a node partitioned from
 * Redis by a blackholing proxy, bad metadata, and expiry detection with 10 000 unrelated keys
 * carrying long TTLs (where Redis's own expired events arrive tens of seconds late).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RedisServer, startReplicaPair } from '../support/redis-server.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { createClient, type Client } from '../../src/client/index.js';
import { joinGrid, watchGrid, Registry, DiscoveryError, type Grid } from '../../src/discovery/index.js';
import { sleep, waitFor } from './helpers.js';

const HB = 200;
const TTL = 600;
/** Restart and failover are judged in heartbeats; a longer one keeps the test meaningful on a busy machine. */
const SLOW_HB = 500;

interface Tracked {
  grid: Grid;
  events: { ev: string; id: string; at: number }[];
}

async function join(url: string, ns: string, id: string, meta: Record<string, string | number> = {}, hb = HB): Promise<Tracked> {
  const grid = await joinGrid({ redis: url, namespace: ns, id, meta, heartbeatMs: hb, ttlMs: hb * 3, handleSignals: false });
  const events: Tracked['events'] = [];
  for (const ev of ['join', 'leave', 'update', 'suspect'] as const) {
    grid.on(ev, (n: { id: string }) => events.push({ ev, id: n.id, at: performance.now() }));
  }
  return { grid, events };
}

function converged(nodes: Tracked[], ids: string[]): boolean {
  const want = [...ids].sort().join(',');
  return nodes.every((n) => {
    const v = n.grid.nodes();
    return v.map((x) => x.id).sort().join(',') === want && v.every((x) => !x.suspect);
  });
}

test('Redis restarted empty: every node re-registers and all views hold everyone within 2 heartbeats, without leave/join flapping', async (t) => {
  const server = await RedisServer.start();
  const ids = ['a', 'b', 'c'];
  const nodes = await Promise.all(ids.map((id) => join(server.url, 'restart', id, {}, SLOW_HB)));
  try {
    await waitFor(() => converged(nodes, ids), 2_000, 'initial convergence');
    for (const n of nodes) n.events.length = 0;
    await server.restart({ signal: 'SIGKILL' });
    const back = performance.now();
    const took = await waitFor(() => converged(nodes, ids) && server.cli('ZCARD', 'rs:grid:{restart}:alive') === '3', 5_000, 'convergence after restart');
    assert.ok(took <= 2 * SLOW_HB, `views converged ${took.toFixed(0)} ms after Redis was back (limit ${2 * SLOW_HB})`);
    // Nodes missing from the fresh registry were held as suspects, not reported as gone and back.
    for (const n of nodes) assert.deepEqual(n.events.filter((e) => e.ev === 'leave'), [], `${n.grid.id} saw no leave`);
    t.diagnostic(`converged ${took.toFixed(0)} ms after the restart (${(performance.now() - back).toFixed(0)} ms incl. checks)`);
  } finally {
    await Promise.all(nodes.map((n) => n.grid.leave()));
    await server.stop();
  }
});

test('failover to a replica (REPLICAOF NO ONE, proxy retargeted): nodes re-register and views converge within 2 heartbeats', async (t) => {
  const pair = await startReplicaPair();
  const proxy = await TcpProxy.start(pair.master.port);
  const url = `redis://127.0.0.1:${proxy.port}`;
  const ids = ['a', 'b', 'c'];
  const nodes = await Promise.all(ids.map((id) => join(url, 'failover', id, {}, SLOW_HB)));
  try {
    await waitFor(() => converged(nodes, ids), 2_000, 'initial convergence');
    // A node that joins just before the failover may not have reached the replica: it must still end
    // up in every view.
    const late = await join(url, 'failover', 'late', {}, SLOW_HB);
    nodes.push(late);
    ids.push('late');
    pair.replica.cli('REPLICAOF', 'NO', 'ONE');
    proxy.targetPort = pair.replica.port;
    proxy.cut();
    const t0 = performance.now();
    const took = await waitFor(() => converged(nodes, ids) && pair.replica.cli('ZCARD', 'rs:grid:{failover}:alive') === '4', 5_000, 'convergence after failover');
    assert.ok(took <= 2 * SLOW_HB, `views converged ${took.toFixed(0)} ms after the failover (limit ${2 * SLOW_HB})`);
    t.diagnostic(`converged ${took.toFixed(0)} ms after the failover (${(performance.now() - t0).toFixed(0)} ms incl. checks)`);
  } finally {
    await Promise.all(nodes.map((n) => n.grid.leave()));
    await proxy.close();
    await pair.stop();
  }
});

test('a node partitioned from Redis leaves the others views, and rejoins when the link heals', async (t) => {
  const server = await RedisServer.start();
  const proxy = await TcpProxy.start(server.port);
  const a = await join(server.url, 'part', 'a');
  const b = await join(server.url, 'part', 'b');
  const p = await join(`redis://127.0.0.1:${proxy.port}`, 'part', 'p', { role: 'partitioned' });
  try {
    await waitFor(() => converged([a, b, p], ['a', 'b', 'p']), 2_000, 'initial convergence');
    const t0 = performance.now();
    proxy.blackhole();
    const gone = await waitFor(() => !a.grid.node('p') && !b.grid.node('p'), 5_000, 'p to leave the views');
    assert.ok(gone <= TTL + HB, `p left the views ${gone.toFixed(0)} ms after the partition (limit ${TTL + HB})`);
    assert.equal(a.events.find((e) => e.ev === 'leave' && e.id === 'p') !== undefined, true);
    // Cut off, p cannot vouch for the others any more.
    await waitFor(() => p.grid.nodes().some((n) => n.suspect === 'link-down'), 3_000, 'p to suspect the others');
    t.diagnostic(`p left the views ${gone.toFixed(0)} ms after the partition began`);
    void t0;
    proxy.heal();
    const healed = await waitFor(() => converged([a, b, p], ['a', 'b', 'p']), 10_000, 'p to rejoin');
    assert.equal(a.grid.node('p')?.meta.role, 'partitioned');
    t.diagnostic(`p back in every view ${healed.toFixed(0)} ms after the heal`);
  } finally {
    await Promise.all([a, b, p].map((n) => n.grid.leave()));
    await proxy.close();
    await server.stop();
  }
});

test('bad metadata is refused with a clear error and the node stays registered with its old metadata', async () => {
  const server = await RedisServer.start();
  const a = await join(server.url, 'bad', 'a', { zone: 'one' });
  const b = await join(server.url, 'bad', 'b');
  try {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const cases: [unknown, string, RegExp][] = [
      [{ f: () => 1 }, 'ERR_DISCOVERY_META', /patch\.f is a function/],
      [{ n: 10n }, 'ERR_DISCOVERY_META', /patch\.n is a bigint/],
      [{ c: cyclic }, 'ERR_DISCOVERY_META', /cycle/],
      [{ d: new Date() }, 'ERR_DISCOVERY_META', /is a Date/],
      [{ x: NaN }, 'ERR_DISCOVERY_META', /NaN/],
      [{ url: 'redis://:hunter2@10.0.0.1:6379' }, 'ERR_DISCOVERY_META', /URL with a password/],
      [{ password: 'x' }, 'ERR_DISCOVERY_META', /named like a secret/],
      [{ host: 'spoofed' }, 'ERR_DISCOVERY_META', /reserved/],
      [{ blob: 'x'.repeat(64 * 1024) }, 'ERR_DISCOVERY_META_TOO_LARGE', /over the limit of 65536 \(raise maxMetaBytes/],
    ];
    for (const [patch, code, msg] of cases) {
      await assert.rejects(
        async () => a.grid.updateMeta(patch as never),
        (err: unknown) => err instanceof DiscoveryError && err.code === code && msg.test(err.message) && !err.message.includes('hunter2'),
      );
    }
    await assert.rejects(async () => a.grid.replaceMeta({ f: Symbol('x') } as never), { code: 'ERR_DISCOVERY_META' });
    await sleep(TTL + HB);
    // Still registered, still heartbeating, metadata unchanged in every view.
    assert.equal(b.grid.node('a')?.meta.zone, 'one');
    assert.equal(a.grid.meta.zone, 'one');
    assert.deepEqual(b.events.filter((e) => e.id === 'a'), []);
    await a.grid.updateMeta({ zone: 'two' });
    await waitFor(() => b.grid.node('a')?.meta.zone === 'two', 1_000, 'the valid update');
    // Bad metadata at join time is refused before anything is registered.
    await assert.rejects(joinGrid({ redis: server.url, namespace: 'bad', meta: { f: () => 1 } as never }), { code: 'ERR_DISCOVERY_META' });
    assert.deepEqual(b.grid.nodes().map((n) => n.id).sort(), ['a', 'b']);
  } finally {
    await Promise.all([a, b].map((n) => n.grid.leave()));
    await server.stop();
  }
});

test('a join that fails takes its handler off a shared subscriber and its listeners off the shared client', async () => {
  const server = await RedisServer.start();
  const redis: Client = createClient({ url: server.url, commandTimeoutMs: 2_000 });
  const subscriber: Client = redis.duplicate({ protocol: 3 });
  try {
    // Registration runs beside the SUBSCRIBE; a registry key of the wrong type makes it fail.
    server.cli('SET', 'rs:grid:{broken}:state', 'not a hash');
    const before = ['ready', 'close'].map((e) => redis.listenerCount(e) + subscriber.listenerCount(e));
    await assert.rejects(joinGrid({ redis, subscriber, namespace: 'broken', id: 'x', handleSignals: false }), /WRONGTYPE/);
    assert.deepEqual(['ready', 'close'].map((e) => redis.listenerCount(e) + subscriber.listenerCount(e)), before);
    await waitFor(() => server.cli('PUBSUB', 'NUMSUB', 'rs:grid:{broken}:events').endsWith('0'), 2_000, 'the subscription to go');
  } finally {
    subscriber.disconnect();
    redis.disconnect();
    await server.stop();
  }
});

test('expiry with 10 000 unrelated long-TTL keys: a silent node is dropped within 250 ms of its deadline; health marks unhealthy', async (t) => {
  const server = await RedisServer.start();
  const admin: Client = createClient(server.url);
  try {
    const fill: (string | number)[][] = [];
    for (let i = 0; i < 10_000; i++) fill.push(['SET', `unrelated:${i}`, 'x', 'EX', 3600]);
    await admin.cmd(fill);
    let healthy = true;
    const watcher = await watchGrid({ redis: server.url, namespace: 'exp', heartbeatMs: HB, ttlMs: TTL });
    const w = await joinGrid({ redis: server.url, namespace: 'exp', id: 'w', heartbeatMs: HB, ttlMs: TTL, handleSignals: false, health: () => healthy });
    try {
      // A node that registers once and never heartbeats, as if it died right after joining.
      const reg = new Registry(admin, 'exp');
      const stamp = await reg.register('ghost', TTL, JSON.stringify({ ttl: TTL, meta: {} }));
      const deadline = stamp.now + TTL;
      await waitFor(() => watcher.node('ghost') !== undefined && w.node('ghost') !== undefined, 1_000, 'ghost to be seen');
      await waitFor(() => !watcher.node('ghost') && !w.node('ghost'), 3_000, 'ghost to be dropped');
      const redisNow = Number((await admin.cmd(['TIME']) as string[])[0]) * 1000;
      assert.ok(redisNow - deadline < 1_000 + 250);
      const late = Date.now() - deadline; // same machine: the wall clock and Redis's agree
      assert.ok(late <= 250, `dropped ${late} ms after its deadline (limit 250)`);
      t.diagnostic(`silent node dropped ${late} ms after its deadline`);

      healthy = false;
      await waitFor(() => watcher.node('w')?.meta.unhealthy === true, 2 * HB + 500, 'w marked unhealthy');
      assert.deepEqual(watcher.nodes({ healthy: true }).map((n) => n.id), []);
      assert.deepEqual(watcher.nodes({ healthy: false }).map((n) => n.id), ['w']);
      healthy = true;
      await waitFor(() => watcher.node('w')?.meta.unhealthy === undefined, 2 * HB + 500, 'w healthy again');
    } finally {
      await w.leave();
      await watcher.close();
    }
  } finally {
    await admin.quit();
    await server.stop();
  }
});
