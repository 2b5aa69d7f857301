/**
 * `npm run bench -- discovery [--quick] [--json FILE]`: the discovery registry at scale.
 *
 * Setup: one redis-server holding 10 000 unrelated keys with long TTLs (where Redis's own `expired`
 * events were measured 28-49 s late), and N simulated nodes (default 1 000; 200 with --quick) in one
 * namespace, spread over W worker processes (this file, run with REDSTACK_DISCOVERY_WORKER=1). Each
 * simulated node is a real Grid with its own view, heartbeats, sweeps, reads and PINGs; the nodes of one
 * worker share one command connection and one subscription (the `subscriber` option), so Redis fans a
 * message out to W sockets rather than N. With one subscriber socket per node, 4 processes on 2 cores
 * spent their time in socket reads, heartbeats came seconds late, and the churn that followed measured
 * the benchmark's CPU starvation, not the registry.
 *
 * Measures:
 *   join     a new node's joinGrid() call -> every one of the N views has it (the max over views)
 *   expiry   a node's last heartbeat + its TTL (the deadline, in Redis time) -> each view drops it;
 *            per view and the max over views ("every view"), over several silent nodes
 *   SIGKILL  a real node in its own process is killed -> every view has dropped it
 *   load     top-level Redis commands per node per heartbeat interval in a quiet window (heartbeats,
 *            plus the few sweeps, snapshot reads and subscriber PINGs), and Redis CPU
 *
 * Peers: Serf and etcd are not installed here; their figures are the anchors measured earlier on this
 * project's machine with 20 members and are quoted, not re-run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createClient, type Client } from '../src/client/index.js';
import { joinGrid, Registry, type Grid } from '../src/discovery/index.js';
import { RedisServer } from '../test/support/redis-server.js';
import { environment, percentile, writeJson } from './lib.js';

const SELF = fileURLToPath(import.meta.url);
const wall = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- worker process ---------------------------------------------------------------------------------

interface Watch {
  kind: 'join' | 'leave';
  times: number[];
  left: number;
}

async function worker(): Promise<void> {
  const grids: Grid[] = [];
  const watches = new Map<string, Watch>();
  const send = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o) + '\n');
  const observe = (gi: number, kind: 'join' | 'leave', id: string) => {
    const w = watches.get(id);
    if (!w || w.kind !== kind || w.times[gi]) return;
    w.times[gi] = wall();
    if (--w.left === 0) {
      watches.delete(id);
      send({ ev: 'obs', id, kind, times: w.times });
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
        for (let i = 0; i < m.count; i += 10) {
          const batch = [];
          for (let j = i; j < Math.min(m.count, i + 10); j++) {
            batch.push(
              // A simulated node shares its CPU with hundreds of others: its connections get a
              // timeout that a stalled event loop cannot trip, where a real node's would be ttlMs.
              joinGrid({ redis: client, namespace: m.ns, id: `${m.prefix}-${j}`, meta: { role: 'sim', worker: m.prefix, n: j }, heartbeatMs: m.hb, ttlMs: m.ttl, handleSignals: false, commandTimeoutMs: 20_000, subscriber }),
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
    } else if (m.cmd === 'watch') {
      watches.set(m.id, { kind: m.kind, times: new Array(grids.length).fill(0), left: grids.length });
      send({ ev: 'watching', id: m.id });
    } else if (m.cmd === 'has') {
      const missing = grids.filter((g) => !g.node(m.id));
      const seqs = [...new Set(missing.map((g) => (g as unknown as { detector: { seq: number } }).detector.seq))].slice(0, 10);
      send({ ev: 'has', id: m.id, count: grids.length - missing.length, total: grids.length, missingSeqs: seqs, anySeq: (grids[0] as unknown as { detector: { seq: number } }).detector.seq });
    } else if (m.cmd === 'count') {
      const sizes = grids.map((g) => g.nodes().length);
      send({ ev: 'count', min: Math.min(...sizes), max: Math.max(...sizes) });
    } else if (m.cmd === 'exit') {
      process.exit(0);
    }
  });
}

if (process.env.REDSTACK_DISCOVERY_WORKER === '1') void worker();

// ---- parent -----------------------------------------------------------------------------------------

class Worker {
  readonly child: ChildProcess;
  #handlers = new Set<(m: Record<string, any>) => void>();

  constructor() {
    this.child = spawn(process.execPath, ['--import', 'tsx', SELF], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, REDSTACK_DISCOVERY_WORKER: '1' },
    });
    createInterface({ input: this.child.stdout! }).on('line', (l) => {
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

/** Asks every worker to time the first join/leave of `id` in each of its views. */
async function watchAll(workers: Worker[], id: string, kind: 'join' | 'leave'): Promise<{ done: Promise<number[]> }> {
  const acks = workers.map((w) => w.next((m) => m.ev === 'watching' && m.id === id));
  const obs = workers.map((w) => w.next((m) => m.ev === 'obs' && m.id === id, 30_000));
  for (const w of workers) w.send({ cmd: 'watch', id, kind });
  await Promise.all(acks);
  const timer = setTimeout(() => {
    for (const w of workers) void w.next((m) => m.ev === 'has').then((m) => console.log('  slow', kind, JSON.stringify(m)));
    for (const w of workers) w.send({ cmd: 'has', id });
  }, 8_000);
  void Promise.all(obs).then(() => clearTimeout(timer), () => clearTimeout(timer));
  // Wrapped: an async function returning a bare promise would wait for it.
  return { done: Promise.all(obs).then((all) => all.flatMap((m) => m.times as number[])) };
}

