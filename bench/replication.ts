/**
 * `npm run bench -- replication [--quick] [--rounds N] [--json FILE] [replica|memory|sqlite|postgres ...]`
 * (REDSTACK_BENCH_NODE_FLAGS and REDSTACK_BENCH_STALLS look inside our contenders: see child();
 * REDSTACK_BENCH_LAGDUMP=PREFIX writes every step's per-write times to PREFIX-<rate>-<time>.json)
 *
 * One master loaded with the 2-million-key mixed dump of bench/rdb.ts (built once and cached under
 * bench/.cache/; `--quick`: its tenth), and four replicas of it, one after the other:
 *
 *   replica    a real redis-server: REPLICAOF, then INFO polled until master_link_status:up, no sync
 *              in progress and loading:0; writes seen through keyevent notifications on the replica
 *   memory     createReplica + MemoryMirror (ours each run in a child process of their own, as the
 *              real replica does: its own heap and event loop)
 *   sqlite     createReplica + SqliteTarget (a file in a temp dir)
 *   postgres   createReplica + PostgresTarget (a schema of its own on $REDSTACK_BENCH_PG_URL, default
 *              postgres://postgres@127.0.0.1:5432/test; dropped afterwards; skipped when unreachable)
 *
 * For each: time to full sync (diskless, repl-diskless-sync-delay 0; from REPLICAOF / createReplica to
 * the snapshot applied); then, after 5 s for the load's aftermath to settle, steady-state lag at
 * 10k, 50k and 100k writes/s: a paced writer in a worker thread (raw RESP on one connection, in
 * db 9: 80% SET lag:<n> to new keys, 20% HINCRBY on 10 000 hot hashes, a read-modify-write for the
 * SQL targets) records when the master acknowledged
 * each SET; the replica side records when it was applied (keyevent message for the real replica,
 * applyCommands returned for ours, i.e. committed for the SQL targets); lag = applied - acknowledged,
 * p50 and p99 after a 0.5 s warm-up. Then a ramp (100k, 200k, 400k, 700k writes/s) finds the highest
 * rate each keeps up with: p99 lag <= 100 ms and every write applied within 3 s of the step's end; a
 * step where the master acknowledged less than 90% of the rate (the writer or the master at its
 * limit, not the replica) ends the ramp with a lower bound. FLUSHDB 9 between steps keeps memory flat.
 *
 * Prints medians over rounds (default 1 round: ~3 minutes on 2 cores), ratios to the real replica,
 * and issue #5's targets as pass/fail.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fork, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { createClient, type Client } from '../src/client/index.js';
import { createReplica, MemoryMirror, type Replica, type Target } from '../src/replication/index.js';
import type { FullSyncInfo, ReplicaStatus, ReplicatedCommand, ReplicationPosition, SnapshotKey } from '../src/replication/targets/target.js';
import { SqliteTarget } from '../src/replication/targets/sqlite.js';
import { PostgresTarget } from '../src/replication/targets/postgres.js';
import { RedisServer } from '../test/support/redis-server.js';
import { environment, median, percentile, writeJson } from './lib.js';
import { commands as datasetCommands, FULL } from './rdb.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const cache = join(here, '.cache');

const LAG_DB = 9;
const LAG_RATES = [10_000, 50_000, 100_000];
const RAMP_RATES = [100_000, 200_000, 400_000, 700_000];
const WARMUP_MS = 500;
/** Pause between a contender's full sync and its first lag step. */
const SETTLE_MS = 5000;
/** One write in this many is an HINCRBY on a hot hash (read-modify-write for the SQL targets). */
const RMW_EVERY = 5;
const PG_URL = process.env.REDSTACK_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

type Who = 'replica' | 'memory' | 'sqlite' | 'postgres';
const LABEL: Record<Who, string> = { replica: 'redis-server replica', memory: 'memory mirror', sqlite: 'SQLite', postgres: 'PostgreSQL' };

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// -------------------------------------------------------------------------------------------------
// Dataset: bench/rdb.ts's generator, same cache files

