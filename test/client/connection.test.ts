/**
 * Connection unit tests against a tiny scripted RESP server on a loopback port (no redis-server) and,
 * where timing matters, the injectable ManualClock, so nothing here waits for real time beyond a few
 * socket round trips.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { ManualClock } from '../../src/clock.js';
import { RespDecoder, encodeReply, encodePush, ReplyError, type RespValue } from '../../src/resp/index.js';
import { Connection, type ConnectionOptions } from '../../src/client/index.js';

// ---- a small scripted server (local helper) -----------------------------------------------------

/** What a handler returns: bytes to send, a value to encode, or HANG (send nothing). */
const HANG = Symbol('hang');
type Answer = Buffer | RespValue | typeof HANG | Promise<Buffer | RespValue | typeof HANG>;

interface FakeConn {
  sock: net.Socket;
  id: number;
  resp3: boolean;
  /** Every command received, as strings. */
  commands: string[][];
  /** 'data' events seen: a measure of how many writes the client made. */
  chunks: number;
  /** Answers go out in command order, even when one of them is delayed. */
  out: Promise<void>;
}

type Handler = (cmd: string[], c: FakeConn, fake: Fake) => Answer;

class Fake {
  readonly server: net.Server;
  readonly conns: FakeConn[] = [];
  readonly store = new Map<string, string>();
  handler: Handler;
  port = 0;

  constructor(handler?: Handler) {
    this.handler = handler ?? ((cmd, c) => this.standard(cmd, c));
    this.server = net.createServer((sock) => this.#accept(sock));
  }

  static async start(handler?: Handler): Promise<Fake> {
    const f = new Fake(handler);
    await new Promise<void>((r) => f.server.listen(0, '127.0.0.1', r));
    f.port = (f.server.address() as net.AddressInfo).port;
    return f;
  }

  #accept(sock: net.Socket): void {
    const c: FakeConn = { sock, id: this.conns.length + 1, resp3: false, commands: [], chunks: 0, out: Promise.resolve() };
    this.conns.push(c);
    const dec = new RespDecoder({
      onReply: (v) => {
        const cmd = (v as RespValue[]).map(String);
        c.commands.push(cmd);
        if (sock.destroyed) return;
        const a = this.handler(cmd, c, this);
        const send = (a: Buffer | RespValue | typeof HANG) => {
          if (a === HANG || sock.destroyed) return;
          sock.write(Buffer.isBuffer(a) ? a : encodeReply(a, { resp3: c.resp3, simple: true }));
          if (cmd[0]!.toUpperCase() === 'QUIT') sock.end();
        };
        if (a instanceof Promise) c.out = c.out.then(() => a).then(send);
        else c.out = c.out.then(() => send(a));
      },
    });
    sock.on('data', (d) => {
      c.chunks++;
      dec.write(d);
    });
    sock.on('error', () => undefined);
  }

  /** The default behaviour: enough of Redis for a client. */
  standard(cmd: string[], c: FakeConn): Answer {
    const name = cmd[0]!.toUpperCase();
    switch (name) {
      case 'HELLO':
        c.resp3 = cmd[1] === '3';
        return new Map<RespValue, RespValue>([['server', 'fake'], ['proto', c.resp3 ? 3 : 2]]);
      case 'PING':
        return 'PONG';
      case 'AUTH':
      case 'SELECT':
      case 'CLIENT':
        return 'OK';
      case 'SET':
        this.store.set(cmd[1]!, cmd[2]!);
        return 'OK';
      case 'GET':
        return this.store.get(cmd[1]!) ?? null;
      case 'ECHO':
        return cmd[1]!;
      case 'INCR': {
        const n = Number(this.store.get(cmd[1]!) ?? 0) + 1;
        this.store.set(cmd[1]!, String(n));
        return n;
      }
      case 'QUIT':
        return 'OK';
      default:
        return new ReplyError(`ERR unknown command '${cmd[0]}'`);
    }
  }

