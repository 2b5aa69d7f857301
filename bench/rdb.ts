/**
 * `npm run bench -- rdb [--quick] [--rounds N] [--json FILE]`
 *
 * Parses a generated 2-million-key mixed dump (~150 MB; `--quick`: a tenth) with redis-check-rdb
 * (the native reference: it loads every object) and with this parser, events only and with values
 * decoded, in alternating rounds (5 by default); reports median MB/s, the ratio to redis-check-rdb
 * (of the medians, and the median of each round's own ratio), and the
 * parser's peak RSS. The parser runs in a child process on plain JavaScript (transpiled here once)
 * so its memory is its own, not the TypeScript loader's; the worker reports its VmHWM, since on Linux
 * `resourceUsage().maxRSS` of a child includes this process's RSS at fork.
 *
 * The dump is built once with a real redis-server (pipelined writes through `redis-cli --pipe` plus
 * DEBUG POPULATE) and cached under bench/.cache/ (gitignored).
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { RedisServer } from '../test/support/redis-server.js';
import { environment, runRounds, summarize, writeJson, median } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const cache = join(here, '.cache');

interface Shape {
  strings: number; ints: number; hashes: number; lists: number; intsets: number; sets: number; zsets: number;
  bigHashes: number; bigZsets: number; bigLists: number; bigSets: number; streams: number; populate: number;
}

export const FULL: Shape = {
  strings: 600_000, ints: 200_000, hashes: 300_000, lists: 300_000, intsets: 100_000, sets: 100_000, zsets: 300_000,
  bigHashes: 100, bigZsets: 100, bigLists: 100, bigSets: 100, streams: 20, populate: 100_000,
};

function scaled(s: Shape, f: number): Shape {
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, Math.max(1, Math.round(v * f))])) as unknown as Shape;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** The RESP commands that fill the server, generated in batches (never the whole stream in memory). */
export function* commands(s: Shape): Generator<Buffer> {
  const rand = rng(42);
  // Words are random slices of one random pool: as incompressible as per-character randomness
  // (LZF never looks across values), at a fraction of the cost.
  let pool = '';
  for (let i = 0; i < 1 << 20; i++) pool += ALNUM[Math.floor(rand() * 62)];
  const word = (min: number, max: number): string => {
    const n = min + Math.floor(rand() * (max - min + 1));
    const at = Math.floor(rand() * (pool.length - n));
    return pool.slice(at, at + n);
  };
  // Commands are written straight into Buffers: concatenating strings made the generator spend
  // two thirds of its time in GC.
  let buf = Buffer.allocUnsafe(4 << 20);
  let len = 0;
  const put = (t: string): void => {
    if (len + t.length > buf.length) {
      const bigger = Buffer.allocUnsafe(buf.length * 2 + t.length);
      buf.copy(bigger, 0, 0, len);
      buf = bigger;
    }
    // Every argument is ASCII: one byte per character.
    len += buf.write(t, len, 'latin1');
  };
  const cmd = (...args: (string | number)[]): void => {
    put(`*${args.length}\r\n`);
    for (const a of args) {
      const t = typeof a === 'string' ? a : String(a);
      put(`$${t.length}\r\n`);
      put(t);
      put('\r\n');
    }
  };
  const flush = function* (force = false): Generator<Buffer> {
    if (len > 1 << 20 || (force && len > 0)) {
      yield buf.subarray(0, len);
      buf = Buffer.allocUnsafe(4 << 20);
      len = 0;
    }
  };
  for (let i = 0; i < s.strings; i++) {
    if (i % 6 === 0) cmd('SET', `str:${i}`, word(30, 80), 'EX', 100_000);
    else cmd('SET', `str:${i}`, word(30, 80));
    yield* flush();
  }
  for (let i = 0; i < s.ints; i++) {
    cmd('SET', `int:${i}`, Math.floor(rand() * 1e12) - 5e11);
    yield* flush();
  }
  for (let i = 0; i < s.hashes; i++) {
    cmd('HSET', `hash:${i}`, 'name', word(6, 12), 'email', word(10, 16), 'age', Math.floor(rand() * 90), 'city', word(5, 10));
    yield* flush();
  }
  for (let i = 0; i < s.lists; i++) {
    cmd('RPUSH', `list:${i}`, word(4, 8), word(4, 8), word(4, 8), word(4, 8), word(4, 8), word(4, 8));
    yield* flush();
  }
  for (let i = 0; i < s.intsets; i++) {
    cmd('SADD', `iset:${i}`, ...Array.from({ length: 5 }, () => Math.floor(rand() * 1e6)));
    yield* flush();
  }
  for (let i = 0; i < s.sets; i++) {
    cmd('SADD', `sset:${i}`, word(6, 10), word(6, 10), word(6, 10), word(6, 10));
    yield* flush();
  }
  for (let i = 0; i < s.zsets; i++) {
    cmd('ZADD', `zset:${i}`, ...Array.from({ length: 5 }, () => [(rand() * 1000).toFixed(2), word(5, 9)]).flat());
    yield* flush();
  }
  for (let i = 0; i < s.bigHashes; i++) {
    cmd('HSET', `bighash:${i}`, ...Array.from({ length: 1000 }, (_, j) => [`field:${j}`, word(8, 16)]).flat());
    yield* flush();
  }
  for (let i = 0; i < s.bigZsets; i++) {
    cmd('ZADD', `bigzset:${i}`, ...Array.from({ length: 500 }, (_, j) => [rand() * 1e6, `member:${j}`]).flat());
    yield* flush();
  }
  for (let i = 0; i < s.bigLists; i++) {
    for (let k = 0; k < 10; k++) cmd('RPUSH', `biglist:${i}`, ...Array.from({ length: 1000 }, () => word(4, 12)));
    yield* flush();
  }
  for (let i = 0; i < s.bigSets; i++) {
    cmd('SADD', `bigset:${i}`, ...Array.from({ length: 1000 }, (_, j) => `m:${j}:${word(3, 6)}`));
    yield* flush();
  }
  for (let i = 0; i < s.streams; i++) {
    for (let k = 0; k < 5000; k++) cmd('XADD', `stream:${i}`, `${1_700_000_000_000 + k}-1`, 'sensor', word(4, 8), 'value', Math.floor(rand() * 1000));
    cmd('XGROUP', 'CREATE', `stream:${i}`, 'readers', '0');
    cmd('XREADGROUP', 'GROUP', 'readers', 'alice', 'COUNT', 50, 'STREAMS', `stream:${i}`, '>');
    yield* flush();
  }
  yield* flush(true);
}

