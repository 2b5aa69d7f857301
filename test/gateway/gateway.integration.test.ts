/**
 * The gateway against a real redis-server, with real WebSocket and SSE clients.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { RedisServer, waitUntil } from '../support/redis-server.js';
import { createToken } from '../../src/gateway/index.js';
import { httpRequest, setup, sleep, SseClient, WsClient, type Setup } from './helpers.js';

let redis: RedisServer;
before(async () => {
  redis = await RedisServer.start();
});
after(async () => {
  await redis.stop();
});

async function withGateway(opts: Parameters<typeof setup>[0], fn: (s: Setup) => Promise<void>): Promise<void> {
  const s = await setup(opts, redis);
  try {
    await fn(s);
  } finally {
    await s.stop();
    redis.cli('FLUSHALL');
  }
}

function numsub(channel: string): number {
  const out = redis.cli('PUBSUB', 'NUMSUB', channel).split('\n');
  return Number(out[1]);
}

test('subscribe, psubscribe, messages, unsubscribe; one Redis subscription shared by all clients', async () => {
  await withGateway({}, async (s) => {
    const a = await WsClient.open(s.wsUrl);
    const b = await WsClient.open(s.wsUrl);
    const hello = await a.waitFor((m) => m.type === 'hello');
    assert.equal(hello.version, 1);
    assert.deepEqual(await a.request({ type: 'subscribe', channels: ['news', 'sport'] }), { type: 'ack', id: 1, channels: ['news', 'sport'] });
    await b.request({ type: 'subscribe', channels: ['news'] });
    await b.request({ type: 'psubscribe', patterns: ['spo*'] });
    assert.equal(numsub('news'), 1, 'one Redis subscription for two clients');
    await s.pub.cmd(['PUBLISH', 'news', 'n1']);
    await s.pub.cmd(['PUBLISH', 'sport', 's1']);
    const m = await a.waitFor((x) => x.type === 'message' && x.data === 's1');
    assert.deepEqual(m, { type: 'message', channel: 'sport', data: 's1' });
    await b.waitFor((x) => x.data === 's1');
    assert.deepEqual(
      b.of('message').map((x) => [x.channel, x.pattern, x.data]),
      [
        ['news', undefined, 'n1'],
        ['sport', 'spo*', 's1'],
      ],
    );
    assert.deepEqual(await a.request({ type: 'unsubscribe', channels: ['news', 'never'] }), { type: 'ack', id: 2, channels: ['news'] });
    assert.equal(numsub('news'), 1, 'b still reads news');
    await b.close();
    await waitUntil(() => numsub('news') === 0, 2000, 'news unsubscribed in Redis after the last client left');
    assert.equal(s.gateway.hub.patternCount, 0);
    await a.close();
    await waitUntil(() => numsub('sport') === 0, 2000, 'sport unsubscribed');
  });
});

test('bad frames get an error frame with a code and the connection carries on', async () => {
  await withGateway({ limits: { maxFrameBytes: 4096 } }, async (s) => {
    const c = await WsClient.open(s.wsUrl);
    await c.waitFor((m) => m.type === 'hello');
    c.send('this is not json');
    c.send('{"type":"teleport","id":9}');
    c.send(JSON.stringify({ type: 'ping', id: 'big', pad: 'x'.repeat(5000) }));
    c.ws.send(randomBytes(32));
    c.send('{"type":"subscribe","id":10,"channels":["ok","bad\\u0001"]}');
    c.send('[]');
    await waitUntil(() => c.of('error').length >= 6, 3000, 'six error frames');
    assert.deepEqual(
      c.of('error').map((e) => e.code),
      ['bad_json', 'unknown_type', 'too_large', 'binary_unsupported', 'bad_channel', 'bad_frame'],
    );
    assert.equal(c.of('error')[1]!.id, 9, 'the id of a readable frame is echoed');
    assert.equal(c.of('error')[4]!.id, 10);
    assert.deepEqual(await c.request({ type: 'ping' }), { type: 'pong', id: 1 });
    assert.equal(c.closed, undefined);
    // Past ws's hard maxPayload (4 x maxFrameBytes, at least 1 MiB) the socket is closed by ws (1009).
    c.send('x'.repeat(1024 * 1024 + 1));
    await waitUntil(() => c.closed !== undefined, 3000, 'close on a frame over maxPayload');
    assert.equal(c.closed!.code, 1009);
  });
});

test('authorisation: anonymous patterns, tokens, refusals that never leak data', async () => {
  const secret = 'test-secret';
  await withGateway({ auth: { secret, anonymousRead: ['public.*'] } }, async (s) => {
    const anon = await WsClient.open(s.wsUrl);
    await anon.request({ type: 'subscribe', channels: ['public.a'] });
    const refused = await anon.request({ type: 'subscribe', channels: ['public.b', 'secret.x'] });
    assert.equal(refused.type, 'error');
    assert.equal(refused.code, 'forbidden');
    assert.deepEqual(refused.names, ['secret.x']);
    assert.equal((await anon.request({ type: 'psubscribe', patterns: ['*'] })).code, 'forbidden');
    assert.equal((await anon.request({ type: 'publish', channel: 'public.a', data: 'x' })).code, 'forbidden');
    await s.pub.cmd(['PUBLISH', 'secret.x', 'classified']);
    await s.pub.cmd(['PUBLISH', 'public.b', 'not-subscribed']);
    await s.pub.cmd(['PUBLISH', 'public.a', 'fine']);
    await anon.waitFor((m) => m.data === 'fine');
    await sleep(50);
    assert.deepEqual(anon.of('message').map((m) => m.data), ['fine'], 'a refused subscribe delivers nothing, all or nothing');

    const token = createToken(secret, { subscribe: ['secret.*'], publish: ['secret.out'], expiresInSec: 60 });
    const holder = await WsClient.open(`${s.wsUrl}?token=${token}`);
    const hello = await holder.waitFor((m) => m.type === 'hello');
    assert.equal((hello.auth as { token: boolean }).token, true);
    await holder.request({ type: 'subscribe', channels: ['secret.x', 'public.a'] });
    await holder.request({ type: 'psubscribe', patterns: ['secret.a*'] });
    const ack = await holder.request({ type: 'publish', channel: 'secret.out', data: { n: 1 } });
    assert.equal(ack.type, 'ack');
    assert.equal((await holder.request({ type: 'publish', channel: 'secret.in', data: 'x' })).code, 'forbidden');

    for (const bad of [createToken('other-secret', { subscribe: ['*'] }), createToken(secret, { subscribe: ['*'], expiresAt: Date.now() - 1000 }), 'rs1.garbage.sig']) {
      const c = new WsClient(`${s.wsUrl}?token=${encodeURIComponent(bad)}`);
      const err = await c.waitFor((m) => m.type === 'error');
      assert.equal(err.code, 'unauthorized');
      await waitUntil(() => c.closed !== undefined, 2000, 'closed after a bad token');
      assert.equal(c.closed!.code, 4001);
    }

    // A token swapped in with `auth` replaces the grants; subscriptions it does not cover are dropped.
    const narrower = createToken(secret, { subscribe: ['secret.y'] });
    const swap = await holder.request({ type: 'auth', token: narrower });
    assert.deepEqual((swap.revoked as { channels: string[] }).channels, ['secret.x']);
    assert.equal((await holder.request({ type: 'auth', token: 'nope' })).code, 'unauthorized');

    // HTTP publish and SSE follow the same rules.
    const http = `${s.gateway.url}/publish/secret.out`;
    assert.equal((await httpRequest(http, { method: 'POST', body: 'x' })).status, 403);
    assert.equal((await httpRequest(http, { method: 'POST', body: 'x', headers: { authorization: 'Bearer rs1.bad.sig' } })).status, 401);
    assert.equal((await httpRequest(http, { method: 'POST', body: 'x', headers: { authorization: `Bearer ${token}` } })).status, 200);
    const sse = await SseClient.open(`${s.gateway.url}/sse?channel=secret.x`);
    assert.equal(sse.status, 403);
    sse.close();
    await Promise.all([anon.close(), holder.close()]);
  });
});

test('a token that expires while connected: error frame, then the connection closes (4003)', async () => {
  const secret = 'k';
  await withGateway({ auth: { secret } }, async (s) => {
    const token = createToken(secret, { subscribe: ['*'], expiresAt: Date.now() + 1200 });
    const c = await WsClient.open(`${s.wsUrl}?token=${token}`);
    await c.request({ type: 'subscribe', channels: ['a'] });
    const err = await c.waitFor((m) => m.type === 'error', 4000);
    assert.equal(err.code, 'unauthorized');
    await waitUntil(() => c.closed !== undefined, 3000, 'closed after expiry');
    assert.equal(c.closed!.code, 4003);
  });
});

test('publish over WebSocket and HTTP reaches subscribers; limits on size', async () => {
  await withGateway({ limits: { maxMessageBytes: 1000 } }, async (s) => {
    const c = await WsClient.open(s.wsUrl);
    await c.request({ type: 'subscribe', channels: ['pub.room'] });
    const ack = await c.request({ type: 'publish', channel: 'pub.room', data: 'from-ws' });
    assert.deepEqual(ack, { type: 'ack', id: 2, receivers: 1 });
    const r = await httpRequest(`${s.gateway.url}/publish/pub.room`, { method: 'POST', body: '{"from":"http"}' });
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { receivers: 1 });
    await c.waitFor((m) => m.data === '{"from":"http"}');
    assert.deepEqual(c.of('message').map((m) => m.data), ['from-ws', '{"from":"http"}']);
    assert.equal((await c.request({ type: 'publish', channel: 'pub.room', data: 'x'.repeat(1001) })).code, 'too_large');
    assert.equal((await httpRequest(`${s.gateway.url}/publish/pub.room`, { method: 'POST', body: 'x'.repeat(1001) })).status, 413);
    await c.close();
  });
});

test('SSE: the same messages as events; Last-Event-ID resumes from history', async () => {
  const history = [{ pattern: 'hist.*', maxLen: 100 }];
  await withGateway({ history }, async (s) => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await s.gateway.publish('hist.a', `m${i}`)).id!);
    assert.ok(ids.every((id) => /^\d+-\d+$/.test(id)));
    // Resume after m1: gets m2..m4 from history, then live messages.
    const sse = await SseClient.open(`${s.gateway.url}/sse?channel=hist.a&channel=live.b&pattern=pat.*`, { 'last-event-id': ids[1]! });
    assert.equal(sse.status, 200);
    await sse.waitFor((e) => e.data.type === 'ack');
    await s.gateway.publish('hist.a', 'm5');
    await s.pub.cmd(['PUBLISH', 'live.b', 'plain']);
    await s.pub.cmd(['PUBLISH', 'pat.c', 'via-pattern']);
    await sse.waitFor((e) => e.data.data === 'via-pattern');
    const msgs = sse.events.filter((e) => e.data.type === 'message');
    assert.deepEqual(msgs.map((e) => e.data.data), ['m2', 'm3', 'm4', 'm5', 'plain', 'via-pattern']);
    assert.deepEqual(msgs.slice(0, 3).map((e) => e.id), ids.slice(2));
    assert.equal(msgs[4]!.id, undefined, 'plain PUBLISH has no id');
    assert.equal(msgs[5]!.data.pattern, 'pat.*');
    sse.close();

    // WebSocket `since` does the same; a channel without history is refused for `since`.
    const c = await WsClient.open(s.wsUrl);
    const ack = await c.request({ type: 'subscribe', channels: ['hist.a'], since: ids[3] });
    assert.equal(ack.type, 'ack');
    await c.waitFor((m) => m.data === 'm5');
    assert.deepEqual(c.of('message').map((m) => m.data), ['m4', 'm5']);
    assert.equal((await c.request({ type: 'subscribe', channels: ['live.b'], since: ids[0] })).code, 'history_unavailable');
    // GET /history for the page.
    const h = JSON.parse((await httpRequest(`${s.gateway.url}/history/hist.a?since=${ids[2]}`)).body) as { entries: { id: string; data: string }[] };
    assert.deepEqual(h.entries.map((e) => e.data), ['m3', 'm4', 'm5']);
    assert.equal((await httpRequest(`${s.gateway.url}/history/live.b`)).status, 404);
    await c.close();
  });
});

test('history that was trimmed away is reported as a gap', async () => {
  await withGateway({ history: [{ pattern: 'short', maxLen: 5 }] }, async (s) => {
    const first = (await s.gateway.publish('short', 'old'))!.id!;
    // MAXLEN ~ trims whole macro nodes: publish enough to drop the first node.
    for (let i = 0; i < 300; i++) await s.gateway.publish('short', `n${i}`);
    const c = await WsClient.open(s.wsUrl);
    await c.request({ type: 'subscribe', channels: ['short'], since: first });
    const lagged = await c.waitFor((m) => m.type === 'lagged');
    assert.equal(lagged.reason, 'history_trimmed');
    await c.close();
  });
});

/** A WebSocket client that subscribes and then never reads again. */
async function stalledClient(wsUrl: string, channel: string): Promise<Socket> {
  const u = new URL(wsUrl);
  const sock = connect(Number(u.port), u.hostname);
  await new Promise((r) => sock.once('connect', r));
  sock.write(`GET /ws HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  await new Promise<void>((resolve) => {
    let head = '';
    const on = (d: Buffer): void => {
      head += d.toString('latin1');
      if (head.includes('"hello"')) {
        sock.off('data', on);
        resolve();
      }
    };
    sock.on('data', on);
  });
  const payload = Buffer.from(JSON.stringify({ type: 'subscribe', id: 1, channels: [channel] }));
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  sock.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
  await sleep(100);
  sock.pause(); // stops reading: the kernel buffers fill, then the gateway's
  sock.on('error', () => undefined);
  return sock;
}

test('a client that stops reading is cut off; a fast client on the same channel misses nothing', async () => {
  await withGateway({ limits: { slowConsumerTimeoutMs: 500 } }, async (s) => {
    const fast = await WsClient.open(s.wsUrl);
    await fast.request({ type: 'subscribe', channels: ['firehose'] });
    const slow = await stalledClient(s.wsUrl, 'firehose');
    await waitUntil(() => s.gateway.hub.clientsOf('channel', 'firehose') === 2, 2000, 'both subscribed');
    const body = 'y'.repeat(16 * 1024);
    const total = 1500; // 24 MB: more than loopback's socket buffers and the 1 MiB bound hold
    // A producer the fast client keeps up with: bursts of 256 KiB, each once the last has arrived.
    // (A single burst over the bound would be dropped for every client, fast or not.)
    for (let i = 0; i < total; i += 16) {
      const batch = [];
      for (let j = i; j < Math.min(total, i + 16); j++) batch.push(['PUBLISH', 'firehose', `${j}:${body}`]);
      await s.pub.cmd(batch as never);
      await waitUntil(() => fast.of('message').length >= Math.min(total, i + 16), 5000, 'the fast client keeps up');
    }
    const seq = fast.of('message').map((m) => Number(String(m.data).split(':')[0]));
    assert.deepEqual(seq, Array.from({ length: total }, (_, i) => i), 'in order, none missing');
    assert.equal(fast.of('lagged').length, 0);
    await waitUntil(() => (s.gateway.hub.counters.disconnects.slow_consumer ?? 0) === 1, 5000, 'the stalled client was disconnected');
    assert.ok(s.gateway.hub.counters.dropped > 0, 'messages were dropped for it before');
    assert.equal(s.gateway.hub.clientsOf('channel', 'firehose'), 1);
    const metrics = (await httpRequest(`${s.gateway.url}/metrics`)).body;
    assert.match(metrics, /redstack_gateway_disconnects_total\{reason="slow_consumer"\} 1/);
    assert.match(metrics, /redstack_gateway_messages_dropped_total\{reason="slow_consumer"\} [1-9]/);
    slow.destroy();
    await fast.close();
  });
});

test('Redis restarts: clients are told of the gap (lagged), subscriptions come back, /healthz follows', async () => {
  const own = await RedisServer.start();
  const s = await setup({}, own);
  try {
    const c = await WsClient.open(s.wsUrl);
    await c.request({ type: 'subscribe', channels: ['beat'] });
    await c.request({ type: 'psubscribe', patterns: ['beat.*'] });
    assert.equal((await httpRequest(`${s.gateway.url}/healthz`)).status, 200);
    await s.pub.cmd(['PUBLISH', 'beat', 'before']);
    await c.waitFor((m) => m.data === 'before');
    await own.restart({ downMs: 300 });
    const lagged = await c.waitFor((m) => m.type === 'lagged', 10_000);
    assert.deepEqual(lagged, { type: 'lagged', reason: 'redis_reconnect', channels: ['beat'], patterns: ['beat.*'] });
    await waitUntil(async () => Number(await s.pub.cmd(['PUBLISH', 'beat', 'after'])) === 1, 5000, 'resubscribed');
    await c.waitFor((m) => m.data === 'after');
    assert.equal((await httpRequest(`${s.gateway.url}/healthz`)).status, 200);
    assert.match((await httpRequest(`${s.gateway.url}/metrics`)).body, /redstack_gateway_redis_reconnects_total 1/);
    own.signal('SIGSTOP');
    await own.kill();
    await waitUntil(async () => (await httpRequest(`${s.gateway.url}/healthz`)).status === 503, 5000, 'healthz reports Redis down');
    await c.close();
  } finally {
    await s.stop();
    await own.stop();
  }
});

test('limits: connections per IP and subscriptions per client', async () => {
  await withGateway({ limits: { maxConnectionsPerIp: 2, maxSubscriptionsPerClient: 3 } }, async (s) => {
    const a = await WsClient.open(s.wsUrl);
    const b = await WsClient.open(s.wsUrl);
    const third = new WebSocket(s.wsUrl);
    const status = await new Promise<number>((resolve) => {
      third.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      third.on('open', () => resolve(101));
      third.on('error', () => undefined);
    });
    assert.equal(status, 429);
    assert.equal((await SseClient.open(`${s.gateway.url}/sse?channel=x`)).status, 429);
    await b.close();
    await waitUntil(() => s.gateway.sessions.size === 1, 2000, 'b gone');
    const again = await WsClient.open(s.wsUrl);
    await again.waitFor((m) => m.type === 'hello');
    assert.equal((await a.request({ type: 'subscribe', channels: ['1', '2'] })).type, 'ack');
    const over = await a.request({ type: 'subscribe', channels: ['3', '4'] });
    assert.equal(over.code, 'too_many_subscriptions');
    assert.equal((await a.request({ type: 'psubscribe', patterns: ['p*'] })).type, 'ack');
    await Promise.all([a.close(), again.close()]);
  });
});

test('a refused handshake gives its per-IP slot back; compression is negotiated when enabled', async () => {
  await withGateway({ limits: { maxConnectionsPerIp: 1 }, compression: { threshold: 16, concurrency: 2 } }, async (s) => {
    for (let i = 0; i < 3; i++) {
      const u = new URL(s.wsUrl);
      const sock = connect(Number(u.port), u.hostname);
      await new Promise((r) => sock.once('connect', r));
      // No Sec-WebSocket-Key: ws answers 400 and closes.
      sock.end(`GET /ws HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      sock.resume(); // read the 400 so that 'close' can follow
      await new Promise((r) => sock.once('close', r));
    }
    // The server sees each refused socket close a moment after the client does.
    let c: WsClient | undefined;
    await waitUntil(async () => {
      const attempt = new WsClient(s.wsUrl);
      const ok = await new Promise<boolean>((resolve) => {
        attempt.ws.once('open', () => resolve(true));
        attempt.ws.once('unexpected-response', () => resolve(false));
      });
      if (ok) c = attempt;
      return ok;
    }, 2000, 'a slot for the real client');
    assert.match(String(c!.ws.extensions), /permessage-deflate/);
    await c!.request({ type: 'subscribe', channels: ['z'] });
    await s.pub.cmd(['PUBLISH', 'z', 'compressible '.repeat(100)]);
    const m = await c!.waitFor((x) => x.type === 'message');
    assert.equal(m.data, 'compressible '.repeat(100));
    await c!.close();
  });
});

