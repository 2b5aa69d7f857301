/**
 * Client unit tests against test/support's FakeRedis (no redis-server): pub/sub confirmations under
 * RESP2 and RESP3, unsubscribe forms, the command timeout against a slow but live server, and the
 * client's lifecycle.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.js';
import { createClient, type Client } from '../../src/client/index.js';
import { FakeRedis, reply } from '../support/fake-redis.js';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await tick(2);
  }
}

async function withFake(fn: (fake: FakeRedis) => Promise<void>): Promise<void> {
  const fake = await FakeRedis.start();
  try {
    await fn(fake);
  } finally {
    await fake.close();
  }
}

function client(fake: FakeRedis, extra: Parameters<typeof createClient>[0] & object = {}): Client {
  return createClient({ host: fake.host, port: fake.port, reconnect: { baseMs: 5, maxMs: 20 }, ...extra });
}

for (const protocol of [2, 3] as const) {
  test(`RESP${protocol}: SUBSCRIBE of several channels waits for every confirmation; unsubscribe() with no arguments drops them all`, () =>
    withFake(async (fake) => {
      const c = client(fake, { protocol });
      try {
        const got: string[] = [];
        await c.subscribe(['a', 'b', 'c'], (m, ch) => got.push(`${ch}:${m}`));
        // Every channel is confirmed before subscribe() resolves: the server knows all three.
        const conn = fake.clients.find((x) => x.channels.size > 0)!;
        assert.deepEqual([...conn.channels].sort(), ['a', 'b', 'c']);
        await c.psubscribe(['p*', 'q*'], (m, ch, p) => got.push(`${p}>${ch}:${m}`));
        assert.deepEqual([...conn.patterns].sort(), ['p*', 'q*']);
        fake.publish('b', 'hello');
        fake.publish('px', 'pat');
        await until(() => got.length === 2, 'two messages');
        assert.deepEqual(got, ['b:hello', 'p*>px:pat']);
        // Commands after the subscription work: RESP3 on the same connection, RESP2 on the main one.
        assert.equal(await c.cmd(['ECHO', 'still']), 'still');
        await c.unsubscribe();
        assert.equal(conn.channels.size, 0);
        assert.equal(conn.patterns.size, 2);
        await c.punsubscribe();
        assert.equal(conn.patterns.size, 0);
        // Resolved confirmations consumed exactly: the next command gets its own reply.
        assert.equal(await c.cmd(['ECHO', 'after']), 'after');
        if (protocol === 3) assert.equal(fake.connectionsTotal, 1, 'RESP3: one connection');
      } finally {
        c.disconnect();
      }
    }));

  test(`RESP${protocol}: a subscribe issued while disconnected is confirmed once the link is back, with the resubscription`, () =>
    withFake(async (fake) => {
      const c = client(fake, { protocol });
      try {
        const got: string[] = [];
        await c.subscribe('x', (m) => got.push(`x:${m}`));
        fake.closeAll();
        const later = c.subscribe('y', (m) => got.push(`y:${m}`));
        await later;
        await until(() => fake.clients.some((k) => k.channels.has('x') && k.channels.has('y')), 'both channels back');
        fake.publish('x', '1');
        fake.publish('y', '2');
        await until(() => got.length === 2, 'messages');
        assert.deepEqual(got.sort(), ['x:1', 'y:2']);
        assert.equal(await c.cmd(['ECHO', 'ok']), 'ok');
      } finally {
        c.disconnect();
      }
    }));
}

test('a subscribe that waits offline past offlineTimeoutMs is not dropped: it resolves once the server is back', () =>
  withFake(async (fake) => {
    const c = client(fake, { protocol: 3, offlineTimeoutMs: 50 });
    try {
      await c.ready();
      await fake.stop();
      await until(() => c.status !== 'ready', 'noticed');
      const got: string[] = [];
      let done = false;
      const sub = c.subscribe('late', (m) => got.push(String(m))).then(() => (done = true));
      await tick(150); // well past the offline timeout
      assert.equal(done, false);
      await fake.listen();
      await sub;
      fake.publish('late', 'hi');
      await until(() => got.length === 1, 'message');
    } finally {
      c.disconnect();
    }
  }));

test('a refused subscribe (NOPERM) rejects and is not resubscribed later; closing rejects a waiting subscribe', () =>
  withFake(async (fake) => {
    const c = client(fake, { protocol: 3 });
    try {
      fake.on('SUBSCRIBE', (cmd) => (cmd.includes('secret') ? reply.error("NOPERM this user has no permissions to access the 'secret' channel") : undefined));
      await assert.rejects(c.subscribe('secret'), (e: any) => e.prefix === 'NOPERM');
      await c.subscribe('open');
      fake.clearLog();
      fake.closeAll();
      await fake.waitFor(() => fake.log.some((l) => l.args[0] === 'SUBSCRIBE'));
      assert.deepEqual(fake.log.filter((l) => l.args[0] === 'SUBSCRIBE').map((l) => l.args.slice(1)), [['open']]);
      await fake.stop();
      await until(() => c.status !== 'ready', 'noticed');
      const pending = c.subscribe('never').catch((e) => e);
      await tick(20);
      c.disconnect();
      assert.equal((await pending).code, 'ERR_NOT_SENT');
      // unsubscribe() on a client that lost its connection still succeeds: nothing is subscribed.
      await c.unsubscribe();
    } finally {
      c.disconnect();
    }
  }));

test('RESP3 requested from a server without HELLO (before Redis 6): pub/sub falls back to a RESP2 subscriber connection', async () => {
  const fake = await FakeRedis.start({ hello: false });
  const c = client(fake, { protocol: 3 });
  try {
    const got: string[] = [];
    await c.subscribe('old', (m) => got.push(String(m)));
    assert.equal(c.protocol, 2);
    fake.publish('old', 'one');
    fake.publish('old', 'two');
    await until(() => got.length === 2, 'messages');
    assert.deepEqual(got, ['one', 'two']);
    assert.equal(await c.cmd(['ECHO', 'fine']), 'fine');
    assert.equal(fake.connections, 2);
  } finally {
    c.disconnect();
    await fake.close();
  }
});

test('command timeout: a slow but live server (a big reply trickling in) is progress, not a timeout; silence still times out', () =>
  withFake(async (fake) => {
    const clock = new ManualClock();
    const c = client(fake, { clock, commandTimeoutMs: 1_000 });
    try {
      await c.ready();
      const big = 'z'.repeat(64 * 1024);
      fake.on('GET', (cmd) => (cmd[1] === 'big' ? reply.trickle(big, { chunk: 2048, everyMs: 5 }) : cmd[1] === 'silent' ? reply.hang() : undefined));
      let settled: { v?: unknown; e?: any } | undefined;
      c.cmd(['GET', 'big']).then(
        (v) => (settled = { v }),
        (e) => (settled = { e }),
      );
      // 32 chunks, 5 ms apart in real time; the clock runs 300 ms per real 10 ms meanwhile, so the
      // whole transfer "takes" several seconds of client time, far beyond the timeout.
      let advanced = 0;
      while (!settled) {
        await tick(10);
        clock.advance(300);
        advanced += 300;
        if (advanced > 60_000) break;
      }
      assert.equal(settled?.e, undefined, `no timeout expected, got ${settled?.e?.code}`);
      assert.equal((settled!.v as string).length, big.length);
      assert.ok(advanced > 1_000, 'the transfer outlasted the timeout on the client clock');
      const silent = c.cmd(['GET', 'silent']).catch((e) => e);
      await fake.waitFor(() => fake.log.some((l) => l.args[1] === 'silent'));
      for (let i = 0; i < 10; i++) {
        clock.advance(300);
        await tick(2);
      }
      assert.equal((await silent).code, 'ERR_TIMEOUT');
    } finally {
      c.disconnect();
    }
  }));

test('a socket reset mid-reply fails that command as outcome unknown; the client recovers', () =>
  withFake(async (fake) => {
    const c = client(fake);
    try {
      fake.on('GET', (cmd) => (cmd[1] === 'cut' ? reply.cut('0123456789'.repeat(100), { reset: true }) : undefined));
      const err = await c.cmd(['GET', 'cut']).catch((e) => e);
      assert.equal(err.code, 'ERR_OUTCOME_UNKNOWN');
      assert.equal(await c.cmd(['ECHO', 'next']), 'next');
    } finally {
      c.disconnect();
    }
  }));

test('offline queue: commands issued while the server is down are sent once it is back, in order, each once', () =>
  withFake(async (fake) => {
    const c = client(fake);
    try {
      await c.ready();
      await fake.stop();
      await until(() => c.status !== 'ready', 'noticed');
      const ps = Array.from({ length: 20 }, (_, i) => c.cmd(['INCR', `n${i % 3}`]));
      await tick(30);
      await fake.listen();
      const replies = await Promise.all(ps);
      assert.deepEqual(replies, Array.from({ length: 20 }, (_, i) => Math.floor(i / 3) + 1));
      assert.equal(fake.log.filter((l) => l.args[0] === 'INCR').length, 20);
    } finally {
      c.disconnect();
    }
  }));

test('ready() resolves after the handshake; rejects typed when the client closes first', async () => {
  await withFake(async (fake) => {
    const c = client(fake);
    await c.ready();
    assert.equal(c.status, 'ready');
    c.disconnect();
    await assert.rejects(c.ready(), (e: any) => e.code === 'ERR_NOT_SENT');
  });
  const never = createClient({ port: 1, reconnect: false });
  await assert.rejects(never.ready(), (e: any) => e.code === 'ERR_NOT_SENT');
});
