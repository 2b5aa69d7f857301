/**
 * cmd(), pipelines, write batching, errors, MULTI/EXEC and WATCH, scripts, scan iterators, blocking
 * commands, large values and large pipelines, quit() and disconnect(), against a real redis-server.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { RedisServer, waitUntil } from '../support/redis-server.js';
import { createClient, ReplyError, type Client, type RespValue } from '../../src/client/index.js';

let server: RedisServer;
let client: Client;

before(async () => {
  server = await RedisServer.start();
  client = createClient({ port: server.port, clientName: 'main', reconnect: { baseMs: 10, maxMs: 100 } });
  await client.ready();
});

after(async () => {
  client?.disconnect();
  await server?.stop();
});

/**
 * Counts socket writes to the server (calls of net.Socket#write on a socket connected to its port)
 * while `fn` runs. Other sockets (the test runner's stdout) are not counted.
 */
async function countWrites<T>(fn: () => Promise<T>): Promise<{ writes: number; result: T }> {
  const proto = net.Socket.prototype as unknown as { write: (...a: unknown[]) => boolean };
  const original = proto.write;
  let writes = 0;
  proto.write = function (this: net.Socket, ...args: unknown[]) {
    if (this.remotePort === server.port) writes++;
    return original.apply(this, args);
  };
  try {
    const result = await fn();
    return { writes, result };
  } finally {
    proto.write = original;
  }
}

function commandCalls(name: string): { calls: number; failed: number } {
  const line = server.cli('INFO', 'commandstats').split('\n').find((l) => l.startsWith(`cmdstat_${name}:`)) ?? '';
  const calls = Number(/calls=(\d+)/.exec(line)?.[1] ?? 0);
  const failed = Number(/failed_calls=(\d+)/.exec(line)?.[1] ?? 0);
  return { calls, failed };
}

test('cmd() returns the reply; a list of commands returns the replies in order', async () => {
  assert.equal(await client.cmd(['SET', 'k', 'v']), 'OK');
  assert.equal(await client.cmd(['GET', 'k']), 'v');
  await client.cmd(['SET', 'a', '1']);
  await client.cmd(['SET', 'b', '2']);
  assert.deepEqual(await client.cmd([['GET', 'a'], ['GET', 'b'], ['GET', 'missing'], ['INCR', 'a']]), ['1', '2', null, 2]);
  assert.equal(await client.cmd(['INCRBYFLOAT', 'f', '1.5']), '1.5');
  assert.deepEqual(await client.cmd([]), []);
  assert.equal(await client.cmd(['SET', Buffer.from([0, 1, 2, 255]), Buffer.from([255, 0])]), 'OK');
  assert.equal(await client.cmd(['STRLEN', Buffer.from([0, 1, 2, 255])]), 2);
});

test('same-tick commands share one socket write: 100 concurrent awaits, one write; a pipeline, one write', async () => {
  const { writes, result } = await countWrites(() => Promise.all(Array.from({ length: 100 }, (_, i) => client.cmd(['INCR', `w${i % 7}`]))));
  assert.equal(result.length, 100);
  assert.equal(writes, 1);
  const p = await countWrites(() => client.cmd(Array.from({ length: 500 }, (_, i) => ['SET', `pw${i}`, String(i)])));
  assert.equal(p.writes, 1);
  assert.equal((p.result as unknown[]).length, 500);
  // Commands in different ticks are different writes.
  const sequential = await countWrites(async () => {
    for (let i = 0; i < 5; i++) await client.cmd(['PING']);
  });
  assert.equal(sequential.writes, 5);
});

