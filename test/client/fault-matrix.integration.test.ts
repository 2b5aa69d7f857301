/**
 * The fault matrix (issue #3). With 100 commands continuously in flight, each fault is applied once:
 *   (a) the server killed (SIGKILL) and restarted, with appendonly yes + appendfsync always;
 *   (b) the client's connection killed with CLIENT KILL;
 *   (c) the server paused (SIGSTOP) past the command timeout, then resumed (SIGCONT);
 *   (d) the server restarted with a password for a while, then restarted without one.
 *
 * Every call is written down with its outcome, then checked against the server's data:
 * - every INCR targets a key of its own, so the key's value says exactly how often it was applied:
 *   success -> 1; outcome unknown (ERR_OUTCOME_UNKNOWN, ERR_TIMEOUT) -> absent or 1; not sent -> absent.
 *   Never 2: no INCR is applied twice. A shared counter is checked the same way in aggregate:
 *   successes <= value <= successes + unknown;
 * - every SET writes a value of its own; a confirmed SET must be on the server (AOF, fsync always), a
 *   not-sent one must not;
 * - every GET reads back a value this client SET and saw confirmed: any other reply is a reply
 *   delivered to the wrong caller; INCR must answer 1 and SET 'OK' for the same reason;
 * - every call settles within a bound, and every failure is ERR_NOT_SENT, ERR_OUTCOME_UNKNOWN or
 *   ERR_TIMEOUT;
 * - commands succeed again within a second of the fault's end (ops/s before and after are reported).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RedisServer } from '../support/redis-server.js';
import { createClient, type Client } from '../../src/client/index.js';

const WORKERS = 100;
const SETTLE_BOUND_MS = 8_000;
const COMMAND_TIMEOUT_MS = 400;
const ALLOWED = new Set(['ERR_NOT_SENT', 'ERR_OUTCOME_UNKNOWN', 'ERR_TIMEOUT']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Outcome = 'ok' | 'unknown' | 'notsent';

interface Ledger {
  incr: Map<string, Outcome>;
  sets: Map<string, { value: string; outcome: Outcome }>;
  shared: { ok: number; unknown: number; notsent: number };
  violations: string[];
  failures: Map<string, number>;
  /** Completion times of successful calls, for throughput. */
  okTimes: number[];
}

function outcomeOf(err: any): Outcome {
  return err?.code === 'ERR_NOT_SENT' ? 'notsent' : 'unknown';
}

class Load {
  readonly ledger: Ledger = { incr: new Map(), sets: new Map(), shared: { ok: 0, unknown: 0, notsent: 0 }, violations: [], failures: new Map(), okTimes: [] };
  #stop = false;
  #workers: Promise<void>[] = [];

  constructor(
    readonly client: Client,
    readonly ns: string,
  ) {}

  start(): void {
    for (let w = 0; w < WORKERS; w++) this.#workers.push(this.#worker(w));
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await Promise.all(this.#workers);
  }

  /** Runs one call; returns its reply, or the error (typed check, outcome) as undefined. */
  async #call(what: string, p: Promise<unknown>): Promise<{ ok: true; v: unknown } | { ok: false; e: any }> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<'unsettled'>((r) => (timer = setTimeout(() => r('unsettled'), SETTLE_BOUND_MS)));
    const r = await Promise.race([p.then((v) => ({ ok: true as const, v }), (e) => ({ ok: false as const, e })), bound]);
    clearTimeout(timer);
    const L = this.ledger;
    if (r === 'unsettled') {
      L.violations.push(`${what}: not settled within ${SETTLE_BOUND_MS} ms`);
      p.catch(() => undefined);
      return { ok: false, e: { code: 'UNSETTLED' } };
    }
    if (r.ok) {
      L.okTimes.push(performance.now());
    } else {
      const code = r.e?.code ?? String(r.e);
      L.failures.set(code, (L.failures.get(code) ?? 0) + 1);
      if (!ALLOWED.has(code)) L.violations.push(`${what}: untyped or unexpected failure ${code} ${r.e?.prefix ?? ''} ${r.e?.message ?? ''}`);
    }
    return r;
  }

