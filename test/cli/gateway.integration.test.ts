/**
 * `redstack gateway` and `redstack demo-stats` as a user runs them: child processes, real Redis.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { RedisServer, waitUntil } from '../support/redis-server.js';
import { freePort } from '../support/free-port.js';
import { createClient } from '../../src/client/index.js';
import { verifyToken } from '../../src/gateway/index.js';
import { httpRequest, WsClient } from '../gateway/helpers.js';

const MAIN = join(process.cwd(), 'src', 'cli', 'main.ts');
const env = { ...process.env, REDIS_URL: '' };

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8', env, timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

let redis: RedisServer;
before(async () => {
  redis = await RedisServer.start();
});
after(async () => {
  await redis.stop();
});

test('gateway --help lists the flags; --mint-token prints a verifiable token', () => {
  const help = cli(['gateway', '--help']);
  assert.equal(help.status, 0);
  for (const flag of ['--port', '--redis', '--secret', '--anonymous-read', '--history', '--demo', '--cluster']) assert.ok(help.stdout.includes(flag), flag);
  const minted = cli(['gateway', '--mint-token', '--secret', 's3cret', '--subscribe', 'stats.*', '--publish', 'chat.*', '--ttl', '60']);
  assert.equal(minted.status, 0, minted.stderr);
  const g = verifyToken('s3cret', minted.stdout.trim());
  assert.deepEqual([g.subscribe, g.publish], [['stats.*'], ['chat.*']]);
  const noSecret = cli(['gateway', '--mint-token']);
  assert.equal(noSecret.status, 2);
  assert.match(noSecret.stderr, /--secret/);
  assert.equal(cli(['gateway', '--history', 'stats.*:zero']).status, 2);
});

test('gateway exits 69 with a clear line when Redis is not there', async () => {
  const port = await freePort();
  const r = cli(['gateway', '--redis', `redis://127.0.0.1:${port}`, '--port', '0']);
  assert.equal(r.status, 69);
  assert.match(r.stderr, /not reachable/);
});

test('gateway --demo serves the page and live stats.* messages; SIGTERM stops it cleanly', { timeout: 60_000 }, async () => {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'gateway', '--port', String(port), '--redis', redis.url, '--demo', '--history', 'stats.*:100'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let logs = '';
  child.stdout!.on('data', (d) => (logs += d));
  child.stderr!.on('data', (d) => (logs += d));
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitUntil(async () => (await httpRequest(`${base}/healthz`)).status === 200, 20_000, 'gateway up');
    assert.match((await httpRequest(`${base}/`)).body, /tempo/);
    const c = await WsClient.open(`ws://127.0.0.1:${port}/ws`);
    assert.equal((await c.request({ type: 'psubscribe', patterns: ['stats.*'] })).type, 'ack');
    const m = await c.waitFor((x) => x.type === 'message' && x.channel === 'stats.router', 5000);
    assert.match(String(m.id), /^\d+-\d+$/, 'published through history');
    const data = JSON.parse(String(m.data)) as Record<string, number>;
    for (const k of ['requests', 'p50_ms', 'p99_ms', 'errors']) assert.equal(typeof data[k], 'number', k);
    // Without --secret and --anonymous-read only stats.* is readable.
    assert.equal((await c.request({ type: 'subscribe', channels: ['private'] })).code, 'forbidden');
    await c.close();
    const line = logs.split('\n').find((l) => l.includes('"gateway at'));
    assert.ok(line && JSON.parse(line).url, 'a pino JSON line with the URL');
    child.kill('SIGTERM');
    assert.equal(await exited(child), 0);
  } finally {
    child.kill('SIGKILL');
  }
});

test('demo-stats --count publishes stats.router, stats.logplex and stats.redis', { timeout: 30_000 }, async () => {
  const sub = createClient({ url: redis.url, protocol: 3 });
  const got = new Map<string, Record<string, number>>();
  await sub.psubscribe(['stats.*'], (message, channel) => got.set(channel, JSON.parse(String(message)) as Record<string, number>));
  try {
    const r = cli(['demo-stats', '--redis', redis.url, '--count', '3', '--interval-ms', '50', '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    await waitUntil(() => got.size === 3, 3000, 'all three channels');
    assert.deepEqual([...got.keys()].sort(), ['stats.logplex', 'stats.redis', 'stats.router']);
    assert.ok(got.get('stats.logplex')!.lines_in! > 0);
    assert.ok(got.get('stats.redis')!.clients! >= 1);
  } finally {
    await sub.quit();
  }
});
