/**
 * The cluster client against a real 6-node cluster (3 masters, 3 replicas), shared by every test in
 * this file; the failover test runs last because it kills a master.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitUntil, type RedisServer } from '../support/redis-server.js';
import { createCluster, ClusterClient, ClusterLimitError, CrossSlotError, keySlot } from '../../src/client/index.js';
import { RedstackError } from '../../src/errors.js';
import { ReplyError } from '../../src/resp/errors.js';

let cluster: { nodes: RedisServer[]; stop(): Promise<void> };
let client: ClusterClient;

interface NodeLine {
  id: string;
  port: number;
  flags: string[];
  slots: [number, number][];
}

/** CLUSTER NODES as seen by `server`: ground truth independent of the client under test. */
function clusterNodes(server: RedisServer): NodeLine[] {
  return server
    .cli('CLUSTER', 'NODES')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const f = line.split(' ');
      const slots: [number, number][] = [];
      for (const r of f.slice(8)) {
        if (r.startsWith('[')) continue;
        const [a, b] = r.split('-');
        slots.push([Number(a), Number(b ?? a)]);
      }
      return { id: f[0]!, port: Number(f[1]!.split(':')[1]!.split('@')[0]), flags: f[2]!.split(','), slots };
    });
}

function serverByPort(port: number): RedisServer {
  return cluster.nodes.find((s) => s.port === port)!;
}

function ownerOf(slot: number, via = cluster.nodes[0]!): NodeLine {
  return clusterNodes(via).find((n) => n.flags.includes('master') && n.slots.some(([a, b]) => slot >= a && slot <= b))!;
}

/** A key (with a prefix) that hashes to `slot`. */
function keyInSlot(slot: number, prefix = 'k'): string {
  for (let i = 0; ; i++) {
    const k = `${prefix}${i}`;
    if (keySlot(k) === slot) return k;
  }
}

