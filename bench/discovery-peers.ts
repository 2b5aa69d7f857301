/**
 * `npm run bench -- discovery-peers [--quick] [--rounds JOINS] [--json FILE]`: the registry beside
 * etcd and Serf, in one run on this machine, with the issue's anchors' size: M members (default 20).
 *
 * Each system gets M members, each keeping its own view of the group, and then:
 *   join   a new member's join call -> the last of the M views has it (J joins, default 30; the new
 *          member leaves again between joins, and every view must have dropped it first)
 *   kill   a member in a process of its own is SIGKILLed at a random point of its heartbeat -> the
 *          last of the M views has dropped it (K kills, default 3); for redstack also -> the last
 *          view has it as suspect (missed heartbeats; etcd has no such state, and Serf's suspicion
 *          stays inside its agents: members show alive until failed)
 *
 * The systems, all with a 1 s heartbeat and a 3 s TTL where they have one:
 *   redstack  M Grids in this process, each with its own connections, on a redis-server of its own;
 *             a join is joinGrid() (connect included), the killed member is a child running joinGrid
 *   etcd      one etcd server (Debian's etcd-server, 3.4) on free ports; a member holds a 3 s lease,
 *             kept alive every second, and a key under the group's prefix bound to it; a view is a
 *             watch on the prefix (the HTTP gateway's JSON stream). A join is lease grant + put; the
 *             killed member is a child keeping its lease alive
 *   Serf      M `serf agent` processes (LAN profile) on loopback ports; a view is one agent's member
 *             list, polled every 10 ms over its RPC connection (msgpack), members alive only. A join
 *             is the RPC `join` of an agent started beforehand (so Go's start-up is not counted);
 *             the killed member is an agent. Serf has no TTL: it suspects, then declares failed.
 *
 * Prints the medians and p99s side by side and redstack's ratios to each. A system whose binary is
 * missing is skipped with the line that installs it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeMultiStream, encode } from '@msgpack/msgpack';
import { joinGrid, type Grid } from '../src/discovery/index.js';
import { RedisServer } from '../test/support/redis-server.js';
import { freePort } from '../test/support/free-port.js';
import { environment, median, percentile, writeJson } from './lib.js';

const HB = 1000;
const TTL = 3000;
const CHILD = 'REDSTACK_PEERS_CHILD';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `up` every 50 ms until it answers true; a peer that is not up within 10 s fails the run. */
async function started(up: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; !(await up()); i++) {
    if (i > 200) throw new Error(`${what} did not start within 10 s`);
    await sleep(50);
  }
}
const now = () => performance.timeOrigin + performance.now();

/** One system under test: M views, a way to join one more member, a member to kill. */
interface System {
  readonly name: string;
  /** Resolves with each view's time of first having `id` (`present`) or of having lost it. */
  watch(id: string, present: boolean): Promise<number[]>;
  /** Where the system has a suspect state: each view's time of first suspecting `id`. */
  watchSuspect?(id: string): Promise<number[]>;
  /** Joins member `id`; resolves when the call returns. */
  join(id: string): Promise<void>;
  /** Makes `id` (joined by join()) leave, gracefully. */
  leave(id: string): Promise<void>;
  /** Starts member `id` in a process of its own; resolves once it is a member. */
  spawnVictim(id: string): Promise<ChildProcess>;
  /** Work before a timed join that is not part of it (Serf: starting the new agent's process). */
  prepare?(id: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Views as sets of ids, with waiters for one id to appear in or vanish from every view. Each system
 * calls `update` from its own event source (events for redstack and etcd, polls for Serf).
 */
class Views {
  readonly sets: Set<string>[];
  #waiters: { id: string; present: boolean; times: (number | undefined)[]; done: (t: number[]) => void }[] = [];

  constructor(m: number) {
    this.sets = Array.from({ length: m }, () => new Set<string>());
  }

  add(view: number, id: string, t = now()): void {
    this.sets[view]!.add(id);
    this.#check(view, t);
  }

  remove(view: number, id: string, t = now()): void {
    this.sets[view]!.delete(id);
    this.#check(view, t);
  }

  replace(view: number, ids: Set<string>, t = now()): void {
    this.sets[view] = ids;
    this.#check(view, t);
  }

  wait(id: string, present: boolean): Promise<number[]> {
    return new Promise((done) => {
      const w = { id, present, times: this.sets.map(() => undefined as number | undefined), done };
      this.#waiters.push(w);
      for (let v = 0; v < this.sets.length; v++) this.#check(v, now());
    });
  }

  #check(view: number, t: number): void {
    for (const w of this.#waiters) {
      if (w.times[view] === undefined && this.sets[view]!.has(w.id) === w.present) w.times[view] = t;
    }
    this.#waiters = this.#waiters.filter((w) => {
      if (w.times.some((x) => x === undefined)) return true;
      w.done(w.times as number[]);
      return false;
    });
  }
}

