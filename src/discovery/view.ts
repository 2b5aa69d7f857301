/**
 * GridView: a live, local view of one namespace's nodes, without registering a node of its own (what
 * `redstack grid watch` runs). Grid (grid.ts) extends it with registration, heartbeats and metadata.
 *
 * Connections: commands go on a client with a command timeout (the caller's when it has one, else a
 * duplicate with one): without a timeout a blackholed link would hold a heartbeat forever and the
 * node could never notice it had been cut off. The subscription runs on a RESP3 duplicate, whose
 * 'ready' event belongs to the very connection that carries the messages, so the view knows when the
 * message stream restarted.
 *
 * The library never writes to the console: problems surface as 'error' events (only when someone
 * listens) and as suspect nodes.
 */
import { EventEmitter } from 'node:events';
import { Client, createClient, resolveOptions, type ClientOptions } from '../client/index.js';
import { systemClock, type Clock } from '../clock.js';
import { Detector, type DetectorEvents, type NodeInfo } from './detector.js';
import { DiscoveryError } from './errors.js';
import { Heartbeat } from './heartbeat.js';
import { Registry } from './registry.js';
import { isValidNamespace } from './scripts.js';

export interface ViewOptions {
  /** A Client, or a URL / options to create one (then owned and closed by the view). */
  redis: Client | string | ClientOptions;
  namespace: string;
  /** The grid's heartbeat interval; sets the sweep and liveness-check pace. Default 1000. */
  heartbeatMs?: number;
  /** Default 3000. A node is dropped this long after its last heartbeat. */
  ttlMs?: number;
  /** Target interval between sweeps across the whole grid. Default heartbeatMs / 20. */
  sweepMs?: number;
  /** Full reconciliation interval (jittered by +-25%). Default 30 000. */
  reconcileMs?: number;
  /** Command and connect timeout of the grid's own connections. Default ttlMs. */
  commandTimeoutMs?: number;
  /**
   * A RESP3 client to carry the subscription, shared by many grids of one process (simulations,
   * multi-tenant processes): one Redis subscription per process instead of one per grid. Not closed
   * by the grid. Default: a duplicate of `redis` owned by the grid.
   */
  subscriber?: Client;
  clock?: Clock;
}

export interface GridEvents extends DetectorEvents {
  /** A background operation failed (heartbeat, sweep, read); emitted only when someone listens. */
  error(err: Error): void;
  /** This node (re-)registered: at join, and after Redis lost it (restart, failover, partition). */
  registered(): void;
  close(): void;
}

export interface GridView {
  on<K extends keyof GridEvents>(event: K, listener: GridEvents[K]): this;
  once<K extends keyof GridEvents>(event: K, listener: GridEvents[K]): this;
  off<K extends keyof GridEvents>(event: K, listener: GridEvents[K]): this;
  emit<K extends keyof GridEvents>(event: K, ...args: Parameters<GridEvents[K]>): boolean;
}

export class GridView extends EventEmitter {
  readonly namespace: string;
  readonly heartbeatMs: number;
  readonly ttlMs: number;
  protected readonly clock: Clock;
  protected readonly cmd: Client;
  protected readonly sub: Client;
  protected readonly registry: Registry;
  protected readonly detector: Detector;
  protected readonly heartbeat: Heartbeat;
  readonly #owned: Client[] = [];
  readonly #reconcileMs: number;
  #started = false;
  protected closed = false;
  #reading: Promise<void> | undefined;
  #readAgain = false;
  #timers: (() => void)[] = [];