  /** Commands received on every connection, handshake included. */
  get received(): string[][] {
    return this.conns.flatMap((c) => c.commands);
  }

  /** Data commands (not part of the handshake) received on every connection. */
  get dataCommands(): string[][] {
    return this.received.filter((c) => !['HELLO', 'PING', 'AUTH', 'SELECT', 'CLIENT', 'QUIT'].includes(c[0]!.toUpperCase()));
  }

  cutAll(): void {
    for (const c of this.conns) c.sock.destroy();
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

function later(ms: number, answer: Buffer | RespValue): Promise<Buffer | RespValue> {
  return new Promise((r) => setTimeout(() => r(answer), ms));
}

function tick(ms = 0): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(cond: () => boolean, what = 'condition', ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await tick(2);
  }
}

/** Records how a promise settled, without ever leaving a rejection unhandled. */
function settle<T>(p: Promise<T>): { done: boolean; value?: T; error?: any } {
  const s: { done: boolean; value?: T; error?: any } = { done: false };
  p.then(
    (v) => Object.assign(s, { done: true, value: v }),
    (e) => Object.assign(s, { done: true, error: e }),
  );
  return s;
}

function open(fake: Fake, options: Partial<ConnectionOptions> = {}): Connection {
  return new Connection({ host: '127.0.0.1', port: fake.port, reconnect: { baseMs: 10, maxMs: 10, jitter: 0 }, ...options });
}

async function ready(conn: Connection): Promise<void> {
  if (conn.state === 'ready') return;
  await new Promise<void>((r) => conn.once('ready', () => r()));
}

async function withFake(fn: (fake: Fake) => Promise<void>, handler?: Handler): Promise<void> {
  const fake = await Fake.start(handler);
  try {
    await fn(fake);
  } finally {
    await fake.close();
  }
}

// ---- replies, errors, batching ------------------------------------------------------------------

test('commands issued in the same tick are written together: 100 concurrent sends, one write', () =>
  withFake(async (fake) => {
    const conn = open(fake);
    try {
      await ready(conn);
      const c = fake.conns[0]!;
      const before = c.chunks;
      const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => conn.send(['ECHO', `v${i}`])));
      assert.deepEqual(replies, Array.from({ length: 100 }, (_, i) => `v${i}`));
      assert.equal(c.chunks - before, 1, 'the 100 commands arrived in one chunk');
    } finally {
      conn.disconnect();
    }
  }));

test('a reply error rejects only its own command; a pipeline keeps errors in place', () =>
  withFake(async (fake) => {
    const conn = open(fake);
    try {
      const a = conn.send(['SET', 'k', 'v']);
      const b = conn.send(['NOPE']);
      const c = conn.send(['GET', 'k']);
      const p = conn.sendPipeline([['GET', 'k'], ['NOPE', 'x'], ['ECHO', 'e']]);
      assert.equal(await a, 'OK');
      await assert.rejects(b, (e: any) => e instanceof ReplyError && e.prefix === 'ERR' && e.command === 'NOPE');
      assert.equal(await c, 'v');
      const replies = await p;
      assert.equal(replies[0], 'v');
      assert.ok(replies[1] instanceof ReplyError);
      assert.equal(replies[2], 'e');
    } finally {
      conn.disconnect();
    }
  }));

test('RESP3 push frames never take the place of a reply; a reply shaped like a message stays a reply', () =>
  withFake(
    async (fake) => {
      const pushes: RespValue[][] = [];
      const conn = open(fake, { protocol: 3, onPush: (f) => pushes.push(f) });
      try {
        assert.deepEqual(await conn.send(['SMEMBERS', 's']), ['message', 'ch', 'x']);
        assert.deepEqual(pushes, [['message', 'ch', 'hello']]);
        assert.equal(await conn.send(['ECHO', 'after']), 'after');
      } finally {
        conn.disconnect();
      }
    },
    function (this: void, cmd, c, fake) {
      if (cmd[0] === 'SMEMBERS') {
        // A push arrives first, then the ordinary reply (an array that looks exactly like a message).
        return Buffer.concat([encodePush(['message', 'ch', 'hello'], { resp3: true }), encodeReply(['message', 'ch', 'x'], { resp3: true })]);
      }
      return fake.standard(cmd, c);
    },
  ));

