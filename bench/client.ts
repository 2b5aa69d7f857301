/**
 * `npm run bench -- client [--quick] [--rounds N] [--json FILE] [shape...] [who=a,b]`
 *
 * redstack's client against ioredis, node-redis and redis-benchmark (the limit) on one fresh private
 * redis-server (`--save '' --appendonly no`), in alternating rounds; prints medians, spread and ratios.
 *
 * Shapes (each contender on one connection, opened before timing; inputs built before timing):
 * - sync:      N x (SET then GET), one command at a time (the talk's bench:sync);
 *              vs `redis-benchmark -c 1 -n N -t set,get`.
 * - async C:   N commands (SET/GET alternating) with exactly C outstanding: each one that finishes
 *              starts the next (the talk's bench:async(N, C)); C = 100 and 1 000.
 *              vs `redis-benchmark -c 1 -P C -t set,get` (batches of C, not a rolling window: reference only).
 * - pipeline:  N GETs in explicit batches of 1 000, one batch at a time; vs `redis-benchmark -c 1 -P 1000 -t get`.
 * - values:    SET+GET of 1 KB and 100 KB values with V in flight; vs `redis-benchmark -c 1 -P V -d SIZE
 *              -t set,get` (one connection), and `-c V` (V connections) for reference.
 *
 * ioredis runs twice, with enableAutoPipelining off and on; each row reports the better of the two
 * and names it. node-redis auto-pipelines by itself (commands of one tick share a write).
 *
 * Filters: positional shape names (sync, async100, async1000, pipeline, 1kb, 100kb) and who=list.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { Redis as IORedis } from 'ioredis';
import { createClient as createNodeRedis } from 'redis';
import { createClient, type Client } from '../src/client/index.js';
import { RedisServer } from '../test/support/redis-server.js';
import { environment, printTable, runRounds, summarize, writeJson, type Row, type Sample } from './lib.js';

interface RunOptions {
  json?: string;
  rounds?: number;
  quick?: boolean;
  args: string[];
}

/** What every Node contender provides; each uses its client's fastest idiomatic API. */
interface Driver {
  who: string;
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
  /** One explicit pipeline of BATCH GETs (its inputs prepared before timing); resolves with the replies. */
  getBatch(): Promise<unknown[]>;
  close(): Promise<void>;
}

interface Shape {
  name: string;
  /** Commands per sample. */
  ops: number;
  /** Runs the shape once on a driver. */
  run(d: Driver): Promise<void>;
  /** redis-benchmark arguments whose rate is this shape's limit (one connection, as every contender). */
  limit?: { label: string; args: string[] };
  /** Another redis-benchmark configuration shown for reference (not used for the targets). */
  reference?: { label: string; args: string[] };
}

const KEY = 'bench:key';

