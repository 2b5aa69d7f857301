/**
 * createReplica: a process that speaks Redis replication ("nsync"). It connects to a master as a
 * replica, loads the snapshot, follows every write, and hands both to a Target and to listeners.
 *
 * Two halves, joined by a spool, so that the socket is read at line rate whatever the target does:
 *
 *   socket ──> Handshake ──> PayloadReader ──┐        (producer: synchronous, in 'data' events)
 *                       └──> stream bytes ───┴─> Spool (memory, then temp file; bounded)
 *                                                 │
 *   Target <── RdbParser / CommandStream <────────┘   (consumer: #pump, awaits the target)
 *
 * The producer frames the payload itself (it must know when the snapshot ends to start sending
 * REPLCONF ACK, or the master would time us out while a slow target loads), and puts markers in the
 * spool for the consumer to meet in order: a snapshot starts, the snapshot ended, +CONTINUE, the link
 * was lost, close.
 *
 * Link life: connecting -> handshake -> (waiting-snapshot -> loading ->) streaming -> reconnecting ->
 * connecting ... A lost link is handled by the consumer once it has applied everything received
 * before the loss: a snapshot cut short is aborted at the target (which keeps its old data), a
 * half-received command or MULTI is dropped, and the replica reconnects with `PSYNC replid
 * offset+1` from what the target has applied. The master answers +CONTINUE when its backlog still
 * holds that offset (no new snapshot), +FULLRESYNC otherwise, or with a new replid after a restart.
 *
 * Timers: one coarse tick a second (injectable clock) sends REPLCONF ACK once a snapshot has been
 * received, detects a silent master (`timeoutMs`), and reports status to the target.
 */
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { systemClock, type Clock } from '../clock.js';
import { parseRedisUrl } from '../client/index.js';
import { encodeCommand } from '../resp/index.js';
import { RdbParser, type RdbEvent } from '../rdb/index.js';
import { ReplicationError } from './errors.js';
import type { ReplicaEvents } from './events.js';
import { CommandFilter, type ReplicaFilter } from './filter.js';
import { Handshake, type HandshakeOutcome } from './handshake.js';
import { PayloadReader } from './payload.js';
import { Spool, type SpoolOptions } from './spool.js';
import { CommandStream } from './stream.js';
import type {
  FullSyncInfo, ReplicaState, ReplicaStatus, ReplicatedCommand, ReplicationPosition, SnapshotKey, Target,
} from './targets/target.js';

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
  /** REPLCONF ACK interval (default 1000 ms; Redis's replicas ack every second). */
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

type Marker =
  | { kind: 'fullsync'; info: FullSyncInfo; sync: boolean }
  | { kind: 'snapshot-end'; bytes: number }
  | { kind: 'continue'; replid: string; offset: number }
  | { kind: 'link-lost'; error: ReplicationError; retryMs: number | undefined }
  | { kind: 'close'; error: ReplicationError | undefined };

