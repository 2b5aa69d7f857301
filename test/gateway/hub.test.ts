import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Hub, type MessageHandler, type Subscriber } from '../../src/gateway/hub.js';
import { Session, type CloseReason, type Transport } from '../../src/gateway/session.js';
import { ManualClock } from '../../src/clock.js';

/** The client's pub/sub surface, recorded; messages are delivered by hand. */
class FakeSubscriber extends EventEmitter implements Subscriber {
  calls: string[] = [];
  handlers = new Map<string, MessageHandler>();
  failNext = false;
  subscribe(channels: string[], h: MessageHandler): Promise<void> {
    return this.#sub('SUBSCRIBE', 'c:', channels, h);
  }
  psubscribe(patterns: string[], h: MessageHandler): Promise<void> {
    return this.#sub('PSUBSCRIBE', 'p:', patterns, h);
  }
  unsubscribe(channels: string[]): Promise<void> {
    this.calls.push(`UNSUBSCRIBE ${channels.join(' ')}`);
    for (const c of channels) this.handlers.delete('c:' + c);
    return Promise.resolve();
  }
  punsubscribe(patterns: string[]): Promise<void> {
    this.calls.push(`PUNSUBSCRIBE ${patterns.join(' ')}`);
    for (const c of patterns) this.handlers.delete('p:' + c);
    return Promise.resolve();
  }
  #sub(cmd: string, prefix: string, names: string[], h: MessageHandler): Promise<void> {
    this.calls.push(`${cmd} ${names.join(' ')}`);
    if (this.failNext) {
      this.failNext = false;
      return Promise.reject(new Error('offline'));
    }
    for (const n of names) this.handlers.set(prefix + n, h);
    return Promise.resolve();
  }
  publish(channel: string, message: string): void {
    this.handlers.get('c:' + channel)?.(message, channel);
    for (const [k, h] of this.handlers) if (k.startsWith('p:') && new RegExp('^' + k.slice(2).replace(/\*/g, '.*') + '$').test(channel)) h(message, channel, k.slice(2));
  }
}

