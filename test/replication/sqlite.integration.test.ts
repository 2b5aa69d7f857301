/**
 * SqliteTarget against a real Redis 7 master: the shared target conformance suite, with group commit
 * (the default) and with a commit per batch, each on a file in a temp dir of its own; and
 * `redstack replicate --to sqlite:FILE` end to end (through the target factory).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '../../src/client/index.js';
import { SqliteTarget } from '../../src/replication/targets/sqlite.js';
import { RedisServer, waitUntil } from '../support/redis-server.js';
import { runTargetConformance } from './target-conformance.js';

for (const commitIntervalMs of [20, 0]) {
  const dir = mkdtempSync(join(tmpdir(), 'redstack-sqlite-'));
  const path = join(dir, 'replica.db');
  runTargetConformance({
    name: commitIntervalMs ? 'sqlite (group commit)' : 'sqlite (commit per batch)',
    create: (options) => new SqliteTarget({ path, commitIntervalMs, ...options }),
    destroy: async () => rmSync(dir, { recursive: true, force: true }),
  });
}

test('redstack replicate --to sqlite:FILE loads the snapshot, follows writes, and keeps them after SIGINT', async () => {
  const master = await RedisServer.start({ config: { 'repl-diskless-sync-delay': 0 } });
  const dir = mkdtempSync(join(tmpdir(), 'redstack-sqlite-cli-'));
  const file = join(dir, 'mirror.db');
  const c = createClient({ port: master.port });
  try {
    await c.cmd([['SET', 'before', '1'], ['RPUSH', 'list', 'a', 'b'], ['SELECT', '2'], ['HSET', 'h', 'f', 'v']]);
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'replicate', '--from', master.url, '--to', `sqlite:${file}`, '--quiet'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const stored = (key: string, db = 0) => {
      const t = new SqliteTarget({ path: file, checkpointThread: false });
      try {
        t.open();
        return t.get(key, db);
      } finally {
        t.close();
      }
    };
    await waitUntil(() => existsSync(file) && stored('before') !== null, 20_000, 'the snapshot in the file');
    await c.cmd([['SELECT', '0'], ['SET', 'after', '2'], ['LPUSH', 'list', 'z']]);
    await waitUntil(() => stored('after') !== null, 10_000, 'a live write in the file');
    child.kill('SIGINT');
    assert.notEqual(await exit, null, err);
    const list = stored('list');
    assert.equal(list?.type, 'list');
    assert.deepEqual(list?.type === 'list' ? list.value.map(String) : [], ['z', 'a', 'b']);
    const h = stored('h', 2);
    assert.deepEqual(h?.type === 'hash' ? h.value.map(([f, v]) => `${f}=${v}`) : [], ['f=v']);
  } finally {
    c.disconnect();
    await master.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
