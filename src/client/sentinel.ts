/**
 * Redis Sentinel: find the master (or a replica) of a named group and follow it across failovers.
 *
 *   const client = createSentinelClient({ sentinels: [{ host: '10.0.0.1', port: 26379 }], name: 'mymaster' });
 *   await client.cmd(['SET', 'k', 'v']);      // a Client in every other respect
 *
 * Sentinel logic stays out of the socket layer (ioredis lib/connectors/): the client's connections
 * get a `resolveAddress` function that they call before every connect and reconnect, and they only
 * ever see host:port. Resolving means:
 *   1. ask the sentinels in turn (the last one that answered first) SENTINEL GET-MASTER-ADDR-BY-NAME
 *      (or SENTINEL REPLICAS for role 'replica'), each on a short-lived connection with a timeout;
 *   2. check the address with ROLE on a probe connection: a master that has just been demoted, or a
 *      sentinel that has not noticed the failover yet, is refused (ERR_SENTINEL_ROLE) and the
 *      connection retries with its usual backoff.
 * Failovers are noticed three ways: the connection to the old master drops (it died, or Sentinel
 * killed its clients while reconfiguring it); a '+switch-master' message on a sentinel, watched by one
 * subscriber connection that moves to the next sentinel when its own drops; a -READONLY reply, which
 * means the server we are talking to became a replica. The last two make the main connection
 * reconnect (and so re-resolve) at once.
 */
import type * as tls from 'node:tls';
import type { Command, RespValue } from '../resp/types.js';
import { ReplyError } from '../resp/errors.js';
import { RedstackError } from '../errors.js';
import { systemClock, type Clock } from '../clock.js';
import { Client } from './client.js';
import { Connection, type ConnectionOptions } from './connection.js';
import { NotSentError } from './errors.js';
import { ConfigError, type ClientOptions } from './options.js';
import { PubSub, type MessageHandler } from './pubsub.js';

export interface SentinelAddress {
  host: string;
  port: number;
}

export interface SentinelOptions extends Omit<ClientOptions, 'host' | 'port' | 'path' | 'url' | 'resolveAddress'> {
  /** Sentinels to ask; more are learnt from SENTINEL SENTINELS unless discoverSentinels is false. */
  sentinels: readonly SentinelAddress[];
  /** The master group name, as in `sentinel monitor <name> ...`. */
  name: string;
  /** Connect to the master (default) or to a healthy replica (falling back to the master when none). */
  role?: 'master' | 'replica';
  sentinelUsername?: string;
  sentinelPassword?: string;
  sentinelTls?: boolean | tls.ConnectionOptions;
  /** Timeout of each sentinel query and of the ROLE probe (default 2000). */
  sentinelTimeoutMs?: number;
  /** Check the role of the address with ROLE before connecting to it (default true). */
  verifyRole?: boolean;
  /** Add the sentinels that SENTINEL SENTINELS names (default true). */
  discoverSentinels?: boolean;
}

export type SentinelErrorCode = 'ERR_SENTINEL_UNREACHABLE' | 'ERR_SENTINEL_UNKNOWN_MASTER' | 'ERR_SENTINEL_ROLE';

/**
 * ERR_SENTINEL_UNREACHABLE: no sentinel answered (cause: the last error).
 * ERR_SENTINEL_UNKNOWN_MASTER: the sentinels that answered do not know the name.
 * ERR_SENTINEL_ROLE: the address they gave has the wrong role (failover in progress).
 */
export class SentinelError extends RedstackError {
  readonly host: string | undefined;
  readonly port: number | undefined;

  constructor(code: SentinelErrorCode, message: string, where: { host?: string; port?: number } = {}, options?: { cause?: unknown }) {
    super(code, message, options);
    this.host = where.host;
    this.port = where.port;
  }
}

function noop(): void {}

/** Key/value pairs of a RESP2 flat array or a RESP3 map. */
function fields(v: RespValue): Map<string, string> {
  const out = new Map<string, string>();
  if (v instanceof Map) for (const [k, val] of v) out.set(String(k), String(val));
  else if (Array.isArray(v)) for (let i = 0; i + 1 < v.length; i += 2) out.set(String(v[i]), String(v[i + 1]));
  return out;
}

const same = (a: SentinelAddress | undefined, b: SentinelAddress | undefined): boolean => !!a && !!b && a.host === b.host && a.port === b.port;

/** Finds where to connect. One per SentinelClient; every connection of the client shares it. */
export class SentinelResolver {
  readonly #o: SentinelOptions;
  readonly #sentinels: SentinelAddress[];
  /** The address most recently handed to a connection. */
  current: SentinelAddress | undefined;