/** Moves `slot` from its owner to `to` the way redis-cli --cluster reshard does; `finish` false stops half way. */
function beginMigration(slot: number, to: NodeLine): { from: NodeLine; migrate(keys: string[]): void; finish(): void } {
  const from = ownerOf(slot);
  const src = serverByPort(from.port);
  const dst = serverByPort(to.port);
  dst.cli('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', from.id);
  src.cli('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', to.id);
  return {
    from,
    migrate(keys) {
      src.cli('MIGRATE', '127.0.0.1', String(to.port), '', '0', '5000', 'KEYS', ...keys);
    },
    finish() {
      for (;;) {
        const left = src.cli('CLUSTER', 'GETKEYSINSLOT', String(slot), '1000').split('\n').filter(Boolean);
        if (left.length === 0) break;
        src.cli('MIGRATE', '127.0.0.1', String(to.port), '', '0', '5000', 'KEYS', ...left);
      }
      dst.cli('CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id);
      src.cli('CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id);
      for (const n of cluster.nodes) {
        try {
          if (clusterNodes(n).find((x) => x.flags.includes('myself'))!.flags.includes('master')) n.cli('CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id);
        } catch {
          /* a dead node */
        }
      }
    },
  };
}

function otherMaster(than: NodeLine): NodeLine {
  return clusterNodes(cluster.nodes[0]!).find((n) => n.flags.includes('master') && n.slots.length > 0 && n.id !== than.id)!;
}

before(async () => {
  cluster = await startCluster(6, 1);
  // startCluster returns once the slots are covered; replicas finish their first sync a few seconds
  // later (diskless sync delay), and a replica that never synced cannot be promoted.
  await waitUntil(() => cluster.nodes.every((n) => !/role:slave/.test(n.cli('INFO', 'replication')) || /master_link_status:up/.test(n.cli('INFO', 'replication'))), 20_000, 'replicas in sync');
  client = createCluster({ nodes: [`redis://127.0.0.1:${cluster.nodes[0]!.port}`] });
  await client.ready();
});

after(async () => {
  await client?.quit();
  await cluster?.stop();
});

test('SET/GET on every one of the 16384 slots', async () => {
  const keys: string[] = new Array(16384);
  let found = 0;
  for (let i = 0; found < 16384; i++) {
    const k = `slot-key:${i}`;
    const s = keySlot(k);
    if (keys[s] === undefined) {
      keys[s] = k;
      found++;
    }
  }
  const sets = await client.cmd(keys.map((k, s) => ['SET', k, `v${s}`]));
  assert.ok(sets.every((r) => r === 'OK'));
  const gets = await Promise.all(keys.map((k) => client.cmd(['GET', k])));
  gets.forEach((v, s) => assert.equal(v, `v${s}`));
  // Ground truth: each master holds exactly the keys of its own slots.
  let total = 0;
  for (const n of cluster.nodes) if (clusterNodes(n).find((x) => x.flags.includes('myself'))!.flags.includes('master')) total += Number(n.cli('DBSIZE'));
  assert.equal(total, 16384);
  assert.equal(await client.cmd(['PING']), 'PONG');
  await client.cmd(keys.map((k) => ['DEL', k]));
});

test('a pipeline of 10 000 commands across nodes comes back in order', async () => {
  const cmds: (string | number)[][] = [];
  for (let i = 0; i < 5000; i++) cmds.push(['SET', `p:${i}`, i], ['INCR', i % 2 ? 'counter:{a}' : 'counter:{b}']);
  const t0 = performance.now();
  const replies = await client.cmd(cmds);
  const ms = performance.now() - t0;
  assert.equal(replies.length, 10_000);
  for (let i = 0; i < 5000; i++) {
    assert.equal(replies[2 * i], 'OK');
    // INCRs on one key stay in order: the n-th INCR of a counter answers n.
    assert.equal(replies[2 * i + 1], Math.floor(i / 2) + 1);
  }
  const back = await client.cmd(Array.from({ length: 5000 }, (_, i) => ['GET', `p:${i}`]));
  back.forEach((v, i) => assert.equal(v, String(i)));
  assert.ok(ms < 5000, `pipeline took ${ms} ms`);
  // errors stay in place
  const mixed = await client.cmd([['SET', 'e1', 'x'], ['INCR', 'e1'], ['GET', 'e1']]);
  assert.equal(mixed[0], 'OK');
  assert.ok(mixed[1] instanceof ReplyError);
  assert.equal(mixed[2], 'x');
});

test('CROSSSLOT is refused before anything is sent', async () => {
  const before = cluster.nodes.map((n) => n.cli('INFO', 'commandstats'));
  await assert.rejects(client.cmd(['MSET', 'foo', '1', 'bar', '2']), (e: unknown) => e instanceof CrossSlotError && e.code === 'ERR_CROSSSLOT');
  await assert.rejects(client.cmd(['DEL', 'foo', 'bar']), CrossSlotError);
  const after = cluster.nodes.map((n) => n.cli('INFO', 'commandstats'));
  const count = (s: string, c: string) => Number(new RegExp(`cmdstat_${c}:calls=(\\d+)`).exec(s)?.[1] ?? 0);
  for (let i = 0; i < before.length; i++) {
    assert.equal(count(after[i]!, 'mset'), count(before[i]!, 'mset'));
    assert.equal(count(after[i]!, 'del'), count(before[i]!, 'del'));
  }
  // in a pipeline: in place, the rest runs
  const r = await client.cmd([['SET', '{x}a', 1], ['MGET', 'foo', 'bar'], ['GET', '{x}a']]);
  assert.equal(r[0], 'OK');
  assert.ok(r[1] instanceof CrossSlotError);
  assert.equal(r[2], '1');
  assert.deepEqual(await client.cmd(['MSET', '{u}1', 'a', '{u}2', 'b']), 'OK');
  assert.deepEqual(await client.cmd(['MGET', '{u}1', '{u}2']), ['a', 'b']);
});

test('multi(): one slot, one node; cross-slot transactions refused', async () => {
  const res = await client.multi().cmd(['SET', '{tx}a', 1]).cmd(['INCR', '{tx}a']).cmd(['GET', '{tx}a']).exec();
  assert.deepEqual(res, ['OK', 2, '2']);
  await assert.rejects(client.multi().cmd(['SET', 'foo', 1]).cmd(['SET', 'bar', 1]).exec(), CrossSlotError);
  // scripts route by their keys (EVALSHA, then EVAL on NOSCRIPT)
  assert.equal(await client.eval("return redis.call('GET', KEYS[1])", ['{tx}a']), '2');
  assert.equal(await client.eval("return redis.call('GET', KEYS[1])", ['{tx}a']), '2');
});

test('ASK during a migration, then MOVED once it is done; a pipeline retries only the moved commands', async () => {
  const slot = keySlot('migrating');
  const moved = keyInSlot(slot, 'mig');
  const stays = keyInSlot(slot, 'stay');
  await client.cmd([['SET', moved, 'moved-value'], ['SET', stays, 'stays-value']]);
  const from = ownerOf(slot);
  const to = otherMaster(from);
  const m = beginMigration(slot, to);
  m.migrate([moved]);
  // The key is on the target now, the slot still on the source: the source answers -ASK.
  assert.equal(await client.cmd(['GET', moved]), 'moved-value');
  const strict = createCluster({ nodes: [{ host: '127.0.0.1', port: cluster.nodes[0]!.port }], maxRedirections: 0 });
  await assert.rejects(strict.cmd(['GET', moved]), (e: unknown) => e instanceof ClusterLimitError && e.code === 'ERR_CLUSTER_REDIRECTIONS' && e.option === 'maxRedirections' && /raise maxRedirections/.test(e.message));
  await strict.quit();
  assert.equal(await client.cmd(['GET', stays]), 'stays-value');
  assert.equal(client.masterOf(slot), `127.0.0.1:${from.port}`, 'ASK does not change the map');
  assert.match(serverByPort(from.port).cli('INFO', 'errorstats'), /errorstat_ASK:count=[1-9]/);
  m.finish();
  // A second slot moved behind the client's back, for the pipeline.
  const slot2 = keySlot('second-slot');
  const k2 = keyInSlot(slot2, 'two');
  await client.cmd(['SET', k2, 'v2']);
  const m2 = beginMigration(slot2, otherMaster(ownerOf(slot2)));
  m2.finish();
  const refreshed = new Promise((r) => client.once('refresh', r));
  const replies = await client.cmd([['GET', 'pipeline-a'], ['GET', moved], ['SET', 'pipeline-a', 'x'], ['GET', k2], ['GET', stays], ['GET', 'pipeline-a']]);
  assert.deepEqual(replies, [null, 'moved-value', 'OK', 'v2', 'stays-value', 'x']);
  assert.equal(client.masterOf(slot), `127.0.0.1:${to.port}`, 'MOVED patched the slot');
  await refreshed; // and a background refresh followed
  assert.equal(await client.cmd(['GET', moved]), 'moved-value');
});

test('TRYAGAIN: a multi-key command split by a migration waits, then follows MOVED', async () => {
  const slot = keySlot('{split}');
  await client.cmd(['MSET', '{split}a', 'va', '{split}b', 'vb']);
  const from = ownerOf(slot);
  const m = beginMigration(slot, otherMaster(from));
  m.migrate(['{split}a']);
  // The source has b but not a: -TRYAGAIN, retried with backoff until the migration is done.
  const pending = client.cmd(['MGET', '{split}a', '{split}b']);
  await new Promise((r) => setTimeout(r, 300));
  m.finish();
  assert.deepEqual(await pending, ['va', 'vb']);
  assert.match(serverByPort(from.port).cli('INFO', 'errorstats'), /errorstat_TRYAGAIN:count=[1-9]/);
});

test('scaleReads: replica sends reads to replicas', async () => {
  const reader = createCluster({ nodes: [{ host: '127.0.0.1', port: cluster.nodes[1]!.port }], scaleReads: 'replica' });
  try {
    await reader.cmd(['SET', 'r:1', 'x']);
    await reader.cmd(['WAIT', 1, 1000]);
    const replicas = cluster.nodes.filter((n) => /role:slave/.test(n.cli('INFO', 'replication')));
    const gets = () => replicas.reduce((sum, n) => sum + Number(/cmdstat_get:calls=(\d+)/.exec(n.cli('INFO', 'commandstats'))?.[1] ?? 0), 0);
    const before = gets();
    for (let i = 0; i < 5; i++) assert.equal(await reader.cmd(['GET', 'r:1']), 'x');
    assert.equal(gets() - before, 5);
    assert.equal(await reader.cmd(['SET', 'r:1', 'y']), 'OK'); // writes still reach the master
  } finally {
    await reader.quit();
  }
});

test('SUBSCRIBE on any node; SSUBSCRIBE follows its slot when it migrates', async () => {
  const publisher = createCluster({ nodes: [{ host: '127.0.0.1', port: cluster.nodes[2]!.port }] });
  try {
    const got: string[] = [];
    await client.subscribe('plain', (m) => got.push(`plain:${m}`));
    await client.ssubscribe('shard-news', (m) => got.push(`shard:${m}`));
    await publisher.cmd(['PUBLISH', 'plain', 'p1']);
    await publisher.cmd(['SPUBLISH', 'shard-news', 's1']);
    await waitUntil(() => got.length === 2, 5000, 'first messages');
    assert.deepEqual(got.sort(), ['plain:p1', 'shard:s1']);

    const slot = keySlot('shard-news');
    const from = ownerOf(slot);
    const to = otherMaster(from);
    assert.deepEqual(client.subscribedOn('shard', 'shard-news'), [`127.0.0.1:${from.port}`]);
    beginMigration(slot, to).finish();
    // The old owner drops the subscription (unsolicited sunsubscribe); the client resubscribes on the new one.
    await waitUntil(() => client.subscribedOn('shard', 'shard-news')[0] === `127.0.0.1:${to.port}`, 5000, 'resubscribed on the new owner');
    await waitUntil(() => /:1$/.test(serverByPort(to.port).cli('PUBSUB', 'SHARDNUMSUB', 'shard-news').replace(/\n/g, ':')), 5000, 'subscription on the new owner');
    got.length = 0;
    await publisher.cmd(['SPUBLISH', 'shard-news', 's2']);
    await waitUntil(() => got.includes('shard:s2'), 5000, 'message after migration');
    await client.unsubscribe('plain');
  } finally {
    await publisher.quit();
  }
});

test('failover: SIGKILL a master; commands fail typed, then succeed on the promoted replica', async (t) => {
  const slot = keySlot('failover-key');
  const victim = ownerOf(slot);
  const victimServer = serverByPort(victim.port);
  await client.cmd(['SET', 'failover-key', 'before']);
  const got: string[] = [];
  await client.ssubscribe('fo-news', (m) => got.push(String(m)));
  const foSlot = keySlot('fo-news');
  const errors: unknown[] = [];
  let stop = false;
  // A steady stream of commands on every master while it happens.
  const load = (async () => {
    let i = 0;
    while (!stop) {
      const r = await client.cmd(Array.from({ length: 20 }, (_, k) => ['INCR', `load:${(i * 20 + k) % 300}`])).catch((e) => [e]);
      for (const x of r) if (x instanceof Error) errors.push(x);
      i++;
      await new Promise((res) => setTimeout(res, 5));
    }
  })();
  await new Promise((r) => setTimeout(r, 200));
  const t0 = Date.now();
  victimServer.signal('SIGKILL');
  // New commands succeed within a bounded time.
  let value: unknown;
  for (;;) {
    try {
      value = await client.cmd(['GET', 'failover-key']);
      break;
    } catch (err) {
      errors.push(err);
      assert.ok(Date.now() - t0 < 20_000, `no recovery within 20 s: ${(err as Error).message}`);
    }
  }
  const recoveredMs = Date.now() - t0;
  // The value was written before the kill and replicated (WAIT was not used, but 'before' had time).
  assert.equal(value, 'before');
  assert.notEqual(client.masterOf(slot), `127.0.0.1:${victim.port}`);
  stop = true;
  await load;
  for (const e of errors) {
    assert.ok(e instanceof RedstackError, `untyped error ${String(e)}`);
    assert.ok(['ERR_OUTCOME_UNKNOWN', 'ERR_NOT_SENT', 'ERR_CLUSTER_RETRIES', 'ERR_TIMEOUT'].includes((e as RedstackError).code), (e as Error).message);
  }
  assert.ok(recoveredMs < 15_000, `recovered after ${recoveredMs} ms`);
  // Sharded subscriptions on the dead master moved to its replica.
  if (ownerOf(foSlot, cluster.nodes.find((n) => n !== victimServer)!).port !== victim.port) {
    await waitUntil(() => client.subscribedOn('shard', 'fo-news').length === 1 && client.subscribedOn('shard', 'fo-news')[0] !== `127.0.0.1:${victim.port}`, 10_000, 'shard subscription moved');
  }
  await waitUntil(async () => {
    await client.cmd(['SPUBLISH', 'fo-news', 'after']);
    return got.includes('after');
  }, 10_000, 'sharded message after failover');
  const codes = new Map<string, number>();
  for (const e of errors) codes.set((e as RedstackError).code, (codes.get((e as RedstackError).code) ?? 0) + 1);
  t.diagnostic(`failover: recovered in ${recoveredMs} ms; errors meanwhile: ${JSON.stringify(Object.fromEntries(codes))}`);
});