  async #worker(w: number): Promise<void> {
    const c = this.client;
    const L = this.ledger;
    const confirmed: string[] = [];
    for (let seq = 0; !this.#stop; seq++) {
      const op = (seq + w) % 4;
      if (op === 0) {
        const key = `${this.ns}:i:${w}:${seq}`;
        const r = await this.#call('INCR', c.cmd(['INCR', key]));
        if (r.ok) {
          if (r.v !== 1) L.violations.push(`INCR ${key} answered ${JSON.stringify(r.v)}: not its reply`);
          L.incr.set(key, 'ok');
        } else {
          L.incr.set(key, outcomeOf(r.e));
        }
      } else if (op === 1) {
        const r = await this.#call('INCR shared', c.cmd(['INCR', `${this.ns}:shared`]));
        if (r.ok) {
          if (typeof r.v !== 'number') L.violations.push(`shared INCR answered ${JSON.stringify(r.v)}: not its reply`);
          L.shared.ok++;
        } else {
          L.shared[outcomeOf(r.e)]++;
        }
      } else if (op === 2) {
        const key = `${this.ns}:s:${w}:${seq}`;
        const value = `${key}:${Math.random().toString(36).slice(2)}`;
        const r = await this.#call('SET', c.cmd(['SET', key, value]));
        if (r.ok) {
          if (r.v !== 'OK') L.violations.push(`SET ${key} answered ${JSON.stringify(r.v)}: not its reply`);
          L.sets.set(key, { value, outcome: 'ok' });
          confirmed.push(key);
        } else {
          L.sets.set(key, { value, outcome: outcomeOf(r.e) });
        }
      } else {
        if (confirmed.length === 0) continue;
        const key = confirmed[Math.floor(Math.random() * confirmed.length)]!;
        const r = await this.#call('GET', c.cmd(['GET', key]));
        if (r.ok && r.v !== L.sets.get(key)!.value) {
          L.violations.push(`GET ${key} answered ${JSON.stringify(r.v)}: ${r.v === null ? 'a confirmed write was lost' : 'not its reply'}`);
        }
      }
    }
  }
}

/** Checks the ledger against the server's data; returns the violations found. */
async function audit(server: RedisServer, load: Load): Promise<{ violations: string[]; counts: Record<string, number> }> {
  const L = load.ledger;
  const v: string[] = [...L.violations];
  const checker = createClient({ port: server.port, password: server.options.password });
  try {
    const incrKeys = [...L.incr.keys()];
    const incrVals = (await checker.cmd(incrKeys.map((k) => ['GET', k]))) as (string | null)[];
    const counts = { incrOk: 0, incrUnknown: 0, incrNotSent: 0, incrUnknownApplied: 0, setOk: 0, setUnknown: 0, setNotSent: 0 };
    incrKeys.forEach((k, i) => {
      const o = L.incr.get(k)!;
      const val = incrVals[i];
      if (val !== null && val !== '1') v.push(`INCR ${k} applied ${val} times`);
      if (o === 'ok') {
        counts.incrOk++;
        if (val !== '1') v.push(`INCR ${k} succeeded but the key holds ${val}`);
      } else if (o === 'notsent') {
        counts.incrNotSent++;
        if (val !== null) v.push(`INCR ${k} failed as not sent but was applied`);
      } else {
        counts.incrUnknown++;
        if (val === '1') counts.incrUnknownApplied++;
      }
    });
    const setKeys = [...L.sets.keys()];
    const setVals = (await checker.cmd(setKeys.map((k) => ['GET', k]))) as (string | null)[];
    setKeys.forEach((k, i) => {
      const { value, outcome } = L.sets.get(k)!;
      const val = setVals[i];
      if (val !== null && val !== value) v.push(`SET ${k} holds a value nobody wrote`);
      if (outcome === 'ok') {
        counts.setOk++;
        if (val !== value) v.push(`SET ${k} succeeded but the value is ${val === null ? 'missing' : 'different'}`);
      } else if (outcome === 'notsent') {
        counts.setNotSent++;
        if (val !== null) v.push(`SET ${k} failed as not sent but was applied`);
      } else {
        counts.setUnknown++;
      }
    });
    const shared = Number((await checker.cmd(['GET', `${load.ns}:shared`])) ?? 0);
    const { ok, unknown } = L.shared;
    if (shared < ok || shared > ok + unknown) v.push(`shared counter ${shared} outside [${ok}, ${ok + unknown}]`);
    return { violations: v, counts: { ...counts, sharedValue: shared, sharedOk: ok, sharedUnknown: unknown, sharedNotSent: L.shared.notsent } };
  } finally {
    checker.disconnect();
  }
}

