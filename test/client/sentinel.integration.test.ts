/**
 * The Sentinel client against a real master + replica watched by 3 sentinels: discovery, role checks,
 * a graceful failover (SENTINEL FAILOVER) and a crash (SIGKILL), each followed by the client.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startReplicaPair, startSentinels, waitUntil, type RedisServer, type SentinelProcess } from '../support/redis-server.js';
import { createSentinelClient, SentinelClient, SentinelError, NotSentError } from '../../src/client/index.js';
import { RedstackError } from '../../src/errors.js';

let pair: { master: RedisServer; replica: RedisServer; stop(): Promise<void> };
let sentinels: { sentinels: SentinelProcess[]; stop(): Promise<void> };
let client: SentinelClient;
const addrs = () => sentinels.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port }));

function sentinelCli(s: SentinelProcess, ...args: string[]): string {
  const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(s.port), ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}

/**
 * Every sentinel knows the other two and lists `replica` as a healthy replica, and the replica's own
 * link to its master is up: a failover can be agreed and done.
 */
async function sentinelsSettled(replica: RedisServer): Promise<void> {
  await waitUntil(
    () =>
      /master_link_status:up/.test(replica.cli('INFO', 'replication')) &&
      sentinels.sentinels.every((s) => {
        const others = sentinelCli(s, 'SENTINEL', 'SENTINELS', 'mymaster').split('\n').filter((l) => l === 'name').length;
        const entries = sentinelCli(s, 'SENTINEL', 'REPLICAS', 'mymaster').split('\nname\n');
        const mine = entries.find((e) => e.includes(`\nport\n${replica.port}\n`));
        return others === 2 && !!mine && /\nflags\nslave\n/.test(mine);
      }),
    25_000,
    'sentinels to know each other and the replica',
  );
}

function masterPort(): number {
  return Number(sentinelCli(sentinels.sentinels[0]!, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster').split('\n')[1]);
}

before(async () => {
  pair = await startReplicaPair();
  // Resyncs after each failover start at once rather than after the default 5 s diskless delay.
  for (const n of [pair.master, pair.replica]) n.cli('CONFIG', 'SET', 'repl-diskless-sync-delay', '0');
  sentinels = await startSentinels(pair.master, 3, 'mymaster');
  client = createSentinelClient({ sentinels: addrs(), name: 'mymaster' });
});

after(async () => {
  client?.disconnect();
  await sentinels?.stop();
  await pair?.stop();
});

test('resolves the master through the sentinels and checks its role', async () => {
  assert.equal(await client.cmd(['SET', 'k', 'v1']), 'OK');
  assert.equal(await client.cmd(['GET', 'k']), 'v1');
  assert.equal(client.resolver.current?.port, pair.master.port);
  assert.equal(((await client.cmd(['ROLE'])) as string[])[0], 'master');
});

test('a sentinel that is down is skipped; the replica role connects to the replica', async () => {
  // Until the sentinels have found the replica (INFO every 10 s) a 'replica' client reads from the master.
  await waitUntil(() => sentinels.sentinels.every((s) => /master-link-status\nok/.test(sentinelCli(s, 'SENTINEL', 'REPLICAS', 'mymaster'))), 20_000, 'sentinels to find the replica');
  const reader = createSentinelClient({ sentinels: [{ host: '127.0.0.1', port: 1 }, ...addrs()], name: 'mymaster', role: 'replica' });
  try {
    await waitUntil(async () => (await reader.cmd(['GET', 'k'])) === 'v1', 5000, 'replica read');
    assert.equal(reader.resolver.current?.port, pair.replica.port);
    assert.equal(((await reader.cmd(['ROLE'])) as string[])[0], 'slave');
    // the sentinel that answered is asked first from now on
    assert.notEqual(reader.resolver.sentinels[0]!.port, 1);
  } finally {
    reader.disconnect();
  }
});

test('an unknown master name: commands wait offline, then fail typed with the sentinel error as cause', async () => {
  const lost = createSentinelClient({ sentinels: addrs(), name: 'nope', offlineTimeoutMs: 300, reconnect: { baseMs: 20, maxMs: 50 } });
  try {
    await assert.rejects(lost.cmd(['PING']), (e: unknown) => {
      assert.ok(e instanceof NotSentError, String(e));
      assert.equal(e.reason, 'offline-timeout');
      assert.ok(e.cause instanceof SentinelError && e.cause.code === 'ERR_SENTINEL_UNKNOWN_MASTER', String(e.cause));
      return true;
    });
  } finally {
    lost.disconnect();
  }
});

test('SENTINEL FAILOVER: the client follows +switch-master to the new master, subscriptions too', async () => {
  await sentinelsSettled(pair.replica);
  const oldMaster = pair.master.port;
  const got: string[] = [];
  await client.subscribe('news', (m) => got.push(String(m)));
  const switched = new Promise<{ to: { port: number } }>((r) => client.once('switch-master', r));
  assert.equal(sentinelCli(sentinels.sentinels[0]!, 'SENTINEL', 'FAILOVER', 'mymaster'), 'OK');
  const ev = await switched;
  assert.equal(ev.to.port, pair.replica.port);
  const t0 = Date.now();
  await waitUntil(async () => (await client.cmd(['SET', 'k', 'v2']).catch(() => null)) === 'OK', 15_000, 'a write on the new master');
  const ms = Date.now() - t0;
  assert.equal(client.resolver.current?.port, pair.replica.port);
  assert.equal(((await client.cmd(['ROLE'])) as string[])[0], 'master');
  assert.notEqual(masterPort(), oldMaster);
  await waitUntil(() => {
    pair.replica.cli('PUBLISH', 'news', 'hello');
    return got.includes('hello');
  }, 10_000, 'a message published on the new master');
  assert.ok(ms < 15_000);
  // Sentinel demotes the old master only some 10-20 s later (it waits to be sure); do it now, as it
  // would, so the next test has a replica to promote.
  pair.master.cli('REPLICAOF', '127.0.0.1', String(pair.replica.port));
});

test('SIGKILL of the master: commands fail typed, then succeed on the promoted replica', async (t) => {
  const victim = masterPort() === pair.master.port ? pair.master : pair.replica;
  const survivor = victim === pair.master ? pair.replica : pair.master;
  await sentinelsSettled(survivor);
  await client.cmd(['SET', 'k', 'before-crash']);
  await client.cmd(['WAIT', 1, 1000]);
  const t0 = Date.now();
  victim.signal('SIGKILL');
  const errors: unknown[] = [];
  let value: unknown;
  for (;;) {
    try {
      value = await client.cmd(['GET', 'k']);
      if (client.resolver.current?.port === survivor.port) break;
    } catch (err) {
      errors.push(err);
    }
    assert.ok(Date.now() - t0 < 30_000, 'no recovery within 30 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  const ms = Date.now() - t0;
  assert.equal(value, 'before-crash');
  assert.equal(await client.cmd(['SET', 'k', 'after']), 'OK');
  for (const e of errors) assert.ok(e instanceof RedstackError && ['ERR_OUTCOME_UNKNOWN', 'ERR_NOT_SENT', 'ERR_TIMEOUT'].includes(e.code), String(e));
  t.diagnostic(`recovered after ${ms} ms with ${errors.length} typed errors`);
});
