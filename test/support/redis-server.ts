/**
 * Starts real redis-server processes on free ports in temp dirs for tests and benchmarks.
 *
 * Every server is registered so that it is killed when the test process exits, even when a test
 * fails or forgets to stop it. Nothing here ever touches the machine's own Redis on 6379.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

export interface AclUser {
  name: string;
  password: string;
  /** ACL rules, default '~* &* +@all'. */
  rules?: string;
}

export interface RedisServerOptions {
  password?: string;
  users?: AclUser[];
  /** Serve TLS (on `port`) with a freshly generated self-signed certificate. */
  tls?: boolean;
  /** RDB snapshots and/or AOF. Off by default: tests that need them ask. */
  persistence?: 'none' | 'rdb' | 'aof';
  /** Extra `--name value` pairs for redis-server. */
  config?: Record<string, string | number>;
  /** Make this server a replica of host:port. */
  replicaOf?: { host: string; port: number; password?: string };
  /** Use this port instead of a free one (restart on the same port). */
  port?: number;
  /** Use this directory (kept by restart()). */
  dir?: string;
}

const live = new Set<ChildProcess>();
const dirs = new Set<string>();
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

export class RedisServer {
  readonly port: number;
  readonly dir: string;
  readonly options: RedisServerOptions;
  child: ChildProcess | undefined;
  tlsFiles: { cert: string; key: string; ca: string } | undefined;

  private constructor(port: number, dir: string, options: RedisServerOptions) {
    this.port = port;
    this.dir = dir;
    this.options = options;
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const port = options.port ?? (await freePort());
    const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'redstack-redis-'));
    dirs.add(dir);
    const server = new RedisServer(port, dir, options);
    await server.#spawn();
    return server;
  }

  get host(): string {
    return '127.0.0.1';
  }

  /** redis:// (or rediss://) URL with the default user's password when one is set. */
  get url(): string {
    const scheme = this.options.tls ? 'rediss' : 'redis';
    const auth = this.options.password ? `:${encodeURIComponent(this.options.password)}@` : '';
    return `${scheme}://${auth}127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  #args(): string[] {
    const o = this.options;
    const args = [
      '--bind', '127.0.0.1',
      '--port', String(o.tls ? 0 : this.port),
      '--dir', this.dir,
      '--daemonize', 'no',
      '--logfile', join(this.dir, 'redis.log'),
      '--save', o.persistence === 'rdb' ? '3600 1' : '',
      '--appendonly', o.persistence === 'aof' ? 'yes' : 'no',
      '--enable-debug-command', 'yes',
    ];
    if (o.password) args.push('--requirepass', o.password);
    if (o.users?.length) {
      const aclFile = join(this.dir, 'users.acl');
      const lines = o.users.map((u) => `user ${u.name} on >${u.password} ${u.rules ?? '~* &* +@all'}`);
      if (o.password) lines.unshift(`user default on >${o.password} ~* &* +@all`);
      else lines.unshift('user default on nopass ~* &* +@all');
      writeFileSync(aclFile, lines.join('\n') + '\n');
      args.push('--aclfile', aclFile);
    }
    if (o.tls) {
      this.tlsFiles ??= generateCert(this.dir);
      args.push(
        '--tls-port', String(this.port),
        '--tls-cert-file', this.tlsFiles.cert,
        '--tls-key-file', this.tlsFiles.key,
        '--tls-ca-cert-file', this.tlsFiles.ca,
        '--tls-auth-clients', 'no',
      );
    }
    if (o.replicaOf) {
      args.push('--replicaof', o.replicaOf.host, String(o.replicaOf.port));
      if (o.replicaOf.password) args.push('--masterauth', o.replicaOf.password);
    }
    for (const [k, v] of Object.entries(o.config ?? {})) args.push(`--${k}`, String(v));
    return args;
  }

  async #spawn(): Promise<void> {
    const child = spawn('redis-server', this.#args(), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    live.add(child);
    child.on('exit', () => live.delete(child));
    this.child = child;
    try {
      await waitForPort(this.port, 10_000, () => child.exitCode !== null || child.signalCode !== null);
    } catch (err) {
      const log = existsSync(join(this.dir, 'redis.log')) ? readFileSync(join(this.dir, 'redis.log'), 'utf8') : '';
      child.kill('SIGKILL');
      throw new Error(`redis-server on ${this.port} did not start: ${(err as Error).message}\n${stderr}\n${log.slice(-2000)}`);
    }
  }

  /** Runs redis-cli against this server and returns its output (for setup steps, not under test). */
  cli(...args: string[]): string {
    const base = ['-h', '127.0.0.1', '-p', String(this.port), '--no-auth-warning'];
    if (this.options.password) base.push('-a', this.options.password);
    if (this.options.tls && this.tlsFiles) base.push('--tls', '--cacert', this.tlsFiles.ca);
    const r = spawnSync('redis-cli', [...base, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`redis-cli ${args[0]} failed: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** Sends a signal: SIGKILL to crash, SIGSTOP / SIGCONT to freeze and thaw. */
  signal(sig: NodeJS.Signals): void {
    this.child?.kill(sig);
  }

  async kill(): Promise<void> {
    await this.#stopWith('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.#stopWith('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
    dirs.delete(this.dir);
  }

  async #stopWith(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGCONT');
    child.kill(sig);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  /** Stops (SIGKILL by default) and starts again on the same port and dir, optionally with new options. */
  async restart(opts: { signal?: NodeJS.Signals; downMs?: number; options?: Partial<RedisServerOptions> } = {}): Promise<void> {
    await this.#stopWith(opts.signal ?? 'SIGKILL');
    if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
    Object.assign(this.options, opts.options ?? {});
    await this.#spawn();
  }
}

