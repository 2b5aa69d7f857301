/**
 * createReplica: a process that speaks Redis replication ("nsync"). It connects to a master as a
 * replica, loads the snapshot, follows every write, and hands both to a Target and to listeners.
 *
 * Two halves, joined by a spool, so that the socket is read at line rate whatever the target does:
 *
 *   MasterLink: socket -> Handshake -> PayloadReader ─┐    (producer: synchronous, in 'data' events)
 *                               └──> stream bytes ────┴─> Spool (memory, then temp file; bounded)
 *                                                           │
 *   Target <── SnapshotLoader (RDB parser) / CommandStream <┘   (consumer: #drain, awaits the target when it returns a promise)
 *
 * The consumer meets, in order, the bytes and the link's markers (a snapshot starts, it ended,
 * +CONTINUE, the link was lost, close) and turns them into target calls and events.
 *
 * Life: connecting -> handshake -> (waiting-snapshot -> loading ->) streaming -> reconnecting -> ...
 * A lost link is handled by the consumer once it has applied everything received before the loss: a
 * snapshot cut short is aborted at the target (which keeps its old data), a half-received command or
 * MULTI is dropped, and the replica reconnects with `PSYNC replid offset+1` from what the target has
 * applied. The master answers +CONTINUE when its backlog still holds that offset (no new snapshot),
 * +FULLRESYNC otherwise, or with a new replid after a restart.
 *
 * Timers: one coarse tick a second (injectable clock) lets the link ACK and detect a silent master,
 * and reports status to the target.
 */
import { EventEmitter } from 'node:events';
import type * as tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { systemClock, type Clock } from '../clock.js';
import { ReplicationError } from './errors.js';
import type { ReplicaEvents } from './events.js';
import { CommandFilter, type ReplicaFilter } from './filter.js';
import { MasterLink, type LinkHost, type Marker } from './link.js';
import { SnapshotLoader } from './snapshot.js';
import { Spool, type SpoolOptions } from './spool.js';
import { CommandStream } from './stream.js';
import type { FullSyncInfo, ReplicaState, ReplicaStatus, ReplicationPosition, SnapshotKey, Target, UnhandledCommand } from './targets/target.js';
import { endpointFrom, type Endpoint } from './transport.js';

export interface ReplicaOptions {
  /** redis://[user:password@]host:port, rediss:// for TLS. Explicit host/port/... below win. */
  url?: string;
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  tls?: boolean | tls.ConnectionOptions;
  /** Where data goes. Without one, the replica only emits events. */
  target?: Target;
  /**
   * 'full' (default): snapshot, then the stream. 'rdb-only': the snapshot, then close (REPLCONF
   * rdb-only). 'stream-only': no snapshot, only writes from now on (REPLCONF rdb-filter-only "").
   */
  mode?: 'full' | 'rdb-only' | 'stream-only';
  /** Only these databases / keys, in the snapshot and the stream (see filter.ts for the exact rule). */
  filter?: ReplicaFilter;
  /** Resume from here instead of the target's saved position. */
  position?: ReplicationPosition;
  /** Reported to the master by REPLCONF listening-port (default 0). */
  listeningPort?: number;
  /** REPLCONF ACK interval (default 1000 ms, as Redis's replicas; keep it well below the master's repl-timeout). */
  ackIntervalMs?: number;
  /** A master that sends nothing for this long is considered gone (default 60 000, Redis's repl-timeout). */
  timeoutMs?: number;
  connectTimeoutMs?: number;
  /** Reconnect backoff; false stops the replica at the first lost link. */
  reconnect?: false | { baseMs?: number; maxMs?: number; maxAttempts?: number };
  /** Delay before reconnecting after -LOADING / -NOMASTERLINK (default 1000 ms). */
  retryLaterMs?: number;
  /** Bounds of the spool between socket and target. */
  spool?: Omit<SpoolOptions, 'now'>;
  /** Collections with more items than this arrive in parts (default 10 000; see SnapshotKey). */
  partItems?: number;
  /** Skip the snapshot's CRC-64 check (faster; the payload still must parse). */
  skipChecksum?: boolean;
  /** A transport of your own (tests, proxies): must return a connected or connecting Duplex. */
  connect?: () => Duplex;
  clock?: Clock;
}

