/**
 * Connection loss, command timeouts and server restarts against real redis-servers: what fails, with
 * which type, what is kept and sent later, and that no reply ever reaches the wrong caller.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { RedisServer, waitUntil } from '../support/redis-server.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { createClient } from '../../src/client/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('link cut with commands in flight: written ones fail outcome unknown (each applied at most once), later ones wait and run', async () => {
  const server = await RedisServer.start();
  const proxy = await TcpProxy.start(server.port);
  const c = createClient({ port: proxy.port, reconnect: { baseMs: 10, maxMs: 50 } });
  try {
    await c.ready();
    // DEBUG SLEEP keeps the 50 INCRs behind it written but unanswered when the link is cut.
    const sleepCmd = c.cmd(['DEBUG', 'SLEEP', '0.3']).catch((e) => e);
    const incrs = Array.from({ length: 50 }, () => c.cmd(['INCR', 'cut-counter']).catch((e) => e));
    await waitUntil(() => proxy.bytesUp > 0, 1_000, 'commands written');
    await sleep(50);
    proxy.cut();
    const results = await Promise.all(incrs);
    assert.equal((await sleepCmd).code, 'ERR_OUTCOME_UNKNOWN');
    for (const r of results) assert.equal(r.code, 'ERR_OUTCOME_UNKNOWN');
    // Issued after the cut: kept, sent after the reconnect, exactly once.
    const later = await Promise.all(Array.from({ length: 10 }, () => c.cmd(['INCR', 'cut-later'])));
    assert.deepEqual(later.sort((a, b) => Number(a) - Number(b)), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await sleep(350); // the server finishes the sleep and runs what it had read
    const applied = Number(server.cli('GET', 'cut-counter') || 0);
    assert.ok(applied >= 0 && applied <= 50, `outcome-unknown INCRs applied at most once each: ${applied}`);
  } finally {
    c.disconnect();
    await proxy.close();
    await server.stop();
  }
});

test('server paused (SIGSTOP) past commandTimeoutMs: TimeoutError, reset, and after SIGCONT it works with no reply to the wrong caller', async (t) => {
  const server = await RedisServer.start();
  const c = createClient({ port: server.port, commandTimeoutMs: 300, reconnect: { baseMs: 10, maxMs: 100 } });
  const N = 200;
  try {
    await c.cmd(Array.from({ length: N }, (_, i) => ['SET', `stop:${i}`, `value-${i}`]));
    let stop = false;
    const failures = new Map<string, number>();
    let wrong = 0;
    let ok = 0;
    let okAfterCont = 0;
    let contAt = Infinity;
    let firstOkAfterCont = Infinity;
    const worker = async (w: number) => {
      for (let j = 0; !stop; j++) {
        const i = (w * 31 + j) % N;
        try {
          const v = await c.cmd(['GET', `stop:${i}`]);
          if (v !== `value-${i}`) wrong++;
          ok++;
          if (Date.now() >= contAt) {
            okAfterCont++;
            firstOkAfterCont = Math.min(firstOkAfterCont, Date.now());
          }
        } catch (e: any) {
          failures.set(e.code, (failures.get(e.code) ?? 0) + 1);
          await sleep(5);
        }
      }
    };
    const workers = Array.from({ length: 20 }, (_, w) => worker(w));
    await sleep(200);
    server.signal('SIGSTOP');
    await sleep(1_000);
    server.signal('SIGCONT');
    contAt = Date.now();
    await waitUntil(() => okAfterCont > 100, 3_000, 'commands succeed again');
    stop = true;
    await Promise.all(workers);
    t.diagnostic(`failures ${JSON.stringify([...failures])}; first success ${firstOkAfterCont - contAt} ms after SIGCONT`);
    assert.equal(wrong, 0, 'no reply to the wrong caller');
    assert.ok((failures.get('ERR_TIMEOUT') ?? 0) >= 1, `timeouts: ${JSON.stringify([...failures])}`);
    for (const code of failures.keys()) assert.ok(['ERR_TIMEOUT', 'ERR_NOT_SENT', 'ERR_OUTCOME_UNKNOWN'].includes(code), code);
    assert.ok(firstOkAfterCont - contAt < 1_000, `back within a second: ${firstOkAfterCont - contAt} ms`);
    assert.ok(ok > 0);
  } finally {
    server.signal('SIGCONT');
    c.disconnect();
    await server.stop();
  }
});

test('a restart that loads a dataset: the client waits out LOADING and callers never see it', async () => {
  const server = await RedisServer.start({
    persistence: 'rdb',
    // Slow loading down (per key) and let the server answer clients while it loads.
    config: { 'key-load-delay': 50, 'loading-process-events-interval-bytes': 1024 },
  });
  const c = createClient({ port: server.port, reconnect: { baseMs: 10, maxMs: 50 }, loadingRetryMs: 20 });
  try {
    server.cli('DEBUG', 'POPULATE', '12000');
    await c.cmd(['SET', 'marker', 'here']);
    server.cli('SAVE');
    const failures: string[] = [];
    let stop = false;
    let successes = 0;
    const worker = async () => {
      while (!stop) {
        try {
          assert.equal(await c.cmd(['GET', 'marker']), 'here');
          successes++;
        } catch (e: any) {
          failures.push(e.code === 'ERR_REPLY' ? e.prefix : e.code);
        }
        await sleep(2);
      }
    };
    const workers = Array.from({ length: 5 }, () => worker());
    await sleep(50);
    await server.restart({ signal: 'SIGKILL' });
    // Prove the server really was loading, from a raw connection of our own.
    const sawLoading = await new Promise<boolean>((resolve) => {
      const s = net.connect(server.port, '127.0.0.1', () => s.write('PING\r\n'));
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString().startsWith('-LOADING'));
      });
      s.on('error', () => resolve(false));
    });
    assert.ok(sawLoading, 'the server answered -LOADING to a raw PING');
    const before = successes;
    await waitUntil(() => successes > before + 50, 15_000, 'commands after loading');
    stop = true;
    await Promise.all(workers);
    assert.ok(!failures.includes('LOADING'), 'no caller saw LOADING');
    for (const f of failures) assert.ok(['ERR_OUTCOME_UNKNOWN', 'ERR_NOT_SENT'].includes(f), f);
    assert.equal(await c.cmd(['DBSIZE']), 12_001);
  } finally {
    c.disconnect();
    await server.stop();
  }
});

test('a server restarted with a password, then without: queued commands fail typed meanwhile, then work', async () => {
  const server = await RedisServer.start();
  const c = createClient({ port: server.port, reconnect: { baseMs: 10, maxMs: 50 } });
  const errors: string[] = [];
  c.on('error', (e: any) => errors.push(e.code));
  try {
    assert.equal(await c.cmd(['PING']), 'PONG');
    await server.restart({ options: { password: 'now-secret' } });
    const err: any = await waitForFailure(() => c.cmd(['PING']));
    assert.equal(err.code, 'ERR_NOT_SENT');
    assert.equal(err.reason, 'handshake-refused');
    assert.ok(errors.includes('ERR_AUTH'));
    await server.restart({ options: { password: undefined } });
    await waitUntil(async () => (await c.cmd(['PING']).catch(() => null)) === 'PONG', 3_000, 'PONG again');
  } finally {
    c.disconnect();
    await server.stop();
  }
});

/** Retries `fn` until it rejects (the client may still be reconnecting), returning the error. */
async function waitForFailure(fn: () => Promise<unknown>): Promise<unknown> {
  const end = Date.now() + 5_000;
  while (Date.now() < end) {
    const r = await fn().then(
      () => undefined,
      (e) => e,
    );
    if (r) return r;
    await sleep(20);
  }
  throw new Error('never failed');
}