/** Resolves when a TCP connect to the port succeeds. */
export async function waitForPort(port: number, timeoutMs: number, gaveUp: () => boolean = () => false): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (gaveUp()) throw new Error('process exited');
    if (Date.now() > deadline) throw new Error(`port ${port} not open after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function generateCert(dir: string): { cert: string; key: string; ca: string } {
  const key = join(dir, 'tls.key');
  const cert = join(dir, 'tls.crt');
  const r = spawnSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
    '-keyout', key, '-out', cert, '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ], { stdio: 'ignore' });
  if (r.status !== 0) throw new Error('openssl could not generate a test certificate');
  return { cert, key, ca: cert };
}

/** A master and a replica that has finished its initial sync. */
export async function startReplicaPair(options: RedisServerOptions = {}): Promise<{ master: RedisServer; replica: RedisServer; stop(): Promise<void> }> {
  const master = await RedisServer.start(options);
  const replica = await RedisServer.start({
    ...options,
    replicaOf: { host: '127.0.0.1', port: master.port, password: options.password },
  });
  await waitUntil(() => /master_link_status:up/.test(replica.cli('INFO', 'replication')), 10_000);
  return { master, replica, stop: async () => void (await Promise.all([replica.stop(), master.stop()])) };
}

/** Six nodes (3 masters, 3 replicas) joined into a cluster with all slots covered. */
export async function startCluster(nodes = 6, replicas = 1): Promise<{ nodes: RedisServer[]; stop(): Promise<void> }> {
  const servers = await Promise.all(
    Array.from({ length: nodes }, () =>
      RedisServer.start({ config: { 'cluster-enabled': 'yes', 'cluster-node-timeout': 2000 } }),
    ),
  );
  const r = spawnSync('redis-cli', [
    '--cluster', 'create', ...servers.map((s) => `127.0.0.1:${s.port}`),
    '--cluster-replicas', String(replicas), '--cluster-yes',
  ], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cluster create failed: ${r.stdout}${r.stderr}`);
  await waitUntil(() => servers.every((s) => /cluster_state:ok/.test(s.cli('CLUSTER', 'INFO'))), 20_000);
  return { nodes: servers, stop: async () => void (await Promise.all(servers.map((s) => s.stop()))) };
}

/** Sentinels watching `master` under the name `mymaster`. */
export async function startSentinels(master: RedisServer, count = 3, name = 'mymaster'): Promise<{ sentinels: SentinelProcess[]; stop(): Promise<void> }> {
  const sentinels: SentinelProcess[] = [];
  for (let i = 0; i < count; i++) sentinels.push(await SentinelProcess.start(master, name, Math.min(2, count)));
  return { sentinels, stop: async () => void (await Promise.all(sentinels.map((s) => s.stop()))) };
}

export class SentinelProcess {
  constructor(readonly port: number, readonly dir: string, readonly child: ChildProcess) {}

  static async start(master: RedisServer, name: string, quorum: number): Promise<SentinelProcess> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'redstack-sentinel-'));
    dirs.add(dir);
    const conf = join(dir, 'sentinel.conf');
    const lines = [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `logfile ${join(dir, 'sentinel.log')}`,
      `sentinel monitor ${name} 127.0.0.1 ${master.port} ${quorum}`,
      `sentinel down-after-milliseconds ${name} 1000`,
      `sentinel failover-timeout ${name} 5000`,
      `sentinel parallel-syncs ${name} 1`,
    ];
    if (master.options.password) lines.push(`sentinel auth-pass ${name} ${master.options.password}`);
    writeFileSync(conf, lines.join('\n') + '\n');
    const child = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
    live.add(child);
    child.on('exit', () => live.delete(child));
    await waitForPort(port, 10_000);
    return new SentinelProcess(port, dir, child);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await exited;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Polls `cond` every 20 ms until true or the timeout. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await cond()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