export async function run(opts: RunOptions): Promise<void> {
  const quick = opts.quick ?? false;
  const rounds = opts.rounds ?? (quick ? 2 : 5);
  const only = opts.args.filter((a) => !a.includes('='));
  const whoArg = opts.args.find((a) => a.startsWith('who='))?.slice(4).split(',');
  const scale = quick ? 0.5 : 1;

  const server = await RedisServer.start({ persistence: 'none', config: { save: '', appendonly: 'no' } });
  const shapes = makeShapes(scale).filter((s) => only.length === 0 || only.includes(s.name.split(' ')[0]!));
  const drivers = (await makeDrivers(server.port)).filter((d) => !whoArg || whoArg.some((w) => d.who.startsWith(w)));
  const small = 'x'.repeat(3);
  server.cli('SET', KEY, small);

  console.log(`# client: ${environment()}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`# ${rounds} rounds${quick ? ' (quick)' : ''}; contenders: ${drivers.map((d) => d.who).join(', ')}, redis-benchmark`);

  // Warm up every driver on every shape (JIT, socket buffers) at a fifth of the size, untimed.
  const warm = makeShapes(scale / 5).filter((w) => shapes.some((s) => s.name === w.name));
  for (const s of warm) for (const d of drivers) await s.run(d);

  const samples: Sample[] = [];
  for (const s of shapes) {
    const contenders = drivers.map((d) => ({
      who: d.who,
      shape: s.name,
      run: async () => {
        const t0 = performance.now();
        await s.run(d);
        return (s.ops * 1000) / (performance.now() - t0);
      },
    }));
    if (s.limit && (!whoArg || whoArg.includes('redis-benchmark'))) {
      const limit = s.limit;
      contenders.push({ who: 'redis-benchmark', shape: s.name, run: async () => redisBenchmark(server.port, limit.args) });
      const ref = s.reference;
      if (ref) contenders.push({ who: `redis-benchmark ${ref.label}`, shape: s.name, run: async () => redisBenchmark(server.port, ref.args) });
    }
    const got = await runRounds(rounds, contenders, (x) => process.stderr.write(`  ${x.shape} ${x.who}: ${Math.round(x.rate)}/s\n`));
    samples.push(...got);
  }

  for (const d of drivers) await d.close();
  await server.stop();

  console.log(`# load average after: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const rows = bestOfModes(summarize(samples));
  const table = printTable(rows, { title: 'client', unit: 'ops/s' });
  const verdicts = checkTargets(rows);
  for (const v of verdicts) console.log(v);
  writeJson(opts.json, { environment: environment(), rounds, quick, samples, rows, table, verdicts });
}

function makeShapes(scale: number): Shape[] {
  const n = (x: number) => Math.max(1, Math.round(x * scale));
  const syncN = n(20_000);
  const asyncN = n(20_000);
  const pipeN = n(100_000);
  const kb1N = n(40_000);
  const kb100N = n(6_000);
  const shapes: Shape[] = [
    {
      name: 'sync SET+GET',
      ops: 2 * syncN,
      run: async (d) => {
        for (let i = 0; i < syncN; i++) {
          await d.set(KEY, 'xxx');
          await d.get(KEY);
        }
      },
      limit: { label: '-c 1', args: ['-c', '1', '-n', String(syncN), '-t', 'set,get'] },
    },
    asyncShape('async100 (100 in flight)', asyncN, 100, 'xxx', ['-c', '1', '-P', '100', '-n', String(asyncN), '-t', 'set,get']),
    asyncShape('async1000 (1000 in flight)', asyncN, 1000, 'xxx', ['-c', '1', '-P', '1000', '-n', String(asyncN), '-t', 'set,get']),
    {
      name: 'pipeline (batches of 1000 GET)',
      ops: pipeN,
      run: async (d) => {
        for (let done = 0; done < pipeN; done += 1000) {
          const replies = await d.getBatch();
          if (replies.length !== 1000) throw new Error(`${d.who}: short pipeline reply`);
        }
      },
      limit: { label: '-c 1 -P 1000', args: ['-c', '1', '-P', '1000', '-n', String(pipeN), '-t', 'get'] },
    },
    valueShape('1kb SET+GET (16 in flight)', kb1N, 16, 1024),
    valueShape('100kb SET+GET (4 in flight)', kb100N, 4, 100 * 1024),
  ];
  return shapes;
}

const BATCH: readonly string[] = Array.from({ length: 1000 }, () => KEY);

/**
 * SET+GET of `size`-byte values with `inFlight` outstanding on one connection. The limit is
 * redis-benchmark on one connection with as many commands outstanding (`-c 1 -P n`, in batches);
 * `-c n` (n connections, one command outstanding on each) is shown for reference.
 */
function valueShape(name: string, total: number, inFlight: number, size: number): Shape {
  const n = String(total / 2);
  const shape = asyncShape(name, total, inFlight, 'v'.repeat(size), ['-c', '1', '-P', String(inFlight), '-n', n, '-d', String(size), '-t', 'set,get']);
  shape.reference = { label: `-c ${inFlight}`, args: ['-c', String(inFlight), '-n', n, '-d', String(size), '-t', 'set,get'] };
  return shape;
}

/**
 * N commands, SET and GET alternating on one key, with exactly `inFlight` outstanding: each reply
 * starts the next command.
 */
function asyncShape(name: string, total: number, inFlight: number, value: string, limitArgs: string[]): Shape {
  return {
    name,
    ops: total,
    run: (d) =>
      new Promise<void>((resolve, reject) => {
        let issued = 0;
        let done = 0;
        const next = (): void => {
          const i = issued++;
          const p = i & 1 ? d.get(KEY) : d.set(KEY, value);
          p.then(onDone, reject);
        };
        const onDone = (): void => {
          if (++done === total) resolve();
          else if (issued < total) next();
        };
        for (let c = 0; c < inFlight && issued < total; c++) next();
      }),
    limit: { label: limitArgs.join(' '), args: limitArgs },
  };
}

async function makeDrivers(port: number): Promise<Driver[]> {
  const out: Driver[] = [];

  const rs: Client = createClient({ host: '127.0.0.1', port });
  const rsBatch = BATCH.map((k) => ['GET', k]);
  await rs.ready();
  out.push({
    who: 'redstack',
    set: (k, v) => rs.cmd(['SET', k, v]),
    get: (k) => rs.cmd(['GET', k]),
    getBatch: () => rs.cmd(rsBatch),
    close: () => rs.quit(),
  });

  for (const auto of [false, true]) {
    const io = new IORedis({ host: '127.0.0.1', port, enableAutoPipelining: auto, lazyConnect: true });
    await io.connect();
    out.push({
      who: auto ? 'ioredis (auto-pipelining)' : 'ioredis',
      set: (k, v) => io.set(k, v),
      get: (k) => io.get(k),
      getBatch: async () => {
        const p = io.pipeline();
        for (const k of BATCH) p.get(k);
        const res = (await p.exec())!;
        return res.map(([err, v]) => err ?? v);
      },
      close: async () => void (await io.quit()),
    });
  }

  const nr = createNodeRedis({ socket: { host: '127.0.0.1', port } });
  nr.on('error', () => undefined);
  await nr.connect();
  out.push({
    who: 'node-redis',
    set: (k, v) => nr.set(k, v),
    get: (k) => nr.get(k),
    // Its explicit pipeline; here about 6x faster than Promise.all over 1 000 get() calls.
    getBatch: () => {
      const m = nr.multi();
      for (const k of BATCH) m.get(k);
      return m.execAsPipeline();
    },
    close: async () => void (await nr.quit()),
  });
  return out;
}

/** Runs redis-benchmark with --csv and returns its rate (commands/s over all its tests). */
function redisBenchmark(port: number, args: string[]): number {
  const r = spawnSync('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), '--csv', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`redis-benchmark failed: ${r.stderr}`);
  const rates: number[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^"([A-Z_ ]+)","([\d.]+)"/.exec(line.trim());
    if (m) rates.push(Number(m[2]));
  }
  if (rates.length === 0) throw new Error(`redis-benchmark printed no rate: ${r.stdout}`);
  // Equal command counts per test: the combined rate is the harmonic mean.
  return rates.length / rates.reduce((s, x) => s + 1 / x, 0);
}

/** Keeps, per shape, the better of ioredis's two modes, named. */
function bestOfModes(rows: Row[]): Row[] {
  const out: Row[] = [];
  for (const shape of [...new Set(rows.map((r) => r.shape))]) {
    const inShape = rows.filter((r) => r.shape === shape);
    const io = inShape.filter((r) => r.who.startsWith('ioredis')).sort((a, b) => b.median - a.median)[0];
    for (const r of inShape) if (!r.who.startsWith('ioredis') || r === io) out.push(r);
  }
  return out;
}

/** The targets, checked against the medians. */
function checkTargets(rows: Row[]): string[] {
  const out: string[] = [];
  const get = (shape: string, who: string) =>
    rows.find((r) => r.shape.split(' ')[0] === shape && (who === 'redis-benchmark' ? r.who === who : r.who.startsWith(who)))?.median;
  const verdict = (label: string, mine: number | undefined, other: number | undefined, need: number) => {
    if (mine === undefined || other === undefined) return;
    const ratio = mine / other;
    out.push(`${ratio >= need ? 'MET    ' : 'NOT MET'} ${label}: ${ratio.toFixed(2)}x (target ${need}x)`);
  };
  const bestPeer = (shape: string) => {
    const xs = ['ioredis', 'node-redis'].map((w) => get(shape, w)).filter((x): x is number => x !== undefined);
    return xs.length ? Math.max(...xs) : undefined;
  };
  verdict('sync vs redis-benchmark -c 1', get('sync', 'redstack'), get('sync', 'redis-benchmark'), 0.8);
  verdict('100 in flight vs best peer', get('async100', 'redstack'), bestPeer('async100'), 1.3);
  verdict('1000 in flight vs best peer', get('async1000', 'redstack'), bestPeer('async1000'), 1.3);
  verdict('pipelines of 1000 vs redis-benchmark -P 1000', get('pipeline', 'redstack'), get('pipeline', 'redis-benchmark'), 0.5);
  verdict('100 KB values vs redis-benchmark', get('100kb', 'redstack'), get('100kb', 'redis-benchmark'), 0.7);
  for (const shape of [...new Set(rows.map((r) => r.shape))]) {
    const key = shape.split(' ')[0]!;
    verdict(`${key} not slower than ioredis`, get(key, 'redstack'), get(key, 'ioredis'), 1);
    verdict(`${key} not slower than node-redis`, get(key, 'redstack'), get(key, 'node-redis'), 1);
  }
  return out;
}
