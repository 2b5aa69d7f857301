/**
 * `npm run bench -- discovery [--quick] [--rounds JOINS] [--json FILE]`: the discovery registry at scale.
 *
 * Setup: one redis-server holding 10 000 unrelated keys with long TTLs (where Redis's own `expired`
 * events were measured 28-49 s late), and N simulated nodes (default 1 000; 200 with --quick) in one
 * namespace, spread over W worker processes (this file, run with REDSTACK_DISCOVERY_WORKER=1). Each
 * simulated node is a real Grid with its own view, heartbeats, sweeps, reads and PINGs; the nodes of one
 * worker share one command connection and one subscription (the `subscriber` option), so the views
 * hear a message over W sockets rather than N. Redis's fan-out to one socket per node is measured
 * beside them: N plain subscriber sockets (no parsing beyond finding the message), so every measured
 * join is written to N + W sockets. They are read by bench/fanout-reader.c (built with `cc` into
 * bench/.cache), which spends about a tenth of the CPU per socket read that Node.js does, and are
 * subscribed before the workers, so that Redis writes the workers' sockets first (see run()).
 * DISCOVERY_FANOUT=node, or no C compiler, reads them in a Node.js process, subscribed after the
 * joins. DISCOVERY_SUBSCRIBERS=node gives every simulated node its own subscriber socket instead; on
 * 2 cores the workers then spend the join on N socket reads and the figure measures the benchmark's
 * CPU, not the registry.
 *
 * Measures:
 *   join     a new node's joinGrid() call -> every one of the N views has it AND every one of the N
 *            fan-out sockets has received it (the max over both), over 200 joins (50 with --quick) so
 *            that the p99 is not just the largest; with the stages: the PUBLISH (Redis time in the
 *            message), the last worker process receiving it, the last view, the last socket
 *   expiry   a node's last heartbeat + its TTL (the deadline, in Redis time) -> each view drops it;
 *            per view and the max over views ("every view"), over several silent nodes
 *   SIGKILL  a real node in its own process is killed -> every view has dropped it
 *   load     top-level Redis commands per node per heartbeat interval in a quiet window (heartbeats,
 *            plus the few sweeps, snapshot reads (a MULTI block of 6) and subscriber PINGs), Redis CPU
 *            and the workers' CPU; DISCOVERY_WINDOW_MS sets the window
 *
 * DISCOVERY_TRACE=1 prints every join's stages. DISCOVERY_PROF=DIR runs the workers with --cpu-prof;
 * DISCOVERY_NODE_FLAGS (e.g. --trace-gc) passes node flags to them, and their extra output goes to
 * stderr stamped with the worker's pid and the seconds since the start.
 *
 * Peers: the Serf and etcd columns quote the anchors (20 members). Both run beside redstack,
 * in one run with 20 members each, in bench/discovery-peers.ts (`npm run bench -- discovery-peers`).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, type Client } from '../src/client/index.js';
import type { RespValue } from '../src/resp/types.js';
import { gridKeys, joinGrid, Registry, type Grid } from '../src/discovery/index.js';
import { RedisServer } from '../test/support/redis-server.js';
import { environment, percentile, writeJson } from './lib.js';

const SELF = fileURLToPath(import.meta.url);
const T0 = performance.timeOrigin + performance.now();
const wall = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- worker process ---------------------------------------------------------------------------------

interface Watch {
  kind: 'join' | 'leave';
  times: number[];
  left: number;
  /** When this process's subscription delivered the message, before any view handled it. */
  arrived?: number;
  /** Redis time at which the script published it. */
  published?: number;
}

const send = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o) + '\n');