test('a reply nobody waits for is a protocol error: the connection resets and recovers', () =>
  withFake(
    async (fake) => {
      const errors: any[] = [];
      const conn = open(fake);
      conn.on('error', (e) => errors.push(e));
      try {
        assert.equal(await conn.send(['ECHO', 'b']), 'b');
        await until(() => errors.some((e) => e.code === 'ERR_RESP_PROTOCOL'), 'protocol error');
        await ready(conn);
        assert.equal(await conn.send(['ECHO', 'ok']), 'ok');
      } finally {
        conn.disconnect();
      }
    },
    // ECHO b is answered twice: the second reply has no owner.
    (cmd, c, fake) => (cmd[0] === 'ECHO' && cmd[1] === 'b' ? Buffer.from('$1\r\nb\r\n+extra\r\n') : fake.standard(cmd, c)),
  ));

// ---- losing the connection ----------------------------------------------------------------------

test('on disconnect, written commands fail OutcomeUnknown; commands issued while down wait and are sent after reconnect', () =>
  withFake(
    async (fake) => {
      const conn = open(fake);
      try {
        await ready(conn);
        const hung = settle(conn.send(['GET', 'hang']));
        await until(() => fake.received.some((c) => c[1] === 'hang'), 'GET hang received');
        fake.cutAll();
        await until(() => hung.done, 'hung command settled');
        assert.equal(hung.error?.code, 'ERR_OUTCOME_UNKNOWN');
        assert.equal(hung.error?.safeToRetry, false);
        assert.notEqual(conn.state, 'ready');
        const later = conn.send(['ECHO', 'later']);
        assert.equal(await later, 'later');
        assert.equal(fake.dataCommands.filter((c) => c[1] === 'later').length, 1, 'sent exactly once');
      } finally {
        conn.disconnect();
      }
    },
    (cmd, c, fake) => (cmd[1] === 'hang' ? HANG : fake.standard(cmd, c)),
  ));

test('commands still in the write batch when the socket dies are not lost: they are sent after reconnect', () =>
  withFake(async (fake) => {
    const conn = open(fake);
    try {
      await ready(conn);
      fake.cutAll();
      // Same tick as the cut: the client has not seen the close yet, so these go into the batch.
      const ps = Array.from({ length: 5 }, (_, i) => settle(conn.send(['ECHO', `b${i}`])));
      await until(() => ps.every((p) => p.done), 'all settled');
      for (const p of ps) {
        // Either written before the close was noticed (outcome unknown) or kept and sent later.
        if (p.error) assert.equal(p.error.code, 'ERR_OUTCOME_UNKNOWN');
      }
      const sent = fake.dataCommands.filter((c) => c[0] === 'ECHO');
      assert.ok(sent.length <= 5);
      for (let i = 0; i < 5; i++) assert.ok(sent.filter((c) => c[1] === `b${i}`).length <= 1, 'never written twice');
    } finally {
      conn.disconnect();
    }
  }));

test('offline queue: bounded by offlineQueueMax; 0 fails at once; reconnect:false fails as not sent', async () => {
  // Nothing listens on this port: every connect is refused.
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));

  const clock = new ManualClock();
  const conn = new Connection({ port, clock, offlineQueueMax: 2 });
  const q = [settle(conn.send(['GET', 'a'])), settle(conn.send(['GET', 'b'])), settle(conn.send(['GET', 'c']))];
  await tick(5);
  assert.equal(q[2]!.error?.code, 'ERR_NOT_SENT');
  assert.equal(q[2]!.error?.reason, 'offline-queue-full');
  assert.equal(q[2]!.error?.safeToRetry, true);
  assert.ok(!q[0]!.done && !q[1]!.done);
  clock.advance(30_000);
  await tick(5);
  assert.equal(q[0]!.error?.reason, 'offline-timeout');
  assert.equal(q[1]!.error?.reason, 'offline-timeout');
  conn.disconnect();

  const none = new Connection({ port, clock, offlineQueueMax: 0 });
  await assert.rejects(none.send(['GET', 'a']), (e: any) => e.code === 'ERR_NOT_SENT' && e.reason === 'offline-queue-disabled');
  none.disconnect();

  const once = new Connection({ port, clock, reconnect: false });
  const p = settle(once.send(['GET', 'a']));
  await until(() => p.done, 'settled');
  assert.equal(p.error?.code, 'ERR_NOT_SENT');
  assert.equal(once.state, 'closed');
});