class Sink implements Transport {
  readonly kind = 'ws' as const;
  readonly encoding = 'text' as const;
  out: Record<string, unknown>[] = [];
  closed: CloseReason | undefined;
  buffered(): number {
    return 0;
  }
  write(chunks: Buffer[]): void {
    for (const chunk of chunks) for (const l of chunk.toString().split('\n')) this.out.push(JSON.parse(l) as Record<string, unknown>);
  }
  awaitDrain(): void {}
  close(reason: CloseReason): void {
    this.closed = reason;
  }
  data(): unknown[] {
    return this.out.filter((m) => m.type === 'message').map((m) => m.data);
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function client(hub: Hub): { s: Session; t: Sink } {
  const t = new Sink();
  const s = new Session(hub, t, '1.2.3.4', { token: false, subscribe: ['*'], publish: [] });
  return { s, t };
}

test('one Redis subscription per channel however many clients, released with the last one', async () => {
  const redis = new FakeSubscriber();
  const hub = new Hub(redis, { clock: new ManualClock() });
  const a = client(hub);
  const b = client(hub);
  await hub.subscribe(a.s, 'channel', ['x']);
  await hub.subscribe(b.s, 'channel', ['x', 'y']);
  await hub.subscribe(b.s, 'channel', ['x']); // idempotent
  assert.deepEqual(redis.calls, ['SUBSCRIBE x', 'SUBSCRIBE y']);
  assert.equal(hub.clientsOf('channel', 'x'), 2);
  hub.unsubscribe(a.s, 'channel', ['x']);
  assert.deepEqual(redis.calls.slice(2), []);
  b.s.close('client');
  assert.deepEqual(redis.calls.slice(2).sort(), ['UNSUBSCRIBE x', 'UNSUBSCRIBE y']);
  assert.equal(hub.channelCount, 0);
  await hub.subscribe(a.s, 'channel', ['x']);
  assert.equal(redis.calls.at(-1), 'SUBSCRIBE x', 'subscribed again for a new client');
});

test('messages fan out to every client of the channel, in Redis order across channels', async () => {
  const redis = new FakeSubscriber();
  const hub = new Hub(redis);
  const a = client(hub);
  const b = client(hub);
  await hub.subscribe(a.s, 'channel', ['x', 'y']);
  await hub.subscribe(b.s, 'channel', ['x']);
  await hub.subscribe(b.s, 'pattern', ['y*']);
  redis.publish('x', '1');
  redis.publish('y', '2');
  redis.publish('x', '3');
  redis.publish('x', '4');
  await tick();
  assert.deepEqual(a.t.data(), ['1', '2', '3', '4']);
  assert.deepEqual(b.t.data(), ['1', '2', '3', '4']);
  const viaPattern = b.t.out.find((m) => m.data === '2')!;
  assert.equal(viaPattern.pattern, 'y*');
  assert.equal(viaPattern.channel, 'y');
  assert.equal(hub.counters.messagesIn, 5, 'y arrives twice: as message and as pmessage');
  assert.equal(hub.counters.messagesOut.ws, 8);
});

test('a client that joins mid-turn gets the messages after it joined, and no duplicates', async () => {
  const redis = new FakeSubscriber();
  const hub = new Hub(redis);
  const a = client(hub);
  const b = client(hub);
  await hub.subscribe(a.s, 'channel', ['x']);
  redis.publish('x', '1');
  await hub.subscribe(b.s, 'channel', ['x']);
  redis.publish('x', '2');
  await tick();
  assert.deepEqual(a.t.data(), ['1', '2']);
  assert.deepEqual(b.t.data(), ['2']);
});

test('a subscription Redis refuses is rolled back and reported as unavailable', async () => {
  const redis = new FakeSubscriber();
  const hub = new Hub(redis);
  const a = client(hub);
  redis.failNext = true;
  await assert.rejects(hub.subscribe(a.s, 'channel', ['x']), (err: Error & { wire?: string }) => err.wire === 'unavailable');
  assert.equal(hub.channelCount, 0);
  assert.equal(a.s.subscriptions.size, 0);
  await hub.subscribe(a.s, 'channel', ['x']);
  assert.equal(hub.channelCount, 1);
});

test('after Redis reconnects every client is told which of its subscriptions had a gap, before later messages', async () => {
  const redis = new FakeSubscriber();
  const hub = new Hub(redis);
  const a = client(hub);
  const b = client(hub);
  await hub.subscribe(a.s, 'channel', ['x']);
  await hub.subscribe(a.s, 'pattern', ['p*']);
  await hub.subscribe(b.s, 'channel', ['y']);
  redis.publish('x', 'before');
  redis.emit('close');
  assert.equal(hub.redisUp, false);
  redis.emit('ready');
  redis.publish('x', 'after');
  await tick();
  assert.deepEqual(
    a.t.out.map((m) => m.type),
    ['message', 'lagged', 'message'],
  );
  assert.deepEqual(a.t.out[1], { type: 'lagged', reason: 'redis_reconnect', channels: ['x'], patterns: ['p*'] });
  assert.deepEqual(b.t.out[0], { type: 'lagged', reason: 'redis_reconnect', channels: ['y'] });
  assert.equal(hub.counters.redisReconnects, 1);
  redis.emit('ready'); // a second 'ready' without a loss is not a gap
  await tick();
  assert.equal(a.t.out.filter((m) => m.type === 'lagged').length, 1);
});

test('history envelopes are unwrapped: the id goes to the client, not the payload', async () => {
  const redis = new FakeSubscriber();
  const hub = new Hub(redis);
  const a = client(hub);
  await hub.subscribe(a.s, 'channel', ['x']);
  redis.publish('x', '\x1e1700000000000-4\x1e{"n":1}');
  redis.publish('x', '\x1enot an id\x1e{"n":2}');
  await tick();
  assert.deepEqual(a.t.out[0], { type: 'message', channel: 'x', id: '1700000000000-4', data: '{"n":1}' });
  assert.deepEqual(a.t.out[1], { type: 'message', channel: 'x', data: '\x1enot an id\x1e{"n":2}' });
});

test('resuming with `since` replays history, then live messages without duplicates', async () => {
  const redis = new FakeSubscriber();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const history = {
    async since(channel: string, id: string) {
      assert.equal(channel, 'x');
      assert.equal(id, '10-0');
      await gate;
      return { entries: [{ id: '11-0', data: 'h11' }, { id: '12-0', data: 'h12' }], trimmed: false };
    },
  };
  const hub = new Hub(redis, { history });
  const a = client(hub);
  let acked = false;
  const done = hub.subscribe(a.s, 'channel', ['x'], { since: '10-0', confirmed: () => (acked = true) });
  await tick();
  assert.ok(acked);
  // Live messages while history is read: 12 is also in the history, 13 is not.
  redis.publish('x', '\x1e12-0\x1eh12');
  redis.publish('x', '\x1e13-0\x1eh13');
  release();
  await done;
  redis.publish('x', '\x1e14-0\x1eh14');
  await tick();
  assert.deepEqual(a.t.data(), ['h11', 'h12', 'h13', 'h14']);
});