async function worker(): Promise<void> {
  const grids: Grid[] = [];
  const watches = new Map<string, Watch>();
  let fanout: FanoutSockets | undefined;
  const observe = (gi: number, kind: 'join' | 'leave', id: string) => {
    const w = watches.get(id);
    if (!w || w.kind !== kind || w.times[gi]) return;
    w.times[gi] = wall();
    if (--w.left === 0) {
      watches.delete(id);
      send({ ev: 'obs', role: 'views', id, kind, times: w.times, arrived: w.arrived, published: w.published });
    }
  };
  createInterface({ input: process.stdin }).on('line', (line) => {
    const m = JSON.parse(line) as Record<string, any>;
    if (m.cmd === 'start') {
      void (async () => {
        // Hundreds of simulated nodes share this connection; while they all join, snapshot reads queue
        // up behind each other, so the timeout is far above what one real node would need.
        const client: Client = createClient({ url: m.url, commandTimeoutMs: 20_000 });
        // One subscription per process, as one real node has: on 2 cores, 1 000 subscriber sockets
        // in 4 processes measure the benchmark's own CPU starvation, not the registry.
        const subscriber: Client = client.duplicate({ protocol: 3 });
        client.setMaxListeners(0); // every simulated node listens on the shared clients
        subscriber.setMaxListeners(0);
        // Subscribed before any grid, so it runs first: the moment the message reached this process.
        await subscriber.subscribe(gridKeys(m.ns).channel, (text) => {
          const msg = JSON.parse(String(text)) as { id: string; t: string; now: number };
          const w = watches.get(msg.id);
          if (w && w.arrived === undefined && msg.t === w.kind) {
            w.arrived = wall();
            w.published = msg.now;
          }
        });
        for (let i = 0; i < m.count; i += 10) {
          const batch = [];
          for (let j = i; j < Math.min(m.count, i + 10); j++) {
            batch.push(
              // A simulated node shares its CPU with hundreds of others: its connections get a
              // timeout that a stalled event loop cannot trip, where a real node's would be ttlMs.
              joinGrid({ redis: client, namespace: m.ns, id: `${m.prefix}-${j}`, meta: { role: 'sim', worker: m.prefix, n: j }, heartbeatMs: m.hb, ttlMs: m.ttl, handleSignals: false, commandTimeoutMs: 20_000, subscriber: m.perNode ? undefined : subscriber }),
            );
          }
          for (const g of await Promise.all(batch)) {
            const gi = grids.push(g) - 1;
            g.on('join', (n) => observe(gi, 'join', n.id));
            g.on('leave', (n) => observe(gi, 'leave', n.id));
          }
          // Paced: N nodes starting within a second is a thundering herd no deployment sees, and
          // what is measured here is the steady grid.
          await sleep(m.pauseMs);
        }
        send({ ev: 'joined', count: grids.length });
      })().catch((err) => {
        process.stderr.write(`worker ${m.prefix}: ${(err as Error).stack}\n`);
        process.exit(1);
      });
    } else if (m.cmd === 'fanout') {
      void FanoutSockets.open(m.port, m.channel, m.count).then(
        (f) => {
          fanout = f;
          send({ ev: 'fanout', count: m.count });
        },
        (err) => {
          process.stderr.write(`fan-out sockets: ${(err as Error).stack}\n`);
          process.exit(1);
        },
      );
    } else if (m.cmd === 'watch') {
      if (fanout) fanout.watch(m.id, m.kind);
      else watches.set(m.id, { kind: m.kind, times: new Array(grids.length).fill(0), left: grids.length });
      send({ ev: 'watching', id: m.id });
    } else if (m.cmd === 'has') {
      const missing = grids.filter((g) => !g.node(m.id));
      const seqs = [...new Set(missing.map((g) => (g as unknown as { detector: { seq: number } }).detector.seq))].slice(0, 10);
      send({ ev: 'has', id: m.id, count: grids.length - missing.length, total: grids.length, missingSeqs: seqs, anySeq: (grids[0] as unknown as { detector: { seq: number } }).detector.seq });
    } else if (m.cmd === 'count') {
      const sizes = grids.map((g) => g.nodes().length);
      send({ ev: 'count', min: Math.min(...sizes), max: Math.max(...sizes) });
    } else if (m.cmd === 'cpu') {
      const u = process.cpuUsage();
      send({ ev: 'cpu', us: u.user + u.system });
    } else if (m.cmd === 'exit') {
      process.exit(0);
    }
  });
}

