/**
 * Checks test/support/fake-redis.ts itself with a bare socket and src/resp, so that client tests
 * built on it can trust what it does.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { RespDecoder, ReplyError, encodeCommand, type RespValue } from '../../src/resp/index.js';
import { FakeRedis, reply } from '../support/fake-redis.js';

/** A minimal client: send commands, await replies (pushes collected apart), see raw bytes and close. */
class Probe {
  readonly socket: Socket;
  readonly replies: RespValue[] = [];
  readonly pushes: RespValue[][] = [];
  readonly chunks: Buffer[] = [];
  closed = false;
  error: Error | undefined;
  #decoder: RespDecoder;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.#decoder = new RespDecoder({ onReply: (v) => this.replies.push(v), onPush: (v) => this.pushes.push(v) });
    socket.on('data', (c) => {
      this.chunks.push(c);
      this.#decoder.write(c);
    });
    socket.on('error', (e) => (this.error = e));
    socket.on('close', () => (this.closed = true));
  }

  static async open(fake: FakeRedis): Promise<Probe> {
    const s = connect(fake.port, fake.host);
    await once(s, 'connect');
    return new Probe(s);
  }

  send(...args: string[]): void {
    this.socket.write(encodeCommand(args));
  }

  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  async until(cond: () => boolean, ms = 2000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error('probe: timed out');
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  async call(...args: string[]): Promise<RespValue> {
    const n = this.replies.length;
    this.send(...args);
    await this.until(() => this.replies.length > n);
    return this.replies[n]!;
  }
}

async function withFake(opts: Parameters<typeof FakeRedis.start>[0], fn: (fake: FakeRedis) => Promise<void>): Promise<void> {
  const fake = await FakeRedis.start(opts);
  try {
    await fn(fake);
  } finally {
    await fake.close();
  }
}