async function dataset(quick: boolean): Promise<string> {
  const path = join(cache, quick ? 'rdb-mixed-quick.rdb' : 'rdb-mixed-2m.rdb');
  if (existsSync(path)) return path;
  const shape = quick
    ? (Object.fromEntries(Object.entries(FULL).map(([k, v]) => [k, Math.max(1, Math.round(v * 0.1))])) as unknown as typeof FULL)
    : FULL;
  mkdirSync(cache, { recursive: true });
  console.log(`building ${relative(root, path)} with redis-server (once; cached)...`);
  const server = await RedisServer.start({ config: { save: '', appendonly: 'no' } });
  try {
    const cli = spawn('redis-cli', ['-p', String(server.port), '--pipe'], { stdio: ['pipe', 'ignore', 'inherit'] });
    const done = new Promise<number>((resolve) => cli.on('exit', (code) => resolve(code ?? 1)));
    for (const batch of datasetCommands(shape)) if (!cli.stdin.write(batch)) await new Promise((r) => cli.stdin.once('drain', r));
    cli.stdin.end();
    if ((await done) !== 0) throw new Error('redis-cli --pipe failed');
    server.cli('DEBUG', 'POPULATE', String(shape.populate), 'pop', '100');
    server.cli('SAVE');
    copyFileSync(join(server.dir, 'dump.rdb'), path);
  } finally {
    await server.stop();
  }
  return path;
}

async function info(c: Client, section: string): Promise<string> {
  return String(await c.cmd(['INFO', section]));
}