/**
 * N plain subscriber sockets, standing in for one subscription per node: Redis writes every message
 * to each of them. Used where bench/fanout-reader.c cannot be built, or with DISCOVERY_FANOUT=node.
 * A socket only looks for the watched message in what it receives (no RESP parsing), so what is timed
 * is Redis's fan-out and the kernel's delivery, not a client.
 */
class FanoutSockets {
  readonly #sockets: Socket[];
  #watch: { needles: Buffer[]; times: number[]; tails: (Buffer | undefined)[]; left: number; id: string; kind: string } | undefined;

  private constructor(sockets: Socket[]) {
    this.#sockets = sockets;
    sockets.forEach((s, i) =>
      s.on('data', (chunk: Buffer) => {
        const w = this.#watch;
        if (!w || w.times[i]) return;
        // A message split over two reads is found in the tail of the previous one plus this one.
        const tail = w.tails[i];
        const data = tail ? Buffer.concat([tail, chunk]) : chunk;
        if (data.includes(w.needles[0]!) && data.includes(w.needles[1]!)) {
          w.times[i] = wall();
          if (--w.left === 0) {
            this.#watch = undefined;
            send({ ev: 'obs', role: 'sockets', id: w.id, kind: w.kind, times: w.times });
          }
        } else {
          w.tails[i] = Buffer.from(data.subarray(-512));
        }
      }),
    );
  }

  static async open(port: number, channel: string, count: number): Promise<FanoutSockets> {
    const sockets: Socket[] = [];
    const cmd = `*2\r\n$9\r\nSUBSCRIBE\r\n$${Buffer.byteLength(channel)}\r\n${channel}\r\n`;
    for (let i = 0; i < count; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, count - i) }, () =>
          new Promise<void>((resolve, reject) => {
            const s = connect(port, '127.0.0.1');
            s.setNoDelay(true);
            s.once('error', reject);
            s.once('data', () => resolve()); // the subscribe confirmation
            s.on('connect', () => s.write(cmd));
            sockets.push(s);
          }),
        ),
      );
    }
    return new FanoutSockets(sockets);
  }

  watch(id: string, kind: string): void {
    const n = this.#sockets.length;
    const needles = messageNeedles(id, kind).map((x) => Buffer.from(x));
    this.#watch = { needles, times: new Array(n).fill(0), tails: new Array(n).fill(undefined), left: n, id, kind };
  }
}

/** Two pieces of text that together find a join/leave message of `id` in a subscriber's bytes. */
const messageNeedles = (id: string, kind: string): [string, string] => [`{"t":"${kind}"`, `"id":${JSON.stringify(id)},`];

if (process.env.REDSTACK_DISCOVERY_WORKER === '1') void worker();

// ---- parent -----------------------------------------------------------------------------------------

class Worker {
  readonly child: ChildProcess;
  #handlers = new Set<(m: Record<string, any>) => void>();

