/**
 * `npm run bench -- gateway [--rounds N] [--quick] [--json FILE] [only=redstack,nchan,...]`
 *
 * Pub/sub fan-out to WebSocket clients, redstack's gateway against its peers in one run:
 *   - plain-ws:  a ws server with one ioredis subscriber that sends each message to each socket
 *   - socketio:  Socket.IO with @socket.io/redis-adapter, producer through @socket.io/redis-emitter
 *   - webdis:    Debian's webdis (C), WebSocket endpoint /.json
 *   - nchan:     Debian's nginx-light + libnginx-mod-nchan (C) with nchan's Redis storage; the producer
 *                POSTs to nchan's publisher location, as nchan requires
 * Shapes: one channel to 1000 clients ("fanout"), and 1000 channels with one client each ("1000ch").
 * Figures per contender and shape:
 *   - delivered messages/s at maximum load: a closed-loop producer keeps a fixed window of messages in
 *     flight (published, not yet received by every client) for a fixed time, so the servers run
 *     saturated without unbounded backlogs; the rate is counted at the clients;
 *   - server CPU per delivered message: user+system time of the server's processes (all threads, from
 *     /proc/<pid>/task/<tid>/schedstat) over the same interval, divided by deliveries. On a 2-core
 *     machine the load driver and Redis share the cores, so this is the fair figure;
 *   - p50/p99 latency from PUBLISH to client receive at a fixed, moderate rate that every peer sustains.
 * Clients are raw WebSocket connections (socket.io-client for Socket.IO) spread over worker processes.
 * Every server runs as one process with one event loop or worker (nginx worker_processes 1, webdis
 * threads 1), so per-core efficiency is compared. webdis and nginx/nchan are installed with apt-get
 * when absent (as root); a peer that cannot be installed is reported as skipped.
 *
 * redstack packs what a client is owed in one event-loop turn into one frame, so at maximum load its
 * cost per delivery is amortised over the messages in flight (the window); the fixed-rate column
 * shows the cost when there is little to pack (about one syscall per message per socket).
 * BENCH_DEBUG=1 prints latency percentiles per run; BENCH_LAT_SECS sets the fixed-rate phase length.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Emitter } from '@socket.io/redis-emitter';
import { createClient, type Client } from '../src/client/index.js';
import { RedisServer, waitForPort } from '../test/support/redis-server.js';
import { freePort } from '../test/support/free-port.js';
import { environment, median, percentile, writeJson } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
type Kind = 'redstack' | 'plain-ws' | 'socketio' | 'webdis' | 'nchan';
const ALL: Kind[] = ['redstack', 'plain-ws', 'socketio', 'webdis', 'nchan'];

interface Shape {
  name: string;
  clients: number;
  channels: number;
  /** Messages in flight (published, not yet delivered to all their clients) at maximum load. */
  window: number;
  /** Fixed publish rate for the latency measurement, messages/s. */
  latencyRate: number;
}

interface Running {
  url: string;
  pids(): number[];
  stop(): Promise<void>;
}

interface Publisher {
  send(items: [string, string][]): Promise<void>;
  close(): Promise<void>;
}

interface Sample {
  who: Kind;
  shape: string;
  rate: number;
  cpuUsPerMsg: number;
  p50: number;
  p99: number;
  /** Server CPU per delivery during the fixed-rate phase (little to batch: the unamortised cost). */
  cpuUsAtFixedRate: number;
  latencyCount: number;
  expectedLatency: number;
}

// ---- CPU time of a set of processes, all threads, in nanoseconds --------------------------------

function cpuNs(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        /* thread gone */
      }
    }
  }
  return total;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const wall = (): number => performance.timeOrigin + performance.now();

// ---- peers: installation and servers -------------------------------------------------------------

