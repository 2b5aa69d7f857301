/**
 * `npm run bench -- client-faults [--quick] [--json FILE] [fault...] [who=a,b]`
 *
 * The same fault matrix for redstack's client, ioredis and node-redis, counted side by side. Each
 * (client, fault) pair gets a fresh redis-server; for the faults that restart it, with appendonly
 * yes / appendfsync always (no automatic rewrite), so an acknowledged write survives the crash and
 * every INCR that was applied can be counted afterwards. The other faults run without persistence
 * (the server keeps its memory), so disk latency does not blur their throughput.
 *
 * Workload, 100 calls in flight at all times (each settled call starts the next):
 * - INCR of a key of its own (`i:<n>`): after the run the key must hold 0 or 1; 2 means the client
 *   sent it twice (a retry of a command Redis had already applied);
 * - SET of a unique value (`s:<n>`): an acknowledged SET must be readable afterwards;
 * - GET of a key written before the run (`g:<j>`) whose value is known: anything else is a wrong reply
 *   (a reply matched to the wrong caller).
 *
 * Faults (applied after a steady phase; "fault end" is when the server is back):
 * - kill:     SIGKILL the server and restart it at once (1 M keys make it answer -LOADING for a while);
 * - client-kill: CLIENT KILL of the client's connection(s) by another connection;
 * - stop:     SIGSTOP past the command timeout (1.5 s against 500 ms), then SIGCONT;
 * - password: the server restarted with requirepass for 1.5 s, then restarted without.
 *
 * Counted per client and fault: calls issued and succeeded; INCRs applied twice; calls never
 * settled within 10 s after the load stops; wrong replies; acknowledged SETs lost; failures by type
 * (not sent / outcome unknown / timeout / untyped: an error from which the caller cannot tell
 * whether the command ran); LOADING and NOAUTH errors seen by callers; other error replies; and the
 * time from fault end to the first 100 ms with at least 80% of the steady throughput.
 *
 * Peers run with their documented command-timeout options and default retry behaviour:
 * ioredis { commandTimeout: 500 } (maxRetriesPerRequest 20, autoResendUnfulfilledCommands true),
 * node-redis { commandOptions: { timeout: 500 } } and, as a second row, with socket.socketTimeout
 * 500 as well (see nodeRedis()), default reconnectStrategy; redstack { commandTimeoutMs: 500 }.
 */
import { loadavg } from 'node:os';
import { Redis as IORedis } from 'ioredis';
import { createClient as createNodeRedis } from 'redis';
import { createClient, type Client } from '../src/client/index.js';
import { RedisServer, waitUntil } from '../test/support/redis-server.js';
import { environment, writeJson } from './lib.js';

interface RunOptions {
  json?: string;
  rounds?: number;
  quick?: boolean;
  args: string[];
}

type FailureKind = 'notSent' | 'outcomeUnknown' | 'timeout' | 'untyped';

interface Driver {
  incr(key: string): Promise<unknown>;
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
  /** Error replies (Redis said -ERR...) are counted apart from client failures. */
  replyErrorText(err: unknown): string | null;
  classify(err: unknown): FailureKind;
  close(): void;
}

interface Fault {
  name: string;
  /** Dataset written before the run (DEBUG POPULATE), so that a restart loads for a while. */
  populate: number;
  /** Faults that restart the server need the AOF (fsync always) to keep what was acknowledged. */
  aof: boolean;
  /** Applies the fault; resolves when the server is back (the fault's end). */
  apply(server: RedisServer): Promise<void>;
}

interface Counts {
  who: string;
  fault: string;
  issued: number;
  ok: number;
  incrTwice: number;
  neverSettled: number;
  wrong: number;
  lostWrites: number;
  notSent: number;
  outcomeUnknown: number;
  timeout: number;
  untyped: number;
  loadingNoauth: number;
  otherReplyErrors: number;
  recoveryMs: number | null;
  /** From fault end to the first successful call. */
  firstOkMs: number | null;
  /** Steady throughput (successes per 100 ms) and the series from the fault's start, for the JSON. */
  baseline: number;
  series: number[];
  errorSamples: string[];
}