  constructor(options: SentinelOptions) {
    this.#o = options;
    this.#sentinels = options.sentinels.map((s) => ({ host: s.host, port: s.port }));
  }

  get sentinels(): readonly SentinelAddress[] {
    return this.#sentinels;
  }

  #sentinelOptions(s: SentinelAddress): ConnectionOptions {
    const t = this.#o.sentinelTimeoutMs ?? 2000;
    return {
      host: s.host,
      port: s.port,
      username: this.#o.sentinelUsername,
      password: this.#o.sentinelPassword,
      tls: this.#o.sentinelTls,
      reconnect: false,
      connectTimeoutMs: t,
      commandTimeoutMs: t,
      offlineTimeoutMs: t,
      clock: this.#o.clock,
    };
  }

  /** Options for a connection to a sentinel (the watcher uses them too). */
  sentinelOptions(s: SentinelAddress): ConnectionOptions {
    return this.#sentinelOptions(s);
  }

  /** One command on a short-lived connection. */
  async #query(opts: ConnectionOptions, command: Command): Promise<RespValue> {
    const conn = new Connection(opts);
    try {
      return await conn.send(command);
    } finally {
      conn.disconnect();
    }
  }

  /** Moves a sentinel that answered to the front, so it is asked first next time. */
  #promote(i: number): void {
    if (i > 0) this.#sentinels.unshift(...this.#sentinels.splice(i, 1));
  }

  /** Asks each sentinel in turn for the master's address. */
  async masterAddress(): Promise<SentinelAddress> {
    let last: unknown;
    let unknown = 0;
    for (let i = 0; i < this.#sentinels.length; i++) {
      const s = this.#sentinels[i]!;
      try {
        const reply = await this.#query(this.#sentinelOptions(s), ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.#o.name]);
        if (!Array.isArray(reply) || reply.length < 2) {
          unknown++;
          continue;
        }
        this.#promote(i);
        if (this.#o.discoverSentinels !== false) this.#discover(s);
        return { host: String(reply[0]), port: Number(reply[1]) };
      } catch (err) {
        last = err;
      }
    }
    if (unknown > 0) throw new SentinelError('ERR_SENTINEL_UNKNOWN_MASTER', `no sentinel knows a master named '${this.#o.name}'`);
    throw new SentinelError('ERR_SENTINEL_UNREACHABLE', `none of ${this.#sentinels.length} sentinels answered`, {}, { cause: last });
  }

  /** Healthy replicas as the first answering sentinel lists them. */
  async replicaAddresses(): Promise<SentinelAddress[]> {
    let last: unknown;
    for (let i = 0; i < this.#sentinels.length; i++) {
      try {
        const reply = await this.#query(this.#sentinelOptions(this.#sentinels[i]!), ['SENTINEL', 'REPLICAS', this.#o.name]);
        if (!Array.isArray(reply)) continue;
        this.#promote(i);
        const out: SentinelAddress[] = [];
        for (const r of reply) {
          const f = fields(r);
          const flags = (f.get('flags') ?? '').split(',');
          if (flags.some((x) => x === 's_down' || x === 'o_down' || x === 'disconnected')) continue;
          if ((f.get('master-link-status') ?? 'ok') !== 'ok') continue;
          out.push({ host: f.get('ip')!, port: Number(f.get('port')) });
        }
        return out;
      } catch (err) {
        last = err;
      }
    }
    throw new SentinelError('ERR_SENTINEL_UNREACHABLE', `none of ${this.#sentinels.length} sentinels answered`, {}, { cause: last });
  }

  /** SENTINEL SENTINELS: learn the other sentinels of the group, in the background. */
  #discover(via: SentinelAddress): void {
    this.#query(this.#sentinelOptions(via), ['SENTINEL', 'SENTINELS', this.#o.name]).then((reply) => {
      if (!Array.isArray(reply)) return;
      for (const r of reply) {
        const f = fields(r);
        const s = { host: f.get('ip') ?? '', port: Number(f.get('port')) };
        if (s.host && s.port && !this.#sentinels.some((x) => same(x, s))) this.#sentinels.push(s);
      }
    }, noop);
  }

  /** ROLE on a probe connection: 'master', 'slave' (replica) or 'sentinel'. */
  async role(addr: SentinelAddress): Promise<string> {
    const t = this.#o.sentinelTimeoutMs ?? 2000;
    const o = this.#o;
    const reply = await this.#query(
      { host: addr.host, port: addr.port, username: o.username, password: o.password, tls: o.tls, reconnect: false, connectTimeoutMs: t, commandTimeoutMs: t, offlineTimeoutMs: t, clock: o.clock },
      ['ROLE'],
    );
    return Array.isArray(reply) ? String(reply[0]) : '';
  }

  /** The address to connect to now (the `resolveAddress` of every connection of the client). */
  async resolve(): Promise<SentinelAddress> {
    const wanted = this.#o.role ?? 'master';
    let addr: SentinelAddress;
    let role = 'master';
    if (wanted === 'replica') {
      const replicas = await this.replicaAddresses();
      // Spread clients over the replicas; none healthy: read from the master rather than not at all.
      addr = replicas.length ? replicas[Math.floor(Math.random() * replicas.length)]! : await this.masterAddress();
      if (replicas.length) role = 'slave';
    } else {
      addr = await this.masterAddress();
    }
    if (this.#o.verifyRole !== false) {
      const actual = await this.role(addr).catch((err) => {
        throw new SentinelError('ERR_SENTINEL_ROLE', `cannot check the role of ${addr.host}:${addr.port}`, addr, { cause: err });
      });
      if (actual !== role) {
        throw new SentinelError('ERR_SENTINEL_ROLE', `${addr.host}:${addr.port} is a ${actual || 'server of unknown role'}, not a ${role} (failover in progress?)`, addr);
      }
    }
    this.current = addr;
    return addr;
  }
}

