/**
 * Shared benchmark plumbing: alternating rounds across contenders, medians, spread, ratios,
 * an environment line, a printed table and optional JSON. Each bench/<part>.ts builds its
 * inputs before timing and hands `runRounds` one async function per contender and shape.
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { execFileSync } from 'node:child_process';

export interface Sample {
  /** Contender name, e.g. 'redstack', 'ioredis', 'redis-benchmark'. */
  who: string;
  /** Row name, e.g. 'sync SET+GET'. */
  shape: string;
  /** Operations (or bytes) per second in this round. */
  rate: number;
}

export interface Row {
  shape: string;
  who: string;
  median: number;
  min: number;
  max: number;
  rounds: number;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/**
 * Runs every contender once per round, in a rotated order each round so that none always goes
 * first (warm caches, CPU frequency), and collects the rate each reports.
 */
export async function runRounds(
  rounds: number,
  contenders: { who: string; shape: string; run: () => Promise<number> }[],
  onSample?: (s: Sample) => void,
): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (let r = 0; r < rounds; r++) {
    const order = contenders.map((_, i) => contenders[(i + r) % contenders.length]!);
    for (const c of order) {
      const rate = await c.run();
      const s = { who: c.who, shape: c.shape, rate };
      samples.push(s);
      onSample?.(s);
    }
  }
  return samples;
}

export function summarize(samples: Sample[]): Row[] {
  const groups = new Map<string, Sample[]>();
  for (const s of samples) {
    const k = `${s.shape}\u0000${s.who}`;
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  return [...groups.values()].map((g) => ({
    shape: g[0]!.shape,
    who: g[0]!.who,
    median: median(g.map((s) => s.rate)),
    min: Math.min(...g.map((s) => s.rate)),
    max: Math.max(...g.map((s) => s.rate)),
    rounds: g.length,
  }));
}

export function fmtRate(n: number, unit = 'ops/s'): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M ${unit}`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k ${unit}`;
  return `${n.toFixed(1)} ${unit}`;
}

/**
 * Prints one table: per shape, each contender's median (min-max) and its ratio to `base`
 * (redstack's rate divided by theirs, so > 1 means redstack is faster).
 */
export function printTable(rows: Row[], opts: { base?: string; unit?: string; title?: string } = {}): string {
  const base = opts.base ?? 'redstack';
  const out: string[] = [];
  if (opts.title) out.push(`\n## ${opts.title}`);
  out.push(`| shape | who | median | min-max | redstack / who |`, `|---|---|---|---|---|`);
  const shapes = [...new Set(rows.map((r) => r.shape))];
  for (const shape of shapes) {
    const inShape = rows.filter((r) => r.shape === shape);
    const mine = inShape.find((r) => r.who === base);
    for (const r of inShape) {
      const ratio = mine && r.who !== base ? `${(mine.median / r.median).toFixed(2)}x` : '';
      out.push(`| ${shape} | ${r.who} | ${fmtRate(r.median, opts.unit)} | ${fmtRate(r.min, '')}- ${fmtRate(r.max, '')} | ${ratio} |`);
    }
  }
  const text = out.join('\n');
  console.log(text);
  return text;
}

export function environment(): string {
  let redis = 'unknown';
  try {
    redis = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim().split(' ')[2] ?? redis;
  } catch {
    /* not installed */
  }
  const cpu = cpus()[0]?.model ?? 'cpu';
  return `node ${process.version}, redis ${redis.replace('v=', '')}, ${cpus().length} x ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`;
}

export function writeJson(path: string | undefined, data: unknown): void {
  if (path) writeFileSync(path, JSON.stringify(data, null, 2));
}
