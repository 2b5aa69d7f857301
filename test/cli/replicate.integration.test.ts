/**
 * `redstack replicate`: snapshot then stream into a JSON-lines file, stop on SIGINT with the position
 * saved, resume with PSYNC (+CONTINUE, no second snapshot); JSON lines to stdout; stores that are not
 * available yet fail clearly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '../../src/client/index.js';
import { RedisServer, waitUntil } from '../support/redis-server.js';

interface Run {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exit: Promise<number | null>;
}

function redstack(...args: string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out: () => out, err: () => err, exit };
}

function lines(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('replicate --to jsonl:FILE loads, follows, stops on SIGINT with its position, and resumes with +CONTINUE', async () => {
  const master = await RedisServer.start({ password: 'pw', config: { 'repl-diskless-sync-delay': 0 } });
  const dir = mkdtempSync(join(tmpdir(), 'redstack-replicate-'));
  const file = join(dir, 'out.jsonl');
  const c = createClient({ port: master.port, password: 'pw' });
  try {
    await c.cmd([['SET', 'a', '1'], ['HSET', 'h', 'f', 'v'], ['ZADD', 'z', 'inf', 'top'], ['SET', 'bin', Buffer.from([0xff, 0x00])]]);
    const first = redstack('replicate', '--from', master.url, '--to', `jsonl:${file}`);
    await waitUntil(() => lines(file).some((l) => l.type === 'loaded'), 20_000, 'the snapshot in the file');
    await c.cmd(['SET', 'b', '2', 'EX', '100']);
    await c.cmd(['INCR', 'a']);
    await waitUntil(() => lines(file).some((l) => l.type === 'command' && l.name === 'INCR'), 10_000, 'the stream in the file');
    first.child.kill('SIGINT');
    assert.equal(await first.exit, 130, first.err());
    const pos = JSON.parse(readFileSync(`${file}.pos`, 'utf8')) as { replid: string; offset: number };
    const got = lines(file);
    assert.deepEqual(got.filter((l) => l.type === 'key').map((l) => [l.key, l.dataType, l.value]).sort(), [
      ['a', 'string', '1'],
      ['bin', 'string', { base64: '/wA=' }],
      ['h', 'hash', [['f', 'v']]],
      ['z', 'zset', [['top', 'inf']]],
    ]);
    const cmds = got.filter((l) => l.type === 'command');
    assert.deepEqual(cmds.map((l) => l.name), ['SET', 'INCR']);
    assert.equal((cmds[0]!.args as string[])[2], 'PXAT');
    assert.equal(pos.replid, got.find((l) => l.type === 'loaded')!.replid);
    assert.ok(/"stopped"/.test(first.err()) && first.err().includes(String(cmds[1]!.offset)), 'the final position is logged');

    // Writes while it is stopped, then a second run: the same replid, +CONTINUE, no new snapshot.
    await c.cmd(['DEL', 'a']);
    const second = redstack('replicate', '--from', master.url, '--to', `jsonl:${file}`);
    await waitUntil(() => lines(file).some((l) => l.type === 'command' && l.name === 'DEL'), 10_000, 'the resumed stream');
    second.child.kill('SIGTERM');
    assert.equal(await second.exit, 0, second.err());
    const after = lines(file);
    assert.equal(after.filter((l) => l.type === 'fullsync').length, 1, 'no second snapshot');
    assert.deepEqual(after.filter((l) => l.type === 'command').map((l) => l.name), ['SET', 'INCR', 'DEL']);
    assert.match(second.err(), /CONTINUE/);
    assert.match(master.cli('INFO', 'stats'), /sync_partial_ok:1/);
  } finally {
    c.disconnect();
    await master.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('replicate --to - --stream-only writes JSON lines of new writes to stdout, logs to stderr', async () => {
  const master = await RedisServer.start({ config: { 'repl-diskless-sync-delay': 0 } });
  const c = createClient({ port: master.port });
  try {
    await c.cmd(['SET', 'old', 'x']);
    const run = redstack('replicate', '--from', master.url, '--to', '-', '--stream-only', '--match', 'keep:*');
    await waitUntil(() => /following the stream/.test(run.err()), 20_000, 'the stream');
    await c.cmd([['SET', 'keep:1', 'a'], ['SET', 'drop:1', 'b'], ['LPUSH', 'keep:l', 'x']]);
    await waitUntil(() => run.out().includes('LPUSH'), 10_000, 'commands on stdout');
    run.child.kill('SIGINT');
    await run.exit;
    const out = run.out().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(out.filter((l) => l.type === 'key').length, 0, 'no snapshot keys');
    assert.deepEqual(out.filter((l) => l.type === 'command').map((l) => [l.name, (l.args as string[])[0]]), [['SET', 'keep:1'], ['LPUSH', 'keep:l']]);
  } finally {
    c.disconnect();
    await master.stop();
  }
});

test('replicate: an unknown target, a missing flag, and stores not wired into the factory fail clearly', async () => {
  const unknown = redstack('replicate', '--from', 'redis://127.0.0.1:1', '--to', 'nosuch:x');
  assert.equal(await unknown.exit, 1);
  assert.match(unknown.err(), /ERR_REPL_TARGET_UNAVAILABLE: unknown target/);
  const bad = redstack('replicate', '--to', 'memory');
  assert.equal(await bad.exit, 2);
  assert.match(bad.err(), /--from URL is required/);
  // sqlite: and postgres:// resolve through targets/factory.ts; until their loaders are filled in
  // there, they say so (afterwards they get past the factory and fail on the unreachable master).
  for (const to of ['sqlite:/tmp/redstack-nonexistent-dir/x.db', 'postgres://127.0.0.1:1/db']) {
    const run = redstack('replicate', '--from', 'redis://127.0.0.1:1', '--to', to);
    const guard = setTimeout(() => run.child.kill('SIGKILL'), 15_000);
    assert.notEqual(await run.exit, 0);
    clearTimeout(guard);
    assert.doesNotMatch(run.err(), /unknown target/);
    if (/TARGET_UNAVAILABLE/.test(run.err())) assert.match(run.err(), /the (sqlite|postgres) target is not available in this build yet/);
  }
});