async function commandStats(admin: Client): Promise<{ calls: Record<string, number>; cpu: number }> {
  const text = String(await admin.cmd(['INFO', 'all']));
  const calls: Record<string, number> = {};
  for (const m of text.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) calls[m[1]!] = Number(m[2]);
  const cpu = Number(/used_cpu_user:([\d.]+)/.exec(text)?.[1] ?? 0) + Number(/used_cpu_sys:([\d.]+)/.exec(text)?.[1] ?? 0);
  return { calls, cpu };
}

const stats = (xs: number[]) => ({ p50: percentile(xs, 50), p99: percentile(xs, 99), max: Math.max(...xs), n: xs.length });
const ms = (x: number) => `${x.toFixed(1)} ms`;

export async function run(opts: { json?: string; rounds?: number; quick?: boolean; args: string[] }): Promise<void> {
  const N = opts.quick ? 200 : 1000;
  const W = opts.quick ? 2 : 4;
  const HB = 1000;
  const TTL = 3000;
  const rounds = opts.rounds ?? (opts.quick ? 3 : 5);
  const ns = 'bench';
  console.log(`discovery: ${N} nodes in ${W} processes, heartbeat ${HB} ms, ttl ${TTL} ms, 10 000 unrelated keys; ${environment()}`);

  const server = await RedisServer.start({ config: { maxclients: 20000 } });
  const admin = createClient(server.url);
  const workers: Worker[] = [];
  try {
    const fill: (string | number)[][] = [];
    for (let i = 0; i < 10_000; i++) fill.push(['SET', `unrelated:${i}`, 'x', 'EX', 86_400]);
    await admin.cmd(fill);

    // Join everyone.
    const t0 = performance.now();
    for (let w = 0; w < W; w++) workers.push(new Worker());
    const per = Math.ceil(N / W);
    await Promise.all(
      workers.map((w, i) => {
        const done = w.next((m) => m.ev === 'joined');
        w.send({ cmd: 'start', url: server.url, ns, count: Math.min(per, N - i * per), prefix: `w${i}`, hb: HB, ttl: TTL, pauseMs: 400 });
        return done;
      }),
    );
    for (let i = 0; ; i++) {
      const counts = await Promise.all(workers.map((w) => (w.send({ cmd: 'count' }), w.next((m) => m.ev === 'count'))));
      if (counts.every((c) => c.min === N)) break;
      if (i % 25 === 24) console.log(`  waiting for convergence: view sizes ${JSON.stringify(counts.map((c) => [c.min, c.max]))}`);
      if (i > 600) throw new Error('views did not converge');
      await sleep(200);
    }
    console.log(`  ${N} nodes joined and every view holds all of them after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await sleep(HB * 2);

    // Load in a quiet window.
    const windowMs = process.env.DISCOVERY_WINDOW_MS ? Number(process.env.DISCOVERY_WINDOW_MS) : opts.quick ? 5_000 : 10_000;
    const before = await commandStats(admin);
    await sleep(windowMs);
    const after = await commandStats(admin);
    const delta = (name: string) => (after.calls[name] ?? 0) - (before.calls[name] ?? 0);
    const beats = (N * windowMs) / HB;
    const topLevel = delta('evalsha') + delta('eval') + delta('ping') + delta('script|load');
    const load = {
      evalshaPerSec: (delta('evalsha') + delta('eval')) / (windowMs / 1000),
      pingPerSec: delta('ping') / (windowMs / 1000),
      commandsPerNodePerHeartbeat: topLevel / beats,
      redisCpuPercent: ((after.cpu - before.cpu) / (windowMs / 1000)) * 100,
      publishPerSec: delta('publish') / (windowMs / 1000),
    };
    console.log(`  load: ${load.evalshaPerSec.toFixed(0)} EVALSHA/s, ${load.pingPerSec.toFixed(1)} PING/s -> ${load.commandsPerNodePerHeartbeat.toFixed(3)} commands per node per heartbeat; Redis CPU ${load.redisCpuPercent.toFixed(1)}%`);

    // Join: a new node, from the call to the moment the last of the N views has it.
    const joinAll: number[] = [];
    const joinViews: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const id = `probe-${r}`;
      const obs = await watchAll(workers, id, 'join');
      const start = wall();
      const g = await joinGrid({ redis: server.url, namespace: ns, id, heartbeatMs: HB, ttlMs: TTL, handleSignals: false });
      const times = await obs.done;
      joinAll.push(Math.max(...times) - start);
      joinViews.push(...times.map((t) => t - start));
      const gone = await watchAll(workers, id, 'leave');
      await g.leave();
      await gone.done;
      await sleep(200);
    }
    console.log(`  join visible to all: p50 ${ms(percentile(joinAll, 50))}, max ${ms(Math.max(...joinAll))} over ${rounds} joins`);

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
      joinToAllMs: { ...stats(joinAll), perView: stats(joinViews) },
      ttlEndToDropMs: { ...stats(expiryAll), perView: stats(expiryViews) },
      sigkillToDropMs: killAll,
      load,
      peers: {
        note: 'quoted anchors measured with 20 members; not re-run here (serf and etcd are not installed)',
        serfLan: { joinAllMs: '335-398', sigkillDetectP50Ms: 7600, sigkillDetectP99Ms: 8900 },
        etcd3sLease: { joinMs: 2, dropAfterLeaseExpiryMs: 424, shortestLeaseS: 2 },
      },
    };
    console.log('\n' + table(result));
    writeJson(opts.json, result);
  } finally {
    for (const w of workers) w.child.kill('SIGKILL');
    await admin.quit().catch(() => undefined);
    await server.stop();
  }
}

function table(r: {
  nodes: number;
  joinToAllMs: { p50: number; p99: number; max: number };
  ttlEndToDropMs: { p50: number; p99: number; max: number; perView: { p50: number; p99: number } };
  sigkillToDropMs: number[];
  load: { commandsPerNodePerHeartbeat: number; evalshaPerSec: number; redisCpuPercent: number };
}): string {
  const k = r.sigkillToDropMs;
  return [
    `| measure (${r.nodes} nodes) | redstack | target | Serf LAN (20 members, quoted) | etcd 3 s lease (20 members, quoted) |`,
    '|---|---|---|---|---|',
    `| join visible to all | p50 ${ms(r.joinToAllMs.p50)}, max ${ms(r.joinToAllMs.max)} | < 50 ms p99 | 335-398 ms | 2 ms |`,
    `| dead node dropped by every view, after its TTL's end | p50 ${ms(r.ttlEndToDropMs.p50)}, p99 ${ms(r.ttlEndToDropMs.p99)} (per view p99 ${ms(r.ttlEndToDropMs.perView.p99)}) | < 250 ms p99 | n/a | 424 ms after nominal lease expiry |`,
    `| SIGKILL to dropped by every view | ${k.map((x) => ms(x)).join(', ')} | <= ttl + 1 heartbeat (4 000 ms) | 7.6 s p50, 8.9 s p99 | n/a |`,
    `| Redis commands per node per heartbeat | ${r.load.commandsPerNodePerHeartbeat.toFixed(3)} (${r.load.evalshaPerSec.toFixed(0)} EVALSHA/s, Redis CPU ${r.load.redisCpuPercent.toFixed(1)}%) | < 2 | n/a (gossip) | n/a |`,
  ].join('\n');
}