test('reconnect: exponential backoff with jitter, then gives up after maxAttempts', async () => {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));

  const clock = new ManualClock();
  const conn = new Connection({ port, clock, reconnect: { baseMs: 100, maxMs: 1_000, jitter: 0.5, maxAttempts: 6 } });
  const delays: number[] = [];
  const errors: any[] = [];
  let ended = false;
  conn.on('reconnecting', (r) => delays.push(r.delayMs));
  conn.on('error', (e) => errors.push(e));
  conn.on('end', () => (ended = true));
  const p = settle(conn.send(['GET', 'a']));
  for (let i = 0; i < 10 && !ended; i++) {
    await until(() => delays.length > i || ended, `attempt ${i + 1}`);
    clock.advance(1_000);
  }
  assert.equal(delays.length, 6);
  const full = [100, 200, 400, 800, 1_000, 1_000];
  delays.forEach((d, i) => assert.ok(d >= full[i]! * 0.5 && d <= full[i]!, `delay ${i}: ${d} within [${full[i]! / 2}, ${full[i]}]`));
  await until(() => p.done, 'command settled');
  assert.equal(p.error?.code, 'ERR_NOT_SENT');
  assert.equal(p.error?.reason, 'reconnect-gave-up');
  assert.equal(conn.state, 'closed');
  // Each refused attempt is reported, typed, and the last word is the give-up.
  assert.ok(errors.filter((e) => e.code === 'ERR_CONNECT').length >= 6);
  assert.equal(errors.at(-1).code, 'ERR_NOT_SENT');
});

// ---- timeouts -----------------------------------------------------------------------------------

test('command timeout: a written command with no reply fails ERR_TIMEOUT, the socket resets, a late reply reaches nobody', () =>
  withFake(
    async (fake) => {
      const clock = new ManualClock();
      const conn = open(fake, { clock, commandTimeoutMs: 1_000 });
      try {
        await ready(conn);
        const slow = settle(conn.send(['GET', 'slow']));
        const behind = settle(conn.send(['ECHO', 'behind']));
        await until(() => fake.received.some((c) => c[1] === 'slow'), 'GET slow received');
        clock.advance(999);
        await tick(5);
        assert.equal(slow.done, false);
        clock.advance(300);
        await until(() => slow.done && behind.done, 'both settled');
        assert.equal(slow.error?.code, 'ERR_TIMEOUT');
        assert.equal(slow.error?.timeout, 'command');
        assert.equal(slow.error?.safeToRetry, false);
        assert.equal(behind.error?.code, 'ERR_TIMEOUT');
        // The old socket now delivers its late replies: nobody may receive them.
        fake.conns[0]!.sock.write('$4\r\nlate\r\n$6\r\nbehind\r\n');
        clock.advance(20);
        await ready(conn);
        assert.equal(await conn.send(['ECHO', 'fresh']), 'fresh');
      } finally {
        conn.disconnect();
      }
    },
    (cmd, c, fake) => (c.id === 1 && (cmd[1] === 'slow' || cmd[1] === 'behind') ? HANG : fake.standard(cmd, c)),
  ));

