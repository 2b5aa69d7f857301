import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisServer } from '../support/redis-server.js';
import { freePort } from '../support/free-port.js';
import { findOrStartRedis } from '../../src/cli/local-redis.js';

test('redstack start serves the page and the demo counters from REDIS_URL, and stops on SIGINT with exit 0', async () => {
  const server = await RedisServer.start();
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start', '--port', String(port)], {
    env: { ...process.env, REDIS_URL: server.url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  try {
    const deadline = Date.now() + 20_000;
    while (!out.includes('redstack is running')) {
      assert.ok(Date.now() < deadline, `start did not come up: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const health = await (await fetch(`http://127.0.0.1:${port}/healthz`)).json();
    assert.equal((health as { status: string }).status, 'ok');
    const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    assert.match(page, /<html/i);
    // The demo publishes into history streams every second.
    const until = Date.now() + 5_000;
    while (!/stats/.test(server.cli('KEYS', '*'))) {
      assert.ok(Date.now() < until, 'demo counters never reached Redis');
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const line of out.split('\n').filter((l) => l.startsWith('{'))) JSON.parse(line); // pino JSON logs
  } finally {
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    await server.stop();
  }
});

test('with no REDIS_URL and nothing on the default address, the main job starts its own redis-server in its data dir', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'redstack-start-'));
  const nothing = `redis://127.0.0.1:${await freePort()}`;
  const redis = await findOrStartRedis({}, join(dir, '.redstack'), nothing);
  try {
    assert.equal(redis.source, 'started');
    assert.ok(existsSync(join(dir, '.redstack')));
    assert.notEqual(redis.url, nothing);
  } finally {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('REDIS_URL wins over everything else', async () => {
  const redis = await findOrStartRedis({ REDIS_URL: 'redis://example.invalid:1' });
  assert.equal(redis.source, 'REDIS_URL');
  assert.equal(redis.url, 'redis://example.invalid:1');
});