const NCHAN_SO = '/usr/lib/nginx/modules/ngx_nchan_module.so';

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Installs webdis / nginx-light / libnginx-mod-nchan if absent; returns why a peer is unavailable. */
function ensurePeers(wanted: Kind[]): Partial<Record<Kind, string>> {
  const missing: string[] = [];
  if (wanted.includes('webdis') && !onPath('webdis')) missing.push('webdis');
  if (wanted.includes('nchan') && (!onPath('nginx') || !existsSync(NCHAN_SO))) missing.push('nginx-light', 'libnginx-mod-nchan');
  const skipped: Partial<Record<Kind, string>> = {};
  if (missing.length > 0) {
    const isRoot = process.getuid?.() === 0;
    if (!isRoot) {
      for (const k of ['webdis', 'nchan'] as Kind[]) if (wanted.includes(k)) skipped[k] = `not installed (run: sudo apt-get install -y ${missing.join(' ')})`;
    } else {
      console.error(`bench: installing ${missing.join(' ')} with apt-get`);
      // Keep apt from starting nginx as a service on port 80: the bench runs its own on a free port.
      const policy = '/usr/sbin/policy-rc.d';
      const ownPolicy = !existsSync(policy);
      if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
      try {
        const r = spawnSync('sh', ['-c', `apt-get install -y --no-install-recommends ${missing.join(' ')} || (apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')})`], {
          stdio: ['ignore', 'ignore', 'inherit'],
          env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
        });
        if (r.status !== 0) console.error('bench: apt-get failed');
      } finally {
        if (ownPolicy) rmSync(policy, { force: true });
      }
    }
  }
  if (wanted.includes('webdis') && !onPath('webdis')) skipped.webdis ??= 'webdis could not be installed';
  if (wanted.includes('nchan') && (!onPath('nginx') || !existsSync(NCHAN_SO))) skipped.nchan ??= 'nginx-light/libnginx-mod-nchan could not be installed';
  return skipped;
}

async function startNodeServer(script: string, redisUrl: string): Promise<Running> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'gateway', script), redisUrl, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return { url: `ws://127.0.0.1:${port}`, pids: () => [child.pid!], stop: () => stopChild(child) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 3000);
  await done;
  clearTimeout(t);
}

async function startWebdis(redis: RedisServer, dir: string): Promise<Running> {
  const port = await freePort();
  const conf = join(dir, 'webdis.json');
  writeFileSync(
    conf,
    JSON.stringify({
      redis_host: '127.0.0.1',
      redis_port: redis.port,
      http_host: '127.0.0.1',
      http_port: port,
      threads: 1,
      pool_size: 10,
      daemonize: false,
      websockets: true,
      database: 0,
      verbosity: 0,
      logfile: join(dir, 'webdis.log'),
    }),
  );
  const child = spawn('webdis', [conf], { stdio: 'ignore' });
  await waitForPort(port, 10_000);
  return { url: `ws://127.0.0.1:${port}`, pids: () => [child.pid!], stop: () => stopChild(child) };
}

async function startNchan(redis: RedisServer, dir: string): Promise<Running> {
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `load_module ${NCHAN_SO};
worker_processes 1;
error_log ${join(dir, 'error.log')} warn;
pid ${join(dir, 'nginx.pid')};
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir};
  # nostore: Redis carries messages by PUBLISH only, as for the other servers (nchan's default
  # 'distributed' mode also stores each message in Redis and subscribers fetch it from there).
  upstream redis_server {
    nchan_redis_server redis://127.0.0.1:${redis.port};
    nchan_redis_storage_mode nostore;
    nchan_redis_nostore_fastpublish on;
  }
  server {
    listen 127.0.0.1:${port};
    location ~ ^/pub/(.+)$ {
      nchan_publisher;
      nchan_channel_id $1;
      nchan_redis_pass redis_server;
      nchan_message_buffer_length 100;
      nchan_message_timeout 60s;
    }
    location ~ ^/sub/(.+)$ {
      nchan_subscriber websocket;
      nchan_channel_id $1;
      nchan_redis_pass redis_server;
    }
  }
}
`,
  );
  const child = spawn('nginx', ['-p', dir, '-c', conf, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort(port, 10_000);
  await sleep(300); // nchan connects to Redis after the port opens
  return { url: `ws://127.0.0.1:${port}`, pids: () => [child.pid!, ...childrenOf(child.pid!)], stop: () => stopChild(child) };
}

async function startContender(kind: Kind, redis: RedisServer, dir: string): Promise<Running> {
  if (kind === 'redstack') return startNodeServer('server-redstack.ts', redis.url);
  if (kind === 'plain-ws') return startNodeServer('server-plain-ws.ts', redis.url);
  if (kind === 'socketio') return startNodeServer('server-socketio.ts', redis.url);
  if (kind === 'webdis') return startWebdis(redis, dir);
  return startNchan(redis, dir);
}

// ---- producers ------------------------------------------------------------------------------------

async function publisherFor(kind: Kind, redis: RedisServer, server: Running): Promise<Publisher> {
  if (kind === 'socketio') {
    const client = new Redis(redis.url);
    const emitter = new Emitter(client);
    return {
      async send(items) {
        for (const [ch, payload] of items) emitter.to(ch).emit('m', payload);
        await client.ping(); // paces the producer on Redis's replies
      },
      close: async () => void client.disconnect(),
    };
  }
  if (kind === 'nchan') {
    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    const base = server.url.replace('ws://', 'http://');
    const post = (ch: string, payload: string): Promise<void> =>
      new Promise((resolve, reject) => {
        const req = request(`${base}/pub/${ch}`, { method: 'POST', agent, headers: { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(payload) } }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        });
        req.on('error', reject);
        req.end(payload);
      });
    return {
      send: async (items) => void (await Promise.all(items.map(([ch, p]) => post(ch, p)))),
      close: async () => agent.destroy(),
    };
  }
  const client: Client = createClient(redis.url);
  return {
    send: async (items) => void (await client.cmd(items.map(([ch, p]) => ['PUBLISH', ch, p]))),
    close: () => client.quit(),
  };
}