test('command timeout counts from the write, not from the time spent in the offline queue', () =>
  withFake(
    async (fake) => {
      const clock = new ManualClock();
      const conn = open(fake, { clock, commandTimeoutMs: 1_000 });
      try {
        await ready(conn);
        fake.cutAll();
        await until(() => conn.state === 'waiting', 'waiting');
        // Offline for 5 s: far longer than the command timeout, well within the offline timeout.
        const p = settle(conn.send(['ECHO', 'queued']));
        clock.advance(5_000);
        await ready(conn);
        // Written now; its reply takes a little real time, during which the sweep runs once.
        await until(() => fake.received.some((c) => c[1] === 'queued'), 'received');
        clock.advance(300);
        await until(() => p.done, 'settled');
        assert.equal(p.error, undefined, `no error expected, got ${p.error?.code}`);
        assert.equal(p.value, 'queued');
      } finally {
        conn.disconnect();
      }
    },
    (cmd, c, fake) => (cmd[1] === 'queued' ? later(50, 'queued') : fake.standard(cmd, c)),
  ));

test('after a command timeout, a later disconnect fails commands as outcome unknown, not with the old timeout', () =>
  withFake(
    async (fake) => {
      const clock = new ManualClock();
      const conn = open(fake, { clock, commandTimeoutMs: 1_000 });
      try {
        await ready(conn);
        const slow = settle(conn.send(['GET', 'slow']));
        await until(() => fake.received.some((c) => c[1] === 'slow'), 'received');
        clock.advance(1_300);
        await until(() => slow.done, 'timed out');
        clock.advance(20);
        await ready(conn);
        const hung = settle(conn.send(['GET', 'hang']));
        await until(() => fake.received.some((c) => c[1] === 'hang'), 'hang received');
        fake.cutAll();
        await until(() => hung.done, 'hung settled');
        assert.equal(hung.error?.code, 'ERR_OUTCOME_UNKNOWN');
      } finally {
        conn.disconnect();
      }
    },
    (cmd, c, fake) => (cmd[1] === 'slow' || cmd[1] === 'hang' ? HANG : fake.standard(cmd, c)),
  ));

// ---- the handshake ------------------------------------------------------------------------------

test('the handshake sends AUTH, CLIENT SETNAME, SELECT then PING, before anything queued', () =>
  withFake(async (fake) => {
    const conn = open(fake, { username: 'u', password: 'p', clientName: 'app', db: 3 });
    try {
      const r = conn.send(['ECHO', 'x']);
      assert.equal(await r, 'x');
      assert.deepEqual(fake.conns[0]!.commands.map((c) => c.join(' ')), ['AUTH u p', 'CLIENT SETNAME app', 'SELECT 3', 'PING', 'ECHO x']);
    } finally {
      conn.disconnect();
    }
  }));

test('RESP3: HELLO 3 with AUTH and SETNAME; falls back to RESP2 on a server without HELLO', async () => {
  await withFake(async (fake) => {
    const conn = open(fake, { protocol: 3, password: 'p', clientName: 'n' });
    try {
      await ready(conn);
      assert.equal(conn.protocol, 3);
      assert.deepEqual(fake.conns[0]!.commands[0], ['HELLO', '3', 'AUTH', 'default', 'p', 'SETNAME', 'n']);
    } finally {
      conn.disconnect();
    }
  });
  await withFake(
    async (fake) => {
      const conn = open(fake, { protocol: 3 });
      try {
        assert.equal(await conn.send(['ECHO', 'old']), 'old');
        assert.equal(conn.protocol, 2);
      } finally {
        conn.disconnect();
      }
    },
    (cmd, c, fake) => (cmd[0] === 'HELLO' ? new ReplyError("ERR unknown command 'HELLO'") : fake.standard(cmd, c)),
  );
});

test('the handshake waits out -LOADING: callers never see it', () => {
  let loading = 3;
  return withFake(
    async (fake) => {
      const clock = new ManualClock();
      const conn = open(fake, { clock });
      try {
        const p = settle(conn.send(['ECHO', 'after-load']));
        for (let i = 0; i < 20 && !p.done; i++) {
          await tick(5);
          clock.advance(100);
        }
        await until(() => p.done, 'settled');
        assert.equal(p.value, 'after-load');
        assert.equal(loading, 0);
        assert.equal(fake.dataCommands.length, 1, 'ECHO sent once, after the server finished loading');
      } finally {
        conn.disconnect();
      }
    },
    (cmd, c, fake) => (cmd[0] === 'PING' && loading > 0 ? (loading--, new ReplyError('LOADING Redis is loading the dataset in memory')) : fake.standard(cmd, c)),
  );
});

