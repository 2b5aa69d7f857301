import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Batch } from '../../src/gateway/batch.js';
import { Session, type CloseReason, type SessionHost, type Transport } from '../../src/gateway/session.js';
import type { Encoding, TransportKind } from '../../src/gateway/batch.js';

/** A transport whose socket buffer the test fills and drains by hand. */
class FakeTransport implements Transport {
  readonly kind: TransportKind;
  readonly encoding: Encoding;
  /** One entry per write call: the chunks it was given. */
  writes: Buffer[][] = [];
  pending = 0;
  armed = false;
  closed: CloseReason | undefined;
  session!: Session;

  constructor(kind: TransportKind = 'ws') {
    this.kind = kind;
    this.encoding = kind === 'sse' ? 'sse' : 'text';
  }
  buffered(): number {
    return this.pending;
  }
  write(chunks: Buffer[]): void {
    this.writes.push(chunks);
    for (const c of chunks) this.pending += c.length;
  }
  awaitDrain(): void {
    this.armed = true;
  }
  /** The client read everything. */
  drain(): void {
    this.pending = 0;
    if (this.armed) {
      this.armed = false;
      this.session.written();
    }
  }
  close(reason: CloseReason): void {
    this.closed = reason;
  }
  /** Every JSON message written so far, in order. */
  messages(): Record<string, unknown>[] {
    return this.writes.flat().flatMap((w) => w.toString().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>));
  }
}

class FakeHost implements SessionHost {
  t = 0;
  dirty: Session[] = [];
  sentCount = 0;
  droppedCount = 0;
  closedWith: CloseReason | undefined;
  schedule(s: Session): void {
    s.dirty = true;
    this.dirty.push(s);
  }
  now(): number {
    return this.t;
  }
  sent(_k: TransportKind, n: number): void {
    this.sentCount += n;
  }
  dropped(n: number): void {
    this.droppedCount += n;
  }
  closed(_s: Session, reason: CloseReason): void {
    this.closedWith = reason;
  }
  flush(): void {
    const d = this.dirty;
    this.dirty = [];
    for (const s of d) s.flush();
  }
}

function make(opts: Partial<{ sendBufferBytes: number; highWaterBytes: number; slowConsumerTimeoutMs: number }> = {}, kind: TransportKind = 'ws') {
  const host = new FakeHost();
  const t = new FakeTransport(kind);
  const s = new Session(host, t, '127.0.0.1', { token: false, subscribe: ['*'], publish: [] }, {
    sendBufferBytes: 1000,
    highWaterBytes: 100,
    slowConsumerTimeoutMs: 5000,
    ...opts,
  });
  t.session = s;
  return { host, t, s };
}

function batch(...texts: string[]): Batch {
  const b = new Batch();
  for (const x of texts) b.add(JSON.stringify({ type: 'message', channel: 'c', data: x }));
  return b;
}

test('everything owed in one turn goes out as one write, in order', () => {
  const { host, t, s } = make();
  s.control('{"type":"ack","id":1}');
  s.push(batch('a', 'b'));
  s.push(batch('c'));
  assert.equal(host.dirty.length, 1, 'scheduled once');
  host.flush();
  assert.equal(t.writes.length, 1);
  assert.deepEqual(t.messages().map((m) => m.data ?? m.type), ['ack', 'a', 'b', 'c']);
  assert.equal(host.sentCount, 3);
});

test('a shared batch is encoded once and written by reference', () => {
  const a = make();
  const b = make();
  const shared = batch('x', 'y');
  a.s.push(shared);
  b.s.push(shared);
  a.host.flush();
  b.host.flush();
  assert.equal(a.t.writes[0]![0], b.t.writes[0]![0], 'the very same Buffer');
});

test('SSE gets one event per message, with ids where known', () => {
  const { host, t, s } = make({}, 'sse');
  const b = new Batch();
  b.add('{"type":"message","channel":"c","data":"1"}', '5-0');
  b.add('{"type":"message","channel":"c","data":"2"}');
  s.push(b);
  host.flush();
  assert.equal(Buffer.concat(t.writes[0]!).toString(), 'id: 5-0\ndata: {"type":"message","channel":"c","data":"1"}\n\ndata: {"type":"message","channel":"c","data":"2"}\n\n');
});