/**
 * A Client whose connections follow the master (or a replica) of a Sentinel group. Adds the events
 * 'switch-master' ({ name, from, to }) and 'sentinel-error' (a sentinel query or watcher failure;
 * not fatal: the next sentinel is tried).
 */
export class SentinelClient extends Client {
  readonly resolver: SentinelResolver;
  readonly #o: SentinelOptions;
  readonly #clock: Clock;
  #watcher: Connection | undefined;
  #watcherTimer: (() => void) | undefined;
  #watcherIndex = 0;
  #closed = false;
  #lastKick = -Infinity;
  /** Subscriptions live on a connection of our own, so a failover can move them too (see #kick). */
  #subscriber: Connection | undefined;
  #pubsub: PubSub | undefined;

  constructor(options: SentinelOptions) {
    if (!options.sentinels?.length) throw new ConfigError('createSentinelClient needs at least one sentinel');
    if (!options.name) throw new ConfigError('createSentinelClient needs the master group name');
    const resolver = new SentinelResolver(options);
    const { sentinels: _s, name: _n, role: _r, sentinelUsername: _su, sentinelPassword: _sp, sentinelTls: _st, sentinelTimeoutMs: _t, verifyRole: _v, discoverSentinels: _d, ...client } = options;
    super({ ...client, resolveAddress: () => resolver.resolve() });
    this.resolver = resolver;
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#watch();
  }

