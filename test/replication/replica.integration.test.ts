/**
 * createReplica against real Redis 7 masters: requirepass and ACL users (including one with only the
 * replication commands), refused credentials, rdb-only and stream-only modes, db and key filters, and
 * the five events of the talk.
 */
import { after, test } from 'node:test';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { createClient } from '../../src/client/index.js';
import { createReplica, MemoryMirror, type ClosedEvent, type ReplicatedCommand, type ReplicationPosition, type SnapshotKey, type Target } from '../../src/replication/index.js';
import { RedisServer, waitUntil } from '../support/redis-server.js';
import { waitCaughtUp } from './workload.js';

/** Replicas to close however a test ends (an open replica keeps the process alive, like a socket). */
const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  await Promise.all(cleanup.map((f) => f()));
});

test('requirepass, a full ACL user and a user with only +psync +replconf +ping', async () => {
  const master = await RedisServer.start({
    password: 'default-pw',
    users: [
      { name: 'ops', password: 'ops-pw' },
      { name: 'repl', password: 'repl-pw', rules: '-@all +psync +replconf +ping' },
    ],
    config: { 'repl-diskless-sync-delay': 0 },
  });
  const c = createClient({ port: master.port, password: 'default-pw' });
  try {
    await c.cmd(['SET', 'k', 'v']);
    for (const url of [master.url, `redis://ops:ops-pw@127.0.0.1:${master.port}`, `redis://repl:repl-pw@127.0.0.1:${master.port}`]) {
      const mirror = new MemoryMirror();
      const replica = createReplica({ url, target: mirror });
      try {
        await waitUntil(() => mirror.state === 'ready', 10_000, url.replace(/:[^:@]*@/, ':***@'));
        await c.cmd(['INCR', 'n']);
        await waitCaughtUp(master.port, mirror, 10_000, 'default-pw');
        assert.equal(mirror.get('k')?.toString(), 'v');
        assert.ok(Number(mirror.get('n')) >= 1);
      } finally {
        await replica.close();
      }
    }
  } finally {
    c.disconnect();
    await master.stop();
  }
});

test('TLS (rediss://) with the server\'s CA', async () => {
  const master = await RedisServer.start({ tls: true, config: { 'repl-diskless-sync-delay': 0 } });
  const mirror = new MemoryMirror();
  const replica = createReplica({ url: master.url, tls: { ca: readFileSync(master.tlsFiles!.ca) }, target: mirror });
  cleanup.push(() => replica.close());
  try {
    master.cli('SET', 'secure', 'yes');
    await waitUntil(() => mirror.state === 'ready', 10_000);
    await waitUntil(() => mirror.get('secure')?.toString() === 'yes', 5_000);
  } finally {
    await replica.close();
    await master.stop();
  }
});

test('refused credentials and missing permissions stop the replica with ERR_REPL_AUTH, without retrying', async () => {
  const master = await RedisServer.start({ password: 'pw', users: [{ name: 'reader', password: 'r', rules: '-@all +get +ping' }] });
  try {
    for (const url of [`redis://127.0.0.1:${master.port}`, `redis://:nope@127.0.0.1:${master.port}`, `redis://reader:r@127.0.0.1:${master.port}`]) {
      const replica = createReplica({ url });
      const closed: ClosedEvent[] = [];
      replica.on('closed', (e) => closed.push(e));
      replica.on('error', () => {});
      await replica.whenClosed();
      assert.equal(closed.length, 1, url);
      assert.equal(closed[0]!.willReconnect, false);
      assert.equal(closed[0]!.error?.code, 'ERR_REPL_AUTH');
    }
  } finally {
    await master.stop();
  }
});

/** The mirror, but reporting every `name` command as unhandled, as a target without a handler for it does. */
function refusing(mirror: MemoryMirror, name: string): Target {
  return {
    takesEncoded: mirror.takesEncoded,
    open: () => mirror.open(),
    beginFullSync: (i) => mirror.beginFullSync(i),
    applyKeys: (k) => mirror.applyKeys(k),
    endFullSync: (p) => mirror.endFullSync(p),
    abortFullSync: () => mirror.abortFullSync(),
    status: (s) => mirror.status(s),
    close: () => mirror.close(),
    applyCommands: (cmds: readonly ReplicatedCommand[], p: ReplicationPosition) => {
      const refused = cmds.filter((c) => c.name === name).map((command) => ({ command, reason: `the test refuses ${name}` }));
      return [...(mirror.applyCommands(cmds.filter((c) => c.name !== name), p) ?? []), ...refused];
    },
  };
}