function field(text: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)$`, 'm').exec(text)?.[1]?.trim();
}

async function masterOffset(c: Client): Promise<number> {
  return Number(field(await info(c, 'replication'), 'master_repl_offset'));
}

async function startMaster(file: string): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'redstack-bench-master-'));
  copyFileSync(file, join(dir, 'dump.rdb'));
  const master = await RedisServer.start({
    dir,
    config: { 'repl-diskless-sync': 'yes', 'repl-diskless-sync-delay': 0, 'repl-backlog-size': '256mb', 'client-output-buffer-limit': 'replica 0 0 0' },
  });
  const c = createClient({ port: master.port });
  try {
    for (;;) {
      const text = await info(c, 'persistence').catch(() => 'loading:1');
      if (field(text, 'loading') === '0') break;
      await sleep(100);
    }
  } finally {
    c.disconnect();
  }
  return master;
}

// -------------------------------------------------------------------------------------------------
// Contenders

interface Running {
  syncMs: number;
  keys: number;
  /** Starts recording when each SET lag:<index> (index < max) is applied. */
  watch(max: number): void;
  /**
   * After the writer stopped: waits (up to `waitMs`) until every SET of the first `sent` indexes
   * is applied, stops recording, and returns the applied times by index (NaN = not applied).
   */
  collect(sent: number, waitMs: number): Promise<Float64Array>;
  /** True once everything the master wrote up to `offset` is applied. */
  caughtUp(offset: number): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Passes calls through to `inner`; reports SETs to db 9 once they are applied: when applyCommands
 * has returned, or for a target that commits in the background (PostgreSQL's group commit), when its
 * 'commit' event covers their offset (both SQL targets group-commit). One report per batch.
 */
class TimedTarget implements Target {
  readonly inner: Target;
  applied: ((indexes: number[], t: number) => void) | null = null;
  /** With commit events: SETs applied in memory, waiting for their commit, by offset. */
  readonly #uncommitted: { offset: number; indexes: number[] }[] = [];
  readonly #onCommit: boolean;

  constructor(inner: Target, commits?: { on(event: 'commit', fn: (p: ReplicationPosition) => void): unknown }) {
    this.inner = inner;
    this.#onCommit = commits !== undefined;
    commits?.on('commit', (p) => {
      const t = now();
      let n = 0;
      for (const u of this.#uncommitted) {
        if (u.offset > p.offset) break;
        n++;
        if (this.applied && u.indexes.length) this.applied(u.indexes, t);
      }
      this.#uncommitted.splice(0, n);
    });
  }

  get takesEncoded() {
    return this.inner.takesEncoded;
  }
  open() {
    return this.inner.open();
  }
  beginFullSync(info: FullSyncInfo) {
    return this.inner.beginFullSync(info);
  }
  applyKeys(keys: readonly SnapshotKey[]) {
    return this.inner.applyKeys(keys);
  }
  endFullSync(p: ReplicationPosition) {
    return this.inner.endFullSync(p);
  }
  abortFullSync() {
    return this.inner.abortFullSync();
  }
  status(s: ReplicaStatus) {
    this.inner.status?.(s);
  }
  close() {
    return this.inner.close();
  }
  applyCommands(commands: readonly ReplicatedCommand[], position: ReplicationPosition) {
    // Listed before the call: a target may commit (and say so) before it returns.
    if (this.#onCommit) this.#mark(commands);
    const r = this.inner.applyCommands(commands, position);
    if (this.#onCommit) return r;
    if (r instanceof Promise) return r.then((x) => (this.#mark(commands), x));
    this.#mark(commands);
    return r;
  }
  #mark(commands: readonly ReplicatedCommand[]): void {
    const fn = this.applied;
    if (!fn || commands.length === 0) return;
    const indexes: number[] = [];
    for (const c of commands) {
      if (c.name !== 'SET' || c.db !== LAG_DB) continue;
      const k = c.args[0]!;
      if (k[0] === 0x6c && k[3] === 0x3a) indexes.push(Number(k.toString('latin1', 4))); // 'lag:'
    }
    if (this.#onCommit) {
      this.#uncommitted.push({ offset: commands[commands.length - 1]!.offset, indexes });
      return;
    }
    if (indexes.length) fn(indexes, now());
  }
}

async function startRealReplica(master: RedisServer): Promise<Running> {
  const server = await RedisServer.start({ config: { 'notify-keyspace-events': 'E$' } });
  const c = createClient({ port: server.port });
  const t0 = performance.now();
  await c.cmd(['REPLICAOF', '127.0.0.1', String(master.port)]);
  for (;;) {
    await sleep(50);
    const r = await info(c, 'replication').catch(() => '');
    const p = await info(c, 'persistence').catch(() => 'loading:1');
    if (field(r, 'master_link_status') === 'up' && field(r, 'master_sync_in_progress') === '0' && field(p, 'loading') === '0') break;
    if (performance.now() - t0 > 300_000) throw new Error('the real replica did not sync within 5 minutes');
  }
  const syncMs = performance.now() - t0;
  const keys = (await c.cmd<(string | number)[]>([['SELECT', '0'], ['DBSIZE']]))[1] as number;
  const sub = createClient({ port: server.port });
  let applied: Float64Array | null = null;
  await sub.subscribe(`__keyevent@${LAG_DB}__:set`, (message) => {
    if (!applied) return;
    const t = now();
    const k = String(message);
    if (k.startsWith('lag:')) {
      const i = Number(k.slice(4));
      if (i < applied.length) applied[i] = t;
    }
  });
  return {
    syncMs,
    keys: Number(keys),
    watch: (max) => void (applied = new Float64Array(max).fill(NaN)),
    collect: async (sent, waitMs) => {
      const a = applied!;
      const until = performance.now() + waitMs;
      while (missingSets(a, sent) > 0 && performance.now() < until) await sleep(20);
      applied = null;
      return a;
    },
    caughtUp: async (offset) => Number(field(await info(c, 'replication'), 'slave_repl_offset')) >= offset,
    close: async () => {
      sub.disconnect();
      c.disconnect();
      await server.stop();
    },
  };
}

/** SETs among the first `sent` writes that have no applied time yet. */
function missingSets(applied: Float64Array, sent: number): number {
  let n = 0;
  for (let i = 0; i < sent && i < applied.length; i++) if (i % RMW_EVERY !== RMW_EVERY - 1 && Number.isNaN(applied[i]!)) n++;
  return n;
}

// Our contenders run in a child process each, as the real replica does: its own heap (the memory
// mirror's two million keys must not cost the next contender its GC pauses), its own event loop.
// Applied times are recorded in the child's memory and fetched once the writer has stopped: a
// message per applied batch would cost the child's event loop, in the measured path, far more than
// the real replica's keyspace events cost it (it was a quarter of the mirror's work at 50k writes/s).

type ToChild =
  | { type: 'start'; who: Exclude<Who, 'replica'>; port: number }
  | { type: 'ping'; t: number }
  | { type: 'watch'; max: number }
  | { type: 'missing'; sent: number }
  | { type: 'collect' }
  | { type: 'caughtUp'; id: number; offset: number }
  | { type: 'close' };

type FromChild =
  | { type: 'synced'; syncMs: number; keys: number }
  | { type: 'pong'; t: number; tc: number }
  | { type: 'missing'; n: number }
  | { type: 'collected'; applied: Float64Array }
  | { type: 'caughtUp'; id: number; ok: boolean }
  | { type: 'failed'; message: string }
  | { type: 'closed' };

const CHILD_FLAG = '--replication-bench-child';

async function startOurs(who: Exclude<Who, 'replica'>, master: RedisServer): Promise<Running> {
  // REDSTACK_BENCH_NODE_FLAGS (e.g. --trace-gc): node flags for our contenders' processes, to look inside a run.
  const flags = (process.env.REDSTACK_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const child = fork(fileURLToPath(import.meta.url), [CHILD_FLAG], {
    execArgv: ['--import', 'tsx', ...flags],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced', // typed arrays cross as they are
  });
  const send = (m: ToChild) => child.send(m);
  const waiters = new Map<string, (m: FromChild) => void>();
  let offset = 0; // child clock - our clock
  let failure: Error | undefined;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.on('message', (m: FromChild) => {
    if (m.type === 'failed') failure = new Error(`${who}: ${m.message}`);
    const key = m.type === 'caughtUp' ? `caughtUp:${m.id}` : m.type === 'failed' ? 'synced' : m.type;
    const w = waiters.get(key);
    waiters.delete(key);
    w?.(m);
  });
  const next = (key: string) =>
    new Promise<FromChild>((resolve, reject) => {
      waiters.set(key, resolve);
      void exited.then(() => reject(failure ?? new Error(`${who}: the child process exited`)));
    });
  const synced = next('synced');
  send({ type: 'start', who, port: master.port });
  const s = await synced;
  if (s.type !== 'synced') throw failure ?? new Error(`${who}: the snapshot did not load`);
  // Clock offset between the processes, from the ping with the shortest round trip.
  let best = Infinity;
  for (let i = 0; i < 40; i++) {
    const t = now();
    const pong = next('pong');
    send({ type: 'ping', t });
    const p = (await pong) as Extract<FromChild, { type: 'pong' }>;
    const t1 = now();
    if (t1 - t < best) {
      best = t1 - t;
      offset = p.tc - (t + t1) / 2;
    }
  }
  let ids = 0;
  return {
    syncMs: s.syncMs,
    keys: s.keys,
    watch: (max) => send({ type: 'watch', max }),
    collect: async (sent, waitMs) => {
      const until = performance.now() + waitMs;
      for (;;) {
        const r = next('missing');
        send({ type: 'missing', sent });
        if (((await r) as Extract<FromChild, { type: 'missing' }>).n === 0 || performance.now() > until) break;
        await sleep(20);
      }
      const r = next('collected');
      send({ type: 'collect' });
      const a = ((await r) as Extract<FromChild, { type: 'collected' }>).applied;
      for (let i = 0; i < a.length; i++) a[i] = a[i]! - offset;
      return a;
    },
    caughtUp: async (off) => {
      if (failure) throw failure;
      const id = ++ids;
      const r = next(`caughtUp:${id}`);
      send({ type: 'caughtUp', id, offset: off });
      return ((await r) as Extract<FromChild, { type: 'caughtUp' }>).ok;
    },
    close: async () => {
      const done = next('closed').catch(() => undefined);
      send({ type: 'close' });
      await done;
      await exited;
    },
  };
}

/** The child side: one replica with one target, driven by the parent over IPC. */
async function child(): Promise<void> {
  const reply = (m: FromChild) => process.send!(m);
  // REDSTACK_BENCH_STALLS=MS: prints every event-loop stall of at least MS in this contender, timed
  // like --trace-gc's lines (ms since the process started), to match stalls with collections.
  const stallMs = Number(process.env.REDSTACK_BENCH_STALLS ?? 0);
  if (stallMs > 0) {
    let last = performance.now();
    setInterval(() => {
      const t = performance.now();
      if (t - last >= stallMs) process.stderr.write(`stall at ${t.toFixed(0)} ms: ${(t - last).toFixed(1)} ms\n`);
      last = t;
    }, 1).unref();
  }
  let replica: Replica | undefined;
  let target: TimedTarget | undefined;
  let cleanup = async () => {};
  let failure: Error | undefined;
  let recorded: Float64Array | undefined;
  process.on('message', (m: ToChild) => {
    void (async () => {
      if (m.type === 'start') {
        let inner: Target;
        let commits: PostgresTarget | SqliteTarget | undefined;
        if (m.who === 'memory') {
          inner = new MemoryMirror({ sweepIntervalMs: 0 });
        } else if (m.who === 'sqlite') {
          const dir = mkdtempSync(join(tmpdir(), 'redstack-bench-sqlite-'));
          inner = commits = new SqliteTarget({ path: join(dir, 'replica.db') });
          cleanup = async () => rmSync(dir, { recursive: true, force: true });
        } else {
          const schema = `redstack_bench_${process.pid}_${Date.now() % 1e6}`;
          inner = commits = new PostgresTarget({ connectionString: PG_URL, schema });
          cleanup = async () => {
            const a = new pg.Client(PG_URL);
            await a.connect();
            await a.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
            await a.end();
          };
        }
        target = new TimedTarget(inner, commits);
        const t0 = performance.now();
        replica = createReplica({ port: m.port, target });
        replica.on('closed', (c) => {
          if (!c.willReconnect && c.error) failure = c.error;
        });
        replica.on('error', () => {});
        replica.once('loaded', (i) => reply({ type: 'synced', syncMs: performance.now() - t0, keys: i.keys }));
        void replica.whenClosed().then(() => {
          if (failure) reply({ type: 'failed', message: failure.message });
        });
      } else if (m.type === 'ping') {
        reply({ type: 'pong', t: m.t, tc: now() });
      } else if (m.type === 'watch') {
        const a = (recorded = new Float64Array(m.max).fill(NaN));
        target!.applied = (indexes, t) => {
          for (const i of indexes) if (i < a.length) a[i] = t;
        };
      } else if (m.type === 'missing') {
        reply({ type: 'missing', n: recorded ? missingSets(recorded, m.sent) : 0 });
      } else if (m.type === 'collect') {
        target!.applied = null;
        reply({ type: 'collected', applied: recorded ?? new Float64Array(0) });
        recorded = undefined;
      } else if (m.type === 'caughtUp') {
        const ok = !failure && (replica?.position?.offset ?? -1) >= m.offset && replica?.state === 'streaming';
        reply({ type: 'caughtUp', id: m.id, ok });
      } else if (m.type === 'close') {
        await replica?.close();
        await cleanup().catch(() => {});
        reply({ type: 'closed' });
        process.disconnect();
      }
    })();
  });
}

if (process.argv.includes(CHILD_FLAG)) void child();

async function pgReachable(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.end();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

// -------------------------------------------------------------------------------------------------
// Paced writer (worker thread, plain JS, raw RESP: no client library in the measured path)

const WRITER = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const { port, db, rate, ms, rmwEvery } = workerData;
const max = Math.ceil((rate * ms) / 1000);
const sendT = new Float64Array(max);
const ackT = new Float64Array(max);
const now = () => performance.timeOrigin + performance.now();
const sock = net.connect(port, '127.0.0.1');
sock.setNoDelay(true);
let acked = -1; // the SELECT's reply comes first
let sent = 0;
let t0 = 0;
let lastAck = 0;
let finished = false;
const finish = () => {
  if (finished) return;
  finished = true;
  sock.destroy();
  parentPort.postMessage({ sendT, ackT, sent, acked: Math.max(0, acked), t0, lastAck }, [sendT.buffer, ackT.buffer]);
};
sock.on('data', (d) => {
  const t = now();
  let i = -1;
  while ((i = d.indexOf(10, i + 1)) !== -1) {
    if (acked >= 0) ackT[acked] = t;
    acked++;
  }
  lastAck = t;
  if (acked >= max) finish();
});
sock.on('error', finish);
const cmd = (i) => {
  if (rmwEvery && i % rmwEvery === rmwEvery - 1) {
    const k = 'hot:' + (i % 10000);
    return '*4\\r\\n$7\\r\\nHINCRBY\\r\\n$' + k.length + '\\r\\n' + k + '\\r\\n$1\\r\\nn\\r\\n$1\\r\\n1\\r\\n';
  }
  const k = 'lag:' + i;
  return '*3\\r\\n$3\\r\\nSET\\r\\n$' + k.length + '\\r\\n' + k + '\\r\\n$1\\r\\nx\\r\\n';
};
let waiting = false;
const tick = () => {
  if (waiting || finished) return;
  const due = Math.min(max, Math.floor((rate * (now() - t0)) / 1000));
  if (due > sent) {
    const t = now();
    let s = '';
    for (; sent < due; sent++) {
      sendT[sent] = t;
      s += cmd(sent);
    }
    if (!sock.write(s)) {
      waiting = true;
      sock.once('drain', () => { waiting = false; tick(); });
    }
  }
  if (sent < max) setTimeout(tick, 1);
  else setTimeout(finish, 10000); // acks that never come
};
sock.on('connect', () => {
  sock.write('*2\\r\\n$6\\r\\nSELECT\\r\\n$' + String(db).length + '\\r\\n' + db + '\\r\\n');
  t0 = now();
  tick();
});
`;