  /** Like Client.cmd; a -READONLY reply (the server turned replica) also makes the client re-resolve. */
  override cmd<T = RespValue>(command: Command): Promise<T>;
  override cmd<T = RespValue[]>(commands: readonly Command[]): Promise<T>;
  override cmd(command: Command | readonly Command[]): Promise<unknown> {
    const p = super.cmd(command as Command);
    if ((this.#o.role ?? 'master') !== 'master') return p;
    return p.then(
      (v) => {
        if (Array.isArray(v) && Array.isArray(command[0]) && v.some((r) => r instanceof ReplyError && r.prefix === 'READONLY')) this.#kick();
        return v;
      },
      (err: unknown) => {
        if (err instanceof ReplyError && err.prefix === 'READONLY') this.#kick();
        throw err;
      },
    );
  }

  /**
   * Makes the main and subscriber connections reconnect now, and so ask the sentinels again. Commands
   * already written fail as OutcomeUnknownError, as on any lost connection; unwritten ones go to the
   * new master. At most once a second.
   */
  #kick(): void {
    const now = this.#clock.now();
    if (this.#closed || now - this.#lastKick < 1000) return;
    const main = this.status === 'ready';
    const sub = this.#subscriber?.state === 'ready';
    if (!main && !sub) return; // connecting anyway: it resolves the address afresh
    this.#lastKick = now;
    if (main) super.reconnect();
    if (sub) this.#subscriber!.reconnect();
  }

  // ---- pub/sub on a connection of our own ---------------------------------------------------------

  #ps(): PubSub {
    if (this.#pubsub) return this.#pubsub;
    if (this.#closed) throw new NotSentError('client-closed', 'SUBSCRIBE', 'client is closed');
    const conn = new Connection({ ...this.options, commandTimeoutMs: 0, subscriber: true, onPush: (f) => this.#pubsub?.dispatch(f) });
    conn.on('error', (err: Error) => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
    const ps = new PubSub(conn);
    ps.onMessage = (message, channel, pattern) => {
      if (pattern === undefined) this.emit('message', channel, message);
      else this.emit('pmessage', pattern, channel, message);
    };
    ps.onHandlerError = (err) => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
      else
        process.nextTick(() => {
          throw err;
        });
    };
    this.#subscriber = conn;
    this.#pubsub = ps;
    return ps;
  }

  #sub(kind: 'channel' | 'pattern' | 'shard', names: string | string[], handler: MessageHandler): Promise<void> {
    try {
      return this.#ps().subscribe(kind, Array.isArray(names) ? names : [names], handler);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #unsub(kind: 'channel' | 'pattern' | 'shard', names: string | string[] | undefined, handler?: MessageHandler): Promise<void> {
    return this.#pubsub?.unsubscribe(kind, names === undefined ? undefined : Array.isArray(names) ? names : [names], handler) ?? Promise.resolve();
  }

  override subscribe(channels: string | string[], handler: MessageHandler = noop): Promise<void> {
    return this.#sub('channel', channels, handler);
  }

  override psubscribe(patterns: string | string[], handler: MessageHandler = noop): Promise<void> {
    return this.#sub('pattern', patterns, handler);
  }

  override ssubscribe(channels: string | string[], handler: MessageHandler = noop): Promise<void> {
    return this.#sub('shard', channels, handler);
  }

  override unsubscribe(channels?: string | string[], handler?: MessageHandler): Promise<void> {
    return this.#unsub('channel', channels, handler);
  }

  override punsubscribe(patterns?: string | string[], handler?: MessageHandler): Promise<void> {
    return this.#unsub('pattern', patterns, handler);
  }

  override sunsubscribe(channels?: string | string[], handler?: MessageHandler): Promise<void> {
    return this.#unsub('shard', channels, handler);
  }

  // ---- +switch-master ----------------------------------------------------------------------------

  #watch(): void {
    if (this.#closed) return;
    const list = this.resolver.sentinels;
    const s = list[this.#watcherIndex++ % list.length]!;
    const conn = new Connection({
      ...this.resolver.sentinelOptions(s),
      commandTimeoutMs: 0,
      subscriber: true,
      onPush: (frame) => this.#onSentinelPush(frame),
    });
    this.#watcher = conn;
    conn.on('error', (err: Error) => this.#sentinelError(err));
    conn.once('ready', () => {
      conn.send(['SUBSCRIBE', '+switch-master'], { noTimeout: true, pushKind: 'subscribe', pushConfirms: 1 }).catch(noop);
      // A switch may have happened while no sentinel was watched.
      void this.#check();
    });
    conn.once('end', () => {
      if (this.#closed || this.#watcher !== conn) return;
      this.#watcher = undefined;
      this.#watcherTimer = this.#clock.after(this.#watcherIndex % list.length === 0 ? 1000 : 100, () => this.#watch());
    });
  }

  #onSentinelPush(frame: RespValue[]): void {
    if (String(frame[0]) !== 'message' || String(frame[1]) !== '+switch-master') return;
    // "<name> <old-ip> <old-port> <new-ip> <new-port>"
    const [name, oldHost, oldPort, newHost, newPort] = String(frame[2]).split(' ');
    if (name !== this.#o.name || !newHost) return;
    const from = { host: oldHost!, port: Number(oldPort) };
    const to = { host: newHost, port: Number(newPort) };
    this.emit('switch-master', { name, from, to });
    this.#follow(to);
  }

  /** Reconnects when the connection is not where the role says it should be. */
  #follow(master: SentinelAddress): void {
    const current = this.resolver.current;
    if (current === undefined) return; // not connected yet: the first resolve asks the sentinels anyway
    const role = this.#o.role ?? 'master';
    if (role === 'master' ? !same(current, master) : same(current, master)) this.#kick();
  }

  async #check(): Promise<void> {
    try {
      this.#follow(await this.resolver.masterAddress());
    } catch (err) {
      this.#sentinelError(err as Error);
    }
  }

  #sentinelError(err: Error): void {
    if (this.listenerCount('sentinel-error') > 0) this.emit('sentinel-error', err);
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  #stopWatching(): void {
    this.#closed = true;
    this.#watcherTimer?.();
    this.#watcher?.disconnect();
    this.#watcher = undefined;
  }

  override async quit(): Promise<void> {
    this.#stopWatching();
    await Promise.all([super.quit(), this.#subscriber?.quit()]);
  }

  override disconnect(): void {
    this.#stopWatching();
    this.#subscriber?.disconnect();
    super.disconnect();
  }
}

/** Creates a client that finds its server through Sentinel and follows failovers. */
export function createSentinelClient(options: SentinelOptions): SentinelClient {
  return new SentinelClient(options);
}