function opsBetween(times: number[], from: number, to: number): number {
  let n = 0;
  for (const t of times) if (t >= from && t < to) n++;
  return n;
}

interface Fault {
  name: string;
  /** Applies the fault and returns when it has ended (server back, resumed...). */
  apply(server: RedisServer): Promise<void>;
}

const FAULTS: Fault[] = [
  {
    name: '(a) server SIGKILLed and restarted (appendonly yes, appendfsync always)',
    // Down for half a second, so that commands also queue offline and the backoff comes into play.
    apply: (server) => server.restart({ signal: 'SIGKILL', downMs: 500 }),
  },
  {
    name: '(b) connection killed with CLIENT KILL',
    apply: async (server) => {
      const killed = Number(server.cli('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
      assert.ok(killed >= 1, 'the client connection was killed');
    },
  },
  {
    name: '(c) server paused (SIGSTOP) past the command timeout, then SIGCONT',
    apply: async (server) => {
      server.signal('SIGSTOP');
      await sleep(COMMAND_TIMEOUT_MS * 3);
      server.signal('SIGCONT');
    },
  },
  {
    name: '(d) server restarted with a password for a while, then without',
    apply: async (server) => {
      await server.restart({ options: { password: 'rotated' } });
      await sleep(800);
      await server.restart({ options: { password: undefined } });
    },
  },
];

for (const fault of FAULTS) {
  test(`fault matrix ${fault.name}: nothing applied twice, nothing unsettled, no misrouted reply, typed failures, back within 1 s`, async (t) => {
    const server = await RedisServer.start({ persistence: 'aof', config: { appendfsync: 'always' } });
    const client = createClient({ port: server.port, commandTimeoutMs: COMMAND_TIMEOUT_MS, clientName: 'matrix' });
    const errors: string[] = [];
    client.on('error', (e: any) => errors.push(e.code));
    const load = new Load(client, `fm${fault.name[1]}`);
    try {
      await client.ready();
      load.start();
      await sleep(1_000);
      const faultAt = performance.now();
      await fault.apply(server);
      const endedAt = performance.now();
      await sleep(1_200);
      await load.stop();
      server.signal('SIGCONT');

      const L = load.ledger;
      const firstOk = L.okTimes.filter((x) => x >= endedAt).sort((a, b) => a - b)[0];
      const recoveryMs = firstOk === undefined ? Infinity : firstOk - endedAt;
      const before = opsBetween(L.okTimes, faultAt - 1_000, faultAt);
      const after = firstOk === undefined ? 0 : opsBetween(L.okTimes, firstOk, firstOk + 1_000);
      const { violations, counts } = await audit(server, load);
      t.diagnostic(`failures ${JSON.stringify(Object.fromEntries(L.failures))}; error events ${JSON.stringify([...new Set(errors)])}`);
      t.diagnostic(`ledger ${JSON.stringify(counts)}`);
      t.diagnostic(`fault lasted ${Math.round(endedAt - faultAt)} ms; first success ${Math.round(recoveryMs)} ms after its end; ops/s before ${before}, in the second after recovery ${after}`);

      assert.deepEqual(violations.slice(0, 20), [], `${violations.length} violations`);
      assert.ok(counts.incrOk! > 100 && counts.setOk! > 100, 'the load really ran');
      assert.ok(L.failures.size > 0 || fault.name.startsWith('(b)'), 'the fault really hit in-flight commands');
      assert.ok(recoveryMs < 1_000, `commands succeed again within 1 s of the fault's end (took ${Math.round(recoveryMs)} ms)`);
    } finally {
      server.signal('SIGCONT');
      await load.stop();
      client.disconnect();
      await server.stop();
    }
  });
}