test('while the socket holds the high-water mark nothing is written; drain resumes', () => {
  const { host, t, s } = make();
  t.pending = 150; // over highWaterBytes (100)
  s.push(batch('a'));
  host.flush();
  assert.equal(t.writes.length, 0);
  assert.ok(t.armed, 'asked for a drain');
  t.drain();
  assert.equal(host.dirty.length, 1, 'written() scheduled a flush');
  host.flush();
  assert.deepEqual(t.messages().map((m) => m.data), ['a']);
});

test('over the bound the oldest messages are dropped and the client is told how many, first', () => {
  const { host, t, s } = make({ sendBufferBytes: 400 });
  t.pending = 200; // the client stopped reading
  for (let i = 0; i < 10; i++) {
    s.push(batch(`m${i}`)); // ~45 bytes each
    host.flush();
  }
  assert.ok(host.droppedCount > 0);
  assert.ok(s.lagging);
  t.drain();
  host.flush();
  const msgs = t.messages();
  assert.equal(msgs[0]!.type, 'lagged');
  assert.equal(msgs[0]!.reason, 'slow_consumer');
  assert.equal(msgs[0]!.dropped, host.droppedCount);
  const kept = msgs.slice(1).map((m) => m.data);
  assert.equal(kept.length + host.droppedCount, 10);
  assert.equal(kept.at(-1), 'm9', 'the newest survive');
  assert.deepEqual(kept, [...kept].sort((a, b) => Number(String(a).slice(1)) - Number(String(b).slice(1))), 'in order');
});

test('control frames are never dropped', () => {
  const { host, t, s } = make({ sendBufferBytes: 300 });
  t.pending = 200;
  s.control('{"type":"ack","id":1}');
  s.push(batch('x'.repeat(150)));
  host.flush();
  t.drain();
  host.flush();
  const msgs = t.messages();
  assert.ok(msgs.some((m) => m.type === 'ack'));
  assert.ok(!msgs.some((m) => m.type === 'message'));
});

test('a client that stays over the bound is disconnected after slowConsumerTimeoutMs; one that catches up is not', () => {
  const slow = make({ sendBufferBytes: 200, slowConsumerTimeoutMs: 5000 });
  slow.t.pending = 180;
  slow.s.push(batch('a'.repeat(100)));
  slow.host.flush();
  assert.ok(slow.s.lagging);
  slow.host.t = 4999;
  slow.s.sweep(slow.host.t);
  assert.equal(slow.t.closed, undefined);
  slow.host.t = 5000;
  slow.s.sweep(slow.host.t);
  assert.equal(slow.t.closed, 'slow_consumer');
  assert.equal(slow.host.closedWith, 'slow_consumer');

  const ok = make({ sendBufferBytes: 200, slowConsumerTimeoutMs: 5000 });
  ok.t.pending = 180;
  ok.s.push(batch('a'.repeat(100)));
  ok.host.flush();
  assert.ok(ok.s.lagging);
  ok.t.drain(); // caught up
  ok.s.written();
  assert.ok(!ok.s.lagging);
  ok.host.t = 10_000;
  ok.s.sweep(ok.host.t);
  assert.equal(ok.t.closed, undefined);
});

test('control frames alone over the bound close the connection', () => {
  const { host, t, s } = make({ sendBufferBytes: 100 });
  t.pending = 90;
  for (let i = 0; i < 5; i++) s.control(`{"type":"error","code":"bad_json","message":"frame is not valid JSON"}`);
  host.flush();
  assert.equal(t.closed, 'send_buffer_overflow');
});

test('a closed session ignores pushes and flushes', () => {
  const { host, t, s } = make();
  s.close('client');
  s.push(batch('a'));
  s.control('{}');
  host.flush();
  assert.equal(t.writes.length, 0);
});