const noopTarget: Target = {
  open: () => undefined,
  beginFullSync: () => {},
  applyKeys: () => {},
  endFullSync: () => {},
  abortFullSync: () => {},
  applyCommands: () => {},
  close: () => {},
};

/** How long the consumer may run before it yields to I/O, so the socket keeps being read. */
const YIELD_AFTER_MS = 8;

export class Replica extends EventEmitter<ReplicaEvents> {
  readonly #o: ReplicaOptions;
  readonly #clock: Clock;
  readonly #target: Target;
  readonly #filter: CommandFilter;
  readonly #spool: Spool<Marker>;
  readonly #mode: 'full' | 'rdb-only' | 'stream-only';
  readonly #endpoint: Endpoint;
  readonly #host: LinkHost;
  readonly #closed: Promise<void>;
  #resolveClosed!: () => void;
  readonly #started: Promise<void>;
  readonly #stopTick: () => void;
  readonly #keepAlive: ReturnType<typeof setInterval>;
  #state: ReplicaState = 'connecting';
  #closing = false;
  #closeReason = '';
  #link: MasterLink | null = null;
  #attempts = 0;

  // Consumer.
  #pumping = false;
  #currentAt: number | undefined;
  #position: ReplicationPosition | undefined;
  #snapshot: SnapshotLoader | null = null;
  #stream: CommandStream | null = null;
  /** The database a resumed stream continues in (the cached master's db, in Redis's terms). */
  #db = 0;

  constructor(options: ReplicaOptions) {
    super();
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#target = options.target ?? noopTarget;
    this.#filter = new CommandFilter(options.filter);
    this.#mode = options.mode ?? 'full';
    this.#spool = new Spool<Marker>({ ...options.spool, now: () => this.#clock.now() });
    this.#endpoint = endpointFrom(options);
    this.#host = {
      spool: this.#spool,
      clock: this.#clock,
      position: () => this.#position,
      setState: (s) => this.#setState(s),
      kick: () => this.#kick(),
      connected: () => void (this.#attempts = 0),
      lost: (error, retryMs, midSnapshot) => this.#linkLost(error, retryMs, midSnapshot),
    };
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#stopTick = this.#clock.every(Math.min(1000, options.ackIntervalMs ?? 1000), () => this.#tick());
    // Like an open socket, a replica keeps the process alive until it is closed, also while it waits
    // to reconnect (the clock's timers are unref'd).
    this.#keepAlive = setInterval(() => {}, 1 << 30);
    // Start on the next tick, so that listeners attached right after createReplica() see everything.
    this.#started = new Promise((resolve) => process.nextTick(() => void this.#start().then(resolve)));
  }

  get state(): ReplicaState {
    return this.#state;
  }

  /** The position applied to the target so far. */
  get position(): ReplicationPosition | undefined {
    return this.#position ? { ...this.#position } : undefined;
  }

