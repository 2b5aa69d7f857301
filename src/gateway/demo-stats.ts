/**
 * Sample counters on `stats.*` channels, once a second, the way Heroku's routers and log routers fed
 * tempo's graphs, so a newcomer sees a moving chart at once:
 *
 *   stats.router   {"ts", "requests", "p50_ms", "p99_ms", "errors"}     requests/s and latency
 *   stats.logplex  {"ts", "lines_in", "lines_out", "dropped"}            log lines/s
 *   stats.redis    {"ts", "ops", "clients", "used_mb"}                   read from this Redis's INFO
 *
 * The router and logplex figures are random walks around a slow wave with occasional bursts (and a
 * seedable generator, for tests). Published through the history script where `history` covers the
 * channel, so a page opened later can fill its chart from history.
 */
import { History, type Commander, type HistoryRule } from './history.js';

export interface DemoStatsOptions {
  /** Default 1000. */
  intervalMs?: number;
  /** Channel prefix (default 'stats.'). */
  prefix?: string;
  /** History rules, as given to the gateway, so ids and history match. */
  history?: HistoryRule[];
  keyPrefix?: string;
  /** Publishing to a Redis Cluster with sharded pub/sub (SPUBLISH), as a gateway on a cluster reads. */
  sharded?: boolean;
  /** Seed for the random walk (default: time). */
  seed?: number;
  /** Told of each failed publish (Redis down); publishing continues on the next tick. */
  onError?: (err: Error) => void;
}

export interface DemoStats {
  /** Ticks published so far. */
  readonly ticks: number;
  /** Publishes one tick now (also what the timer does). */
  tick(): Promise<void>;
  stop(): void;
}

/** mulberry32: a tiny seeded generator; Math.random cannot be seeded. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

export function startDemoStats(client: Commander, opts: DemoStatsOptions = {}): DemoStats {
  const prefix = opts.prefix ?? 'stats.';
  const history = new History(client, opts.history ?? [], { keyPrefix: opts.keyPrefix, sharded: opts.sharded });
  const rand = rng(opts.seed ?? Date.now());
  let ticks = 0;
  let load = 1; // random-walk multiplier
  let burst = 0; // seconds of burst left

  const router = (t: number): Record<string, number> => {
    load = Math.min(1.6, Math.max(0.6, load + (rand() - 0.5) * 0.06));
    if (burst === 0 && rand() < 0.03) burst = 3 + Math.floor(rand() * 5);
    const wave = 1 + 0.25 * Math.sin((t / 60_000) * 2 * Math.PI);
    const boost = burst > 0 ? 1.8 : 1;
    if (burst > 0) burst--;
    const requests = 1200 * wave * load * boost * (0.95 + rand() * 0.1);
    const p50 = 9 + 4 * (boost - 1) + rand() * 2;
    const p99 = p50 * (4 + rand() * 1.5) * (boost > 1 ? 1.6 : 1);
    const errors = Math.max(0, Math.round(requests * (0.001 + (boost > 1 ? 0.004 : 0)) * (0.5 + rand())));
    return { ts: t, requests: round(requests), p50_ms: round(p50, 2), p99_ms: round(p99, 2), errors };
  };

  const logplex = (t: number, rps: number): Record<string, number> => {
    const linesIn = rps * (2.6 + rand() * 0.4);
    const dropped = linesIn > 4500 ? round((linesIn - 4500) * (0.3 + rand() * 0.2)) : rand() < 0.1 ? Math.round(rand() * 5) : 0;
    return { ts: t, lines_in: round(linesIn), lines_out: round(linesIn - dropped), dropped };
  };

  const redisStats = async (t: number): Promise<Record<string, number>> => {
    const info = String(await client.cmd(['INFO']));
    const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
    return { ts: t, ops: field('instantaneous_ops_per_sec'), clients: field('connected_clients'), used_mb: round(field('used_memory') / 1048576, 2) };
  };

  const tick = async (): Promise<void> => {
    const t = Date.now();
    const r = router(t);
    const l = logplex(t, r.requests!);
    const results = await Promise.allSettled([
      history.publish(prefix + 'router', JSON.stringify(r)),
      history.publish(prefix + 'logplex', JSON.stringify(l)),
      redisStats(t).then((s) => history.publish(prefix + 'redis', JSON.stringify(s))),
    ]);
    ticks++;
    for (const res of results) if (res.status === 'rejected') opts.onError?.(res.reason as Error);
  };

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const loop = (): void => {
    if (stopped) return;
    tick().finally(() => {
      if (stopped) return;
      // Aligned to the interval, so points fall on whole seconds and every series shares x values.
      const ms = opts.intervalMs ?? 1000;
      timer = setTimeout(loop, ms - (Date.now() % ms));
      timer.unref?.();
    });
  };
  loop();

  return {
    get ticks() {
      return ticks;
    },
    tick,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