  protected constructor(o: ViewOptions, selfId?: string) {
    super();
    if (typeof o.namespace !== 'string' || !isValidNamespace(o.namespace)) {
      throw new DiscoveryError('ERR_DISCOVERY_OPTION', 'namespace must be 1-128 characters of A-Z a-z 0-9 . _ : -');
    }
    this.namespace = o.namespace;
    this.heartbeatMs = positive(o.heartbeatMs ?? 1000, 'heartbeatMs');
    this.ttlMs = positive(o.ttlMs ?? 3000, 'ttlMs');
    if (this.ttlMs <= this.heartbeatMs) {
      throw new DiscoveryError('ERR_DISCOVERY_OPTION', 'ttlMs must be greater than heartbeatMs, or a live node would expire between two heartbeats (3x is the default)');
    }
    const sweepMs = positive(o.sweepMs ?? Math.max(5, Math.round(this.heartbeatMs / 20)), 'sweepMs');
    this.#reconcileMs = positive(o.reconcileMs ?? 30_000, 'reconcileMs');
    this.clock = o.clock ?? systemClock;
    const timeout = positive(o.commandTimeoutMs ?? this.ttlMs, 'commandTimeoutMs');

    // Own connections retry fast and often enough to be back within a heartbeat of Redis returning.
    const own: ClientOptions = {
      commandTimeoutMs: timeout,
      connectTimeoutMs: timeout,
      reconnect: { baseMs: 20, maxMs: Math.min(250, Math.max(50, Math.round(this.heartbeatMs / 4))), jitter: 0.5 },
    };
    const base = o.redis instanceof Client ? o.redis : this.#own(createClient({ ...resolveOptions(o.redis), ...own }));
    this.cmd = (base.options.commandTimeoutMs ?? 0) > 0 ? base : this.#own(base.duplicate(own));
    if (o.subscriber && (o.subscriber.options.protocol ?? 2) !== 3) {
      throw new DiscoveryError('ERR_DISCOVERY_OPTION', "subscriber must be a RESP3 client (protocol: 3), so that its 'ready' event belongs to the subscription");
    }
    this.sub = o.subscriber ?? this.#own(base.duplicate({ ...own, protocol: 3 }));
    this.registry = new Registry(this.cmd, this.namespace);
    this.detector = new Detector({
      selfId,
      clock: this.clock,
      linkDownSuspectMs: this.ttlMs,
      resetGraceMs: this.ttlMs,
      emit: (event, ...args) => {
        EventEmitter.prototype.emit.call(this, event, ...args);
      },
      onNeedRead: () => this.#requestRead(),
    });
    this.heartbeat = new Heartbeat({
      clock: this.clock,
      heartbeatMs: this.heartbeatMs,
      sweepMs,
      beat: selfId === undefined ? undefined : () => this.beat(),
      sweep: () => this.#sweep(),
      size: () => this.detector.size,
      tick: () => this.detector.tick(),
    });
  }