  get status(): ReplicaStatus {
    const oldest = this.#currentAt ?? this.#spool.oldestAt;
    return {
      state: this.#state,
      lagBytes: this.#spool.size + (this.#stream?.partialBytes ?? 0),
      lagMs: oldest === undefined ? 0 : Math.max(0, this.#clock.now() - oldest),
      position: this.position,
      spooledBytes: this.#spool.diskBytes,
    };
  }

  /** Spool high-water marks (bytes held at most; of which on disk at most). */
  get spoolPeak(): { bytes: number; diskBytes: number } {
    return { bytes: this.#spool.peakBytes, diskBytes: this.#spool.peakDiskBytes };
  }

  /**
   * Stops: drops the link, stops at the next batch boundary (a snapshot in progress is aborted at the
   * target), closes the target. Resolves once the target is closed; the position it saved is the
   * last applied batch's.
   */
  close(): Promise<void> {
    if (!this.#closing) this.#shutdown(undefined);
    return this.#closed;
  }

  /** Resolves once the replica has closed (for good). */
  whenClosed(): Promise<void> {
    return this.#closed;
  }

  // ---------------------------------------------------------------------------------------------
  // Links

  async #start(): Promise<void> {
    try {
      // Always open the target (it prepares its storage); an explicit position option wins over
      // the one the target saved.
      const saved = (await this.#target.open()) ?? undefined;
      this.#position = this.#o.position ?? saved;
    } catch (err) {
      this.#shutdown(new ReplicationError('ERR_REPL_TARGET', `the target could not be opened: ${(err as Error).message}`, { step: 'open', cause: err }));
      return;
    }
    if (!this.#closing) this.#connect();
  }

  #connect(): void {
    this.#link = new MasterLink(this.#host, {
      endpoint: this.#endpoint,
      connect: this.#o.connect,
      mode: this.#mode,
      listeningPort: this.#o.listeningPort ?? 0,
      connectTimeoutMs: this.#o.connectTimeoutMs ?? 10_000,
      timeoutMs: this.#o.timeoutMs ?? 60_000,
      retryLaterMs: this.#o.retryLaterMs ?? 1000,
      ackIntervalMs: this.#o.ackIntervalMs ?? 1000,
    });
    this.#link.start();
  }

  /** From the link, once per link: let the consumer deal with the loss, in order. */
  #linkLost(error: ReplicationError, retryMs: number | undefined, midSnapshot: boolean): void {
    if (this.#closing) return;
    // A snapshot cut short is worthless: don't make the target chew through the rest of it.
    if (midSnapshot) this.#dropSpooledSnapshot();
    this.#spool.pushMarker({ kind: 'link-lost', error, retryMs });
    this.#kick();
  }

  /** Drops spooled snapshot bytes, keeping the markers (the consumer must still see the snapshot start). */
  #dropSpooledSnapshot(): void {
    const keep: Marker[] = [];
    for (let item = this.#spool.shift(); item; item = this.#spool.shift()) if ('marker' in item) keep.push(item.marker);
    for (const m of keep) this.#spool.pushMarker(m);
  }

  #tick(): void {
    this.#link?.tick(this.#clock.now());
    this.#report();
  }

  // ---------------------------------------------------------------------------------------------
  // Consumer: the spool, in order, into the target

  #kick(): void {
    if (!this.#pumping) this.#drain();
  }

  /**
   * Runs the spool into the target. Synchronously for as long as every step completes synchronously
   * (the live stream into a memory mirror: no promise and no async frame per socket read, which at a
   * write or two per read was most of what the young-generation GC had to collect), and from the
   * first step that returns a promise on, after it settles.
   */
  #drain(): void {
    this.#pumping = true;
    const since = performance.now();
    let pending: Promise<void> | undefined;
    try {
      for (;;) {
        const item = this.#spool.shift();
        if (!item) break;
        this.#currentAt = item.at;
        if ('marker' in item) pending = this.#onMarker(item.marker);
        else if (item.tag === 'rdb') pending = this.#onSnapshotBytes(item.data);
        else pending = this.#onStreamBytes(item.data);
        if (pending) break;
        if (this.#state === 'closed') break;
        if (performance.now() - since > YIELD_AFTER_MS) {
          pending = yieldToLoop();
          break;
        }
      }
    } catch (err) {
      this.#pumpStopped();
      this.#onConsumerError(err);
      return;
    }
    if (pending) void this.#drainAfter(pending);
    else this.#pumpStopped();
  }

  async #drainAfter(step: Promise<void>): Promise<void> {
    try {
      await step;
    } catch (err) {
      this.#pumpStopped();
      this.#onConsumerError(err);
      return;
    }
    if (this.#state === 'closed') this.#pumpStopped();
    else this.#drain();
  }