/** Builds (or reuses) the cached dump; returns its path. */
async function dump(quick: boolean): Promise<string> {
  const shape = quick ? scaled(FULL, 0.1) : FULL;
  const path = join(cache, quick ? 'rdb-mixed-quick.rdb' : 'rdb-mixed-2m.rdb');
  if (existsSync(path)) return path;
  mkdirSync(cache, { recursive: true });
  console.log(`building ${relative(root, path)} with redis-server (once; cached)...`);
  const t0 = Date.now();
  const server = await RedisServer.start({ config: { save: '', appendonly: 'no' } });
  try {
    const cli = spawn('redis-cli', ['-p', String(server.port), '--pipe'], { stdio: ['pipe', 'ignore', 'inherit'] });
    const done = new Promise<number>((resolve) => cli.on('exit', (code) => resolve(code ?? 1)));
    for (const batch of commands(shape)) {
      if (!cli.stdin.write(batch)) await new Promise((r) => cli.stdin.once('drain', r));
    }
    cli.stdin.end();
    if ((await done) !== 0) throw new Error('redis-cli --pipe failed');
    server.cli('DEBUG', 'POPULATE', String(shape.populate), 'pop', '100');
    server.cli('SAVE');
    copyFileSync(join(server.dir, 'dump.rdb'), path);
  } finally {
    await server.stop();
  }
  console.log(`built in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${(statSync(path).size / 1e6).toFixed(1)} MB`);
  return path;
}