const IN_FLIGHT = 100;
const TIMEOUT_MS = 500;
const GET_KEYS = 1000;
const BUCKET_MS = 100;
const SETTLE_BOUND_MS = 10_000;

const FAULTS: Fault[] = [
  {
    name: 'kill',
    populate: 1_000_000,
    aof: true,
    apply: (s) => s.restart({ signal: 'SIGKILL' }),
  },
  {
    name: 'client-kill',
    populate: 0,
    aof: false,
    apply: async (s) => void s.cli('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'),
  },
  {
    name: 'stop',
    populate: 0,
    aof: false,
    apply: async (s) => {
      s.signal('SIGSTOP');
      await sleep(1500);
      s.signal('SIGCONT');
    },
  },
  {
    name: 'password',
    populate: 0,
    aof: true,
    apply: async (s) => {
      await s.restart({ signal: 'SIGKILL', options: { password: 'fault-bench-pw' } });
      await sleep(1500);
      await s.restart({ signal: 'SIGKILL', options: { password: undefined } });
    },
  },
];

const DRIVERS: Record<string, (port: number) => Promise<Driver>> = {
  redstack: async (port) => {
    const c: Client = createClient({ host: '127.0.0.1', port, commandTimeoutMs: TIMEOUT_MS });
    await c.ready();
    return {
      incr: (k) => c.cmd(['INCR', k]),
      set: (k, v) => c.cmd(['SET', k, v]),
      get: (k) => c.cmd(['GET', k]),
      replyErrorText: (e) => ((e as { code?: string }).code === 'ERR_REPLY' ? (e as Error).message : null),
      classify: (e) => {
        const code = (e as { code?: string }).code;
        return code === 'ERR_NOT_SENT' ? 'notSent' : code === 'ERR_OUTCOME_UNKNOWN' ? 'outcomeUnknown' : code === 'ERR_TIMEOUT' ? 'timeout' : 'untyped';
      },
      close: () => c.disconnect(),
    };
  },
  ioredis: async (port) => {
    const c = new IORedis({ host: '127.0.0.1', port, commandTimeout: TIMEOUT_MS, lazyConnect: true });
    c.on('error', () => undefined);
    await c.connect();
    return {
      incr: (k) => c.incr(k),
      set: (k, v) => c.set(k, v),
      get: (k) => c.get(k),
      replyErrorText: (e) => (isReplyError(e) ? (e as Error).message : null),
      classify: (e) => (/timed out/i.test((e as Error).message) ? 'timeout' : 'untyped'),
      close: () => c.disconnect(),
    };
  },
  'node-redis': (port) => nodeRedis(port, false),
  'node-redis+socketTimeout': (port) => nodeRedis(port, true),
};