test('the five events: load per key, loaded, command per write (MULTI/EXEC kept), unhandled, closed', async () => {
  const master = await RedisServer.start({ config: { 'repl-diskless-sync-delay': 0 } });
  const c = createClient({ port: master.port });
  try {
    await c.cmd([['SET', 'a', '1'], ['RPUSH', 'l', 'x', 'y'], ['SELECT', '2'], ['SET', 'b', '2']]);
    const mirror = new MemoryMirror();
    const replica = createReplica({ port: master.port, target: refusing(mirror, 'PFADD') });
    cleanup.push(() => replica.close());
    const loads: SnapshotKey[] = [];
    const commands: ReplicatedCommand[] = [];
    const unhandled: string[] = [];
    const closed: ClosedEvent[] = [];
    let loaded = 0;
    replica.on('load', (k) => loads.push(k));
    replica.on('loaded', (i) => (loaded = i.keys));
    replica.on('command', (cmd) => commands.push(cmd));
    replica.on('unhandled', (u) => unhandled.push(u.command.name));
    replica.on('closed', (e) => closed.push(e));
    await waitUntil(() => mirror.state === 'ready', 10_000);
    assert.deepEqual(loads.map((k) => `${k.db} ${k.key} ${k.type}`).sort(), ['0 a string', '0 l list', '2 b string']);
    assert.equal(loaded, 3);
    await c.eval("redis.call('SET', 'x', '1'); redis.call('INCR', 'x'); return 1");
    await c.cmd(['GEOADD', 'geo', '13.4', '52.5', 'berlin']);
    await c.cmd(['GEOSEARCHSTORE', 'near', 'geo', 'FROMLONLAT', '13.4', '52.5', 'BYRADIUS', '10', 'km']);
    // A master propagates RESTORE-ASKING (a cluster's key migration) as it is.
    await c.cmd(['EVAL', "return redis.call('RESTORE-ASKING', KEYS[2], 0, redis.call('DUMP', KEYS[1]))", '2', 'x', 'copy']);
    await c.cmd(['PFADD', 'hll', 'a']);
    await c.cmd(['SET', 'done', '1']);
    await waitUntil(() => commands.some((x) => x.name === 'SET' && String(x.args[0]) === 'done'), 5_000);
    assert.deepEqual(commands.map((x) => x.name), ['MULTI', 'SET', 'INCR', 'EXEC', 'ZADD', 'GEOSEARCHSTORE', 'RESTORE-ASKING', 'PFADD', 'SET']);
    assert.deepEqual(unhandled, ['PFADD']);
    assert.equal(mirror.get('copy', 2)?.toString(), '2'); // the client SELECTed db 2 above
    assert.equal(mirror.type('near', 2), 'zset');
    await replica.close();
    assert.deepEqual(closed.map((e) => [e.willReconnect, e.reason]), [[false, 'closed by caller']]);
  } finally {
    c.disconnect();
    await master.stop();
  }
});

test('rdb-only loads the snapshot and closes; stream-only loads nothing and follows; db and key filters', async () => {
  const master = await RedisServer.start({ config: { 'repl-diskless-sync-delay': 0 } });
  const c = createClient({ port: master.port });
  try {
    await c.cmd([['SET', 'keep:1', 'a'], ['SET', 'other', 'b'], ['SELECT', '1'], ['SET', 'keep:2', 'c'], ['SELECT', '0']]);

    const snap = new MemoryMirror();
    const only = createReplica({ port: master.port, target: snap, mode: 'rdb-only' });
    await only.whenClosed();
    assert.equal(snap.dbsize(0), 2);
    assert.equal(snap.get('keep:2', 1)?.toString(), 'c');

    const live = new MemoryMirror();
    const stream = createReplica({ port: master.port, target: live, mode: 'stream-only' });
    cleanup.push(() => stream.close());
    await waitUntil(() => stream.state === 'streaming', 10_000);
    await waitUntil(() => /slave\d:.*state=online/.test(master.cli('INFO', 'replication')), 5_000);
    await c.cmd(['SET', 'new', 'x']);
    await waitUntil(() => live.get('new') !== null, 5_000);
    assert.equal(live.get('keep:1'), null, 'no snapshot');
    await stream.close();

    const filtered = new MemoryMirror();
    const f = createReplica({ port: master.port, target: filtered, filter: { db: 0, key: 'keep:*' } });
    cleanup.push(() => f.close());
    await waitUntil(() => filtered.state === 'ready', 10_000);
    await c.cmd([['SELECT', '0'], ['SET', 'keep:3', 'd'], ['SET', 'skip', 'e'], ['SELECT', '1'], ['SET', 'keep:4', 'f']]);
    await waitCaughtUp(master.port, filtered);
    assert.deepEqual(filtered.keys('*', 0).map(String).sort(), ['keep:1', 'keep:3']);
    assert.equal(filtered.dbsize(1), 0);
    await f.close();
  } finally {
    c.disconnect();
    await master.stop();
  }
});
