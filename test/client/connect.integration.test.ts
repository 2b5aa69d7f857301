/**
 * createClient(url | options) against real redis-servers: URLs with user, password and db; host and
 * port, unix socket, TLS, ACL users, client name, RESP2/RESP3; and the ways connecting fails (wrong
 * password, unknown host, a server that accepts but never answers, an untrusted certificate).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisServer } from '../support/redis-server.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { createClient, type Client } from '../../src/client/index.js';

let server: RedisServer;
let sockDir: string;
let sockPath: string;

before(async () => {
  sockDir = mkdtempSync(join(tmpdir(), 'rs-sock-'));
  sockPath = join(sockDir, 'redis.sock');
  server = await RedisServer.start({
    password: 'pw',
    users: [
      { name: 'alice', password: 'p@ss:w/rd' },
      { name: 'reader', password: 'rpw', rules: '~* +@read +ping +client +select +hello +auth' },
    ],
    config: { unixsocket: sockPath, unixsocketperm: 700 },
  });
});

after(async () => {
  await server?.stop();
  rmSync(sockDir, { recursive: true, force: true });
});

async function using<T>(c: Client, fn: (c: Client) => Promise<T>): Promise<T> {
  try {
    return await fn(c);
  } finally {
    c.disconnect();
  }
}

function info(clientInfo: unknown): Record<string, string> {
  return Object.fromEntries(String(clientInfo).trim().split(' ').map((kv) => kv.split('=') as [string, string]));
}

test('redis:// URL with user, password (percent-encoded) and db', () =>
  using(createClient(`redis://alice:${encodeURIComponent('p@ss:w/rd')}@127.0.0.1:${server.port}/2`), async (c) => {
    const i = info(await c.cmd(['CLIENT', 'INFO']));
    assert.equal(i.user, 'alice');
    assert.equal(i.db, '2');
    await c.cmd(['SET', 'where', 'db2']);
    assert.equal(server.cli('-n', '2', 'GET', 'where'), 'db2');
    assert.equal(server.cli('-n', '0', 'EXISTS', 'where'), '0');
  }));

test('redis:// URL with the default user password, protocol and name as parameters', () =>
  using(createClient(`redis://:pw@127.0.0.1:${server.port}?protocol=3&name=from-url`), async (c) => {
    const i = info(await c.cmd(['CLIENT', 'INFO']));
    assert.equal(i.user, 'default');
    assert.equal(i.resp, '3');
    assert.equal(await c.cmd(['CLIENT', 'GETNAME']), 'from-url');
    assert.equal(c.protocol, 3);
  }));

test('options: host, port, username, password, db, clientName', () =>
  using(createClient({ host: '127.0.0.1', port: server.port, username: 'alice', password: 'p@ss:w/rd', db: 5, clientName: 'opts' }), async (c) => {
    const i = info(await c.cmd(['CLIENT', 'INFO']));
    assert.deepEqual([i.user, i.db, i.name], ['alice', '5', 'opts']);
    assert.equal(await c.cmd(['CLIENT', 'GETNAME']), 'opts');
  }));

test('RESP2 and RESP3 (HELLO): replies take each protocol’s shapes', async () => {
  for (const protocol of [2, 3] as const) {
    await using(createClient({ port: server.port, password: 'pw', protocol }), async (c) => {
      await c.cmd(['HSET', 'h', 'f', 'v']);
      const all = await c.cmd(['HGETALL', 'h']);
      if (protocol === 3) assert.deepEqual(all, new Map([['f', 'v']]));
      else assert.deepEqual(all, ['f', 'v']);
      assert.equal(info(await c.cmd(['CLIENT', 'INFO'])).resp, String(protocol));
    });
  }
});

test('unix socket, by options and by unix:// URL (with db)', async () => {
  await using(createClient({ path: sockPath, password: 'pw' }), async (c) => {
    assert.equal(await c.cmd(['PING']), 'PONG');
    assert.match(String(await c.cmd(['CLIENT', 'INFO'])), /laddr=\S*redis\.sock/);
  });
  await using(createClient({ url: `unix://${sockPath}?db=4`, password: 'pw' }), async (c) => {
    assert.equal(info(await c.cmd(['CLIENT', 'INFO'])).db, '4');
  });
});

test('an ACL user is held to its rules: refused commands reject with NOPERM, others work', () =>
  using(createClient({ port: server.port, username: 'reader', password: 'rpw' }), async (c) => {
    assert.equal(await c.cmd(['GET', 'nothing']), null);
    await assert.rejects(c.cmd(['SET', 'x', '1']), (e: any) => e.code === 'ERR_REPLY' && e.prefix === 'NOPERM');
    assert.equal(await c.cmd(['PING']), 'PONG');
  }));

test('wrong password: typed ERR_AUTH on the error event, commands fail typed (not sent), nothing hangs', async () => {
  for (const opts of [{ password: 'nope' }, { username: 'alice', password: 'nope' }, { username: 'ghost', password: 'x' }, {}, { password: 'nope', protocol: 3 as const }]) {
    const c = createClient({ port: server.port, ...opts, reconnect: { baseMs: 50, maxMs: 200 } });
    const errors: any[] = [];
    c.on('error', (e) => errors.push(e));
    await using(c, async () => {
      const err: any = await c.cmd(['GET', 'k']).then(
        () => assert.fail('should not succeed'),
        (e) => e,
      );
      assert.equal(err.code, 'ERR_NOT_SENT', JSON.stringify(opts));
      assert.equal(err.reason, 'handshake-refused');
      assert.equal(err.cause?.code, 'ERR_AUTH');
      assert.ok(errors.some((e) => e.code === 'ERR_AUTH'));
      assert.ok(!String(err.message).includes('nope') && !errors.some((e) => String(e.message).includes('nope')), 'no password in messages');
    });
  }
});

test('a database that does not exist is refused typed (ERR_CONNECT), fast', async () => {
  const c = createClient({ port: server.port, password: 'pw', db: 99 });
  const errors: any[] = [];
  c.on('error', (e) => errors.push(e));
  await using(c, async () => {
    await assert.rejects(c.cmd(['PING']), (e: any) => e.code === 'ERR_NOT_SENT' && e.cause?.code === 'ERR_CONNECT');
    assert.ok(errors.some((e) => e.code === 'ERR_CONNECT'));
  });
});

test('unknown host: ERR_CONNECT events, commands settle typed (give up, or offline timeout)', async () => {
  const gaveUp = createClient({ host: 'no-such-host.invalid', port: 6390, reconnect: { baseMs: 10, maxAttempts: 2 } });
  const errors: any[] = [];
  gaveUp.on('error', (e) => errors.push(e));
  await using(gaveUp, async () => {
    const err: any = await gaveUp.cmd(['PING']).catch((e) => e);
    assert.equal(err.code, 'ERR_NOT_SENT');
    assert.equal(err.reason, 'reconnect-gave-up');
    assert.equal(err.cause?.code, 'ERR_CONNECT');
    assert.ok(['ENOTFOUND', 'EAI_AGAIN'].includes(err.cause?.cause?.code), err.cause?.cause?.code);
    assert.ok(errors.filter((e) => e.code === 'ERR_CONNECT').length >= 2);
    assert.equal(gaveUp.status, 'closed');
    await assert.rejects(gaveUp.ready(), (e: any) => e.code === 'ERR_NOT_SENT');
  });
  const waiting = createClient({ host: 'no-such-host.invalid', offlineTimeoutMs: 300, reconnect: { baseMs: 10 } });
  await using(waiting, async () => {
    const t0 = Date.now();
    const err: any = await waiting.cmd(['PING']).catch((e) => e);
    assert.equal(err.reason, 'offline-timeout');
    assert.ok(Date.now() - t0 < 3_000);
  });
});

test('connect timeout: a server that accepts but never answers fails the attempt with ERR_TIMEOUT', async () => {
  const proxy = await TcpProxy.start(server.port);
  proxy.blackhole();
  const c = createClient({ port: proxy.port, password: 'pw', connectTimeoutMs: 200, reconnect: { baseMs: 10, maxMs: 20 } });
  const errors: any[] = [];
  c.on('error', (e) => errors.push(e));
  try {
    const t0 = Date.now();
    await new Promise<void>((resolve) => c.once('error', () => resolve()));
    const e = errors[0];
    assert.equal(e.code, 'ERR_TIMEOUT');
    assert.equal(e.timeout, 'connect');
    assert.ok(Date.now() - t0 >= 150, 'not before the timeout');
    // Once the path heals, the queued command goes through.
    const p = c.cmd(['PING']);
    proxy.heal();
    assert.equal(await p, 'PONG');
  } finally {
    c.disconnect();
    await proxy.close();
  }
});

test('TLS: rediss:// and tls options with the CA, by IP and by name; an untrusted certificate is ERR_CONNECT', async () => {
  const tlsServer = await RedisServer.start({ tls: true });
  try {
    const ca = readFileSync(tlsServer.tlsFiles!.ca);
    await using(createClient({ url: `rediss://127.0.0.1:${tlsServer.port}`, tls: { ca } }), async (c) => {
      assert.equal(await c.cmd(['PING']), 'PONG');
    });
    await using(createClient({ host: 'localhost', port: tlsServer.port, tls: { ca }, protocol: 3 }), async (c) => {
      assert.equal(await c.cmd(['SET', 'tls', 'yes']), 'OK');
      assert.equal(await c.cmd(['GET', 'tls']), 'yes');
    });
    // A large value over TLS, crossing many records.
    await using(createClient({ host: '127.0.0.1', port: tlsServer.port, tls: { ca } }), async (c) => {
      const big = Buffer.alloc(3 * 1024 * 1024, 7);
      await c.cmd(['SET', 'big', big]);
      assert.equal(((await c.cmd(['GET', 'big'])) as string).length, big.length);
    });
    const untrusted = createClient({ url: `rediss://127.0.0.1:${tlsServer.port}`, reconnect: { maxAttempts: 1, baseMs: 10 } });
    const errors: any[] = [];
    untrusted.on('error', (e) => errors.push(e));
    await using(untrusted, async () => {
      await assert.rejects(untrusted.cmd(['PING']), (e: any) => e.code === 'ERR_NOT_SENT');
      const e = errors.find((x) => x.code === 'ERR_CONNECT');
      assert.ok(e, 'ERR_CONNECT reported');
      assert.match(String(e.cause?.code), /CERT|SELF_SIGNED|UNABLE/);
    });
  } finally {
    await tlsServer.stop();
  }
});