// ---- the load-driver workers -----------------------------------------------------------------------

class Workers {
  readonly procs: ChildProcess[] = [];
  readonly counts: number[] = [];

  static async start(n: number): Promise<Workers> {
    const w = new Workers();
    for (let i = 0; i < n; i++) {
      const p = fork(join(here, 'gateway', 'client-worker.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      w.procs.push(p);
      w.counts.push(0);
      await new Promise<void>((r) => p.once('message', () => r()));
      const idx = i;
      p.on('message', (m: { tick?: number }) => {
        if (m.tick !== undefined) w.counts[idx] = m.tick;
      });
    }
    return w;
  }

  get received(): number {
    let s = 0;
    for (const c of this.counts) s += c;
    return s;
  }

  call<T>(i: number, msg: object): Promise<T> {
    const p = this.procs[i]!;
    return new Promise((resolve, reject) => {
      const on = (m: T & { error?: string; tick?: number }): void => {
        if (m.tick !== undefined) return;
        p.off('message', on);
        if (m.error) reject(new Error(m.error));
        else resolve(m);
      };
      p.on('message', on);
      p.send(msg);
    });
  }

  all<T>(msg: (i: number) => object): Promise<T[]> {
    return Promise.all(this.procs.map((_, i) => this.call<T>(i, msg(i))));
  }

  async stop(): Promise<void> {
    await Promise.all(this.procs.map((p) => new Promise<void>((r) => (p.exitCode !== null ? r() : (p.once('exit', () => r()), p.kill())))));
  }
}

// ---- one measurement --------------------------------------------------------------------------------

function payload(seq: number): string {
  // ~100 bytes, JSON, with the send time as an `@@ms@@` stamp the workers find without parsing.
  return `{"seq":${seq},"t":"@@${wall().toFixed(3)}@@","requests":1234.5,"p50_ms":11.2,"p99_ms":87.4,"errors":3,"pad":"xxxxxxxx"}`;
}

interface Prepared {
  kind: Kind;
  server: Running;
  pub: Publisher;
  channels: string[];
}

/** Starts a contender's server and connects its clients for a shape; they stay up for all rounds. */
async function prepare(kind: Kind, shape: Shape, redis: RedisServer, dir: string, workers: Workers): Promise<Prepared> {
  const server = await startContender(kind, redis, dir);
  const pub = await publisherFor(kind, redis, server);
  // Channel names per contender: every server is subscribed at once, on one Redis.
  const channels = Array.from({ length: shape.channels }, (_, i) => `${kind}.b${i}`);
  const assign = Array.from({ length: shape.clients }, (_, i) => channels[i % channels.length]!);
  const per = Math.ceil(assign.length / workers.procs.length);
  await workers.all((i) => ({ cmd: 'connect', kind, url: server.url, channels: assign.slice(i * per, (i + 1) * per) }));
  return { kind, server, pub, channels };
}

async function measure(p: Prepared, shape: Shape, workers: Workers, secs: { load: number; latency: number }): Promise<Sample> {
  const { kind, server, pub, channels } = p;
  const fanout = shape.clients / shape.channels;
  let seq = 0;
  const next = (n: number): [string, string][] => {
    const items: [string, string][] = [];
    for (let i = 0; i < n; i++, seq++) items.push([channels[seq % channels.length]!, payload(seq)]);
    return items;
  };
  // Maximum load, closed loop.
  await workers.all(() => ({ cmd: 'reset', record: false }));
  workers.counts.fill(0);
  let published = 0;
  const chunk = kind === 'nchan' ? 64 : 100;
  const start = performance.now();
  const warm = 300;
  let t0 = 0;
  let r0 = 0;
  let c0 = 0;
  for (;;) {
    const el = performance.now() - start;
    if (t0 === 0 && el >= warm) {
      t0 = performance.now();
      r0 = workers.received;
      c0 = cpuNs(server.pids());
    }
    if (el >= warm + secs.load * 1000) break;
    const inFlight = published - workers.received / fanout;
    const room = Math.floor(shape.window - inFlight);
    if (room <= 0) {
      await sleep(1);
      continue;
    }
    const n = Math.min(chunk, room);
    await pub.send(next(n));
    published += n;
  }
  const t1 = performance.now();
  const r1 = workers.received;
  const c1 = cpuNs(server.pids());
  await drain(workers, published * fanout, 5000);
  const delivered = r1 - r0;
  const rate = (delivered / (t1 - t0)) * 1000;
  const cpuUsPerMsg = delivered > 0 ? (c1 - c0) / 1000 / delivered : NaN;

  // Latency at a fixed rate.
  await workers.all(() => ({ cmd: 'reset', record: true }));
  workers.counts.fill(0);
  const before = workers.received;
  const cf0 = cpuNs(server.pids());
  const t = performance.now();
  let sent = 0;
  const total = Math.round(shape.latencyRate * secs.latency);
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t) / 1000) * shape.latencyRate));
    if (due > sent) {
      const n = due - sent;
      await pub.send(next(n));
      sent += n;
    }
    await sleep(1);
  }
  await drain(workers, before + sent * fanout, 5000);
  const cf1 = cpuNs(server.pids());
  const deliveredFixed = workers.received - before;
  const reports = await workers.all<{ lat?: number[] }>(() => ({ cmd: 'report' }));
  const lat = reports.flatMap((r) => r.lat ?? []);
  if (process.env.BENCH_DEBUG) {
    const ps = [50, 90, 95, 98, 99, 99.9].map((q) => `${q}%=${percentile(lat, q).toFixed(2)}`).join(' ');
    console.error(`${kind} ${shape.name} latency ms: ${ps}`);
  }
  return {
    who: kind,
    shape: shape.name,
    rate,
    cpuUsPerMsg,
    p50: lat.length ? percentile(lat, 50) : NaN,
    p99: lat.length ? percentile(lat, 99) : NaN,
    cpuUsAtFixedRate: deliveredFixed > 0 ? (cf1 - cf0) / 1000 / deliveredFixed : NaN,
    latencyCount: lat.length,
    expectedLatency: sent * fanout,
  };
}