export async function run(opts: RunOptions): Promise<void> {
  const onlyFaults = opts.args.filter((a) => !a.includes('='));
  const whoArg = opts.args.find((a) => a.startsWith('who='))?.slice(4).split(',');
  const faults = FAULTS.filter((f) => onlyFaults.length === 0 || onlyFaults.includes(f.name));
  const who = Object.keys(DRIVERS).filter((w) => !whoArg || whoArg.includes(w));
  const steadyMs = opts.quick ? 1000 : 1500;
  const afterMs = opts.quick ? 2000 : 3000;

  console.log(`# client-faults: ${environment()}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`# ${IN_FLIGHT} calls in flight (INCR own key / SET unique value / GET known value), command timeout ${TIMEOUT_MS} ms`);
  const rounds = opts.rounds ?? 1;
  if (rounds > 1) console.log(`# ${rounds} rounds per cell: counts summed, times are medians`);
  const runs: Counts[] = [];
  const results: Counts[] = [];
  for (const fault of faults) {
    const byWho = new Map<string, Counts[]>();
    for (let r = 0; r < rounds; r++) {
      // Rotate the order each round, as the throughput benchmarks do.
      for (let k = 0; k < who.length; k++) {
        const w = who[(k + r) % who.length]!;
        const c = await scenario(w, fault, steadyMs, afterMs);
        process.stderr.write(`  ${fault.name} ${w}: ${JSON.stringify({ ...c, series: undefined })}\n  series (per 100 ms from the fault, steady ${c.baseline}): ${c.series.join(' ')}\n`);
        runs.push(c);
        byWho.set(w, [...(byWho.get(w) ?? []), c]);
      }
    }
    for (const w of who) results.push(combine(byWho.get(w)!));
  }
  const table = printFaultTable(results);
  writeJson(opts.json, { environment: environment(), rounds, results, runs, table });
}

async function scenario(who: string, fault: Fault, steadyMs: number, afterMs: number): Promise<Counts> {
  // No automatic AOF rewrite: a fork and its disk writes during the run would slow the server for
  // whichever client wrote the most, and blur the recovery times.
  const server = fault.aof
    ? await RedisServer.start({ persistence: 'aof', config: { appendfsync: 'always', 'auto-aof-rewrite-percentage': 0 } })
    : await RedisServer.start({ persistence: 'none' });
  try {
    await prepare(server, fault.populate);
    const driver = await DRIVERS[who]!(server.port);
    const counts: Counts = {
      who,
      fault: fault.name,
      issued: 0,
      ok: 0,
      incrTwice: 0,
      neverSettled: 0,
      wrong: 0,
      lostWrites: 0,
      notSent: 0,
      outcomeUnknown: 0,
      timeout: 0,
      untyped: 0,
      loadingNoauth: 0,
      otherReplyErrors: 0,
      recoveryMs: null,
      firstOkMs: null,
      baseline: 0,
      series: [],
      errorSamples: [],
    };
    const incrKeys: string[] = [];
    const ackedSets = new Map<string, string>();
    const t0 = performance.now();
    const buckets: number[] = [];
    let pending = 0;
    let stopping = false;
    let n = 0;

    const onError = (err: unknown): void => {
      const reply = driver.replyErrorText(err);
      if (reply !== null) {
        if (/^(LOADING|NOAUTH)/.test(reply)) counts.loadingNoauth++;
        else counts.otherReplyErrors++;
      } else {
        counts[driver.classify(err)]++;
      }
      const text = `${(err as Error).constructor?.name}: ${String((err as Error).message).slice(0, 80)}`;
      if (counts.errorSamples.length < 6 && !counts.errorSamples.includes(text)) counts.errorSamples.push(text);
    };
    let faultEndAt: number | null = null;
    const succeeded = (): void => {
      counts.ok++;
      const now = performance.now();
      if (faultEndAt !== null && counts.firstOkMs === null) counts.firstOkMs = Math.round(now - faultEndAt);
      const b = Math.floor((now - t0) / BUCKET_MS);
      buckets[b] = (buckets[b] ?? 0) + 1;
    };
    const next = (): void => {
      if (stopping) return;
      const i = n++;
      counts.issued++;
      pending++;
      let p: Promise<unknown>;
      let check: (v: unknown) => boolean;
      let after: ((v: unknown) => void) | undefined;
      if (i % 3 === 0) {
        const key = `i:${i}`;
        incrKeys.push(key);
        p = driver.incr(key);
        check = (v) => Number(v) === 1;
      } else if (i % 3 === 1) {
        const key = `s:${i}`;
        const value = `v${i}:${Math.random().toString(36).slice(2)}`;
        p = driver.set(key, value);
        check = (v) => v === 'OK';
        after = () => ackedSets.set(key, value);
      } else {
        const j = i % GET_KEYS;
        p = driver.get(`g:${j}`);
        check = (v) => String(v) === `gv${j}`;
      }
      p.then(
        (v) => {
          pending--;
          if (check(v)) {
            succeeded();
            after?.(v);
          } else {
            counts.wrong++;
          }
          next();
        },
        (err: unknown) => {
          pending--;
          onError(err);
          // A failing client fails fast: do not spin, pace the next call a little.
          setTimeout(next, 1);
        },
      );
    };
    for (let k = 0; k < IN_FLIGHT; k++) next();

    await sleep(steadyMs);
    const faultStart = performance.now();
    await fault.apply(server);
    const faultEnd = performance.now();
    faultEndAt = faultEnd;
    await sleep(afterMs);
    stopping = true;
    const deadline = performance.now() + SETTLE_BOUND_MS;
    while (pending > 0 && performance.now() < deadline) await sleep(20);
    counts.neverSettled = pending;
    driver.close();

    // Steady throughput: the median 100 ms bucket before the fault (the first bucket is warm-up).
    const steady = buckets.slice(1, Math.floor((faultStart - t0) / BUCKET_MS)).map((x) => x ?? 0);
    const baseline = median(steady);
    counts.baseline = baseline;
    for (let b = Math.floor((faultStart - t0) / BUCKET_MS); b < buckets.length; b++) counts.series.push(buckets[b] ?? 0);
    const endBucket = Math.floor((faultEnd - t0) / BUCKET_MS);
    for (let b = endBucket; b < buckets.length; b++) {
      if ((buckets[b] ?? 0) >= 0.8 * baseline) {
        counts.recoveryMs = Math.max(0, Math.round((b + 1) * BUCKET_MS - (faultEnd - t0)));
        break;
      }
    }

    await verify(server, counts, incrKeys, ackedSets);
    return counts;
  } finally {
    await server.stop();
  }
}

/** Known values for the GETs, and optionally a large dataset so that a restart loads for a while. */
async function prepare(server: RedisServer, populate: number): Promise<void> {
  const c = createClient({ host: '127.0.0.1', port: server.port });
  await c.ready();
  await c.cmd(Array.from({ length: GET_KEYS }, (_, j) => ['SET', `g:${j}`, `gv${j}`]));
  if (populate > 0) {
    await c.cmd(['DEBUG', 'POPULATE', populate, 'pop', 64]);
    // Rewrite the AOF so the populated keys are in it (DEBUG POPULATE is not propagated).
    await c.cmd(['BGREWRITEAOF']);
    await waitUntil(async () => /aof_rewrite_in_progress:0/.test(String(await c.cmd(['INFO', 'persistence']))) && /aof_rewrite_scheduled:0/.test(String(await c.cmd(['INFO', 'persistence']))), 60_000, 'AOF rewrite');
  }
  await c.quit();
}

/** After the run, on a fresh connection: INCRs applied twice, acknowledged SETs lost. */
async function verify(server: RedisServer, counts: Counts, incrKeys: string[], acked: Map<string, string>): Promise<void> {
  const c = createClient({ host: '127.0.0.1', port: server.port });
  await c.ready();
  for (let i = 0; i < incrKeys.length; i += 1000) {
    const values = (await c.cmd(['MGET', ...incrKeys.slice(i, i + 1000)])) as (string | null)[];
    for (const v of values) if (v !== null && Number(v) >= 2) counts.incrTwice++;
  }
  const keys = [...acked.keys()];
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    const values = (await c.cmd(['MGET', ...batch])) as (string | null)[];
    values.forEach((v, k) => {
      if (v !== acked.get(batch[k]!)) counts.lostWrites++;
    });
  }
  await c.quit();
}