interface WriterResult {
  sendT: Float64Array;
  ackT: Float64Array;
  sent: number;
  acked: number;
  t0: number;
  lastAck: number;
}

function write(port: number, rate: number, ms: number): Promise<WriterResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WRITER, { eval: true, workerData: { port, db: LAG_DB, rate, ms, rmwEvery: RMW_EVERY } });
    w.once('message', (m: WriterResult) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

interface Step {
  rate: number;
  /** Writes per second the master acknowledged. */
  achieved: number;
  p50: number;
  p99: number;
  /** SETs not applied within 3 s of the step's end. */
  missing: number;
  /** Every SET applied, p99 lag <= 100 ms. */
  keptUp: boolean;
  /** The master acknowledged less than 90% of the rate: the writer or the master was the limit, not the replica. */
  limited: boolean;
}

async function step(master: RedisServer, admin: Client, r: Running, rate: number, ms: number): Promise<Step> {
  const max = Math.ceil((rate * ms) / 1000);
  r.watch(max);
  const w = await write(master.port, rate, ms);
  const isSet = (i: number) => i % RMW_EVERY !== RMW_EVERY - 1;
  const applied = await r.collect(w.sent, 3000);
  const lags: number[] = [];
  let missing = 0;
  for (let i = 0; i < w.sent; i++) {
    if (!isSet(i) || w.sendT[i]! - w.t0 < WARMUP_MS) continue;
    const a = applied[i]!;
    if (Number.isNaN(a) || w.ackT[i] === 0) missing++;
    else lags.push(a - w.ackT[i]!);
  }
  const achieved = w.acked / Math.max(0.001, (w.lastAck - w.t0) / 1000);
  const p50 = lags.length ? percentile(lags, 50) : NaN;
  const p99 = lags.length ? percentile(lags, 99) : NaN;
  if (process.env.REDSTACK_BENCH_LAGDUMP) {
    // [sent, acknowledged, applied] per SET, ms from the step's start: to see whether a tail is a few
    // long stops or many short ones.
    const rows: number[][] = [];
    for (let i = 0; i < w.sent; i++) if (isSet(i) && w.ackT[i]) rows.push([w.sendT[i]! - w.t0, w.ackT[i]! - w.t0, applied[i]! - w.t0]);
    writeFileSync(`${process.env.REDSTACK_BENCH_LAGDUMP}-${rate}-${Date.now()}.json`, JSON.stringify(rows));
  }
  // Empty db 9 for the next step, and wait until the contender has applied that too.
  await admin.cmd(['SELECT', String(LAG_DB)]);
  await admin.cmd(['FLUSHDB']);
  await admin.cmd(['SELECT', '0']);
  const off = await masterOffset(admin);
  const until = performance.now() + 60_000;
  while (!(await r.caughtUp(off)) && performance.now() < until) await sleep(20);
  return { rate, achieved, p50, p99, missing, keptUp: missing === 0 && p99 <= 100, limited: achieved < 0.9 * rate };
}

// -------------------------------------------------------------------------------------------------

interface Result {
  who: Who;
  syncMs: number[];
  keys: number;
  lag: Map<number, Step[]>;
  maxRate: number[];
  ramp: Step[][];
  skipped?: string;
}

export async function run(opts: { json?: string; rounds?: number; quick?: boolean; args: string[] }): Promise<void> {
  const quick = Boolean(opts.quick);
  const rounds = opts.rounds ?? 1;
  const lagMs = quick ? 1500 : 3000;
  const rampMs = quick ? 1500 : 2000;
  const wanted = (opts.args.length ? opts.args : ['replica', 'memory', 'sqlite', 'postgres']) as Who[];
  const file = await dataset(quick);
  const size = statSync(file).size;
  console.log(`${environment()}\ndataset: ${relative(root, file)} (${(size / 1e6).toFixed(1)} MB)`);
  const t0 = performance.now();
  const master = await startMaster(file);
  console.log(`master loaded the dump in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const admin = createClient({ port: master.port });
  const results = new Map<Who, Result>(wanted.map((w) => [w, { who: w, syncMs: [], keys: 0, lag: new Map(), maxRate: [], ramp: [] }]));
  const pgDown = wanted.includes('postgres') ? await pgReachable() : undefined;
  if (pgDown) results.get('postgres')!.skipped = `PostgreSQL not reachable at ${PG_URL}: ${pgDown}`;
  try {
    for (let round = 0; round < rounds; round++) {
      const order = wanted.map((_, i) => wanted[(i + round) % wanted.length]!);
      for (const who of order) {
        const res = results.get(who)!;
        if (res.skipped) continue;
        const r = who === 'replica' ? await startRealReplica(master) : await startOurs(who, master);
        try {
          res.syncMs.push(r.syncMs);
          res.keys = r.keys;
          console.log(`  ${LABEL[who]}: full sync ${(r.syncMs / 1000).toFixed(2)} s (${r.keys} keys)`);
          // Steady state: what the load left behind (its garbage, a collection V8 starts once the
          // allocation stops) settles first, for every contender alike.
          await sleep(SETTLE_MS);
          for (const rate of LAG_RATES) {
            const s = await step(master, admin, r, rate, lagMs);
            res.lag.set(rate, [...(res.lag.get(rate) ?? []), s]);
            console.log(`    ${rate / 1000}k writes/s: lag p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms (achieved ${(s.achieved / 1000).toFixed(1)}k/s, missing ${s.missing})`);
          }
          let best = 0;
          const ramp: Step[] = [];
          for (const rate of RAMP_RATES) {
            const s = await step(master, admin, r, rate, rampMs);
            ramp.push(s);
            console.log(`    ramp ${rate / 1000}k writes/s: ${verdictOf(s)} (achieved ${(s.achieved / 1000).toFixed(1)}k/s, p99 ${s.p99.toFixed(1)} ms, missing ${s.missing})`);
            if (!s.keptUp || s.limited) break;
            best = rate;
          }
          res.maxRate.push(best);
          res.ramp.push(ramp);
        } finally {
          await r.close();
        }
      }
    }
  } finally {
    admin.disconnect();
    await master.stop();
    rmSync(master.dir, { recursive: true, force: true });
  }
  report(results, { size, quick, rounds, lagMs, rampMs, json: opts.json, totalMs: performance.now() - t0 });
}

function verdictOf(s: Step): string {
  if (!s.keptUp) return 'fell behind';
  return s.limited ? 'kept up, but the master acknowledged < 90% of the rate' : 'kept up';
}

function fmt(x: number, digits = 2): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '-';
}

function report(results: Map<Who, Result>, o: { size: number; quick: boolean; rounds: number; lagMs: number; rampMs: number; json?: string; totalMs: number }): void {
  const all = [...results.values()];
  const real = results.get('replica');
  const realSync = real && real.syncMs.length ? median(real.syncMs) : NaN;
  const lagOf = (r: Result, rate: number, q: 'p50' | 'p99') => {
    const xs = (r.lag.get(rate) ?? []).map((s) => s[q]).filter(Number.isFinite);
    return xs.length ? median(xs) : NaN;
  };
  const out: string[] = [];
  out.push(`\n${environment()}`);
  out.push(`dataset: ${(o.size / 1e6).toFixed(1)} MB RDB, ${all.find((r) => r.keys)?.keys ?? '?'} keys; ${o.rounds} round(s); whole run ${(o.totalMs / 1000).toFixed(0)} s`);
  out.push('', '### full sync (diskless, delay 0; until the snapshot is applied)', '', '| contender | median s | min - max | keys/s | vs real replica |', '|---|---|---|---|---|');
  for (const r of all) {
    if (r.skipped) {
      out.push(`| ${LABEL[r.who]} | skipped: ${r.skipped} | | | |`);
      continue;
    }
    const m = median(r.syncMs);
    out.push(`| ${LABEL[r.who]} | ${fmt(m / 1000)} | ${fmt(Math.min(...r.syncMs) / 1000)} - ${fmt(Math.max(...r.syncMs) / 1000)} | ${fmt(r.keys / (m / 1000) / 1000, 0)} k | ${fmt(m / realSync)}x |`);
  }
  out.push('', `### lag from master ack to applied, ms (80% SET new key / 20% HINCRBY hot hash; ${o.lagMs / 1000} s per rate, first 0.5 s not counted)`, '');
  out.push(`| contender | ${LAG_RATES.map((r) => `${r / 1000}k p50 | ${r / 1000}k p99`).join(' | ')} | p99 vs real @${LAG_RATES[LAG_RATES.length - 1]! / 1000}k |`);
  out.push(`|---|${LAG_RATES.map(() => '---|---|').join('')}---|`);
  const topRate = LAG_RATES[LAG_RATES.length - 1]!;
  for (const r of all) {
    if (r.skipped) continue;
    const cells = LAG_RATES.map((rate) => `${fmt(lagOf(r, rate, 'p50'))} | ${fmt(lagOf(r, rate, 'p99'))}`).join(' | ');
    out.push(`| ${LABEL[r.who]} | ${cells} | ${real ? `${fmt(lagOf(r, topRate, 'p99') / lagOf(real, topRate, 'p99'))}x` : ''} |`);
  }
  out.push('', `### highest write rate kept up with (ramp ${RAMP_RATES.map((r) => `${r / 1000}k`).join(', ')}; ${o.rampMs / 1000} s per step)`, '', '| contender | writes/s | steps (achieved k/s, p99 ms) |', '|---|---|---|');
  for (const r of all) {
    if (r.skipped) continue;
    const steps = r.ramp[r.ramp.length - 1] ?? [];
    const trail = steps.map((s) => `${s.rate / 1000}k: ${verdictOf(s)} (${fmt(s.achieved / 1000, 0)}, ${fmt(s.p99, 1)})`).join('; ');
    const best = median(r.maxRate);
    // A ramp that ended on the writer's or the master's limit (or ran out of steps) is a lower bound.
    const last = steps[steps.length - 1];
    const bound = last && last.keptUp ? '>= ' : '';
    out.push(`| ${LABEL[r.who]} | ${best ? `${bound}${fmt(best / 1000, 0)} k` : '< 100 k'} | ${trail} |`);
  }
  // Issue #5's targets.
  const checks: string[] = [];
  const mem = results.get('memory');
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
  if (real && mem && !mem.skipped && real.syncMs.length) {
    checks.push(`- memory mirror syncs no slower than the real replica: ${verdict(median(mem.syncMs) <= realSync)} (${fmt(median(mem.syncMs) / 1000)} s vs ${fmt(realSync / 1000)} s)`);
    const worst = Math.max(...LAG_RATES.map((rate) => lagOf(mem, rate, 'p99') / lagOf(real, rate, 'p99')));
    checks.push(`- memory mirror p99 lag within 2x of the real replica up to 100k writes/s: ${verdict(worst <= 2)} (worst ratio ${fmt(worst)}x)`);
  }
  for (const who of ['sqlite', 'postgres'] as const) {
    const r = results.get(who);
    if (!r || r.skipped || !real || !real.syncMs.length) continue;
    checks.push(`- ${LABEL[who]} syncs within 3x of the real replica: ${verdict(median(r.syncMs) <= 3 * realSync)} (${fmt(median(r.syncMs) / realSync)}x)`);
    // On the medians over rounds, as every other figure here (one round on a shared machine can stall).
    const s50 = r.lag.get(50_000) ?? [];
    const kept = s50.length > 0 && median(s50.map((s) => s.missing)) === 0 && median(s50.map((s) => s.achieved)) >= 45_000 && lagOf(r, 50_000, 'p99') <= 100;
    checks.push(`- ${LABEL[who]} keeps up with 50k writes/s: ${verdict(kept)} (p99 ${fmt(lagOf(r, 50_000, 'p99'))} ms; highest rate kept up ${median(r.maxRate) ? `${fmt(median(r.maxRate) / 1000, 0)}k` : `< ${RAMP_RATES[0]! / 1000}k`})`);
  }
  if (checks.length) out.push('', '### issue #5 targets', '', ...checks);
  console.log(out.join('\n'));
  writeJson(o.json, {
    environment: environment(),
    quick: o.quick,
    rounds: o.rounds,
    results: all.map((r) => ({ ...r, lag: Object.fromEntries(r.lag) })),
  });
}
