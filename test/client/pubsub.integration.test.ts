/**
 * Pub/sub against a real redis-server, under RESP2 (a dedicated subscriber connection) and RESP3
 * (push frames on the client's one connection): handlers, unsubscribe forms, resubscription after
 * CLIENT KILL and after a server restart, and replies that merely look like messages.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RedisServer, waitUntil } from '../support/redis-server.js';
import { createClient, type Client } from '../../src/client/index.js';

let server: RedisServer;

before(async () => {
  server = await RedisServer.start({ persistence: 'none' });
});

after(async () => {
  await server?.stop();
});

function numsub(channel: string): number {
  return Number(server.cli('PUBSUB', 'NUMSUB', channel).split('\n')[1]);
}

function numpat(): number {
  return Number(server.cli('PUBSUB', 'NUMPAT'));
}

function shardnumsub(channel: string): number {
  return Number(server.cli('PUBSUB', 'SHARDNUMSUB', channel).split('\n')[1]);
}

async function publishUntil(channel: string, message: string, got: () => boolean, shard = false): Promise<void> {
  // Publishes until the message is seen: after a reconnect the resubscription takes a moment.
  await waitUntil(() => {
    server.cli(shard ? 'SPUBLISH' : 'PUBLISH', channel, message);
    return got();
  }, 5_000, `message on ${channel}`);
}

async function withClient(protocol: 2 | 3, fn: (c: Client) => Promise<void>): Promise<void> {
  const c = createClient({ port: server.port, protocol, clientName: `ps${protocol}`, reconnect: { baseMs: 10, maxMs: 100 } });
  try {
    await c.ready();
    await fn(c);
  } finally {
    c.disconnect();
  }
}

for (const protocol of [2, 3] as const) {
  test(`RESP${protocol}: subscribe, psubscribe, ssubscribe route messages to their handlers and events`, () =>
    withClient(protocol, async (c) => {
      const seen: string[] = [];
      const events: string[] = [];
      c.on('message', (ch, m) => events.push(`message ${ch} ${m}`));
      c.on('pmessage', (p, ch, m) => events.push(`pmessage ${p} ${ch} ${m}`));
      await c.subscribe(['news', 'sport'], (m, ch) => seen.push(`sub ${ch} ${m}`));
      await c.psubscribe('n*', (m, ch, p) => seen.push(`psub ${p} ${ch} ${m}`));
      await c.ssubscribe('shard1', (m, ch) => seen.push(`ssub ${ch} ${m}`));
      assert.equal(numsub('news'), 1);
      assert.equal(numpat(), 1);
      assert.equal(shardnumsub('shard1'), 1);
      assert.equal(server.cli('PUBLISH', 'news', 'n1'), '2'); // the channel and the pattern
      server.cli('PUBLISH', 'sport', 's1');
      server.cli('SPUBLISH', 'shard1', 'h1');
      await waitUntil(() => seen.length === 4, 2_000, 'four deliveries');
      assert.deepEqual(seen.sort(), ['psub n* news n1', 'ssub shard1 h1', 'sub news n1', 'sub sport s1']);
      assert.ok(events.includes('message news n1'));
      assert.ok(events.includes('pmessage n* news n1'));
      // Ordinary commands keep working alongside (RESP3: on the very same connection).
      assert.equal(await c.cmd(['SET', `k${protocol}`, 'v']), 'OK');
      assert.equal(await c.cmd(['GET', `k${protocol}`]), 'v');
      await c.unsubscribe();
      await c.punsubscribe();
      await c.sunsubscribe();
    }));

  test(`RESP${protocol}: unsubscribe one handler, one channel, then everything with no arguments`, () =>
    withClient(protocol, async (c) => {
      const a: string[] = [];
      const b: string[] = [];
      const ha = (m: string | Buffer) => a.push(String(m));
      const hb = (m: string | Buffer) => b.push(String(m));
      await c.subscribe('u1', ha);
      await c.subscribe('u1', hb);
      await c.subscribe(['u2', 'u3'], ha);
      await c.psubscribe(['p1*', 'p2*'], ha);
      await c.unsubscribe('u1', hb); // u1 keeps ha: still subscribed on the server
      assert.equal(numsub('u1'), 1);
      server.cli('PUBLISH', 'u1', 'x');
      await waitUntil(() => a.length === 1, 2_000, 'u1 delivery');
      assert.deepEqual(b, []);
      await c.unsubscribe('u2');
      assert.equal(numsub('u2'), 0);
      assert.equal(numsub('u3'), 1);
      await c.unsubscribe(); // no arguments: every channel
      assert.equal(numsub('u1'), 0);
      assert.equal(numsub('u3'), 0);
      assert.equal(numpat(), 2, 'patterns are unsubscribed separately');
      await c.punsubscribe();
      assert.equal(numpat(), 0);
      await c.unsubscribe(); // nothing left: resolves at once
      // And subscribing again after everything was dropped works.
      await c.subscribe('u4', ha);
      await publishUntil('u4', 'again', () => a.includes('again'));
      await c.unsubscribe();
      assert.equal(await c.cmd(['PING']), 'PONG');
    }));

  test(`RESP${protocol}: a reply shaped like a message (SMEMBERS of {message, ch, x}) is a reply, not a message`, () =>
    withClient(protocol, async (c) => {
      const seen: unknown[] = [];
      c.on('message', (...args) => seen.push(args));
      await c.subscribe('ch', () => seen.push('handler'));
      await c.cmd(['DEL', 'looks']);
      await c.cmd(['SADD', 'looks', 'message', 'ch', 'x']);
      await c.cmd(['RPUSH', 'looks-list', 'message', 'ch', 'x']);
      for (let i = 0; i < 20; i++) {
        const [members, list] = (await c.cmd([['SMEMBERS', 'looks'], ['LRANGE', 'looks-list', 0, -1]])) as [unknown, unknown];
        assert.deepEqual([...(members as Iterable<string>)].sort(), ['ch', 'message', 'x']);
        assert.deepEqual(list, ['message', 'ch', 'x']);
      }
      assert.deepEqual(seen, []);
      await c.cmd(['DEL', 'looks-list']);
      await c.unsubscribe();
    }));

  test(`RESP${protocol}: SUBSCRIBE through cmd() goes through the pub/sub API; replies after it stay in step`, () =>
    withClient(protocol, async (c) => {
      const events: string[] = [];
      c.on('message', (ch, m) => events.push(`${ch}:${m}`));
      assert.equal(await c.cmd(['SUBSCRIBE', 'raw1', 'raw2']), null);
      assert.equal(await c.cmd(['PSUBSCRIBE', 'rawp*']), null);
      const [a, b] = await Promise.all([c.cmd(['ECHO', 'a']), c.cmd(['ECHO', 'b'])]);
      assert.deepEqual([a, b], ['a', 'b']);
      assert.equal(numsub('raw2'), 1);
      server.cli('PUBLISH', 'raw2', 'm');
      await waitUntil(() => events.includes('raw2:m'), 2_000, 'message event');
      assert.equal(await c.cmd(['UNSUBSCRIBE']), null);
      assert.equal(await c.cmd(['PUNSUBSCRIBE']), null);
      assert.equal(numsub('raw1') + numsub('raw2'), 0);
      await assert.rejects(c.cmd(['SUBSCRIBE']), TypeError);
      assert.equal(await c.cmd(['ECHO', 'c']), 'c');
    }));

  test(`RESP${protocol}: subscriptions come back after CLIENT KILL TYPE pubsub`, () =>
    withClient(protocol, async (c) => {
      const got: string[] = [];
      let reconnects = 0;
      await c.subscribe('k1', (m) => got.push(`k1 ${m}`));
      await c.psubscribe('kp*', (m, ch) => got.push(`${ch} ${m}`));
      await c.ssubscribe('ks1', (m) => got.push(`ks1 ${m}`));
      c.on('reconnecting', () => reconnects++);
      const killed = Number(server.cli('CLIENT', 'KILL', 'TYPE', 'pubsub'));
      assert.ok(killed >= 1);
      await publishUntil('k1', 'after-kill', () => got.includes('k1 after-kill'));
      await publishUntil('kp-x', 'p-after', () => got.includes('kp-x p-after'));
      await publishUntil('ks1', 's-after', () => got.includes('ks1 s-after'), true);
      if (protocol === 3) assert.ok(reconnects >= 1, 'RESP3: the main connection carried the subscriptions');
      assert.equal(await c.cmd(['PING']), 'PONG');
      await c.unsubscribe();
      await c.punsubscribe();
      await c.sunsubscribe();
    }));

  test(`RESP${protocol}: RESP3 pushes share the one connection; RESP2 uses one subscriber connection`, () =>
    withClient(protocol, async (c) => {
      await c.subscribe('one', () => undefined);
      await c.cmd(['PING']);
      const lines = server.cli('CLIENT', 'LIST').split('\n').filter((l) => l.includes(`name=ps${protocol}`));
      assert.equal(lines.length, protocol === 3 ? 1 : 2, lines.join('\n'));
      if (protocol === 3) assert.match(lines[0]!, /resp=3/);
      await c.unsubscribe();
    }));
}

test('subscriptions come back after a server restart (RESP2 and RESP3), messages resume', async () => {
  const s = await RedisServer.start();
  const clients = [2, 3].map((protocol) => createClient({ port: s.port, protocol: protocol as 2 | 3, reconnect: { baseMs: 10, maxMs: 100 } }));
  try {
    const got: string[][] = [[], []];
    await Promise.all(clients.map((c, i) => c.subscribe('r', (m) => got[i]!.push(String(m)))));
    await Promise.all(clients.map((c, i) => c.psubscribe('r*', (m, ch) => got[i]!.push(`p:${m}`))));
    s.cli('PUBLISH', 'r', 'before');
    await waitUntil(() => got.every((g) => g.includes('before') && g.includes('p:before')), 2_000, 'before');
    await s.restart({ downMs: 200 });
    await waitUntil(() => {
      s.cli('PUBLISH', 'r', 'after');
      return got.every((g) => g.includes('after') && g.includes('p:after'));
    }, 5_000, 'after restart');
    assert.equal(await clients[1]!.cmd(['PING']), 'PONG');
  } finally {
    for (const c of clients) c.disconnect();
    await s.stop();
  }
});

test('a throwing message handler does not break the connection', () =>
  withClient(3, async (c) => {
    const errors: unknown[] = [];
    c.on('error', (e) => errors.push(e));
    const got: string[] = [];
    await c.subscribe('boom', (m) => {
      if (String(m) === 'throw') throw new Error('handler bug');
      got.push(String(m));
    });
    server.cli('PUBLISH', 'boom', 'throw');
    server.cli('PUBLISH', 'boom', 'fine');
    await waitUntil(() => got.includes('fine'), 2_000, 'second message');
    assert.equal(await c.cmd(['PING']), 'PONG');
    assert.equal(errors.length, 1);
    await c.unsubscribe();
  }));

test('quit() closes the subscriber connection too; subscribing after quit fails typed', async () => {
  const c = createClient({ port: server.port });
  await c.subscribe('q', () => undefined);
  await c.quit();
  assert.equal(c.status, 'closed');
  await assert.rejects(c.subscribe('q2'), (e: any) => e.code === 'ERR_NOT_SENT');
  await waitUntil(() => numsub('q') === 0, 2_000, 'subscriber connection gone');
});