/** The socket side's phase within one link. */
type LinkPhase = 'handshake' | 'payload' | 'stream' | 'over';

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
  readonly #conn: { host: string; port: number; path?: string; tls?: boolean | tls.ConnectionOptions; username?: string; password?: string };
  #state: ReplicaState = 'connecting';
  #closing = false;
  #closed: Promise<void>;
  #resolveClosed!: () => void;

  // Producer (one link at a time).
  #socket: Duplex | null = null;
  #epoch = 0;
  #phase: LinkPhase = 'over';
  #handshake: Handshake | null = null;
  #payload: PayloadReader | null = null;
  #lastDataAt = 0;
  #cancelConnectTimer: (() => void) | null = null;
  /** Offset the current link started from (FULLRESYNC offset or our CONTINUE offset). */
  #linkReplid = '';
  #linkOffset = 0;
  #attempts = 0;
  #streamStarted = false;
  #stopFastAcks: (() => void) | undefined;
  /** Size of the payload being received, when the master announced it (`$<len>`). */
  #payloadTotal: number | undefined;

  // Consumer.
  #pumping = false;
  #currentAt: number | undefined;
  #position: ReplicationPosition | undefined;
  #parser: RdbParser | null = null;
  #events: RdbEvent[] = [];
  #snapshot: { info: FullSyncInfo; keys: number; bytes: number; totalKeys: number; startedAt: number; lastProgress: number; ended: boolean; applies: boolean } | null = null;
  #stream: CommandStream | null = null;
  /** The database a resumed stream continues in (the cached master's db, in Redis's terms). */
  #db = 0;
  #stopTick: () => void;
  #keepAlive: ReturnType<typeof setInterval>;

  constructor(options: ReplicaOptions) {
    super();
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#target = options.target ?? noopTarget;
    this.#filter = new CommandFilter(options.filter);
    this.#mode = options.mode ?? 'full';
    this.#spool = new Spool<Marker>({ ...options.spool, now: () => this.#clock.now() });
    const fromUrl = options.url ? parseRedisUrl(options.url) : {};
    this.#conn = {
      host: options.host ?? fromUrl.host ?? '127.0.0.1',
      port: options.port ?? fromUrl.port ?? 6379,
      ...(fromUrl.path ? { path: fromUrl.path } : {}),
      ...((options.tls ?? fromUrl.tls) ? { tls: options.tls ?? fromUrl.tls } : {}),
      ...((options.username ?? fromUrl.username) ? { username: options.username ?? fromUrl.username } : {}),
      ...((options.password ?? fromUrl.password) !== undefined ? { password: options.password ?? fromUrl.password } : {}),
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
    const now = this.#clock.now();
    const oldest = this.#currentAt ?? this.#spool.oldestAt;
    return {
      state: this.#state,
      lagBytes: this.#spool.size + (this.#stream?.partialBytes ?? 0),
      lagMs: oldest === undefined ? 0 : Math.max(0, now - oldest),
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
  // Start and connect

  async #start(): Promise<void> {
    try {
      this.#position = this.#o.position ?? (await this.#target.open()) ?? undefined;
    } catch (err) {
      this.#shutdown(new ReplicationError('ERR_REPL_TARGET', `the target could not be opened: ${(err as Error).message}`, { step: 'open', cause: err }));
      return;
    }
    if (!this.#closing) this.#connect();
  }

  #connect(): void {
    const epoch = ++this.#epoch;
    this.#setState('connecting');
    const c = this.#conn;
    let socket: Duplex;
    let connecting: boolean;
    if (this.#o.connect) {
      socket = this.#o.connect();
      connecting = (socket as net.Socket).connecting === true;
    } else if (c.tls) {
      const opts: tls.ConnectionOptions = typeof c.tls === 'object' ? { ...c.tls } : {};
      socket = c.path ? tls.connect({ ...opts, path: c.path }) : tls.connect({ servername: c.host, ...opts, host: c.host, port: c.port });
      connecting = true;
    } else {
      socket = c.path ? net.connect({ path: c.path }) : net.connect({ host: c.host, port: c.port });
      connecting = true;
    }
    this.#socket = socket;
    this.#phase = 'handshake';
    this.#payload = null;
    this.#lastDataAt = this.#clock.now();
    if ('setNoDelay' in socket && typeof socket.setNoDelay === 'function') (socket as net.Socket).setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (epoch === this.#epoch) this.#onData(chunk);
    });
    const lost = (err?: Error) => {
      if (epoch === this.#epoch) this.#linkLost(linkError(err, this.#phase));
    };
    socket.on('error', lost);
    socket.on('close', () => lost());
    socket.on('end', () => lost());
    const begin = () => {
      if (epoch !== this.#epoch) return;
      this.#cancelConnectTimer?.();
      this.#cancelConnectTimer = null;
      this.#beginHandshake();
    };
    if (connecting) {
      socket.once(c.tls && !this.#o.connect ? 'secureConnect' : 'connect', begin);
      this.#cancelConnectTimer = this.#clock.after(this.#o.connectTimeoutMs ?? 10_000, () => {
        if (epoch === this.#epoch) this.#linkLost(new ReplicationError('ERR_REPL_LINK', `could not connect within ${this.#o.connectTimeoutMs ?? 10_000} ms (raise connectTimeoutMs)`, { step: 'connect' }));
      });
    } else {
      process.nextTick(begin);
    }
  }

  #beginHandshake(): void {
    this.#setState('handshake');
    this.#handshake = new Handshake({
      write: (data) => this.#write(data),
      username: this.#conn.username,
      password: this.#conn.password,
      listeningPort: this.#o.listeningPort ?? 0,
      mode: this.#mode,
      position: this.#position,
    });
    this.#handshake.start();
  }

  #write(data: Buffer): void {
    const s = this.#socket;
    if (s && !s.destroyed && s.writable) s.write(data);
  }

  // ---------------------------------------------------------------------------------------------
  // Producer: bytes from the socket, framed, into the spool

  #onData(chunk: Buffer): void {
    this.#lastDataAt = this.#clock.now();
    try {
      switch (this.#phase) {
        case 'handshake':
          this.#onHandshakeBytes(chunk);
          break;
        case 'payload':
          this.#onPayloadBytes(chunk);
          break;
        case 'stream':
          this.#streamStarted = true;
          this.#spool.push('stream', chunk);
          break;
        default:
          return;
      }
    } catch (err) {
      this.#linkLost(err instanceof ReplicationError ? err : new ReplicationError('ERR_REPL_PROTOCOL', (err as Error).message, { step: this.#phase, cause: err }));
      return;
    }
    this.#kick();
  }

  #onHandshakeBytes(chunk: Buffer): void {
    const result = this.#handshake!.feed(chunk);
    if (!result) return;
    this.#handshake = null;
    this.#onOutcome(result.outcome, result.rest);
  }

  /** The PSYNC step's outcome: see handshake.ts. */
  #onOutcome(outcome: HandshakeOutcome, rest: Buffer): void {
    switch (outcome.kind) {
      case 'fullresync':
      case 'sync': {
        this.#attempts = 0;
        const sync = outcome.kind === 'sync';
        const replid = sync ? '?' : outcome.replid;
        const offset = sync ? 0 : outcome.offset;
        this.#linkReplid = replid;
        this.#linkOffset = offset;
        this.#phase = 'payload';
        this.#payload = new PayloadReader({
          // The snapshot marker goes in when the header is read, so the target learns its form and size.
          onStart: (transfer, bytes) => {
            this.#payloadTotal = bytes;
            this.#spool.pushMarker({ kind: 'fullsync', info: { replid, offset, transfer, bytes }, sync });
          },
          onData: (bytes) => this.#spool.push('rdb', bytes),
        });
        this.#setState('waiting-snapshot');
        if (rest.length > 0) this.#onPayloadBytes(rest);
        return;
      }
      case 'continue': {
        this.#attempts = 0;
        this.#linkReplid = outcome.replid;
        this.#linkOffset = this.#position!.offset;
        this.#phase = 'stream';
        this.#spool.pushMarker({ kind: 'continue', replid: outcome.replid, offset: this.#position!.offset });
        this.#sendAck();
        if (rest.length > 0) this.#spool.push('stream', rest);
        return;
      }
      default: {
        const retryMs = this.#o.retryLaterMs ?? 1000;
        this.#linkLost(new ReplicationError('ERR_REPL_LINK', `the master asked us to try later (${outcome.reason.split(' ')[0]})`, { step: 'psync' }), retryMs);
      }
    }
  }

  #onPayloadBytes(chunk: Buffer): void {
    const p = this.#payload!;
    const rest = p.feed(chunk);
    if (rest === undefined) return;
    // The whole snapshot is here (maybe not yet applied): the link is now a stream link. Ack at once,
    // as Redis's replica does, and every second from now on.
    this.#payload = null;
    this.#spool.pushMarker({ kind: 'snapshot-end', bytes: p.received });
    if (this.#mode === 'rdb-only') {
      // The master sends no stream to an rdb-only replica; we are done with the link.
      this.#phase = 'over';
      this.#epoch++;
      this.#socket?.destroy();
      this.#socket = null;
      return;
    }
    this.#phase = 'stream';
    this.#sendAck();
    this.#streamStarted = rest.length > 0;
    if (rest.length > 0) this.#spool.push('stream', rest);
    else this.#startFastAcks();
  }

  /**
   * After a diskless snapshot the master starts the stream only once it has an ACK that arrived after
   * it reaped its fork child (notes 3.3: an early ACK leaves the stream waiting for the next one, a
   * second later). So ACK every 100 ms until the stream starts, for at most 2 s.
   */
  #startFastAcks(): void {
    this.#stopFastAcks?.();
    const epoch = this.#epoch;
    let left = 20;
    this.#stopFastAcks = this.#clock.every(100, () => {
      if (epoch !== this.#epoch || this.#streamStarted || --left < 0) {
        this.#stopFastAcks?.();
        this.#stopFastAcks = undefined;
        return;
      }
      this.#sendAck();
    });
  }

  /** Called once per link: stop reading it and let the consumer deal with the loss in order. */
  #linkLost(error: ReplicationError, retryMs?: number): void {
    this.#epoch++;
    this.#cancelConnectTimer?.();
    this.#cancelConnectTimer = null;
    const midSnapshot = this.#phase === 'payload';
    this.#phase = 'over';
    this.#handshake = null;
    this.#payload = null;
    const s = this.#socket;
    this.#socket = null;
    s?.destroy();
    error.host = this.#conn.host;
    error.port = this.#conn.port;
    if (this.#closing) return;
    // A snapshot cut short is worthless: don't make the target chew through the rest of it.
    if (midSnapshot) this.#dropSpooledSnapshot();
    this.#spool.pushMarker({ kind: 'link-lost', error, retryMs });
    this.#kick();
  }

  /** Drops spooled snapshot bytes, keeping the markers (the consumer must still see the snapshot start). */
  #dropSpooledSnapshot(): void {
    const keep: Marker[] = [];
    for (let item = this.#spool.shift(); item; item = this.#spool.shift()) {
      if ('marker' in item) keep.push(item.marker);
      else if (item.tag === 'stream') {
        // Cannot happen before the snapshot ends; keep order anyway by refusing to drop.
        this.#spool.clear();
        for (const m of keep) this.#spool.pushMarker(m);
        this.#spool.push('stream', item.data);
        return;
      }
    }
    for (const m of keep) this.#spool.pushMarker(m);
  }

  #sendAck(): void {
    const applied = this.#position && this.#position.replid === this.#linkReplid ? this.#position.offset : -1;
    this.#write(encodeCommand(['REPLCONF', 'ACK', String(Math.max(applied, this.#linkOffset))]));
  }

  #tick(): void {
    const now = this.#clock.now();
    if (this.#socket && this.#phase !== 'over' && now - this.#lastDataAt > (this.#o.timeoutMs ?? 60_000)) {
      this.#linkLost(new ReplicationError('ERR_REPL_TIMEOUT', `the master sent nothing for ${this.#o.timeoutMs ?? 60_000} ms (raise timeoutMs)`, { step: this.#phase }));
      return;
    }
    if (this.#phase === 'stream') this.#sendAck();
    this.#report();
  }

  // ---------------------------------------------------------------------------------------------
  // Consumer: the spool, in order, into the target

  #kick(): void {
    if (!this.#pumping) void this.#pump();
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    let since = performance.now();
    try {
      for (;;) {
        const item = this.#spool.shift();
        if (!item) break;
        this.#currentAt = item.at;
        if ('marker' in item) await this.#onMarker(item.marker);
        else if (item.tag === 'rdb') await this.#onSnapshotBytes(item.data);
        else await this.#onStreamBytes(item.data);
        if (this.#state === 'closed') break;
        if (performance.now() - since > YIELD_AFTER_MS) {
          await yieldToLoop();
          since = performance.now();
        }
      }
    } catch (err) {
      this.#pumping = false;
      this.#currentAt = undefined;
      await this.#onConsumerError(err);
      return;
    }
    this.#pumping = false;
    this.#currentAt = undefined;
  }

  /** A consumer failure: fatal ones stop the replica, others drop the link and resume. */
  async #onConsumerError(err: unknown): Promise<void> {
    const error = err instanceof ReplicationError ? err : new ReplicationError('ERR_REPL_PROTOCOL', (err as Error).message, { cause: err });
    if (error.fatal || this.#closing) {
      this.#shutdown(error);
      return;
    }
    // Drop the link and everything spooled after the failure, then handle the loss like any other.
    this.#epoch++;
    this.#socket?.destroy();
    this.#socket = null;
    this.#phase = 'over';
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
    const applies = this.#mode !== 'stream-only';
    this.#snapshot = { info, keys: 0, bytes: 0, totalKeys: 0, startedAt: this.#clock.now(), lastProgress: 0, ended: false, applies };
    this.#events = [];
    this.#parser = new RdbParser({
      onEvent: (ev) => void this.#events.push(ev),
      values: applies,
      filter: this.#filter.rdbFilter,
      partItems: this.#o.partItems ?? 10_000,
      skipChecksum: this.#o.skipChecksum ?? false,
    });
    this.#setState('loading');
    this.emit('fullsync', info);
    if (applies) await this.#call('beginFullSync', () => this.#target.beginFullSync(info));
  }

  async #onSnapshotBytes(data: Buffer): Promise<void> {
    const snap = this.#snapshot;
    if (!snap || !this.#parser) return;
    if (this.#state === 'waiting-snapshot') this.#setState('loading');
    snap.bytes += data.length;
    try {
      this.#parser.write(data);
    } catch (err) {
      throw new ReplicationError('ERR_REPL_SNAPSHOT', `the snapshot could not be parsed: ${(err as Error).message}`, { step: 'snapshot', cause: err });
    }
    await this.#applyEvents();
    this.#progress(false);
  }

  async #applyEvents(): Promise<void> {
    const snap = this.#snapshot!;
    const events = this.#events;
    if (events.length === 0) return;
    this.#events = [];
    const keys: SnapshotKey[] = [];
    for (const ev of events) {
      if (ev.kind === 'key') keys.push(ev);
      else if (ev.kind === 'resize') snap.totalKeys += ev.keys;
      else if (ev.kind === 'end') snap.ended = true;
    }
    if (keys.length === 0 || !snap.applies) return;
    snap.keys += keys.length;
    if (this.listenerCount('load') > 0) for (const k of keys) this.emit('load', k);
    await this.#call('applyKeys', () => this.#target.applyKeys(keys));
  }

  async #endSnapshot(bytes: number): Promise<void> {
    const snap = this.#snapshot!;
    const parser = this.#parser!;
    try {
      parser.end();
    } catch (err) {
      throw new ReplicationError('ERR_REPL_SNAPSHOT', `the snapshot ended early: ${(err as Error).message}`, { step: 'snapshot', cause: err });
    }
    await this.#applyEvents();
    if (parser.bytesConsumed !== bytes) {
      throw new ReplicationError('ERR_REPL_SNAPSHOT', `the RDB ended at byte ${parser.bytesConsumed} but the payload had ${bytes} bytes`, { step: 'snapshot' });
    }
    this.#parser = null;
    const position = { replid: snap.info.replid, offset: snap.info.offset };
    if (snap.applies) await this.#call('endFullSync', () => this.#target.endFullSync(position));
    else await this.#call('applyCommands', () => this.#target.applyCommands([], position));
    this.#setPosition(position);
    this.#progress(true);
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

  async #onStreamBytes(data: Buffer): Promise<void> {
    const stream = this.#stream;
    if (!stream) return;
    const batch = stream.feed(data);
    const before = this.#position!.offset;
    if (batch.commands.length === 0 && stream.processed === before) return;
    const commands = this.#filter.apply(batch.commands);
    const position = { replid: this.#position!.replid, offset: stream.processed };
    if (this.listenerCount('command') > 0) for (const c of commands) this.emit('command', c);
    const unhandled = await this.#call('applyCommands', () => this.#target.applyCommands(commands, position));
    this.#setPosition(position);
    this.#db = stream.processedDb;
    if (unhandled) for (const u of unhandled) this.emit('unhandled', u);
    if (batch.getAck) this.#sendAck();
  }

  async #onLinkLost(error: ReplicationError, retryMs: number | undefined): Promise<void> {
    if (this.#snapshot) {
      const applies = this.#snapshot.applies;
      this.#snapshot = null;
      this.#parser = null;
      this.#events = [];
      if (applies) await this.#call('abortFullSync', () => this.#target.abortFullSync());
    }
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
    const base = r.baseMs ?? 100;
    const ms = Math.min(r.maxMs ?? 5000, base * 2 ** this.#attempts);
    return Math.round(ms * (0.75 + Math.random() * 0.5));
  }

  // ---------------------------------------------------------------------------------------------
  // Shutdown

  /** Stops for good: `error` is set for fatal errors, undefined for close() and rdb-only. */
  #shutdown(error: ReplicationError | undefined, reason?: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#closeReason = reason ?? error?.message ?? 'closed by caller';
    this.#epoch++;
    this.#phase = 'over';
    this.#socket?.destroy();
    this.#socket = null;
    this.#cancelConnectTimer?.();
    this.#spool.clear();
    this.#spool.pushMarker({ kind: 'close', error });
    this.#kick();
  }

  #closeReason = '';
  #started: Promise<void>;

  async #finish(error: ReplicationError | undefined): Promise<void> {
    this.#stopTick();
    clearInterval(this.#keepAlive);
    this.#stopFastAcks?.();
    await this.#started;
    if (this.#snapshot?.applies) {
      try {
        await this.#target.abortFullSync();
      } catch {
        /* closing anyway */
      }
    }
    this.#snapshot = null;
    this.#parser = null;
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
      throw new ReplicationError('ERR_REPL_TARGET', `the target failed in ${what}: ${(err as Error).message}`, { step: what, cause: err });
    }
  }

  #setPosition(p: ReplicationPosition): void {
    this.#position = p;
    if (this.listenerCount('position') > 0) this.emit('position', { ...p });
  }

  #progress(final: boolean): void {
    const snap = this.#snapshot;
    if (!snap || this.listenerCount('progress') === 0) return;
    const now = this.#clock.now();
    if (!final && now - snap.lastProgress < 100) return;
    snap.lastProgress = now;
    this.emit('progress', {
      phase: 'snapshot',
      bytes: snap.bytes,
      totalBytes: this.#payloadTotal,
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

function linkError(err: Error | undefined, phase: LinkPhase): ReplicationError {
  const message = err ? `the link to the master failed (${(err as NodeJS.ErrnoException).code ?? err.message})` : 'the master closed the link';
  return new ReplicationError('ERR_REPL_LINK', message, { step: phase, ...(err ? { cause: err } : {}) });
}

/** Creates a replica and starts it (on the next tick, so listeners can be attached first). */
export function createReplica(options: ReplicaOptions): Replica {
  return new Replica(options);
}