test('/metrics is Prometheus text on its own registry; /healthz; the page and uPlot are served', async () => {
  await withGateway({}, async (s) => {
    const c = await WsClient.open(s.wsUrl);
    await c.request({ type: 'subscribe', channels: ['m'] });
    await s.pub.cmd(['PUBLISH', 'm', '1']);
    await c.waitFor((m) => m.type === 'message');
    const r = await httpRequest(`${s.gateway.url}/metrics`);
    assert.equal(r.status, 200);
    for (const line of [
      'redstack_gateway_connections{transport="ws"} 1',
      'redstack_gateway_redis_subscriptions{kind="channel"} 1',
      'redstack_gateway_client_subscriptions 1',
      'redstack_gateway_messages_in_total 1',
      'redstack_gateway_messages_out_total{transport="ws"} 1',
    ]) {
      assert.ok(r.body.includes(line), `metrics include ${line}`);
    }
    assert.ok(!r.body.includes('process_cpu'), 'not the global registry with default metrics');
    const h = await httpRequest(`${s.gateway.url}/healthz`);
    assert.deepEqual(JSON.parse(h.body), { status: 'ok', connections: 1, subscriptions: { channels: 1, patterns: 0 } });
    const page = await httpRequest(`${s.gateway.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.body, /uPlot\.iife\.min\.js/);
    assert.equal((await httpRequest(`${s.gateway.url}/vendor/uPlot.iife.min.js`)).status, 200);
    assert.equal((await httpRequest(`${s.gateway.url}/app.js`)).status, 200);
    assert.equal((await httpRequest(`${s.gateway.url}/../package.json`)).status, 404);
    await c.close();
  });
});
