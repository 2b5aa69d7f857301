/**
 * The Sentinel client against a scripted sentinel (so the test decides what the "sentinel" says and
 * when) in front of a real master + replica: the role check, READONLY detection after a demotion the
 * client was not told about, and +switch-master while the old master is still up (a partition).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { startReplicaPair, waitUntil, type RedisServer } from '../support/redis-server.js';
import { RespDecoder, encodeReply, encodePush, ReplyError } from '../../src/resp/index.js';
import type { RespValue } from '../../src/resp/index.js';
import { createSentinelClient, NotSentError, SentinelError } from '../../src/client/index.js';

/** Answers the few commands the client sends a sentinel; `master` is what it reports. */
class FakeSentinel {
  master: { host: string; port: number } | null = null;
  readonly subscribers = new Set<net.Socket>();
  readonly server: net.Server;
  port = 0;

  constructor() {
    this.server = net.createServer((sock) => {
      const decoder = new RespDecoder({ onReply: (v) => this.#answer(sock, v as RespValue[]), onPush: () => undefined });
      sock.on('data', (chunk) => decoder.write(chunk));
      sock.on('error', () => undefined);
      sock.on('close', () => this.subscribers.delete(sock));
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  #answer(sock: net.Socket, cmd: RespValue[]): void {
    const [name, sub] = cmd.map((x) => String(x).toUpperCase());
    let reply: RespValue;
    if (name === 'PING') reply = 'PONG';
    else if (name === 'QUIT') return void sock.end(encodeReply('OK', { simple: true }));
    else if (name === 'SUBSCRIBE') {
      this.subscribers.add(sock);
      return void sock.write(encodePush(['subscribe', String(cmd[1]), 1]));
    } else if (name === 'SENTINEL' && sub === 'GET-MASTER-ADDR-BY-NAME') reply = this.master ? [this.master.host, String(this.master.port)] : null;
    else if (name === 'SENTINEL') reply = [];
    else reply = new ReplyError(`ERR unknown command '${name}'`);
    sock.write(encodeReply(reply, { simple: true }));
  }

  publish(channel: string, message: string): void {
    for (const s of this.subscribers) s.write(encodePush(['message', channel, message]));
  }

  close(): void {
    for (const s of this.subscribers) s.destroy();
    this.server.close();
  }
}

let pair: { master: RedisServer; replica: RedisServer; stop(): Promise<void> };
let fake: FakeSentinel;

before(async () => {
  pair = await startReplicaPair();
  fake = new FakeSentinel();
  await fake.listen();
});

after(async () => {
  fake?.close();
  await pair?.stop();
});

/** Makes `to` the master and `from` its replica, behind the client's back. */
function swap(from: RedisServer, to: RedisServer): void {
  to.cli('REPLICAOF', 'NO', 'ONE');
  from.cli('REPLICAOF', '127.0.0.1', String(to.port));
}

test('an address with the wrong role is refused (ERR_SENTINEL_ROLE) until the sentinel says better', async () => {
  fake.master = { host: '127.0.0.1', port: pair.replica.port }; // a sentinel that is behind
  const client = createSentinelClient({ sentinels: [{ host: '127.0.0.1', port: fake.port }], name: 'mymaster', offlineTimeoutMs: 300, reconnect: { baseMs: 20, maxMs: 50 } });
  try {
    await assert.rejects(client.cmd(['PING']), (e: unknown) => e instanceof NotSentError && e.cause instanceof SentinelError && e.cause.code === 'ERR_SENTINEL_ROLE');
    fake.master = { host: '127.0.0.1', port: pair.master.port };
    await waitUntil(async () => (await client.cmd(['PING']).catch(() => null)) === 'PONG', 5000, 'connected to the master');
    assert.equal(client.resolver.current?.port, pair.master.port);
  } finally {
    client.disconnect();
  }
});

test('a master demoted without notice: -READONLY makes the client re-resolve', async () => {
  fake.master = { host: '127.0.0.1', port: pair.master.port };
  const client = createSentinelClient({ sentinels: [{ host: '127.0.0.1', port: fake.port }], name: 'mymaster' });
  try {
    assert.equal(await client.cmd(['SET', 'x', '1']), 'OK');
    swap(pair.master, pair.replica);
    fake.master = { host: '127.0.0.1', port: pair.replica.port };
    await assert.rejects(client.cmd(['SET', 'x', '2']), (e: unknown) => e instanceof ReplyError && e.prefix === 'READONLY');
    await waitUntil(async () => (await client.cmd(['SET', 'x', '3']).catch(() => null)) === 'OK', 5000, 'a write on the new master');
    assert.equal(client.resolver.current?.port, pair.replica.port);
  } finally {
    client.disconnect();
  }
});

test('+switch-master moves the client even while the old master still accepts writes', async () => {
  // Now the replica server is master (previous test). The "sentinel" announces a switch back.
  fake.master = { host: '127.0.0.1', port: pair.replica.port };
  const client = createSentinelClient({ sentinels: [{ host: '127.0.0.1', port: fake.port }], name: 'mymaster' });
  try {
    const got: string[] = [];
    await client.subscribe('ch', (m) => got.push(String(m)));
    assert.equal(await client.cmd(['SET', 'y', '1']), 'OK');
    await waitUntil(() => fake.subscribers.size === 1, 5000, 'the watcher to subscribe');
    swap(pair.replica, pair.master);
    pair.replica.cli('REPLICAOF', 'NO', 'ONE'); // the partition: the old master is writable too
    fake.master = { host: '127.0.0.1', port: pair.master.port };
    const switched = new Promise((r) => client.once('switch-master', r));
    fake.publish('+switch-master', `mymaster 127.0.0.1 ${pair.replica.port} 127.0.0.1 ${pair.master.port}`);
    await switched;
    await waitUntil(() => client.resolver.current?.port === pair.master.port, 5000, 'the main connection to move');
    await waitUntil(async () => ((await client.cmd(['ROLE'])) as string[])[0] === 'master' && client.resolver.current?.port === pair.master.port, 5000);
    assert.equal(await client.cmd(['SET', 'y', 'on-new']), 'OK');
    assert.equal(pair.master.cli('GET', 'y'), 'on-new');
    // the subscription moved too
    await waitUntil(() => {
      pair.master.cli('PUBLISH', 'ch', 'hi');
      return got.includes('hi');
    }, 5000, 'a message from the new master');
  } finally {
    client.disconnect();
  }
});