test('a reply error rejects only its own command; a pipeline returns per-command errors in place', async () => {
  await client.cmd(['DEL', 'list']);
  await client.cmd(['RPUSH', 'list', 'x']);
  const [ok1, bad, ok2] = await Promise.allSettled([client.cmd(['GET', 'k']), client.cmd(['GET', 'list']), client.cmd(['LLEN', 'list'])]);
  assert.deepEqual(ok1, { status: 'fulfilled', value: 'v' });
  assert.equal(bad.status, 'rejected');
  const err = (bad as PromiseRejectedResult).reason;
  assert.ok(err instanceof ReplyError);
  assert.equal(err.code, 'ERR_REPLY');
  assert.equal(err.prefix, 'WRONGTYPE');
  assert.equal(err.command, 'GET');
  assert.deepEqual(ok2, { status: 'fulfilled', value: 1 });
  const replies = (await client.cmd([['GET', 'k'], ['GET', 'list'], ['NOSUCHCOMMAND'], ['LLEN', 'list']])) as RespValue[];
  assert.equal(replies[0], 'v');
  assert.ok(replies[1] instanceof ReplyError && replies[1].prefix === 'WRONGTYPE');
  assert.ok(replies[2] instanceof ReplyError && replies[2].prefix === 'ERR');
  assert.equal(replies[3], 1);
});

test('multi()/exec(): one unit; EXECABORT on a queue-time error; null when a WATCHed key changed', async () => {
  await client.cmd(['DEL', 'm1', 'm2']);
  const res = await client.multi().cmd(['SET', 'm1', 'a']).cmd(['INCR', 'm2']).cmd(['GET', 'm1']).exec();
  assert.deepEqual(res, ['OK', 1, 'a']);
  // A runtime error stays in place inside EXEC's reply.
  const mixed = (await client.multi().cmd(['INCR', 'm1']).cmd(['INCR', 'm2']).exec()) as RespValue[];
  assert.ok(mixed[0] instanceof ReplyError);
  assert.equal(mixed[1], 2);
  // A queue-time error aborts the whole block.
  await assert.rejects(client.multi().cmd(['SET', 'm1']).cmd(['INCR', 'm2']).exec(), (e: any) => e instanceof ReplyError && e.prefix === 'EXECABORT');
  assert.equal(await client.cmd(['GET', 'm2']), '2');

  const other = client.duplicate();
  try {
    await client.cmd(['WATCH', 'm2']);
    await other.cmd(['INCR', 'm2']);
    assert.equal(await client.multi().cmd(['SET', 'm2', 'overwritten']).exec(), null);
    assert.equal(await client.cmd(['GET', 'm2']), '3');
    // Unchanged watched key: the block runs.
    await client.cmd(['WATCH', 'm2']);
    assert.deepEqual(await client.multi().cmd(['INCR', 'm2']).exec(), [4]);
  } finally {
    other.disconnect();
  }
});