test('the socket closing during the handshake loses nothing queued: it is sent after the next handshake', () => {
  let cuts = 2;
  return withFake(
    async (fake) => {
      const conn = open(fake);
      try {
        const ps = [settle(conn.send(['ECHO', 'a'])), settle(conn.sendPipeline([['ECHO', 'b'], ['ECHO', 'c']]))];
        await until(() => ps.every((p) => p.done), 'settled');
        assert.equal(ps[0]!.value, 'a');
        assert.deepEqual(ps[1]!.value, ['b', 'c']);
        assert.equal(cuts, 0);
        assert.equal(fake.dataCommands.length, 3);
      } finally {
        conn.disconnect();
      }
    },
    (cmd, c, fake) => {
      if (cmd[0] === 'PING' && cuts > 0) {
        cuts--;
        c.sock.destroy();
        return HANG;
      }
      return fake.standard(cmd, c);
    },
  );
});

test('a refused handshake (wrong password) is reported as ERR_AUTH and queued commands fail typed, fast', () =>
  withFake(
    async (fake) => {
      const conn = open(fake, { password: 'wrong' });
      const errors: any[] = [];
      conn.on('error', (e) => errors.push(e));
      try {
        const p = settle(conn.send(['GET', 'k']));
        await until(() => p.done, 'command settled', 2_000);
        assert.equal(p.error?.code, 'ERR_NOT_SENT');
        assert.equal(p.error?.cause?.code, 'ERR_AUTH');
        assert.ok(errors.some((e) => e.code === 'ERR_AUTH'));
        assert.equal(fake.dataCommands.length, 0);
        // It keeps trying; once the server accepts, commands work.
        fake.handler = (cmd, c) => fake.standard(cmd, c);
        assert.equal(await conn.send(['ECHO', 'ok']), 'ok');
      } finally {
        conn.disconnect();
      }
    },
    (cmd, c, fake) => (cmd[0] === 'AUTH' ? new ReplyError('WRONGPASS invalid username-password pair or user is disabled.') : fake.standard(cmd, c)),
  ));

// ---- closing ------------------------------------------------------------------------------------

test('quit(): replies in flight arrive; commands issued after quit() fail as not sent and are never written', () =>
  withFake(
    async (fake) => {
      const conn = open(fake);
      await ready(conn);
      const inflight = conn.send(['ECHO', 'slowish']);
      const quitting = conn.quit();
      const after = settle(conn.send(['ECHO', 'after-quit']));
      assert.equal(await inflight, 'slowish');
      await quitting;
      await until(() => after.done, 'after settled');
      assert.equal(after.error?.code, 'ERR_NOT_SENT');
      assert.equal(conn.state, 'closed');
      assert.equal(fake.received.filter((c) => c[1] === 'after-quit').length, 0);
    },
    (cmd, c, fake) => {
      if (cmd[1] === 'slowish') return later(30, 'slowish');
      return fake.standard(cmd, c);
    },
  ));

test('disconnect(): written commands fail outcome unknown, queued ones not sent, at once', () =>
  withFake(
    async (fake) => {
      const conn = open(fake);
      await ready(conn);
      const written = settle(conn.send(['GET', 'hang']));
      await until(() => fake.received.some((c) => c[1] === 'hang'), 'received');
      conn.disconnect();
      await until(() => written.done, 'settled');
      assert.equal(written.error?.code, 'ERR_OUTCOME_UNKNOWN');
      await assert.rejects(conn.send(['PING']), (e: any) => e.code === 'ERR_NOT_SENT' && e.reason === 'client-closed');

      const down = new Connection({ port: 1, host: '127.0.0.1' });
      const q = settle(down.send(['GET', 'x']));
      down.disconnect();
      await until(() => q.done, 'queued settled');
      assert.equal(q.error?.code, 'ERR_NOT_SENT');
    },
    (cmd, c, fake) => (cmd[1] === 'hang' ? HANG : fake.standard(cmd, c)),
  ));

