/**
 * Finding a Redis for the main job: REDIS_URL when set; else 127.0.0.1:6379 when something answers
 * PING there; else a redis-server of our own on a free port, with its data in ./.redstack/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { createClient } from '../client/index.js';

export interface LocalRedis {
  url: string;
  /** How it was found, for the log line. */
  source: 'REDIS_URL' | 'default port' | 'started';
  /** The redis-server process when we started one. */
  child?: ChildProcess;
  dir?: string;
  stop(): Promise<void>;
}

async function answersPing(url: string): Promise<boolean> {
  const client = createClient({ url, reconnect: false, connectTimeoutMs: 500, offlineQueueMax: 1 });
  try {
    await client.cmd(['PING']);
    return true;
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

export async function findOrStartRedis(
  env: NodeJS.ProcessEnv = process.env,
  dataDir = '.redstack',
  fallback = 'redis://127.0.0.1:6379',
): Promise<LocalRedis> {
  if (env.REDIS_URL) return { url: env.REDIS_URL, source: 'REDIS_URL', stop: async () => {} };
  if (await answersPing(fallback)) return { url: fallback, source: 'default port', stop: async () => {} };

  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const child = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '60 1000', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const url = `redis://127.0.0.1:${port}`;
  const failed = new Promise<never>((_, rej) => {
    child.once('error', (e) => rej(new Error(`could not start redis-server: ${e.message} (is redis-server installed?)`)));
    child.once('exit', (code) => rej(new Error(`redis-server exited with code ${code}`)));
  });
  failed.catch(() => {}); // only the race below needs it; an exit at shutdown is not an error
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (await Promise.race([answersPing(url), failed])) break;
    if (Date.now() > deadline) throw new Error('redis-server did not answer within 10 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  process.once('exit', () => child.kill('SIGTERM'));
  return { url, source: 'started', child, dir, stop };
}