  /** A Node.js worker (this file), or `child` speaking the same JSON lines on stdout. */
  constructor(child?: ChildProcess) {
    this.child =
      child ??
      spawn(process.execPath, [...(process.env.DISCOVERY_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.DISCOVERY_PROF}`] : []), ...(process.env.DISCOVERY_NODE_FLAGS ?? '').split(' ').filter(Boolean), '--import', 'tsx', SELF], {
        stdio: ['pipe', 'pipe', 'inherit'],
        env: { ...process.env, REDSTACK_DISCOVERY_WORKER: '1' },
      });
    createInterface({ input: this.child.stdout! }).on('line', (l) => {
      // Anything else a worker prints (--trace-gc with DISCOVERY_NODE_FLAGS) goes to stderr, timed.
      if (!l.startsWith('{')) return void process.stderr.write(`[${this.child.pid} ${((wall() - T0) / 1000).toFixed(3)} s] ${l}\n`);
      const m = JSON.parse(l) as Record<string, any>;
      for (const h of this.#handlers) h(m);
    });
  }

  send(o: Record<string, unknown>): void {
    this.child.stdin!.write(JSON.stringify(o) + '\n');
  }

  next(pred: (m: Record<string, any>) => boolean, timeoutMs = 120_000): Promise<Record<string, any>> {
    return new Promise((resolve, reject) => {
      const h = (m: Record<string, any>) => {
        if (!pred(m)) return;
        this.#handlers.delete(h);
        clearTimeout(t);
        resolve(m);
      };
      const t = setTimeout(() => {
        this.#handlers.delete(h);
        reject(new Error('worker did not answer in time'));
      }, timeoutMs);
      this.#handlers.add(h);
    });
  }
}

/** bench/fanout-reader.c, built into bench/.cache on first use, behind the workers' message protocol. */
class NativeFanout extends Worker {
  static async open(port: number, channel: string, count: number): Promise<Worker | undefined> {
    const source = join(dirname(SELF), 'fanout-reader.c');
    const binary = join(dirname(SELF), '.cache', 'fanout-reader');
    try {
      if (!existsSync(binary) || statSync(binary).mtimeMs < statSync(source).mtimeMs) {
        mkdirSync(dirname(binary), { recursive: true });
        execFileSync('cc', ['-O2', '-o', binary, source], { stdio: ['ignore', 'ignore', 'inherit'] });
      }
    } catch (err) {
      console.log(`  (no C compiler for bench/fanout-reader.c: ${(err as Error).message.split('\n')[0]}; the fan-out sockets are read by Node.js instead)`);
      return undefined;
    }
    const fanout = new NativeFanout(spawn(binary, [String(port), channel, String(count)], { stdio: ['pipe', 'pipe', 'inherit'] }));
    await fanout.next((m) => m.ev === 'fanout');
    return fanout;
  }

  override send(o: Record<string, unknown>): void {
    if (o.cmd === 'watch') this.child.stdin!.write(['watch', o.id, o.kind, ...messageNeedles(String(o.id), String(o.kind))].join('\t') + '\n');
    else if (o.cmd === 'exit') this.child.stdin!.write('exit\n');
    else throw new Error(`the fan-out reader has no command ${String(o.cmd)}`);
  }
}

/** N subscriber sockets on the channel, read by a Node.js worker (FanoutSockets). */
async function openNodeFanout(port: number, channel: string, count: number): Promise<Worker> {
  const fanout = new Worker();
  const opened = fanout.next((m) => m.ev === 'fanout');
  fanout.send({ cmd: 'fanout', port, channel, count });
  await opened;
  return fanout;
}

interface Obs {
  role: 'views' | 'sockets';
  times: number[];
  /** Views only, with the shared subscription: when the worker process received the message. */
  arrived?: number;
  published?: number;
}

/**
 * Asks every worker to time the first join/leave of `id` in each of its views (or fan-out sockets).
 * `done` has the times of the views only.
 */
async function watchAll(workers: Worker[], id: string, kind: 'join' | 'leave'): Promise<{ done: Promise<number[]>; detail: Promise<Obs[]> }> {
  const acks = workers.map((w) => w.next((m) => m.ev === 'watching' && m.id === id));
  const obs = workers.map((w) => w.next((m) => m.ev === 'obs' && m.id === id, 30_000));
  for (const w of workers) w.send({ cmd: 'watch', id, kind });
  await Promise.all(acks);
  const timer = setTimeout(() => {
    for (const w of workers) void w.next((m) => m.ev === 'has').then((m) => console.log('  slow', kind, JSON.stringify(m)));
    for (const w of workers) w.send({ cmd: 'has', id });
  }, 8_000);
  const detail = Promise.all(obs) as Promise<unknown> as Promise<Obs[]>;
  void detail.then(() => clearTimeout(timer), () => clearTimeout(timer));
  // Wrapped: an async function returning a bare promise would wait for it.
  return { done: detail.then((all) => all.filter((o) => o.role === 'views').flatMap((o) => o.times)), detail };
}

/** Waits until every view of every worker holds all `n` nodes. */
async function converged(workers: Worker[], n: number): Promise<void> {
  for (let i = 0; ; i++) {
    const counts = await Promise.all(workers.map((w) => (w.send({ cmd: 'count' }), w.next((m) => m.ev === 'count'))));
    if (counts.every((c) => c.min === n && c.max === n)) return;
    if (i % 25 === 24) console.log(`  waiting for convergence: view sizes ${JSON.stringify(counts.map((c) => [c.min, c.max]))}`);
    if (i > 600) throw new Error('views did not converge');
    await sleep(200);
  }
}

async function commandStats(admin: Client): Promise<{ calls: Record<string, number>; cpu: number }> {
  const text = String(await admin.cmd(['INFO', 'all']));
  const calls: Record<string, number> = {};
  for (const m of text.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) calls[m[1]!] = Number(m[2]);
  const cpu = Number(/used_cpu_user:([\d.]+)/.exec(text)?.[1] ?? 0) + Number(/used_cpu_sys:([\d.]+)/.exec(text)?.[1] ?? 0);
  return { calls, cpu };
}

/** Without spreading: per-view samples run to hundreds of thousands. */
const maxOf = (xs: number[]) => xs.reduce((a, b) => (b > a ? b : a), -Infinity);
const stats = (xs: number[]) => ({ p50: percentile(xs, 50), p99: percentile(xs, 99), max: maxOf(xs), n: xs.length });
const ms = (x: number) => `${x.toFixed(1)} ms`;

export async function run(opts: { json?: string; rounds?: number; quick?: boolean; args: string[] }): Promise<void> {
  const N = opts.quick ? 200 : 1000;
  const W = opts.quick ? 2 : 4;
  const HB = 1000;
  const TTL = 3000;
  // Enough joins that the p99 is not simply the largest: with 200 the two largest lie above it.
  const rounds = opts.rounds ?? (opts.quick ? 50 : 200);
  const ns = 'bench';
  const perNode = process.env.DISCOVERY_SUBSCRIBERS === 'node';
  console.log(`discovery: ${N} nodes in ${W} processes, heartbeat ${HB} ms, ttl ${TTL} ms, 10 000 unrelated keys; ${environment()}`);

  const runStart = wall();
  const server = await RedisServer.start({ config: { maxclients: 20000 } });
  const admin = createClient(server.url);
  const workers: Worker[] = [];
  const helpers: Worker[] = [];
  try {
    const fill: (string | number)[][] = [];
    for (let i = 0; i < 10_000; i++) fill.push(['SET', `unrelated:${i}`, 'x', 'EX', 86_400]);
    await admin.cmd(fill);

    // One subscriber socket per node, as a real grid has, for Redis to write every message to. Read by
    // bench/fanout-reader.c, they are opened before the workers subscribe: Redis writes a message to
    // its most recently subscribed sockets first, so the workers' views handle each join while Redis
    // still writes it to the 1 000 sockets, as 1 000 nodes would each on its own CPU, rather than one
    // after another once Redis is done. Read by Node.js (no C compiler, or DISCOVERY_FANOUT=node),
    // they are opened after the joins, which would otherwise write each join to up to N sockets
    // that cost the workers' CPU to read.
    const channel = gridKeys(ns).channel;
    let fanout = process.env.DISCOVERY_FANOUT === 'node' ? undefined : await NativeFanout.open(server.port, channel, N);
    if (fanout) helpers.push(fanout);

    // Join everyone.
    const t0 = performance.now();
    for (let w = 0; w < W; w++) workers.push(new Worker());
    const per = Math.ceil(N / W);
    await Promise.all(
      workers.map((w, i) => {
        const done = w.next((m) => m.ev === 'joined');
        w.send({ cmd: 'start', url: server.url, ns, count: Math.min(per, N - i * per), prefix: `w${i}`, hb: HB, ttl: TTL, pauseMs: 400, perNode });
        return done;
      }),
    );
    await converged(workers, N);
    console.log(`  ${N} nodes joined and every view holds all of them after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await sleep(HB * 2);

    if (!fanout) helpers.push((fanout = await openNodeFanout(server.port, channel, N)));
    const subscribers = Number(((await admin.cmd(['PUBSUB', 'NUMSUB', gridKeys(ns).channel])) as RespValue[])[1]);
    const fanoutReader = fanout instanceof NativeFanout ? 'bench/fanout-reader.c' : 'a Node.js process';
    console.log(`  ${N} fan-out sockets subscribed, read by ${fanoutReader}; the channel has ${subscribers} subscribers`);

    // Load in a quiet window.
    const windowMs = process.env.DISCOVERY_WINDOW_MS ? Number(process.env.DISCOVERY_WINDOW_MS) : opts.quick ? 5_000 : 10_000;
    const workerCpu = () => Promise.all(workers.map((w) => (w.send({ cmd: 'cpu' }), w.next((m) => m.ev === 'cpu')))).then((r) => r.reduce((a, m) => a + (m.us as number), 0));
    const cpu0 = await workerCpu();
    const before = await commandStats(admin);
    await sleep(windowMs);
    const after = await commandStats(admin);
    const cpu1 = await workerCpu();
    const delta = (name: string) => (after.calls[name] ?? 0) - (before.calls[name] ?? 0);
    const beats = (N * windowMs) / HB;
    // A snapshot read is one MULTI block: counted as its 6 commands (MULTI, TIME, HMGET, ZRANGE,
    // HGETALL, EXEC). Commands that scripts run inside Redis are not top-level and not counted.
    const topLevel = delta('evalsha') + delta('eval') + delta('ping') + delta('script|load') + 6 * delta('multi');
    const load = {
      evalshaPerSec: (delta('evalsha') + delta('eval')) / (windowMs / 1000),
      pingPerSec: delta('ping') / (windowMs / 1000),
      readsPerSec: delta('multi') / (windowMs / 1000),
      commandsPerNodePerHeartbeat: topLevel / beats,
      redisCpuPercent: ((after.cpu - before.cpu) / (windowMs / 1000)) * 100,
      publishPerSec: delta('publish') / (windowMs / 1000),
      workersCpuPercent: ((cpu1 - cpu0) / 1000 / windowMs) * 100,
    };
    console.log(`  load: ${load.evalshaPerSec.toFixed(0)} EVALSHA/s, ${load.pingPerSec.toFixed(1)} PING/s, ${load.readsPerSec.toFixed(1)} snapshot reads/s -> ${load.commandsPerNodePerHeartbeat.toFixed(3)} commands per node per heartbeat; Redis CPU ${load.redisCpuPercent.toFixed(1)}%, worker processes' CPU ${load.workersCpuPercent.toFixed(0)}% (of 100% per core)`);

    // Join: a new node, from the call to the moment the last of the N views and the last of the N
    // fan-out sockets has it.
    const joinAll: number[] = [];
    const joinViewsMax: number[] = [];
    const joinSocketsMax: number[] = [];
    const joinViews: number[] = [];
    const joinPublish: number[] = [];
    const joinArrive: number[] = [];
    const joinOwn: number[] = [];
    const watched = [...workers, fanout];
    for (let r = 0; r < rounds; r++) {
      const id = `probe-${r}`;
      const obs = await watchAll(watched, id, 'join');
      const start = wall();
      const g = await joinGrid({ redis: server.url, namespace: ns, id, heartbeatMs: HB, ttlMs: TTL, handleSignals: false });
      const d = await obs.detail;
      const views = d.filter((o) => o.role === 'views');
      const viewTimes = views.flatMap((o) => o.times);
      const socketTimes = d.filter((o) => o.role === 'sockets').flatMap((o) => o.times);
      const v = Math.max(...viewTimes) - start;
      const k = Math.max(...socketTimes) - start;
      joinAll.push(Math.max(v, k));
      joinViewsMax.push(v);
      joinSocketsMax.push(k);
      joinViews.push(...viewTimes.map((t) => t - start));
      // With one subscription per worker, its first handler marks the message's arrival in the process.
      const published = views.find((o) => o.published !== undefined)?.published;
      if (published !== undefined) joinPublish.push(published - start);
      const arrived = views.map((o) => o.arrived).filter((t): t is number => t !== undefined);
      if (arrived.length === views.length) joinArrive.push(Math.max(...arrived) - start);
      // A worker's views take the message one after another in one callback, so the gaps between
      // their times are each view's own handling of it, the part a node with its own CPU would see.
      let ownMax = 0;
      for (const o of views) {
        if (o.arrived === undefined) continue;
        const t = [...o.times].sort((a, b) => a - b);
        for (let i = 0; i < t.length; i++) {
          const own = t[i]! - (i ? t[i - 1]! : o.arrived);
          joinOwn.push(own);
          if (own > ownMax) ownMax = own;
        }
      }
      if (process.env.DISCOVERY_TRACE) {
        const f = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(1));
        console.log(`  ${id} at ${((start - runStart) / 1000).toFixed(1)} s: all ${f(Math.max(v, k))} | publish ${f(published === undefined ? undefined : published - start)} | workers receive ${views.map((o) => f(o.arrived === undefined ? undefined : o.arrived - start)).join(' ')} | last view ${views.map((o) => f(Math.max(...o.times) - start)).join(' ')} | last socket ${f(k)} | slowest view's own handling ${ownMax.toFixed(2)}`);
      }
      const gone = await watchAll(workers, id, 'leave');
      await g.leave();
      await gone.done;
      await sleep(100);
    }
    const line = (xs: number[]) => (xs.length ? `p50 ${ms(percentile(xs, 50))}, p99 ${ms(percentile(xs, 99))}, max ${ms(maxOf(xs))}` : 'n/a');
    console.log(`  join visible to all ${N} views and all ${N} fan-out sockets: ${line(joinAll)} over ${rounds} joins`);
    console.log(`    stages from the joinGrid() call: PUBLISH ${line(joinPublish)}; last worker process receives ${line(joinArrive)}; last view ${line(joinViewsMax)}; last fan-out socket ${line(joinSocketsMax)}`);
    if (joinOwn.length) console.log(`    one view's own handling of the join message (${joinOwn.length} samples): p50 ${(percentile(joinOwn, 50) * 1000).toFixed(0)} us, p99 ${(percentile(joinOwn, 99) * 1000).toFixed(0)} us, max ${ms(maxOf(joinOwn))}`);

    // Expiry: silent nodes registered once; deadline = registration (Redis time) + TTL.
    const reg = new Registry(admin, ns);
    const expiryAll: number[] = [];
    const expiryViews: number[] = [];
    const ghosts = opts.quick ? 5 : 10;
    for (let r = 0; r < ghosts; r++) {
      const id = `ghost-${r}`;
      const seen = await watchAll(workers, id, 'join');
      const stamp = await reg.register(id, TTL, JSON.stringify({ ttl: TTL, meta: { role: 'ghost' } }));
      await seen.done;
      const dropped = await watchAll(workers, id, 'leave');
      const deadline = stamp.now + TTL;
      const times = await dropped.done;
      expiryAll.push(Math.max(...times) - deadline);
      expiryViews.push(...times.map((t) => t - deadline));
      await sleep(Math.random() * HB);
    }
    console.log(`  dropped by every view after TTL end: p50 ${ms(percentile(expiryAll, 50))}, p99 ${ms(percentile(expiryAll, 99))}; per view p50 ${ms(percentile(expiryViews, 50))} p99 ${ms(percentile(expiryViews, 99))}`);

    // SIGKILL: a real node in its own process.
    const killAll: number[] = [];
    const kills = opts.quick ? 2 : 3;
    for (let r = 0; r < kills; r++) {
      const victim = new Worker();
      const id = `victim${r}-0`;
      const seen = await watchAll(workers, id, 'join');
      const joined = victim.next((m) => m.ev === 'joined');
      victim.send({ cmd: 'start', url: server.url, ns, count: 1, prefix: `victim${r}`, hb: HB, ttl: TTL, pauseMs: 0 });
      await joined;
      await seen.done;
      await sleep(HB + Math.random() * HB);
      const dropped = await watchAll(workers, id, 'leave');
      const killedAt = wall();
      victim.child.kill('SIGKILL');
      const times = await dropped.done;
      killAll.push(Math.max(...times) - killedAt);
    }
    console.log(`  SIGKILL -> dropped by every view: ${killAll.map((x) => ms(x)).join(', ')} (bound: ttl ${TTL} + one heartbeat ${HB})`);

    const result = {
      env: environment(),
      nodes: N,
      processes: W,
      heartbeatMs: HB,
      ttlMs: TTL,
      unrelatedKeys: 10_000,
      joinToAllMs: {
        ...stats(joinAll),
        lastView: stats(joinViewsMax),
        lastFanoutSocket: stats(joinSocketsMax),
        publish: joinPublish.length ? stats(joinPublish) : undefined,
        lastWorkerReceives: joinArrive.length ? stats(joinArrive) : undefined,
        perView: stats(joinViews),
        viewOwnHandling: joinOwn.length ? stats(joinOwn) : undefined,
      },
      subscribers: `${perNode ? 'one per simulated node' : 'one per worker process'}, plus ${N} fan-out sockets read by ${fanoutReader}`,
      ttlEndToDropMs: { ...stats(expiryAll), perView: stats(expiryViews) },
      sigkillToDropMs: killAll,
      load,
      peers: {
        note: "the issue's anchors, 20 members, quoted; bench/discovery-peers.ts runs both beside redstack",
        serfLan: { joinAllMs: '335-398', sigkillDetectP50Ms: 7600, sigkillDetectP99Ms: 8900 },
        etcd3sLease: { joinMs: 2, dropAfterLeaseExpiryMs: 424, shortestLeaseS: 2 },
      },
    };
    console.log('\n' + table(result));
    writeJson(opts.json, result);
  } finally {
    // Asked to exit first, so that a worker run with --cpu-prof (DISCOVERY_PROF=dir) writes its profile.
    await Promise.all(
      [...workers, ...helpers].map(async (w) => {
        if (w.child.exitCode !== null || w.child.signalCode !== null) return;
        const exited = new Promise((r) => w.child.once('exit', r));
        w.send({ cmd: 'exit' });
        await Promise.race([exited, sleep(5_000)]);
        w.child.kill('SIGKILL');
      }),
    );
    await admin.quit().catch(() => undefined);
    await server.stop();
  }
}

function table(r: {
  nodes: number;
  joinToAllMs: { p50: number; p99: number; max: number; n: number; lastView: { p99: number }; lastFanoutSocket: { p99: number } };
  ttlEndToDropMs: { p50: number; p99: number; max: number; perView: { p50: number; p99: number } };
  sigkillToDropMs: number[];
  load: { commandsPerNodePerHeartbeat: number; evalshaPerSec: number; redisCpuPercent: number };
}): string {
  const k = r.sigkillToDropMs;
  return [
    `| measure (${r.nodes} nodes) | redstack | target | Serf LAN (20 members, issue's anchor) | etcd 3 s lease (20 members, issue's anchor) |`,
    '|---|---|---|---|---|',
    `| join visible to all views and fan-out sockets | p50 ${ms(r.joinToAllMs.p50)}, p99 ${ms(r.joinToAllMs.p99)}, max ${ms(r.joinToAllMs.max)} (${r.joinToAllMs.n} joins; last view p99 ${ms(r.joinToAllMs.lastView.p99)}, last socket p99 ${ms(r.joinToAllMs.lastFanoutSocket.p99)}) | < 50 ms p99 | 335-398 ms | 2 ms |`,
    `| dead node dropped by every view, after its TTL's end | p50 ${ms(r.ttlEndToDropMs.p50)}, p99 ${ms(r.ttlEndToDropMs.p99)} (per view p99 ${ms(r.ttlEndToDropMs.perView.p99)}) | < 250 ms p99 | n/a | 424 ms after nominal lease expiry |`,
    `| SIGKILL to dropped by every view | ${k.map((x) => ms(x)).join(', ')} | <= ttl + 1 heartbeat (4 000 ms) | 7.6 s p50, 8.9 s p99 | n/a |`,
    `| Redis commands per node per heartbeat | ${r.load.commandsPerNodePerHeartbeat.toFixed(3)} (${r.load.evalshaPerSec.toFixed(0)} EVALSHA/s, Redis CPU ${r.load.redisCpuPercent.toFixed(1)}%) | < 2 | n/a (gossip) | n/a |`,
  ].join('\n');
}