test('WATCH, then a reconnect, then exec(): refused with NotSentError watch-lost, nothing applied', async () => {
  const c = createClient({ port: server.port, clientName: 'watcher', reconnect: { baseMs: 10, maxMs: 50 } });
  try {
    await c.cmd(['SET', 'wl', '0']);
    await c.cmd(['WATCH', 'wl']);
    server.cli('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    await new Promise<void>((r) => c.once('ready', () => r()));
    await assert.rejects(c.multi().cmd(['SET', 'wl', 'unguarded']).exec(), (e: any) => e.code === 'ERR_NOT_SENT' && e.reason === 'watch-lost' && e.safeToRetry === true);
    assert.equal(await c.cmd(['GET', 'wl']), '0');

    // The connection drops after WATCH and exec() is called while it is down: refused too, never
    // queued for the next connection.
    await c.cmd(['WATCH', 'wl']);
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    server.cli('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    await closed;
    await assert.rejects(c.multi().cmd(['SET', 'wl', 'unguarded']).exec(), (e: any) => e.reason === 'watch-lost');

    // Without WATCH, a block issued while down is kept and runs after the reconnect, as one unit.
    await c.ready();
    const closed2 = new Promise<void>((r) => c.once('close', () => r()));
    server.cli('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    await closed2;
    assert.deepEqual(await c.multi().cmd(['INCR', 'wl']).cmd(['INCR', 'wl']).exec(), [1, 2]);
    // And after a successful guarded exec, the next exec is unguarded again.
    await c.cmd(['WATCH', 'wl']);
    assert.deepEqual(await c.multi().cmd(['GET', 'wl']).exec(), ['2']);
    assert.deepEqual(await c.multi().cmd(['GET', 'wl']).exec(), ['2']);
  } finally {
    c.disconnect();
  }
});

test('eval: EVALSHA first, EVAL on NOSCRIPT, EVALSHA again once cached; again EVAL after SCRIPT FLUSH', async () => {
  const lua = `return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}`;
  await client.cmd(['DEL', 'ev']);
  server.cli('CONFIG', 'RESETSTAT');
  assert.deepEqual(await client.eval(lua, ['ev'], ['x']), ['ev', 'x', 1]);
  assert.deepEqual(commandCalls('evalsha'), { calls: 1, failed: 1 }, 'EVALSHA first, refused with NOSCRIPT');
  assert.deepEqual(commandCalls('eval'), { calls: 1, failed: 0 });
  assert.deepEqual(await client.eval(lua, ['ev'], ['y']), ['ev', 'y', 2]);
  assert.deepEqual(await client.script(lua).run(client, ['ev'], ['z']), ['ev', 'z', 3]);
  assert.deepEqual(commandCalls('evalsha'), { calls: 3, failed: 1 }, 'cached: EVALSHA only');
  assert.deepEqual(commandCalls('eval'), { calls: 1, failed: 0 });
  await client.cmd(['SCRIPT', 'FLUSH']);
  assert.deepEqual(await client.eval(lua, ['ev'], ['w']), ['ev', 'w', 4]);
  assert.deepEqual(commandCalls('evalsha'), { calls: 4, failed: 2 });
  assert.deepEqual(commandCalls('eval'), { calls: 2, failed: 0 });
  // A script error is a ReplyError, not a fallback loop.
  await assert.rejects(client.eval(`return redis.call('NOPE')`), (e: any) => e instanceof ReplyError);
});

test('scan iterators walk thousands of keys, fields, members, scores', async () => {
  const N = 5_000;
  await client.cmd(Array.from({ length: N }, (_, i) => ['SET', `scan:${i}`, 'x']));
  await client.cmd(['DEL', 'scan-h', 'scan-s', 'scan-z']);
  await client.cmd(Array.from({ length: 3_000 }, (_, i) => ['HSET', 'scan-h', `f${i}`, `v${i}`]));
  await client.cmd(Array.from({ length: 3_000 }, (_, i) => ['SADD', 'scan-s', `m${i}`]));
  await client.cmd(Array.from({ length: 3_000 }, (_, i) => ['ZADD', 'scan-z', i + 0.5, `z${i}`]));
  const keys = new Set<string>();
  for await (const k of client.scanIterator({ match: 'scan:*', count: 500 })) keys.add(String(k));
  assert.equal(keys.size, N);
  const hashes: string[] = [];
  for await (const k of client.scanIterator({ type: 'hash', count: 1000 })) hashes.push(String(k));
  assert.deepEqual(hashes, ['scan-h']);
  const fields = new Map<string, string>();
  for await (const [f, v] of client.hscanIterator('scan-h', { count: 200 })) fields.set(String(f), String(v));
  assert.equal(fields.size, 3_000);
  assert.equal(fields.get('f1234'), 'v1234');
  const members = new Set<string>();
  for await (const m of client.sscanIterator('scan-s', { match: 'm1*' })) members.add(String(m));
  assert.equal(members.size, 1_111); // m1, m10-m19, m100-m199, m1000-m1999
  const scores = new Map<string, number>();
  for await (const [m, s] of client.zscanIterator('scan-z', { count: 300 })) scores.set(String(m), s);
  assert.equal(scores.size, 3_000);
  assert.equal(scores.get('z7'), 7.5);
  // Breaking out early is fine and leaves the client usable.
  for await (const _ of client.scanIterator()) break;
  assert.equal(await client.cmd(['PING']), 'PONG');
});

test('blocking commands (BLPOP, XREAD BLOCK) do not stall the client’s other commands', async () => {
  await client.cmd(['DEL', 'bq', 'bs']);
  const t0 = Date.now();
  const blpop = client.cmd(['BLPOP', 'bq', 5]);
  const xread = client.cmd(['XREAD', 'BLOCK', 5000, 'STREAMS', 'bs', '$']);
  // While both block, a thousand ordinary commands complete.
  for (let i = 0; i < 10; i++) await client.cmd(Array.from({ length: 100 }, () => ['PING']));
  assert.ok(Date.now() - t0 < 2_000, 'ordinary commands were not held up');
  const pusher = client.duplicate();
  try {
    await pusher.cmd(['RPUSH', 'bq', 'item']);
    await pusher.cmd(['XADD', 'bs', '*', 'f', 'v']);
    assert.deepEqual(await blpop, ['bq', 'item']);
    const x = (await xread) as [string, [string, string[]][]][];
    assert.equal(x[0]![0], 'bs');
    assert.deepEqual(x[0]![1][0]![1], ['f', 'v']);
    // A blocking command that times out returns null; its connection goes back to the pool.
    assert.equal(await client.cmd(['BLPOP', 'bq', 0.05]), null);
    assert.equal(await client.cmd(['BRPOP', 'bq', 0.05]), null);
    const blockingConns = server.cli('CLIENT', 'LIST').split('\n').filter((l) => l.includes('name=main')).length;
    assert.ok(blockingConns <= 1 + 4, `pooled: ${blockingConns}`);
  } finally {
    pusher.disconnect();
  }
});

test('the blocking pool survives a reconnect: pooled connections come back and serve the next blocking command', async () => {
  const c = createClient({ port: server.port, clientName: 'pool', reconnect: { baseMs: 10, maxMs: 50 } });
  try {
    assert.equal(await c.cmd(['BLPOP', 'pool-q', 0.05]), null);
    const killed = Number(server.cli('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
    assert.ok(killed >= 2);
    // Until the client has read the close, a pooled connection looks alive and a command written
    // to it could only fail as outcome unknown; wait for both connections to be back.
    await waitUntil(() => server.cli('CLIENT', 'LIST').split('\n').filter((l) => l.includes('name=pool')).length === 2, 3_000, 'reconnected');
    const blpop = c.cmd(['BLPOP', 'pool-q', 5]);
    await waitUntil(() => /cmd=blpop/.test(server.cli('CLIENT', 'LIST')), 3_000, 'BLPOP blocked');
    server.cli('RPUSH', 'pool-q', 'after-kill');
    assert.deepEqual(await blpop, ['pool-q', 'after-kill']);
    // A BLPOP in flight when its connection is killed fails typed, and the next one works.
    const inflight = c.cmd(['BLPOP', 'pool-q', 5]).catch((e) => e);
    await waitUntil(() => /cmd=blpop/.test(server.cli('CLIENT', 'LIST')), 3_000, 'BLPOP blocked');
    server.cli('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    assert.equal((await inflight).code, 'ERR_OUTCOME_UNKNOWN');
    server.cli('RPUSH', 'pool-q', 'x');
    assert.deepEqual(await c.cmd(['BLPOP', 'pool-q', 5]), ['pool-q', 'x']);
  } finally {
    c.disconnect();
  }
  await waitUntil(() => !server.cli('CLIENT', 'LIST').includes('name=pool'), 3_000, 'every pool connection closed');
});

test('disconnect() closes busy blocking connections too; blocking commands after close fail typed', async () => {
  const c = createClient({ port: server.port, clientName: 'bclose' });
  await c.ready();
  const blpop = c.cmd(['BLPOP', 'never', 0]).catch((e) => e);
  await waitUntil(() => /name=bclose.*cmd=blpop/.test(server.cli('CLIENT', 'LIST')), 3_000, 'BLPOP blocked');
  c.disconnect();
  assert.equal((await blpop).code, 'ERR_OUTCOME_UNKNOWN');
  await assert.rejects(c.cmd(['BLPOP', 'never', 0]), (e: any) => e.code === 'ERR_NOT_SENT');
  await waitUntil(() => !server.cli('CLIENT', 'LIST').includes('name=bclose'), 3_000, 'all closed');
});

test('100 MB values: SET then GET, byte for byte', async () => {
  const c = createClient({ port: server.port, returnBuffers: true });
  try {
    const value = Buffer.allocUnsafe(100 * 1024 * 1024);
    for (let i = 0; i < value.length; i += 4) value.writeUInt32LE((i * 2654435761) >>> 0, i);
    assert.equal(String(await c.cmd(['SET', 'huge', value])), 'OK');
    const got = (await c.cmd(['GET', 'huge'])) as Buffer;
    assert.equal(got.length, value.length);
    assert.ok(got.equals(value));
    // As a string too (the default decoding), and interleaved with small commands.
    const text = 'x'.repeat(100 * 1024 * 1024);
    const [set, ping] = await Promise.all([client.cmd(['SET', 'huge-s', text]), client.cmd(['PING'])]);
    assert.deepEqual([set, ping], ['OK', 'PONG']);
    const [s, small] = await Promise.all([client.cmd(['GET', 'huge-s']), client.cmd(['ECHO', 'small'])]);
    assert.equal((s as string).length, text.length);
    assert.ok(s === text);
    assert.equal(small, 'small');
  } finally {
    c.disconnect();
    await client.cmd(['DEL', 'huge', 'huge-s']);
  }
});

test('a pipeline of 100 000 commands', async () => {
  const N = 100_000;
  const sets = await client.cmd(Array.from({ length: N }, (_, i) => ['SET', `p:${i}`, `v${i}`]));
  assert.equal((sets as unknown[]).length, N);
  assert.ok((sets as unknown[]).every((r) => r === 'OK'));
  const gets = (await client.cmd(Array.from({ length: N }, (_, i) => ['GET', `p:${i}`]))) as string[];
  for (let i = 0; i < N; i += 1) if (gets[i] !== `v${i}`) assert.fail(`reply ${i} is ${gets[i]}`);
  assert.equal(await client.cmd(['DBSIZE']) as number >= N, true);
});

test('quit(): replies in flight arrive, then the connection closes; events in order', async () => {
  const c = createClient({ port: server.port });
  const events: string[] = [];
  for (const ev of ['connect', 'ready', 'close', 'end']) c.on(ev, () => events.push(ev));
  await c.ready();
  const inflight = Array.from({ length: 1000 }, (_, i) => c.cmd(['ECHO', String(i)]));
  const big = c.cmd(['DEBUG', 'SLEEP', '0.2']);
  const quitting = c.quit();
  const after = c.cmd(['PING']).catch((e) => e);
  const replies = await Promise.all(inflight);
  assert.deepEqual(replies, Array.from({ length: 1000 }, (_, i) => String(i)));
  assert.equal(await big, 'OK');
  await quitting;
  assert.equal((await after).code, 'ERR_NOT_SENT');
  assert.equal(c.status, 'closed');
  assert.deepEqual(events, ['connect', 'ready', 'close', 'end']);
});

test('disconnect(): now; written commands fail outcome unknown, nothing hangs', async () => {
  const c = createClient({ port: server.port });
  await c.ready();
  const slow = c.cmd(['DEBUG', 'SLEEP', '0.3']).catch((e) => e);
  await new Promise((r) => setTimeout(r, 20));
  const t0 = Date.now();
  c.disconnect();
  const err = await slow;
  assert.ok(Date.now() - t0 < 100);
  assert.equal(err.code, 'ERR_OUTCOME_UNKNOWN');
  assert.equal(c.status, 'closed');
  await assert.rejects(c.cmd(['PING']), (e: any) => e.code === 'ERR_NOT_SENT');
  // Idempotent.
  c.disconnect();
  await c.quit();
});

test('events: connect, ready, close, reconnecting, ready again after the server drops the connection', async () => {
  const c = createClient({ port: server.port, clientName: 'events', reconnect: { baseMs: 10, maxMs: 50 } });
  const events: string[] = [];
  for (const ev of ['connect', 'ready', 'close', 'reconnecting', 'end']) c.on(ev, () => events.push(ev));
  try {
    await c.ready();
    server.cli('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    await waitUntil(() => events.filter((e) => e === 'ready').length === 2, 3_000, 'second ready');
    assert.deepEqual(events, ['connect', 'ready', 'close', 'reconnecting', 'connect', 'ready']);
    assert.equal(await c.cmd(['PING']), 'PONG');
  } finally {
    c.disconnect();
  }
});
