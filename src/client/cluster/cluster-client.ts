/**
 * The cluster client: the same `cmd()` contract as Client, over a Redis Cluster.
 *
 *   const cluster = createCluster({ nodes: ['redis://127.0.0.1:7000'] });
 *   await cluster.cmd(['SET', 'k', 'v']);
 *   await cluster.cmd([['GET', 'a'], ['GET', 'b']]);   // grouped per node, replies in order
 *
 * One Client per node, created on first use and closed once the node leaves the slot map. The map is
 * read from any reachable node (CLUSTER SHARDS, else CLUSTER SLOTS) before the first command and
 * refreshed in the background, single-flight and at most once per refreshMinIntervalMs, whenever a
 * MOVED arrives, a node's connection drops, or the cluster reports CLUSTERDOWN. A dead master's
 * commands wait in its client's offline queue until the refresh shows its replica promoted; the old
 * client is then closed and those never-written commands are routed to the new master. Commands that
 * were written to the dead master fail with OutcomeUnknownError (they may have run): never re-sent.
 *
 * Key positions come from COMMAND, read once (see command-keys.ts); multi-key commands whose keys are
 * in different slots fail with CrossSlotError before anything is sent.
 */
import { EventEmitter } from 'node:events';
import type { Command, RespValue } from '../../resp/types.js';
import { ReplyError } from '../../resp/errors.js';
import { systemClock, type Clock } from '../../clock.js';
import { Client, Multi, Script } from '../client.js';
import { NotSentError } from '../errors.js';
import { parseRedisUrl, ConfigError, type ClientOptions } from '../options.js';
import type { ConnectionOptions } from '../connection.js';
import type { MessageHandler } from '../pubsub.js';
import { CommandKeys } from './command-keys.js';
import { ClusterError } from './errors.js';
import { Router } from './router.js';
import { SlotMap, formatAddress, parseAddress, parseClusterShards, parseClusterSlots, type ShardInfo } from './slot-map.js';
import { ClusterSubscriber, type SubscriptionKind } from './subscriber.js';

export interface ClusterNodeAddress {
  host: string;
  port: number;
}

export interface ClusterOptions extends Omit<ClientOptions, 'host' | 'port' | 'path' | 'url' | 'db'> {
  /** Seed nodes: redis:// URLs (auth and TLS are taken from the first unless set here) or addresses. */
  nodes: readonly (string | ClusterNodeAddress)[];
  /** 'replica' sends read-only commands to replicas (READONLY on every node connection). Default 'master'. */
  scaleReads?: 'master' | 'replica';
  /** MOVED/ASK hops per command before ClusterLimitError (default 16). */
  maxRedirections?: number;
  /** Retries per command on TRYAGAIN, CLUSTERDOWN or a node leaving the map (default 10). */
  clusterRetries?: number;
  /** First retry delay, doubling up to 16x (default 100). */
  clusterRetryDelayMs?: number;
  /** Background slot-map refreshes start at most this often (default 250). */
  refreshMinIntervalMs?: number;
  /** How long one node may take to answer CLUSTER SHARDS before the next is asked (default 1000). */
  refreshTimeoutMs?: number;
  /** Also refresh the slot map this often, e.g. to notice new replicas (default 0: only on events). */
  refreshIntervalMs?: number;
}

const CLUSTER_KEYS = ['nodes', 'scaleReads', 'maxRedirections', 'clusterRetries', 'clusterRetryDelayMs', 'refreshMinIntervalMs', 'refreshTimeoutMs', 'refreshIntervalMs'] as const;

function noop(): void {}

