/**
 * `redstack grid list` and `redstack grid watch` as real processes against a real Redis.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { RedisServer } from '../support/redis-server.js';
import { createClient } from '../../src/client/index.js';
import { joinGrid, Registry } from '../../src/discovery/index.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 20_000 });
}

test('grid list prints live nodes with metadata (table and --json), and never the Redis password', async () => {
  const server = await RedisServer.start({ password: 'hunter2' });
  const a = await joinGrid({ redis: server.url, namespace: 'cli', id: 'web-1', meta: { zone: 'eu', weight: 3 }, handleSignals: false });
  const b = await joinGrid({ redis: server.url, namespace: 'cli', id: 'web-2', meta: { zone: 'us' }, handleSignals: false });
  try {
    const json = cli(['grid', 'list', '--namespace', 'cli', '--json', '--redis', server.url]);
    assert.equal(json.status, 0, json.stderr);
    const rows = JSON.parse(json.stdout) as { id: string; meta: Record<string, unknown>; lastSeen: number }[];
    assert.deepEqual(rows.map((r) => r.id).sort(), ['web-1', 'web-2']);
    assert.equal(rows.find((r) => r.id === 'web-1')!.meta.weight, 3);
    assert.equal(rows.find((r) => r.id === 'web-1')!.meta.pid, process.pid);
    const table = cli(['grid', 'list', '-n', 'cli'], { REDIS_URL: server.url });
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /^ID\s+HOST\s+PID\s+VERSION\s+UP\s+SEEN\s+HEALTH\s+META/m);
    assert.match(table.stdout, /web-1 .* ok\s+\{"zone":"eu","weight":3\}/);
    assert.match(table.stdout, /2 nodes in 'cli'/);
    assert.ok(!server.cli('HGETALL', 'rs:grid:{cli}:nodes').includes('hunter2'), 'the registry holds no password');
    const empty = cli(['grid', 'list', '-n', 'nothing-here', '--redis', server.url]);
    assert.match(empty.stdout, /no live nodes in namespace 'nothing-here'/);
    const down = cli(['grid', 'list', '--redis', 'redis://127.0.0.1:1']);
    assert.equal(down.status, 69, 'unreachable Redis exits with EX_UNAVAILABLE');
    assert.ok(!down.stderr.includes('hunter2'));
  } finally {
    await a.leave();
    await b.leave();
    await server.stop();
  }
});

test('grid list marks a node that missed its heartbeats as suspect (table and --json)', async () => {
  const server = await RedisServer.start();
  const redis = createClient({ port: server.port });
  try {
    const reg = new Registry(redis, 'quiet');
    await reg.register('beating', 60_000, JSON.stringify({ ttl: 60_000, meta: {} }), 60_000);
    await reg.register('quiet', 60_000, JSON.stringify({ ttl: 60_000, meta: {} }), 20);
    await new Promise((r) => setTimeout(r, 50));
    await reg.sweep(); // past its due time: published as suspect
    const json = cli(['grid', 'list', '-n', 'quiet', '--json', '--redis', server.url]);
    const rows = JSON.parse(json.stdout) as { id: string; suspect: boolean }[];
    assert.deepEqual(rows.map((r) => [r.id, r.suspect]).sort(), [['beating', false], ['quiet', true]]);
    const table = cli(['grid', 'list', '-n', 'quiet', '--redis', server.url]);
    assert.match(table.stdout, /^quiet .* suspect\s+\{\}$/m);
    assert.match(table.stdout, /^beating .* ok\s+\{\}$/m);
  } finally {
    redis.disconnect();
    await server.stop();
  }
});

test('grid watch prints present nodes, then joins, updates and leaves as they happen', async () => {
  const server = await RedisServer.start();
  const a = await joinGrid({ redis: server.url, namespace: 'w', id: 'a', handleSignals: false, heartbeatMs: 200, ttlMs: 600 });
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'grid', 'watch', '-n', 'w', '--json', '--heartbeat-ms', '200', '--redis', server.url], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: { event: string; id: string; meta: Record<string, unknown>; reason?: string }[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(JSON.parse(l)));
  const until = async (pred: () => boolean, what: string) => {
    const t0 = Date.now();
    while (!pred()) {
      if (Date.now() - t0 > 15_000) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(lines)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  try {
    await until(() => lines.some((l) => l.event === 'present' && l.id === 'a'), 'present a');
    const b = await joinGrid({ redis: server.url, namespace: 'w', id: 'b', meta: { v: 1 }, handleSignals: false, heartbeatMs: 200, ttlMs: 600 });
    await until(() => lines.some((l) => l.event === 'join' && l.id === 'b' && l.meta.v === 1), 'join b');
    await b.updateMeta({ v: 2 });
    await until(() => lines.some((l) => l.event === 'update' && l.id === 'b' && l.meta.v === 2), 'update b');
    await b.leave();
    await until(() => lines.some((l) => l.event === 'leave' && l.id === 'b' && l.reason === 'left'), 'leave b');
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGINT');
    assert.equal(await exited, 0);
  } finally {
    child.kill('SIGKILL');
    await a.leave();
    await server.stop();
  }
});