  #pumpStopped(): void {
    this.#pumping = false;
    this.#currentAt = undefined;
  }

  /** A consumer failure: fatal ones stop the replica; others drop the link (and what it spooled) and resume. */
  #onConsumerError(err: unknown): void {
    const error = err instanceof ReplicationError ? err : new ReplicationError('ERR_REPL_PROTOCOL', (err as Error).message, { cause: err });
    if (error.fatal || this.#closing) {
      this.#shutdown(error);
      return;
    }
    this.#link?.destroy();
    this.#spool.clear();
    this.#spool.pushMarker({ kind: 'link-lost', error, retryMs: undefined });
    this.#kick();
  }

  async #onMarker(m: Marker): Promise<void> {
    switch (m.kind) {
      case 'fullsync':
        return this.#beginSnapshot(m.info);
      case 'snapshot-end':
        return this.#endSnapshot(m.bytes);
      case 'continue':
        return this.#onContinue(m.replid, m.offset);
      case 'link-lost':
        return this.#onLinkLost(m.error, m.retryMs);
      default:
        return this.#finish(m.error);
    }
  }

  async #beginSnapshot(info: FullSyncInfo): Promise<void> {
    this.#stream = null;
    this.#snapshot = new SnapshotLoader(info, {
      applies: this.#mode !== 'stream-only',
      filter: this.#filter.rdbFilter,
      partItems: this.#o.partItems ?? 10_000,
      encoded: this.#target.takesEncoded === true,
      skipChecksum: this.#o.skipChecksum ?? false,
      startedAt: this.#clock.now(),
    });
    this.#setState('loading');
    this.emit('fullsync', info);
    if (this.#snapshot.applies) await this.#call('beginFullSync', () => this.#target.beginFullSync(info));
  }

  async #onSnapshotBytes(data: Buffer): Promise<void> {
    const snap = this.#snapshot;
    if (!snap) return;
    await this.#applyKeys(snap.write(data));
    this.#progress(snap, false);
  }

  async #applyKeys(keys: SnapshotKey[]): Promise<void> {
    if (keys.length === 0) return;
    if (this.listenerCount('load') > 0) for (const k of keys) this.emit('load', k);
    await this.#call('applyKeys', () => this.#target.applyKeys(keys));
  }

  async #endSnapshot(bytes: number): Promise<void> {
    const snap = this.#snapshot!;
    await this.#applyKeys(snap.end(bytes));
    const position = { replid: snap.info.replid, offset: snap.info.offset };
    if (snap.applies) await this.#call('endFullSync', () => this.#target.endFullSync(position));
    else await this.#call('applyCommands', () => this.#target.applyCommands([], position));
    this.#setPosition(position);
    this.#progress(snap, true);
    this.#snapshot = null;
    this.#db = 0;
    this.#stream = new CommandStream({ offset: position.offset, db: 0 });
    this.emit('loaded', { replid: position.replid, offset: position.offset, keys: snap.keys, bytes, durationMs: this.#clock.now() - snap.startedAt });
    if (this.#mode === 'rdb-only') {
      this.#shutdown(undefined, 'rdb-only snapshot complete');
      return;
    }
    this.#setState('streaming');
  }

  async #onContinue(replid: string, offset: number): Promise<void> {
    const changed = this.#position!.replid !== replid;
    this.#stream = new CommandStream({ offset, db: this.#db });
    if (changed) {
      const position = { replid, offset };
      await this.#call('applyCommands', () => this.#target.applyCommands([], position));
      this.#setPosition(position);
    }
    this.emit('continue', { replid, offset, replidChanged: changed });
    this.#setState('streaming');
  }

  /** Returns a promise only when the target's applyCommands did. */
  #onStreamBytes(data: Buffer): Promise<void> | undefined {
    const stream = this.#stream;
    if (!stream) return undefined;
    const batch = stream.feed(data);
    if (batch.commands.length === 0 && stream.processed === this.#position!.offset) return undefined;
    const commands = this.#filter.apply(batch.commands);
    const position = { replid: this.#position!.replid, offset: stream.processed };
    if (this.listenerCount('command') > 0) for (const c of commands) this.emit('command', c);
    const r = this.#callSync('applyCommands', () => this.#target.applyCommands(commands, position));
    if (r instanceof Promise) return r.then((unhandled) => this.#applied(stream, position, unhandled, batch.getAck));
    this.#applied(stream, position, r, batch.getAck);
    return undefined;
  }

  #applied(stream: CommandStream, position: ReplicationPosition, unhandled: readonly UnhandledCommand[] | void, getAck: boolean): void {
    this.#setPosition(position);
    this.#db = stream.processedDb;
    if (unhandled) for (const u of unhandled) this.emit('unhandled', u);
    if (getAck) this.#link?.sendAck();
  }

  async #onLinkLost(error: ReplicationError, retryMs: number | undefined): Promise<void> {
    this.#link = null;
    const snap = this.#snapshot;
    this.#snapshot = null;
    if (snap?.applies) await this.#call('abortFullSync', () => this.#target.abortFullSync());
    if (this.#stream) this.#db = this.#stream.processedDb;
    this.#stream = null;
    const max = this.#o.reconnect === false ? 0 : this.#o.reconnect?.maxAttempts ?? Infinity;
    if (error.fatal || this.#attempts >= max) {
      this.#shutdown(error);
      return;
    }
    this.#setState('reconnecting');
    this.#emitError(error);
    this.emit('closed', { reason: error.message, willReconnect: true, error });
    const delay = retryMs ?? this.#backoff();
    this.#attempts++;
    this.#clock.after(delay, () => {
      if (!this.#closing) this.#connect();
    });
  }

  #backoff(): number {
    const r = this.#o.reconnect || {};
    const ms = Math.min(r.maxMs ?? 5000, (r.baseMs ?? 100) * 2 ** this.#attempts);
    return Math.round(ms * (0.75 + Math.random() * 0.5));
  }

  // ---------------------------------------------------------------------------------------------
  // Shutdown

  /** Stops for good: `error` is set for fatal errors, undefined for close() and rdb-only. */
  #shutdown(error: ReplicationError | undefined, reason?: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#closeReason = reason ?? error?.message ?? 'closed by caller';
    this.#link?.destroy();
    this.#link = null;
    this.#spool.clear();
    this.#spool.pushMarker({ kind: 'close', error });
    this.#kick();
  }

  async #finish(error: ReplicationError | undefined): Promise<void> {
    this.#stopTick();
    clearInterval(this.#keepAlive);
    await this.#started;
    if (this.#snapshot?.applies) {
      try {
        await this.#target.abortFullSync();
      } catch {
        /* closing anyway */
      }
    }
    this.#snapshot = null;
    this.#stream = null;
    try {
      await this.#target.close();
    } catch (err) {
      error ??= new ReplicationError('ERR_REPL_TARGET', `the target failed to close: ${(err as Error).message}`, { step: 'close', cause: err });
    }
    this.#spool.close();
    this.#setState('closed');
    if (error) this.#emitError(error);
    this.emit('closed', error ? { reason: this.#closeReason, willReconnect: false, error } : { reason: this.#closeReason, willReconnect: false });
    this.#resolveClosed();
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  /** Calls the target; a throw becomes a fatal ERR_REPL_TARGET. Sync results cost no await. */
  async #call<T>(what: string, fn: () => T | Promise<T>): Promise<T> {
    try {
      const r = fn();
      return r instanceof Promise ? await r : r;
    } catch (err) {
      throw targetFailed(what, err);
    }
  }

  /** #call without a promise when fn returns a plain value. */
  #callSync<T>(what: string, fn: () => T | Promise<T>): T | Promise<T> {
    let r: T | Promise<T>;
    try {
      r = fn();
    } catch (err) {
      throw targetFailed(what, err);
    }
    return r instanceof Promise ? r.catch((err: unknown) => Promise.reject(targetFailed(what, err))) : r;
  }

  #setPosition(p: ReplicationPosition): void {
    this.#position = p;
    if (this.listenerCount('position') > 0) this.emit('position', { ...p });
  }

  #progress(snap: SnapshotLoader, final: boolean): void {
    if (this.listenerCount('progress') === 0) return;
    const now = this.#clock.now();
    if (!final && now - snap.lastProgress < 100) return;
    snap.lastProgress = now;
    this.emit('progress', {
      phase: 'snapshot',
      bytes: snap.bytes,
      totalBytes: snap.info.bytes,
      keys: snap.keys,
      totalKeys: snap.totalKeys || undefined,
    });
  }

  #setState(s: ReplicaState): void {
    if (this.#state === s || this.#state === 'closed') return;
    this.#state = s;
    this.emit('state', s);
    this.#report();
  }

  #report(): void {
    try {
      this.#target.status?.(this.status);
    } catch {
      /* status is advisory */
    }
  }

  /** 'error' only when someone listens: the library never throws from an emitter or prints. */
  #emitError(error: ReplicationError): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

/** Creates a replica and starts it (on the next tick, so listeners can be attached first). */
function targetFailed(what: string, err: unknown): ReplicationError {
  return new ReplicationError('ERR_REPL_TARGET', `the target failed in ${what}: ${(err as Error).message}`, { step: what, cause: err });
}

export function createReplica(options: ReplicaOptions): Replica {
  return new Replica(options);
}