export class ClusterClient extends EventEmitter {
  readonly options: ClusterOptions;
  readonly #nodeOptions: ClientOptions;
  readonly #seeds: string[];
  readonly #clock: Clock;
  readonly #map = new SlotMap();
  readonly #keys = new CommandKeys();
  readonly #pool = new Map<string, Client>();
  readonly #router: Router;
  readonly #subscriber: ClusterSubscriber;
  #closed = false;
  #initial: Promise<void> | undefined;
  #refreshing: Promise<void> | undefined;
  #refreshTimer: (() => void) | undefined;
  #lastRefresh = -Infinity;
  #waiters: (() => void)[] = [];
  #rr = 0;
  #useSlots = false;
  #stopPeriodic: (() => void) | undefined;
  #shas = new Map<string, string>();

  constructor(options: ClusterOptions) {
    super();
    this.options = options;
    if (!options.nodes?.length) throw new ConfigError('createCluster needs at least one seed in `nodes`');
    this.#clock = options.clock ?? systemClock;
    let fromUrl: ConnectionOptions = {};
    this.#seeds = options.nodes.map((n, i) => {
      if (typeof n !== 'string') return formatAddress(n.host, n.port);
      const o = parseRedisUrl(n.includes('://') ? n : `redis://${n}`);
      if (i === 0) fromUrl = o;
      return formatAddress(o.host ?? '127.0.0.1', o.port ?? 6379);
    });
    const base: Record<string, unknown> = {};
    for (const k of ['username', 'password', 'tls'] as const) if (fromUrl[k] !== undefined) base[k] = fromUrl[k];
    for (const [k, v] of Object.entries(options)) {
      if (v !== undefined && !(CLUSTER_KEYS as readonly string[]).includes(k)) base[k] = v;
    }
    this.#nodeOptions = base as ClientOptions;
    const maxRedirections = options.maxRedirections ?? 16;
    this.#router = new Router(
      {
        node: (addr) => this.#node(addr),
        master: (slot) => this.#master(slot),
        reader: (slot) => this.#reader(slot),
        moved: (slot, addr) => this.#map.move(slot, addr),
        requestRefresh: () => this.#requestRefresh(),
        refreshed: () => this.#refreshed(),
        closed: () => this.#closed,
        sleep: (ms) => new Promise((r) => this.#clock.after(ms, r)),
      },
      this.#keys,
      {
        maxRedirections,
        clusterRetries: options.clusterRetries ?? 10,
        clusterRetryDelayMs: options.clusterRetryDelayMs ?? 100,
        scaleReads: options.scaleReads ?? 'master',
      },
    );
    this.#subscriber = new ClusterSubscriber({
      connectionOptions: (addr) => ({ ...this.#nodeOptions, ...parseAddress(addr) }),
      master: (slot) => this.#map.master(slot),
      knows: (addr) => this.#map.nodes().includes(addr),
      moved: (slot, addr) => this.#map.move(slot, addr),
      requestRefresh: () => this.#requestRefresh(),
      refreshed: () => this.#refreshed(),
      closed: () => this.#closed,
      maxRedirections,
      onMessage: (message, channel, pattern, shard) => {
        if (pattern !== undefined) this.emit('pmessage', pattern, channel, message);
        else this.emit(shard ? 'smessage' : 'message', channel, message);
      },
      onError: (err) => this.#emitError(err),
      // A throwing handler is the caller's bug: reported on 'error', or, with no listener, thrown on
      // the next tick as an EventEmitter listener's would be (as Client does).
      onHandlerError: (err) => {
        if (this.listenerCount('error') > 0) this.emit('error', err);
        else
          process.nextTick(() => {
            throw err;
          });
      },
    });
    this.#loaded().catch(noop); // start now; errors reach the commands that wait for the map
    if ((options.refreshIntervalMs ?? 0) > 0) this.#stopPeriodic = this.#clock.every(options.refreshIntervalMs!, () => this.#requestRefresh());
  }

  // ---- the map -----------------------------------------------------------------------------------

  /** 'connecting' until the first slot map is loaded, then 'ready'; 'closed' after quit()/disconnect(). */
  get status(): 'connecting' | 'ready' | 'closed' {
    return this.#closed ? 'closed' : this.#map.loaded ? 'ready' : 'connecting';
  }

  /** Resolves once the slot map is loaded; rejects with ClusterError when no seed answers. */
  ready(): Promise<void> {
    return this.#loaded();
  }

  #loaded(): Promise<void> {
    if (this.#map.loaded) return Promise.resolve();
    if (this.#closed) return Promise.reject(new NotSentError('client-closed', undefined, 'cluster client is closed'));
    this.#initial ??= this.refresh().then(
      () => this.#loadCommands(),
      (err) => {
        this.#initial = undefined; // the next command tries again
        throw err;
      },
    );
    return this.#initial;
  }

  /** COMMAND, once: key positions of every command. Without it the built-in table is used. */
  async #loadCommands(): Promise<void> {
    const addr = this.#map.masters()[0];
    if (addr === undefined || this.#keys.loaded) return;
    try {
      this.#keys.load(await this.#withTimeout(this.#node(addr).cmd(['COMMAND']), 'COMMAND'));
    } catch (err) {
      this.#emitError(err as Error);
    }
    this.emit('ready');
  }

  /** Reads the slot map now (joining a read in flight). */
  refresh(): Promise<void> {
    if (this.#refreshing) return this.#refreshing;
    this.#refreshTimer?.();
    this.#refreshTimer = undefined;
    const p = this.#readMap().finally(() => {
      this.#refreshing = undefined;
      this.#lastRefresh = this.#clock.now();
      for (const w of this.#waiters.splice(0)) w();
    });
    this.#refreshing = p;
    return p;
  }

  #requestRefresh(): void {
    if (this.#closed || this.#refreshing || this.#refreshTimer) return;
    const wait = this.#lastRefresh + (this.options.refreshMinIntervalMs ?? 250) - this.#clock.now();
    const run = () => {
      this.#refreshTimer = undefined;
      this.refresh().catch((err) => this.#emitError(err));
    };
    if (wait <= 0) run();
    else this.#refreshTimer = this.#clock.after(wait, run);
  }

  /** Resolves after the next refresh ends, whatever its outcome. */
  #refreshed(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const p = new Promise<void>((r) => this.#waiters.push(r));
    this.#requestRefresh();
    return p;
  }

  async #readMap(): Promise<void> {
    const rank = (addr: string): number => {
      const state = this.#pool.get(addr)?.status;
      return state === 'ready' ? 0 : state === 'waiting' ? 2 : state === 'closed' ? 3 : 1;
    };
    const candidates = [...new Set([...this.#map.nodes(), ...this.#seeds])].sort((a, b) => rank(a) - rank(b));
    let last: unknown;
    for (const addr of candidates) {
      if (this.#closed) return;
      try {
        const infos = await this.#withTimeout(this.#fetchShards(addr), 'CLUSTER SHARDS');
        if (infos.length === 0) throw new ClusterError('ERR_CLUSTER_UNAVAILABLE', `${addr} serves no slots (is cluster mode on and the cluster created?)`);
        this.#map.replace(infos);
        this.#afterRefresh();
        return;
      } catch (err) {
        last = err;
      }
    }
    throw new ClusterError('ERR_CLUSTER_UNAVAILABLE', `no node answered CLUSTER SHARDS or CLUSTER SLOTS (asked ${candidates.length})`, undefined, { cause: last });
  }

  async #fetchShards(addr: string): Promise<ShardInfo[]> {
    const client = this.#node(addr);
    const host = parseAddress(addr).host;
    if (!this.#useSlots) {
      try {
        return parseClusterShards(await client.cmd(['CLUSTER', 'SHARDS']), host, !!this.#nodeOptions.tls);
      } catch (err) {
        if (!(err instanceof ReplyError) || !/unknown|subcommand/i.test(err.message)) throw err;
        this.#useSlots = true; // before Redis 7
      }
    }
    return parseClusterSlots(await client.cmd(['CLUSTER', 'SLOTS']), host);
  }

  #withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
    const ms = this.options.refreshTimeoutMs ?? 1000;
    return new Promise<T>((resolve, reject) => {
      const cancel = this.#clock.after(ms, () => reject(new ClusterError('ERR_CLUSTER_UNAVAILABLE', `${what}: no reply within ${ms} ms (raise refreshTimeoutMs)`)));
      p.then(
        (v) => (cancel(), resolve(v)),
        (e) => (cancel(), reject(e)),
      );
    });
  }

  /** Closes the clients of nodes the map no longer names; moves subscriptions that must move. */
  #afterRefresh(): void {
    const known = new Set(this.#map.nodes());
    for (const [addr, client] of this.#pool) {
      if (known.has(addr)) continue;
      this.#pool.delete(addr);
      // quit(): replies to written commands still arrive; queued ones fail as not sent, and the
      // router sends them where the map now says.
      client.quit().catch(noop);
    }
    this.#subscriber.reconcile(() => this.#master(-1));
    this.emit('refresh');
  }

  // ---- nodes -------------------------------------------------------------------------------------

  #node(addr: string): Client {
    let c = this.#pool.get(addr);
    if (c) return c;
    if (this.#closed) throw new NotSentError('client-closed', undefined, 'cluster client is closed');
    c = new Client({ ...this.#nodeOptions, ...parseAddress(addr) });
    const client = c;
    this.#pool.set(addr, client);
    client.on('error', (err: Error) => this.#emitError(err));
    client.on('reconnecting', () => this.#requestRefresh());
    if (this.options.scaleReads === 'replica') {
      // 'ready' fires before the offline queue is written: READONLY goes first on every connection.
      client.on('ready', () => void client.cmd(['READONLY']).catch(noop));
    }
    this.emit('node', addr);
    return client;
  }

  /** The slot's master; for -1 (no keys) any master, in turn. */
  #master(slot: number): string | undefined {
    if (slot >= 0) return this.#map.master(slot);
    const masters = this.#map.masters();
    return masters.length ? masters[this.#rr++ % masters.length] : undefined;
  }

  /** A replica of the slot's shard whose connection is not known to be down; else the master. */
  #reader(slot: number): string | undefined {
    const shard = this.#map.shard(slot);
    if (!shard) return undefined;
    const ok = shard.replicas.filter((r) => {
      const s = this.#pool.get(r)?.status;
      return s !== 'waiting' && s !== 'closed';
    });
    return ok.length ? ok[this.#rr++ % ok.length] : shard.master;
  }

  /** Clients of the current masters (or replicas, or both), e.g. to SCAN each node. */
  async nodes(role: 'master' | 'replica' | 'all' = 'master'): Promise<Client[]> {
    await this.#loaded();
    const masters = this.#map.masters();
    const all = this.#map.nodes();
    const list = role === 'master' ? masters : role === 'all' ? all : all.filter((a) => !masters.includes(a));
    return list.map((a) => this.#node(a));
  }

  /** "host:port" of the master serving a slot, per the current map. */
  masterOf(slot: number): string | undefined {
    return this.#map.master(slot);
  }

  // ---- commands ----------------------------------------------------------------------------------

  /**
   * One command -> its reply (a ReplyError rejects). A list -> the replies in order, written to all
   * nodes at once, one write per node. Errors take the place of their command: ReplyErrors as with
   * Client, and also CrossSlotError, and OutcomeUnknownError / TimeoutError for the commands of a node
   * whose connection failed (the other nodes' replies are kept).
   */
  cmd<T = RespValue>(command: Command): Promise<T>;
  cmd<T = (RespValue | Error)[]>(commands: readonly Command[]): Promise<T>;
  cmd(command: Command | readonly Command[]): Promise<unknown> {
    if (this.#closed) return Promise.reject(new NotSentError('client-closed', undefined, 'cluster client is closed'));
    if (command.length === 0) return Promise.resolve([]);
    const pipeline = Array.isArray(command[0]);
    const run = (): Promise<unknown> => (pipeline ? this.#router.pipeline(command as readonly Command[]) : this.#router.send(command as Command));
    return this.#map.loaded ? run() : this.#loaded().then(run);
  }

  /** MULTI/EXEC on one node: every key of every command must hash to one slot (else CrossSlotError). */
  multi(): Multi {
    return new Multi(async (cmds) => {
      await this.#loaded();
      return this.#router.transaction(cmds);
    });
  }

  /** EVALSHA, falling back to EVAL on NOSCRIPT, routed by `keys` (which must share a slot). */
  async eval(lua: string, keys: (string | Buffer)[] = [], args: (string | Buffer | number)[] = []): Promise<RespValue> {
    let sha = this.#shas.get(lua);
    if (sha === undefined) this.#shas.set(lua, (sha = new Script(lua).sha));
    try {
      return await this.cmd(['EVALSHA', sha, keys.length, ...keys, ...args]);
    } catch (err) {
      if (err instanceof ReplyError && err.prefix === 'NOSCRIPT') return this.cmd(['EVAL', lua, keys.length, ...keys, ...args]);
      throw err;
    }
  }

  // ---- pub/sub -----------------------------------------------------------------------------------

  #sub(kind: SubscriptionKind, names: string | string[], handler: MessageHandler): Promise<void> {
    return this.#loaded().then(() => this.#subscriber.subscribe(kind, toList(names), handler, () => this.#master(-1)));
  }

  subscribe(channels: string | string[], handler: MessageHandler = noop): Promise<void> {
    return this.#sub('channel', channels, handler);
  }

  psubscribe(patterns: string | string[], handler: MessageHandler = noop): Promise<void> {
    return this.#sub('pattern', patterns, handler);
  }

  /** Sharded pub/sub: each channel on the master of its slot, following slot moves and failovers. */
  ssubscribe(channels: string | string[], handler: MessageHandler = noop): Promise<void> {
    return this.#sub('shard', channels, handler);
  }

  unsubscribe(channels?: string | string[], handler?: MessageHandler): Promise<void> {
    return this.#subscriber.unsubscribe('channel', channels === undefined ? undefined : toList(channels), handler);
  }

  punsubscribe(patterns?: string | string[], handler?: MessageHandler): Promise<void> {
    return this.#subscriber.unsubscribe('pattern', patterns === undefined ? undefined : toList(patterns), handler);
  }

  sunsubscribe(channels?: string | string[], handler?: MessageHandler): Promise<void> {
    return this.#subscriber.unsubscribe('shard', channels === undefined ? undefined : toList(channels), handler);
  }

  /** Nodes ("host:port") holding the subscriber connection for a name (diagnostics). */
  subscribedOn(kind: SubscriptionKind, name: string): string[] {
    return this.#subscriber.nodesOf(kind, name);
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  /** Waits for the replies of everything written, then closes every connection. */
  async quit(): Promise<void> {
    this.#close();
    const clients = [...this.#pool.values()];
    this.#pool.clear();
    await Promise.all([...clients.map((c) => c.quit().catch(noop)), this.#subscriber.quit()]);
  }

  /** Closes every connection now. */
  disconnect(): void {
    this.#close();
    for (const c of this.#pool.values()) c.disconnect();
    this.#pool.clear();
    this.#subscriber.close();
  }

  #close(): void {
    this.#closed = true;
    this.#stopPeriodic?.();
    this.#refreshTimer?.();
    this.#refreshTimer = undefined;
    for (const w of this.#waiters.splice(0)) w();
  }

  #emitError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}

/** A cluster transaction has the same shape as a single node's: MULTI, the commands, EXEC, on the slot's node. */
export { Multi as ClusterMulti };

function toList(x: string | string[]): string[] {
  return Array.isArray(x) ? x : [x];
}

/** Creates a cluster client and starts reading the slot map from the seeds. */
export function createCluster(options: ClusterOptions): ClusterClient {
  return new ClusterClient(options);
}