/** Sums the counters of several runs of one cell; times are medians (a run that never got there counts as never). */
function combine(runs: Counts[]): Counts {
  const out: Counts = { ...runs[0]!, errorSamples: [...runs[0]!.errorSamples] };
  const keys = ['issued', 'ok', 'incrTwice', 'neverSettled', 'wrong', 'lostWrites', 'notSent', 'outcomeUnknown', 'timeout', 'untyped', 'loadingNoauth', 'otherReplyErrors'] as const;
  for (const r of runs.slice(1)) {
    for (const k of keys) out[k] += r[k];
    for (const e of r.errorSamples) if (out.errorSamples.length < 6 && !out.errorSamples.includes(e)) out.errorSamples.push(e);
  }
  const med = (xs: (number | null)[]): number | null => {
    const v = median(xs.map((x) => x ?? Infinity));
    return Number.isFinite(v) ? v : null;
  };
  out.recoveryMs = med(runs.map((r) => r.recoveryMs));
  out.firstOkMs = med(runs.map((r) => r.firstOkMs));
  return out;
}

function printFaultTable(results: Counts[]): string {
  const cols: [string, (c: Counts) => string][] = [
    ['fault', (c) => c.fault],
    ['client', (c) => c.who],
    ['issued', (c) => String(c.issued)],
    ['ok', (c) => String(c.ok)],
    ['INCR applied twice', (c) => String(c.incrTwice)],
    ['never settled', (c) => String(c.neverSettled)],
    ['wrong replies', (c) => String(c.wrong)],
    ['acked SET lost', (c) => String(c.lostWrites)],
    ['not sent', (c) => String(c.notSent)],
    ['outcome unknown', (c) => String(c.outcomeUnknown)],
    ['timeout', (c) => String(c.timeout)],
    ['untyped', (c) => String(c.untyped)],
    ['LOADING/NOAUTH to callers', (c) => String(c.loadingNoauth)],
    ['other error replies', (c) => String(c.otherReplyErrors)],
    ['first success after', (c) => (c.firstOkMs === null ? 'none in window' : `${c.firstOkMs} ms`)],
    ['to 80% of steady', (c) => (c.recoveryMs === null ? 'not within window' : `${c.recoveryMs} ms`)],
  ];
  const out = [`| ${cols.map((c) => c[0]).join(' | ')} |`, `|${cols.map(() => '---').join('|')}|`];
  for (const r of results) out.push(`| ${cols.map((c) => c[1](r)).join(' | ')} |`);
  out.push('', 'Error samples:');
  for (const r of results) if (r.errorSamples.length) out.push(`- ${r.fault} / ${r.who}: ${r.errorSamples.join('; ')}`);
  const text = out.join('\n');
  console.log('\n## client-faults\n' + text);
  return text;
}