/** Transpiles src/rdb, src/errors.ts and the worker to plain JS under bench/.cache/js (no type check). */
export function buildWorker(): string {
  const out = join(cache, 'js');
  const files = [join(root, 'src/errors.ts'), join(here, 'rdb-worker.ts')];
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.push(p);
    }
  };
  walk(join(root, 'src/rdb'));
  for (const f of files) {
    const js = ts.transpileModule(readFileSync(f, 'utf8'), { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    const dest = join(out, relative(root, f)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, js);
  }
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  return join(out, 'bench/rdb-worker.js');
}

interface WorkerResult { ms: number; bytes: number; keys: number; items: number; maxRssKB: number }

function runWorker(worker: string, file: string, mode: 'events' | 'values'): WorkerResult {
  const r = spawnSync(process.execPath, [worker, file, mode], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`worker failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as WorkerResult;
}

function runCheckRdb(file: string): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('redis-check-rdb', [file], { encoding: 'utf8', maxBuffer: 16 << 20 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0 || !/Checksum OK/.test(r.stdout)) throw new Error(`redis-check-rdb failed: ${r.stdout}${r.stderr}`);
  return ms;
}

export async function run(opts: { json?: string; rounds?: number; quick?: boolean; args: string[] }): Promise<void> {
  const file = await dump(Boolean(opts.quick));
  const worker = buildWorker();
  const size = statSync(file).size;
  const mb = size / 1e6;
  const rss: Record<string, number[]> = { events: [], values: [] };
  const keyCounts = new Set<number>();
  const shape = `${mb.toFixed(0)} MB dump`;
  const contenders = [
    { who: 'redis-check-rdb', shape, run: async () => mb / (runCheckRdb(file) / 1000) },
    ...(['events', 'values'] as const).map((mode) => ({
      who: mode === 'events' ? 'redstack (events only)' : 'redstack (values decoded)',
      shape,
      run: async () => {
        const r = runWorker(worker, file, mode);
        rss[mode]!.push(r.maxRssKB / 1024);
        keyCounts.add(r.keys);
        return mb / (r.ms / 1000);
      },
    })),
  ];
  const samples = await runRounds(opts.rounds ?? 5, contenders, (s) => console.log(`  ${s.who}: ${s.rate.toFixed(1)} MB/s`));
  const rows = summarize(samples);
  const check = rows.find((r) => r.who === 'redis-check-rdb')!.median;
  // The machine is often shared: besides the ratio of medians, the median of each round's own ratio
  // (runs seconds apart under the same load) is the steadier comparison.
  const paired = (who: string): number => {
    const ratios: number[] = [];
    for (let i = 0; i < samples.length; i += contenders.length) {
      const round = samples.slice(i, i + contenders.length);
      const mine = round.find((x) => x.who === who);
      const ref = round.find((x) => x.who === 'redis-check-rdb');
      if (mine && ref) ratios.push(mine.rate / ref.rate);
    }
    return median(ratios);
  };
  const rssOf = (who: string): string => {
    const xs = who.includes('events') ? rss.events! : who.includes('values') ? rss.values! : [];
    return xs.length ? `${median(xs).toFixed(0)} MB (max ${Math.max(...xs).toFixed(0)})` : '';
  };
  const table = [
    `\n${environment()}`,
    `file: ${relative(root, file)}, ${size} bytes, ${[...keyCounts].join('/')} keys; ${rows[0]!.rounds} rounds, alternating`,
    '',
    '| contender | median MB/s | min - max | vs redis-check-rdb (medians) | same-round ratio (median) | peak RSS (median) |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const self = r.who === 'redis-check-rdb';
      return `| ${r.who} | ${r.median.toFixed(1)} | ${r.min.toFixed(1)} - ${r.max.toFixed(1)} | ${self ? '1.00x' : `${(r.median / check).toFixed(2)}x`} | ${self ? '1.00x' : `${paired(r.who).toFixed(2)}x`} | ${rssOf(r.who)} |`;
    }),
  ].join('\n');
  console.log(table);
  writeJson(opts.json, { environment: environment(), file: { size, keys: [...keyCounts] }, rows, sameRoundRatio: Object.fromEntries(rows.map((r) => [r.who, paired(r.who)])), rssMB: rss });
}