// -------------------------------------------------------------------------------------------------
// redstack

async function redstack(m: number): Promise<System> {
  const server = await RedisServer.start();
  const ns = 'peers';
  const views = new Views(m);
  const suspected = new Views(m);
  const grids: Grid[] = [];
  for (let i = 0; i < m; i++) {
    const g = await joinGrid({ redis: server.url, namespace: ns, id: `member-${i}`, heartbeatMs: HB, ttlMs: TTL, handleSignals: false });
    for (const n of g.nodes()) views.add(i, n.id);
    g.on('join', (n) => views.add(i, n.id));
    g.on('leave', (n) => views.remove(i, n.id));
    g.on('suspect', (n, reason) => reason === 'missed-heartbeat' && suspected.add(i, n.id));
    grids.push(g);
  }
  for (let i = 0; i < m; i++) await views.wait(`member-${i}`, true);
  const joined = new Map<string, Grid>();
  return {
    name: 'redstack',
    watch: (id, present) => views.wait(id, present),
    watchSuspect: (id) => suspected.wait(id, true),
    join: async (id) => void joined.set(id, await joinGrid({ redis: server.url, namespace: ns, id, heartbeatMs: HB, ttlMs: TTL, handleSignals: false })),
    leave: async (id) => {
      await joined.get(id)?.leave();
      joined.delete(id);
    },
    spawnVictim: (id) => child('redstack', { url: server.url, ns, id }),
    close: async () => {
      for (const g of [...grids, ...joined.values()]) await g.leave().catch(() => {});
      await server.stop();
    },
  };
}

// -------------------------------------------------------------------------------------------------
// etcd, through its HTTP/JSON gateway (keys and values in base64)

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString();

async function etcdCall(base: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}${path}`, { method: 'POST', body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${text}`);
  return JSON.parse(text.split('\n')[0]!) as Record<string, unknown>;
}

/** A member: a lease kept alive every heartbeat and a key bound to it. */
async function etcdMember(base: string, prefix: string, id: string): Promise<{ stop(): Promise<void> }> {
  const lease = String((await etcdCall(base, '/v3/lease/grant', { TTL: TTL / 1000 })).ID);
  await etcdCall(base, '/v3/kv/put', { key: b64(prefix + id), value: b64(JSON.stringify({ id })), lease });
  const timer = setInterval(() => void etcdCall(base, '/v3/lease/keepalive', { ID: lease }).catch(() => {}), HB);
  return {
    stop: async () => {
      clearInterval(timer);
      await etcdCall(base, '/v3/lease/revoke', { ID: lease });
    },
  };
}

/** A view: a watch on the prefix, one JSON message per line; calls back per PUT / DELETE. */
function etcdWatch(port: number, prefix: string, on: (type: 'PUT' | 'DELETE', id: string) => void): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v3/watch', agent: false }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) !== -1) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!line.trim()) continue;
          const r = (JSON.parse(line) as { result?: { created?: boolean; events?: { type?: string; kv: { key: string } }[] } }).result;
          if (r?.created) resolve(() => req.destroy());
          for (const e of r?.events ?? []) on(e.type === 'DELETE' ? 'DELETE' : 'PUT', unb64(e.kv.key).slice(prefix.length));
        }
      });
    });
    req.on('error', reject);
    req.end(JSON.stringify({ create_request: { key: b64(prefix), range_end: b64(end) } }));
  });
}