describe('FakeRedis', () => {
  test('listens on a free port and answers the built-in commands', () =>
    withFake({}, async (fake) => {
      assert.notEqual(fake.port, 0);
      assert.notEqual(fake.port, 6379);
      const p = await Probe.open(fake);
      assert.equal(await p.call('PING'), 'PONG');
      assert.equal(await p.call('SET', 'k', 'v'), 'OK');
      assert.equal(await p.call('GET', 'k'), 'v');
      assert.equal(await p.call('INCR', 'n'), 1);
      assert.equal(await p.call('SELECT', '2'), 'OK');
      assert.equal(await p.call('GET', 'k'), null);
      assert.equal(await p.call('CLIENT', 'SETNAME', 'me'), 'OK');
      assert.equal(fake.clients[0]!.name, 'me');
      const e = await p.call('NOPE', 'x');
      assert.ok(e instanceof ReplyError && e.prefix === 'ERR');
      assert.deepStrictEqual(fake.commandNames(), ['PING', 'SET', 'GET', 'INCR', 'SELECT', 'GET', 'CLIENT', 'NOPE']);
      assert.equal(fake.commandsTotal, 8);
      assert.equal(fake.connections, 1);
      assert.equal(fake.connectionsTotal, 1);
      p.socket.destroy();
      await fake.waitFor(() => fake.connections === 0);
    }));

  test('HELLO 3 switches to RESP3 (maps, pushes); hello:false refuses it; AUTH and NOAUTH', async () => {
    await withFake({ password: 'pw' }, async (fake) => {
      const p = await Probe.open(fake);
      assert.equal(((await p.call('GET', 'k')) as ReplyError).prefix, 'NOAUTH');
      assert.equal(((await p.call('AUTH', 'bad')) as ReplyError).prefix, 'WRONGPASS');
      const hello = await p.call('HELLO', '3', 'AUTH', 'default', 'pw', 'SETNAME', 'c1');
      assert.ok(hello instanceof Map);
      assert.equal(hello.get('proto'), 3);
      assert.equal(fake.clients[0]!.protocol, 3);
      assert.equal(fake.clients[0]!.name, 'c1');
      assert.equal(await p.call('GET', 'k'), null);
    });
    await withFake({ password: 'pw' }, async (fake) => {
      const p = await Probe.open(fake);
      assert.equal(((await p.call('GET', 'k')) as ReplyError).prefix, 'NOAUTH');
      assert.equal(await p.call('AUTH', 'pw'), 'OK');
      const hello = await p.call('HELLO', '3');
      assert.ok(hello instanceof Map);
      p.send('SUBSCRIBE', 'ch');
      await p.until(() => p.pushes.length === 1);
      assert.deepStrictEqual(p.pushes[0], ['subscribe', 'ch', 1]);
      assert.equal(fake.publish('ch', 'hi'), 1);
      await p.until(() => p.pushes.length === 2);
      assert.deepStrictEqual(p.pushes[1], ['message', 'ch', 'hi']);
    });
    await withFake({ hello: false }, async (fake) => {
      const p = await Probe.open(fake);
      assert.equal(((await p.call('HELLO', '3')) as ReplyError).prefix, 'ERR');
      assert.equal(fake.clients[0]!.protocol, 2);
    });
  });

  test('RESP2 pub/sub: confirmations and messages are arrays; other commands refused', () =>
    withFake({}, async (fake) => {
      const p = await Probe.open(fake);
      p.send('SUBSCRIBE', 'a', 'b');
      await p.until(() => p.replies.length === 2);
      assert.deepStrictEqual(p.replies, [
        ['subscribe', 'a', 1],
        ['subscribe', 'b', 2],
      ]);
      p.send('PSUBSCRIBE', 'news.*');
      await p.until(() => p.replies.length === 3);
      fake.publish('news.x', 'm');
      await p.until(() => p.replies.length === 4);
      assert.deepStrictEqual(p.replies[3], ['pmessage', 'news.*', 'news.x', 'm']);
      assert.equal(((await p.call('GET', 'k')) as ReplyError).prefix, 'ERR');
    }));

  test('handlers by name, then the general handler, then defaults; order is kept across delays', () =>
    withFake({ handler: (cmd) => (cmd[0] === 'ECHO' ? 'from handler' : undefined) }, async (fake) => {
      fake.on('get', (cmd, _conn, raw) => {
        assert.ok(Buffer.isBuffer(raw[1]));
        return cmd[1] === 'slow' ? reply.delay(50, 'late') : undefined;
      });
      const p = await Probe.open(fake);
      p.send('GET', 'slow');
      p.send('ECHO', 'x');
      p.send('PING');
      await p.until(() => p.replies.length === 3);
      assert.deepStrictEqual(p.replies, ['late', 'from handler', 'PONG']);
      fake.on('GET', null);
      assert.equal(await p.call('GET', 'slow'), null);
    }));

  test('MOVED and ASK redirections, errors, several replies and raw bytes', () =>
    withFake({}, async (fake) => {
      fake.on('GET', (cmd) => (cmd[1] === 'a' ? reply.moved(15495, '127.0.0.1', 7001) : reply.ask(3999, '127.0.0.1', 7002)));
      fake.on('X', () => reply.many(1, 'two', reply.raw(':3\r\n')));
      const p = await Probe.open(fake);
      const moved = (await p.call('GET', 'a')) as ReplyError;
      assert.equal(moved.prefix, 'MOVED');
      assert.equal(moved.message, 'MOVED 15495 127.0.0.1:7001');
      assert.equal(((await p.call('GET', 'b')) as ReplyError).message, 'ASK 3999 127.0.0.1:7002');
      p.send('X');
      await p.until(() => p.replies.length === 5);
      assert.deepStrictEqual(p.replies.slice(2), [1, 'two', 3]);
    }));

  test('hang: no answer ever, commands still counted', () =>
    withFake({}, async (fake) => {
      fake.on('BLPOP', () => reply.hang());
      const p = await Probe.open(fake);
      p.send('BLPOP', 'q', '0');
      p.send('PING');
      await fake.waitForCommands(2);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(p.replies.length, 0);
      assert.equal(p.closed, false);
    }));

  test('cut: part of the reply, then the connection ends (FIN) or resets (RST)', async () => {
    for (const reset of [false, true]) {
      await withFake({}, async (fake) => {
        fake.on('GET', () => reply.cut('0123456789', { at: 6, reset }));
        const p = await Probe.open(fake);
        p.send('GET', 'k');
        await p.until(() => p.closed);
        assert.deepStrictEqual(p.bytes, Buffer.from('$10\r\n0'));
        assert.equal(p.replies.length, 0);
        if (reset) assert.equal((p.error as NodeJS.ErrnoException | undefined)?.code, 'ECONNRESET');
      });
    }
  });

  test('trickle: a slow answer arrives in pieces', () =>
    withFake({}, async (fake) => {
      fake.on('GET', () => reply.trickle('abcdef', { chunk: 2, everyMs: 5 }));
      const p = await Probe.open(fake);
      assert.equal(await p.call('GET', 'k'), 'abcdef');
      assert.ok(p.chunks.length >= 3, `${p.chunks.length} chunks`);
    }));

  test('pause queues commands; resume answers them in order', () =>
    withFake({}, async (fake) => {
      const p = await Probe.open(fake);
      fake.pause();
      p.send('ECHO', '1');
      p.send('ECHO', '2');
      await fake.waitForCommands(2);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(p.replies.length, 0);
      fake.resume();
      await p.until(() => p.replies.length === 2);
      assert.deepStrictEqual(p.replies, ['1', '2']);
    }));

  test('closeAll, refuse, stop and listen again on the same port', () =>
    withFake({}, async (fake) => {
      const p = await Probe.open(fake);
      fake.closeAll();
      await p.until(() => p.closed);
      fake.refuse();
      const q = await Probe.open(fake);
      await q.until(() => q.closed);
      fake.refuse(false);
      const port = fake.port;
      await fake.stop();
      const s = connect(port, '127.0.0.1');
      const [err] = (await once(s, 'error')) as [NodeJS.ErrnoException];
      assert.equal(err.code, 'ECONNREFUSED');
      await fake.listen();
      assert.equal(fake.port, port);
      const r = await Probe.open(fake);
      assert.equal(await r.call('PING'), 'PONG');
      assert.equal(fake.connectionsTotal, 3);
    }));

  test('malformed input gets -ERR Protocol error and the connection is closed', () =>
    withFake({}, async (fake) => {
      const p = await Probe.open(fake);
      p.socket.write('*1\r\n$x\r\n');
      await p.until(() => p.closed);
      assert.ok(p.replies[0] instanceof ReplyError);
      assert.match((p.replies[0] as ReplyError).message, /Protocol error/);
    }));

  test('a handler that throws answers with an error and the connection goes on', () =>
    withFake({}, async (fake) => {
      fake.on('BOOM', () => {
        throw new Error('kaput');
      });
      const p = await Probe.open(fake);
      assert.match(((await p.call('BOOM')) as ReplyError).message, /kaput/);
      assert.equal(await p.call('PING'), 'PONG');
    }));
});