  /** Listeners on a client that may be the caller's and outlive this view: removed at close. */
  #listen(c: Client, event: string, fn: () => void): void {
    c.on(event, fn);
    this.#timers.push(() => c.off(event, fn));
  }

  #own(c: Client): Client {
    this.#owned.push(c);
    return c;
  }

  /** Subscribes, lets the subclass register, takes the first snapshot, starts the timers. */
  protected async start(): Promise<void> {
    this.#listen(this.cmd, 'ready', () => this.#onCmdReady());
    this.#listen(this.cmd, 'close', () => this.#started && this.detector.linkDown('main'));
    this.#listen(this.sub, 'ready', () => this.#onSubReady());
    this.#listen(this.sub, 'close', () => this.#started && this.detector.linkDown('sub'));
    try {
      const onMessage = (message: string | Buffer) => this.detector.message(message);
      this.#timers.push(() => void this.sub.unsubscribe(this.registry.keys.channel, onMessage).catch(() => undefined));
      // Registration does not wait for the subscription: the join reaches everyone else a round trip
      // (or a connection handshake) sooner. Only the snapshot must follow the SUBSCRIBE, so that no
      // change falls between the two; it also covers this node's own join, if that came too early to
      // be heard.
      const steps = await Promise.allSettled([this.sub.subscribe(this.registry.keys.channel, onMessage), this.register()]);
      for (const r of steps) if (r.status === 'rejected') throw r.reason;
      this.detector.snapshot(await this.registry.read());
    } catch (err) {
      // Also takes the handler and listeners off a shared subscriber or client, which outlive us.
      for (const t of this.#timers.splice(0)) t();
      await this.#closeConnections();
      throw err;
    }
    this.#started = true;
    this.heartbeat.start();
    this.#scheduleReconcile();
    // Checks the subscription link now and then: a silently dead subscriber would only be noticed
    // by missed seqs; a PING on it times out and makes the client reconnect it.
    this.#timers.push(this.clock.every(this.heartbeatMs * 5, () => this.#pingSub()));
  }

  /** Hook for Grid: registration, while subscribing and before the first snapshot. */
  protected async register(): Promise<void> {}

  /** Hook for Grid: one heartbeat. */
  protected async beat(): Promise<void> {}

  /** Hook for Grid: the command connection came back (after a drop). */
  protected onReconnect(): void {}

  /** The nodes in this view (no Redis round trip), in no particular order. `{ healthy: true }` leaves out unhealthy nodes. */
  nodes(filter: { healthy?: boolean } = {}): NodeInfo[] {
    return this.detector.nodes(filter);
  }

  node(id: string): NodeInfo | undefined {
    return this.detector.get(id);
  }

  /** Re-reads the whole registry now; resolves when the view reflects it. */
  async refresh(): Promise<void> {
    this.assertOpen();
    // A read of its own (not joining one in flight, which may predate the caller's reason to refresh);
    // the detector orders overlapping snapshots and messages by seq.
    this.detector.snapshot(await this.registry.read());
  }

  /** Stops watching and closes the connections this view opened. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.shutdown();
  }

  protected async shutdown(): Promise<void> {
    this.heartbeat.stop();
    for (const t of this.#timers.splice(0)) t();
    await this.#closeConnections();
    this.emit('close');
  }

  protected assertOpen(): void {
    if (this.closed) throw new DiscoveryError('ERR_DISCOVERY_CLOSED', 'this grid has left or been closed; join again to take part');
  }

  protected reportError(err: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', err as Error);
  }

  async #closeConnections(): Promise<void> {
    await Promise.all(
      this.#owned.map(async (c) => {
        try {
          await withTimeout(c.quit(), 1000);
        } catch {
          /* closing anyway */
        }
        c.disconnect();
      }),
    );
  }

  #onCmdReady(): void {
    if (!this.#started || this.closed) return;
    this.detector.linkOk('main');
    this.onReconnect();
    this.#readSoon();
  }

  /**
   * A snapshot after a reconnect, a little later at random: after a Redis restart every node
   * reconnects at once, and n simultaneous O(n) reads are the one burst this design has.
   */
  #readSoon(): void {
    const stop = this.clock.after(Math.random() * Math.min(this.heartbeatMs / 4, 250), () => {
      this.#timers = this.#timers.filter((t) => t !== stop);
      this.#requestRead();
    });
    this.#timers.push(stop);
  }

  #onSubReady(): void {
    if (!this.#started || this.closed) return;
    this.detector.resubscribed();
    // The client's own 'ready' listener resubscribes after this one runs; a PING queued after it
    // returns once the SUBSCRIBE is in effect, so the snapshot cannot miss a message in between.
    queueMicrotask(() => {
      this.sub.cmd(['PING']).then(
        () => {
          this.detector.linkOk('sub');
          this.#readSoon();
        },
        (err) => this.reportError(err),
      );
    });
  }

  #pingSub(): void {
    if (this.closed) return;
    this.sub.cmd(['PING']).then(
      () => this.detector.linkOk('sub'),
      () => this.detector.linkDown('sub'),
    );
  }

  async #sweep(): Promise<void> {
    try {
      await this.registry.sweep();
    } catch (err) {
      this.reportError(err);
    }
  }

  /** Takes a snapshot soon: one at a time, and one more if asked again while one runs. */
  protected requestRead(): void {
    this.#requestRead();
  }

  #requestRead(): void {
    if (this.closed || !this.#started) return;
    if (this.#reading) {
      this.#readAgain = true;
      return;
    }
    this.#reading = (async () => {
      do {
        this.#readAgain = false;
        try {
          this.detector.snapshot(await this.registry.read());
        } catch (err) {
          // The view may be stale (a gap, a reconnect): try again a heartbeat later, not only at the
          // next reconciliation.
          this.reportError(err);
          const stop = this.clock.after(this.heartbeatMs, () => {
            this.#timers = this.#timers.filter((t) => t !== stop);
            this.#requestRead();
          });
          this.#timers.push(stop);
          break;
        }
      } while (this.#readAgain && !this.closed);
      this.#reading = undefined;
    })();
  }

  #scheduleReconcile(): void {
    const delay = Math.round(this.#reconcileMs * (0.75 + Math.random() * 0.5));
    const stop = this.clock.after(delay, () => {
      this.#timers = this.#timers.filter((t) => t !== stop);
      this.#requestRead();
      this.#scheduleReconcile();
    });
    this.#timers.push(stop);
  }
}

/** Opens a live view of a namespace without registering a node. */
export async function watchGrid(options: ViewOptions): Promise<GridView> {
  const view = new (GridView as unknown as new (o: ViewOptions) => GridView)(options);
  await (view as unknown as { start(): Promise<void> }).start();
  return view;
}

function positive(n: number, name: string): number {
  if (!Number.isFinite(n) || n <= 0) throw new DiscoveryError('ERR_DISCOVERY_OPTION', `${name} must be a positive number of milliseconds`);
  return n;
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    t.unref();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