async function etcd(m: number): Promise<System> {
  const dir = mkdtempSync(join(tmpdir(), 'redstack-etcd-'));
  const [port, peer] = [await freePort(), await freePort()];
  const proc = spawn('etcd', [
    '--data-dir', dir, '--name', 'bench',
    '--listen-client-urls', `http://127.0.0.1:${port}`, '--advertise-client-urls', `http://127.0.0.1:${port}`,
    '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
    '--initial-cluster', `bench=http://127.0.0.1:${peer}`,
  ], { stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  await started(() => fetch(`${base}/health`).then((r) => r.ok, () => false), 'etcd');
  const prefix = '/peers/';
  const views = new Views(m);
  const unwatch: (() => void)[] = [];
  for (let i = 0; i < m; i++) unwatch.push(await etcdWatch(port, prefix, (type, id) => (type === 'PUT' ? views.add(i, id) : views.remove(i, id))));
  const members: { stop(): Promise<void> }[] = [];
  for (let i = 0; i < m; i++) members.push(await etcdMember(base, prefix, `member-${i}`));
  for (let i = 0; i < m; i++) await views.wait(`member-${i}`, true);
  const joined = new Map<string, { stop(): Promise<void> }>();
  return {
    name: 'etcd',
    watch: (id, present) => views.wait(id, present),
    join: async (id) => void joined.set(id, await etcdMember(base, prefix, id)),
    leave: async (id) => {
      await joined.get(id)?.stop();
      joined.delete(id);
    },
    spawnVictim: (id) => child('etcd', { url: base, ns: prefix, id }),
    close: async () => {
      for (const u of unwatch) u();
      for (const x of [...members, ...joined.values()]) await x.stop().catch(() => {});
      proc.kill('SIGKILL');
      await new Promise((r) => proc.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// -------------------------------------------------------------------------------------------------
// Serf: agents, and their RPC protocol (msgpack: a header map, then a body map when there is one)

class SerfRpc {
  readonly #sock: Socket;
  readonly #in: AsyncGenerator<unknown>;
  #seq = 0;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(sock: Socket) {
    this.#sock = sock;
    this.#in = decodeMultiStream(sock) as AsyncGenerator<unknown>;
  }

  static async open(port: number): Promise<SerfRpc> {
    const sock = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
    sock.setNoDelay(true);
    const rpc = new SerfRpc(sock);
    await rpc.call('handshake', { Version: 1 }, false);
    return rpc;
  }

  /** One command at a time on the connection: the answers carry no type, only the order tells. */
  call(command: string, body: unknown, hasReply = true): Promise<Record<string, unknown> | undefined> {
    const p = this.#queue.then(async () => {
      const seq = this.#seq++;
      this.#sock.write(encode({ Command: command, Seq: seq }));
      if (body !== undefined) this.#sock.write(encode(body));
      const header = (await this.#in.next()).value as { Seq: number; Error: string };
      if (header.Error) throw new Error(`serf ${command}: ${header.Error}`);
      return hasReply ? ((await this.#in.next()).value as Record<string, unknown>) : undefined;
    });
    this.#queue = p.catch(() => {});
    return p;
  }

  close(): void {
    this.#sock.destroy();
  }
}

interface SerfAgent {
  name: string;
  bind: number;
  rpcPort: number;
  proc: ChildProcess;
}

async function startSerfAgent(name: string, joinTo?: number): Promise<SerfAgent> {
  const [bind, rpcPort] = [await freePort(), await freePort()];
  const args = ['agent', `-node=${name}`, `-bind=127.0.0.1:${bind}`, `-rpc-addr=127.0.0.1:${rpcPort}`, '-profile=lan', '-log-level=err'];
  if (joinTo) args.push(`-join=127.0.0.1:${joinTo}`, '-retry-interval=1s');
  const proc = spawn('serf', args, { stdio: 'ignore' });
  const listening = () =>
    new Promise<boolean>((resolve) => {
      const s = connect(rpcPort, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
  await started(listening, `serf agent ${name}`);
  return { name, bind, rpcPort, proc };
}

async function serf(m: number): Promise<System> {
  const views = new Views(m);
  const agents: SerfAgent[] = [await startSerfAgent('member-0')];
  for (let i = 1; i < m; i++) agents.push(await startSerfAgent(`member-${i}`, agents[0]!.bind));
  const rpcs = await Promise.all(agents.map((a) => SerfRpc.open(a.rpcPort)));
  let polling = true;
  const polls = rpcs.map(async (rpc, i) => {
    while (polling) {
      const r = await rpc.call('members', undefined).catch(() => undefined);
      const alive = new Set<string>();
      for (const mem of (r?.Members ?? []) as { Name: string; Status: string }[]) if (mem.Status === 'alive') alive.add(mem.Name);
      views.replace(i, alive);
      await sleep(10);
    }
  });
  for (let i = 0; i < m; i++) await views.wait(`member-${i}`, true);
  const pending = new Map<string, { agent: SerfAgent; rpc: SerfRpc }>();
  const leaving: SerfAgent[] = [];
  return {
    name: 'Serf',
    watch: (id, present) => views.wait(id, present),
    prepare: async (id) => {
      const agent = await startSerfAgent(id);
      pending.set(id, { agent, rpc: await SerfRpc.open(agent.rpcPort) });
    },
    join: async (id) => {
      // Started by prepare(), before the clock runs; joined by RPC like `serf join`.
      const p = pending.get(id)!;
      await p.rpc.call('join', { Existing: [`127.0.0.1:${agents[0]!.bind}`], Replay: false });
    },
    leave: async (id) => {
      const p = pending.get(id)!;
      // The agent leaves gracefully, then lingers to spread the news; it is not waited for.
      await p.rpc.call('leave', undefined, false).catch(() => {});
      p.rpc.close();
      leaving.push(p.agent);
      pending.delete(id);
    },
    spawnVictim: async (id) => {
      const a = await startSerfAgent(id, agents[0]!.bind);
      return a.proc;
    },
    close: async () => {
      polling = false;
      await Promise.all(polls);
      for (const r of rpcs) r.close();
      for (const a of agents) a.proc.kill('SIGKILL');
      for (const p of pending.values()) p.agent.proc.kill('SIGKILL');
      for (const a of leaving) a.proc.kill('SIGKILL');
    },
  };
}

// -------------------------------------------------------------------------------------------------
// Victims: members in processes of their own (this file, re-run with REDSTACK_PEERS_CHILD)

function child(kind: 'redstack' | 'etcd', o: { url: string; ns: string; id: string }): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, [CHILD]: JSON.stringify({ kind, ...o }) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    proc.stdout!.once('data', () => resolve(proc));
    proc.once('exit', (code) => reject(new Error(`the ${kind} member process exited (${code}) before joining`)));
  });
}

async function runChild(spec: { kind: 'redstack' | 'etcd'; url: string; ns: string; id: string }): Promise<void> {
  if (spec.kind === 'redstack') await joinGrid({ redis: spec.url, namespace: spec.ns, id: spec.id, heartbeatMs: HB, ttlMs: TTL, handleSignals: false });
  else await etcdMember(spec.url, spec.ns, spec.id);
  process.stdout.write('joined\n');
}

// -------------------------------------------------------------------------------------------------

interface Result {
  name: string;
  joinMs: number[];
  killMs: number[];
  /** SIGKILL to suspected by every view, where the system has a suspect state. */
  suspectMs: number[];
}

function available(bin: string): boolean {
  return spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0 || spawnSync(bin, ['version'], { stdio: 'ignore' }).status === 0;
}

async function measure(sys: System, joins: number, kills: number): Promise<Result> {
  const r: Result = { name: sys.name, joinMs: [], killMs: [], suspectMs: [] };
  for (let j = 0; j < joins; j++) {
    const id = `new-${j}`;
    await sys.prepare?.(id);
    const seen = sys.watch(id, true);
    const t0 = now();
    await sys.join(id);
    r.joinMs.push(Math.max(...(await seen)) - t0);
    const gone = sys.watch(id, false);
    await sys.leave(id);
    await gone;
    await sleep(50 + Math.random() * 100);
  }
  console.log(`  ${sys.name}: join p50 ${median(r.joinMs).toFixed(1)} ms, p99 ${percentile(r.joinMs, 99).toFixed(1)} ms (${joins} joins)`);
  for (let k = 0; k < kills; k++) {
    const id = `victim-${k}`;
    const seen = sys.watch(id, true);
    const proc = await sys.spawnVictim(id);
    await seen;
    await sleep(HB + Math.random() * HB);
    const gone = sys.watch(id, false);
    const suspected = sys.watchSuspect?.(id);
    const t0 = now();
    proc.kill('SIGKILL');
    r.killMs.push(Math.max(...(await gone)) - t0);
    if (suspected) r.suspectMs.push(Math.max(...(await suspected)) - t0);
  }
  const suspects = r.suspectMs.length ? `; suspected by every view ${r.suspectMs.map((x) => `${x.toFixed(0)} ms`).join(', ')}` : '';
  console.log(`  ${sys.name}: SIGKILL -> dropped by every view ${r.killMs.map((x) => `${x.toFixed(0)} ms`).join(', ')}${suspects}`);
  return r;
}

export async function run(opts: { json?: string; rounds?: number; quick?: boolean }): Promise<void> {
  const m = Number(process.env.DISCOVERY_PEERS_MEMBERS ?? (opts.quick ? 10 : 20));
  const joins = opts.rounds ?? (opts.quick ? 10 : 30);
  const kills = opts.quick ? 2 : 3;
  console.log(environment());
  console.log(`${m} members each; heartbeat ${HB} ms, TTL ${TTL} ms; ${joins} joins and ${kills} kills per system`);
  const makers: [string, string, (m: number) => Promise<System>][] = [
    ['redstack', 'redis-server', redstack],
    ['etcd', 'etcd', etcd],
    ['Serf', 'serf', serf],
  ];
  const results: Result[] = [];
  const t0 = performance.now();
  for (const [name, bin, make] of makers) {
    if (!available(bin)) {
      console.log(`  ${name}: skipped, \`${bin}\` not found (apt-get install ${bin === 'etcd' ? 'etcd-server' : bin})`);
      continue;
    }
    const sys = await make(m);
    try {
      results.push(await measure(sys, joins, kills));
    } finally {
      await sys.close();
    }
  }

  const ours = results.find((r) => r.name === 'redstack');
  const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const out = [
    '',
    `### ${m} members, same run (join: call -> last view has it; kill: SIGKILL -> last view dropped it)`,
    '',
    '| system | join p50 ms | join p99 ms | SIGKILL to dropped, median ms | min - max | SIGKILL to suspected, median ms | redstack join p50 vs it | redstack SIGKILL vs it |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const ratio = (a: number, b: number) => (ours ? `${(a / b).toFixed(2)}x` : '-');
    out.push(
      `| ${r.name} | ${fmt(median(r.joinMs))} | ${fmt(percentile(r.joinMs, 99))} | ${fmt(median(r.killMs))} | ${fmt(Math.min(...r.killMs))} - ${fmt(Math.max(...r.killMs))} | ${r.suspectMs.length ? fmt(median(r.suspectMs)) : 'n/a'} | ${ours ? ratio(median(ours.joinMs), median(r.joinMs)) : '-'} | ${ours ? ratio(median(ours.killMs), median(r.killMs)) : '-'} |`,
    );
  }
  out.splice(2, 0, `${environment()}; whole run ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  console.log(out.join('\n'));
  if (opts.json) writeJson(opts.json, { env: environment(), members: m, heartbeatMs: HB, ttlMs: TTL, results });
}

if (process.env[CHILD]) void runChild(JSON.parse(process.env[CHILD]!));