/** Waits until the workers have received `target` messages, or nothing more arrives for `idleMs`. */
async function drain(workers: Workers, target: number, idleMs: number): Promise<void> {
  let last = workers.received;
  let since = performance.now();
  while (workers.received < target) {
    await sleep(5);
    if (workers.received !== last) {
      last = workers.received;
      since = performance.now();
    } else if (performance.now() - since > idleMs) return;
  }
}

// ---- the run -------------------------------------------------------------------------------------------

export async function run(opts: { json?: string; rounds?: number; quick?: boolean; args: string[] }): Promise<void> {
  const only = opts.args.find((a) => a.startsWith('only='))?.slice(5).split(',') as Kind[] | undefined;
  const wanted = only ?? ALL;
  const rounds = opts.rounds ?? (opts.quick ? 1 : 3);
  const secs = opts.quick ? { load: 1, latency: 1 } : { load: 1.5, latency: 1 };
  if (process.env.BENCH_LAT_SECS) secs.latency = Number(process.env.BENCH_LAT_SECS);
  const shapes: Shape[] = [
    { name: '1 channel -> 1000 clients', clients: 1000, channels: 1, window: 40, latencyRate: 50 },
    { name: '1000 channels x 1 client', clients: 1000, channels: 1000, window: 4000, latencyRate: 5000 },
  ];
  const skipped = ensurePeers(wanted);
  const kinds = wanted.filter((k) => !skipped[k]);
  const redis = await RedisServer.start({ config: { 'client-output-buffer-limit': 'pubsub 256mb 64mb 60', maxclients: 20000 } });
  const dir = mkdtempSync(join(tmpdir(), 'redstack-bench-gw-'));
  const workers = await Workers.start(2);
  const samples: Sample[] = [];
  try {
    for (const shape of shapes) {
      const live: Prepared[] = [];
      try {
        for (const kind of kinds) live.push(await prepare(kind, shape, redis, dir, workers));
        for (let r = 0; r < rounds; r++) {
          // Rotate the order each round so no contender always goes first.
          const order = live.map((_, i) => live[(i + r) % live.length]!);
          for (const p of order) {
            const s = await measure(p, shape, workers, secs);
            samples.push(s);
            console.error(
              `round ${r + 1} ${shape.name} ${p.kind}: ${(s.rate / 1000).toFixed(1)}k msg/s, ${s.cpuUsPerMsg.toFixed(2)} us CPU/msg (${s.cpuUsAtFixedRate.toFixed(2)} at fixed rate), p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms (${s.latencyCount}/${s.expectedLatency} timed)`,
            );
          }
        }
      } finally {
        await workers.all(() => ({ cmd: 'disconnect' })).catch(() => undefined);
        for (const p of live) {
          await p.pub.close().catch(() => undefined);
          await p.server.stop();
        }
        await redis.cli('FLUSHALL');
      }
    }
  } finally {
    await workers.stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const text = report(samples, shapes, kinds, skipped, rounds);
  console.log(text);
  writeJson(opts.json, { environment: environment(), rounds, samples, skipped });
}

function report(samples: Sample[], shapes: Shape[], kinds: Kind[], skipped: Partial<Record<Kind, string>>, rounds: number): string {
  const out: string[] = [];
  out.push(`environment: ${environment()}; ${rounds} round(s), medians; clients in 2 worker processes`);
  for (const shape of shapes) {
    out.push(
      '',
      `### ${shape.name}`,
      '',
      `| server | delivered msg/s (max load) | server CPU per delivery (max load) | p50 latency | p99 latency | CPU per delivery at ${shape.latencyRate} msg/s | redstack / server (msg/s) |`,
      '|---|---|---|---|---|---|---|',
    );
    const mine = median(samples.filter((s) => s.who === 'redstack' && s.shape === shape.name).map((s) => s.rate));
    for (const kind of kinds) {
      const ss = samples.filter((s) => s.who === kind && s.shape === shape.name);
      if (ss.length === 0) continue;
      const rate = median(ss.map((s) => s.rate));
      const lo = Math.min(...ss.map((s) => s.rate));
      const hi = Math.max(...ss.map((s) => s.rate));
      const cpu = median(ss.map((s) => s.cpuUsPerMsg));
      const p50 = median(ss.map((s) => s.p50));
      const p99 = median(ss.map((s) => s.p99));
      const cpuFixed = median(ss.map((s) => s.cpuUsAtFixedRate));
      const lost = ss.some((s) => s.latencyCount < s.expectedLatency) ? ' (some not delivered)' : '';
      out.push(
        `| ${kind} | ${(rate / 1000).toFixed(1)}k (${(lo / 1000).toFixed(0)}-${(hi / 1000).toFixed(0)}k) | ${cpu.toFixed(2)} µs | ${p50.toFixed(2)} ms | ${p99.toFixed(2)} ms${lost} | ${cpuFixed.toFixed(2)} µs | ${kind === 'redstack' ? '' : (mine / rate).toFixed(2) + 'x'} |`,
      );
    }
    for (const [k, why] of Object.entries(skipped)) out.push(`| ${k} | skipped: ${why} | | | | | |`);
  }
  return out.join('\n');
}