/**
 * node-redis's commandOptions.timeout only covers the wait before a command is written (it is
 * dropped at write), so written commands wait out a frozen server. socket.socketTimeout closes a
 * silent socket, but then the client stays closed (ClientClosedError) instead of reconnecting: both
 * configurations are measured.
 */
async function nodeRedis(port: number, socketTimeout: boolean): Promise<Driver> {
  const socket = socketTimeout ? { host: '127.0.0.1', port, socketTimeout: TIMEOUT_MS } : { host: '127.0.0.1', port };
  const c = createNodeRedis({ socket, commandOptions: { timeout: TIMEOUT_MS } });
  c.on('error', () => undefined);
  await c.connect();
  return {
    incr: (k) => c.incr(k),
    set: (k, v) => c.set(k, v),
    get: (k) => c.get(k),
    replyErrorText: (e) => (isReplyError(e) ? (e as Error).message : null),
    classify: (e) => (e instanceof Error && /Timeout/.test(e.constructor.name) ? 'timeout' : 'untyped'),
    close: () => {
      if (c.isOpen) c.destroy();
    },
  };
}

/** An error reply from Redis as the peers type it (ioredis ReplyError; node-redis ErrorReply and subclasses). */
function isReplyError(e: unknown): boolean {
  return e instanceof Error && (e.name === 'ReplyError' || /^(ReplyError|ErrorReply|SimpleError|BlobError)$/.test(e.constructor.name));
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