test("a command issued from a 'close' listener is kept for the next connection, not matched to the handshake", () =>
  withFake(async (fake) => {
    const conn = open(fake);
    try {
      await ready(conn);
      let fromClose: ReturnType<typeof settle> | undefined;
      conn.once('close', () => {
        fromClose = settle(conn.send(['ECHO', 'from-close']));
      });
      fake.cutAll();
      await until(() => fromClose?.done === true, 'settled');
      assert.equal(fromClose!.value, 'from-close');
      assert.equal(await conn.send(['ECHO', 'next']), 'next');
    } finally {
      conn.disconnect();
    }
  }));

test('a reply cut in the middle: the command fails outcome unknown, the next connection starts clean', () =>
  withFake(
    async (fake) => {
      const conn = open(fake);
      try {
        await ready(conn);
        const p = settle(conn.send(['GET', 'big']));
        await until(() => p.done, 'settled');
        assert.equal(p.error?.code, 'ERR_OUTCOME_UNKNOWN');
        assert.equal(await conn.send(['ECHO', 'clean']), 'clean');
      } finally {
        conn.disconnect();
      }
    },
    (cmd, c, fake) => {
      if (cmd[1] === 'big') {
        c.sock.write('$10\r\nhalf');
        setTimeout(() => c.sock.destroy(), 10);
        return HANG;
      }
      return fake.standard(cmd, c);
    },
  ));

// ---- bad input ----------------------------------------------------------------------------------

test('a pipeline with a bad argument or an empty command is refused whole: later replies still reach their callers', () =>
  withFake(async (fake) => {
    const conn = open(fake);
    try {
      await ready(conn);
      await assert.rejects(conn.sendPipeline([['SET', 'a', '1'], ['SET', 'b', undefined as unknown as string]]), TypeError);
      // Redis answers nothing to `*0`: an empty command would shift every reply after it.
      await assert.rejects(conn.sendPipeline([['SET', 'a', '1'], []]), TypeError);
      await assert.rejects(conn.send([]), TypeError);
      await assert.rejects(conn.send(['SET', 'k', {} as unknown as string]), TypeError);
      assert.equal(await conn.send(['GET', 'a']), null, 'SET a never reached the server');
      assert.equal(await conn.send(['ECHO', 'own']), 'own');
      assert.equal(fake.dataCommands.filter((c) => c[0] === 'SET').length, 0);
    } finally {
      conn.disconnect();
    }
  }));

test('a bad argument in a command queued offline fails that command only; the rest of the queue is sent', () =>
  withFake(async (fake) => {
    const conn = open(fake);
    try {
      const bad = settle(conn.send(['SET', 'k', null as unknown as string]));
      const good = settle(conn.send(['ECHO', 'good']));
      await until(() => bad.done && good.done, 'both settled');
      assert.ok(bad.error instanceof TypeError);
      assert.equal(good.value, 'good');
    } finally {
      conn.disconnect();
    }
  }));

test("a throwing 'ready' listener does not strand the offline queue", () =>
  withFake(async (fake) => {
    const conn = open(fake);
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    // node:test reports uncaught exceptions as failures; take this one over for the test's duration.
    const saved = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', onUncaught);
    try {
      conn.once('ready', () => {
        throw new Error('listener bug');
      });
      assert.equal(await conn.send(['ECHO', 'queued']), 'queued');
      await tick(5);
      assert.equal((uncaught[0] as Error)?.message, 'listener bug');
    } finally {
      process.off('uncaughtException', onUncaught);
      for (const l of saved) process.on('uncaughtException', l);
      conn.disconnect();
    }
  }));
