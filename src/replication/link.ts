/**
 * One connection to the master, the producer half of a replica: it connects, runs the handshake,
 * frames the snapshot payload, and puts every byte it receives into the spool, synchronously, in the
 * socket's 'data' events: the socket is read at line rate whatever the target does.
 *
 *   connect -> handshake -> [payload: FULLRESYNC, keep-alives, $len | $EOF:] -> stream -> over
 *                        -> [CONTINUE] -------------------------------------> stream
 *
 * It frames the payload itself, rather than leaving that to the consumer, because it must know when
 * the snapshot has arrived to start sending REPLCONF ACK: a master stops waiting for a replica that
 * stays silent for repl-timeout, however long the target takes to load what it was sent.
 *
 * What the consumer needs to see in order goes into the spool as markers between the bytes: a
 * snapshot starts (once its header is read, so that its form and size are known), the snapshot
 * ended, +CONTINUE. A link ends once (lost(), then it is inert); a new attempt is a new MasterLink.
 */
import type { Duplex } from 'node:stream';
import type { Clock } from '../clock.js';
import { encodeCommand } from '../resp/index.js';
import { ReplicationError } from './errors.js';
import { Handshake, type HandshakeOutcome } from './handshake.js';
import { PayloadReader } from './payload.js';
import type { Spool } from './spool.js';
import type { FullSyncInfo, ReplicaState, ReplicationPosition } from './targets/target.js';
import { openTransport, type Endpoint } from './transport.js';

/** What the consumer meets in the spool besides bytes. */
export type Marker =
  | { kind: 'fullsync'; info: FullSyncInfo }
  | { kind: 'snapshot-end'; bytes: number }
  | { kind: 'continue'; replid: string; offset: number }
  | { kind: 'link-lost'; error: ReplicationError; retryMs: number | undefined }
  | { kind: 'close'; error: ReplicationError | undefined };

export type LinkPhase = 'connecting' | 'handshake' | 'payload' | 'stream' | 'over';

/** The replica, as a link sees it. */
export interface LinkHost {
  readonly spool: Spool<Marker>;
  readonly clock: Clock;
  /** The position applied so far: what PSYNC asks for, and what ACKs report. */
  position(): ReplicationPosition | undefined;
  setState(state: ReplicaState): void;
  /** Something was spooled. */
  kick(): void;
  /** The handshake succeeded: reset the reconnect backoff. */
  connected(): void;
  /** The link ended (called once). `midSnapshot` when a payload was being received. */
  lost(error: ReplicationError, retryMs: number | undefined, midSnapshot: boolean): void;
}

export interface LinkOptions {
  endpoint: Endpoint;
  connect?: (() => Duplex) | undefined;
  mode: 'full' | 'rdb-only' | 'stream-only';
  listeningPort: number;
  connectTimeoutMs: number;
  timeoutMs: number;
  retryLaterMs: number;
  /** Periodic REPLCONF ACK interval. */
  ackIntervalMs: number;
}

export class MasterLink {
  readonly #host: LinkHost;
  readonly #o: LinkOptions;
  #socket: Duplex | null = null;
  #phase: LinkPhase = 'connecting';
  #handshake: Handshake | null = null;
  #payload: PayloadReader | null = null;
  #lastDataAt: number;
  #cancelConnectTimer: (() => void) | undefined;
  #stopFastAcks: (() => void) | undefined;
  /** Where this link's stream starts: the FULLRESYNC offset, or ours for +CONTINUE. */
  #replid = '';
  #offset = 0;
  #streamStarted = false;
  #lastAckAt = 0;
  /** The payload's size when the master announced it (`$<len>`). */
  payloadTotal: number | undefined;

  constructor(host: LinkHost, options: LinkOptions) {
    this.#host = host;
    this.#o = options;
    this.#lastDataAt = host.clock.now();
  }

  get phase(): LinkPhase {
    return this.#phase;
  }

  // -- connect ------------------------------------------------------------------------------------

  start(): void {
    this.#host.setState('connecting');
    const { socket, readyEvent, direct } = openTransport(this.#o.endpoint, this.#o.connect, (chunk) => this.#onData(chunk));
    this.#socket = socket;
    if (!direct) socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    const lost = (err?: Error) => this.#lost(linkError(err, this.#phase));
    socket.on('error', lost);
    socket.on('close', () => lost());
    socket.on('end', () => lost());
    if (readyEvent === undefined) {
      process.nextTick(() => this.#connected());
      return;
    }
    socket.once(readyEvent, () => this.#connected());
    this.#cancelConnectTimer = this.#host.clock.after(this.#o.connectTimeoutMs, () =>
      this.#lost(new ReplicationError('ERR_REPL_LINK', `could not connect within ${this.#o.connectTimeoutMs} ms (raise connectTimeoutMs)`, { step: 'connect' })),
    );
  }

  #connected(): void {
    if (this.#phase !== 'connecting') return;
    this.#cancelConnectTimer?.();
    this.#phase = 'handshake';
    this.#host.setState('handshake');
    const e = this.#o.endpoint;
    this.#handshake = new Handshake({
      write: (data) => this.#write(data),
      username: e.username,
      password: e.password,
      listeningPort: this.#o.listeningPort,
      mode: this.#o.mode,
      position: this.#host.position(),
    });
    this.#handshake.start();
  }

  // -- bytes in -----------------------------------------------------------------------------------

  #onData(chunk: Buffer): void {
    if (this.#phase === 'over') return;
    this.#lastDataAt = this.#host.clock.now();
    try {
      if (this.#phase === 'handshake') this.#onHandshakeBytes(chunk);
      else if (this.#phase === 'payload') this.#onPayloadBytes(chunk);
      else {
        this.#streamStarted = true;
        this.#host.spool.push('stream', chunk);
      }
    } catch (err) {
      this.#lost(err instanceof ReplicationError ? err : new ReplicationError('ERR_REPL_PROTOCOL', (err as Error).message, { step: this.#phase, cause: err }));
      return;
    }
    this.#host.kick();
  }

  #onHandshakeBytes(chunk: Buffer): void {
    const result = this.#handshake!.feed(chunk);
    if (!result) return;
    this.#handshake = null;
    this.#onOutcome(result.outcome, result.rest);
  }

  /** The PSYNC step's outcome (see handshake.ts). */
  #onOutcome(outcome: HandshakeOutcome, rest: Buffer): void {
    if (outcome.kind === 'try-later') {
      const reason = outcome.reason.split(' ')[0];
      this.#lost(new ReplicationError('ERR_REPL_LINK', `the master asked us to try later (${reason})`, { step: 'psync' }), this.#o.retryLaterMs);
      return;
    }
    this.#host.connected();
    if (outcome.kind === 'continue') {
      const at = this.#host.position()!.offset;
      this.#replid = outcome.replid;
      this.#offset = at;
      this.#phase = 'stream';
      this.#host.spool.pushMarker({ kind: 'continue', replid: outcome.replid, offset: at });
      this.sendAck();
      if (rest.length > 0) this.#host.spool.push('stream', rest);
      return;
    }
    // FULLRESYNC, or SYNC on a master without PSYNC (no replid: such a stream can never be resumed).
    const replid = outcome.kind === 'sync' ? '?' : outcome.replid;
    const offset = outcome.kind === 'sync' ? 0 : outcome.offset;
    this.#replid = replid;
    this.#offset = offset;
    this.#phase = 'payload';
    this.#payload = new PayloadReader({
      onStart: (transfer, bytes) => {
        this.payloadTotal = bytes;
        this.#host.spool.pushMarker({ kind: 'fullsync', info: { replid, offset, transfer, bytes } });
      },
      onData: (bytes) => this.#host.spool.push('rdb', bytes),
    });
    this.#host.setState('waiting-snapshot');
    if (rest.length > 0) this.#onPayloadBytes(rest);
  }

  #onPayloadBytes(chunk: Buffer): void {
    const p = this.#payload!;
    const rest = p.feed(chunk);
    if (rest === undefined) return;
    this.#payload = null;
    this.#host.spool.pushMarker({ kind: 'snapshot-end', bytes: p.received });
    if (this.#o.mode === 'rdb-only') {
      // An rdb-only replica gets no stream: this link has done its work.
      this.destroy();
      return;
    }
    // The snapshot is here (maybe not applied yet): ACK now, as Redis's replica does, then every second.
    this.#phase = 'stream';
    this.sendAck();
    this.#streamStarted = rest.length > 0;
    if (rest.length > 0) this.#host.spool.push('stream', rest);
    else this.#startFastAcks();
  }

  // -- acknowledgements and timeouts --------------------------------------------------------------

  /**
   * `REPLCONF ACK <offset>`: what the target has applied, or this link's starting offset while the
   * snapshot it received is still being applied (the master must hear from us meanwhile).
   */
  sendAck(): void {
    if (this.#phase !== 'stream') return;
    const p = this.#host.position();
    const applied = p && p.replid === this.#replid ? p.offset : -1;
    this.#lastAckAt = this.#host.clock.now();
    this.#write(encodeCommand(['REPLCONF', 'ACK', String(Math.max(applied, this.#offset))]));
  }

  /**
   * After a diskless snapshot the master starts the stream only once it has an ACK that arrived after
   * it reaped its fork child (notes 3.3: an early ACK leaves the stream waiting for the next one, a
   * second later). So ACK every 100 ms until the stream starts, for at most 2 s.
   */
  #startFastAcks(): void {
    let left = 20;
    this.#stopFastAcks = this.#host.clock.every(100, () => {
      if (this.#phase !== 'stream' || this.#streamStarted || --left < 0) {
        this.#stopFastAcks?.();
        this.#stopFastAcks = undefined;
        return;
      }
      this.sendAck();
    });
  }

  /** The replica's coarse tick: a silent master is dropped; a streaming link ACKs when one is due. */
  tick(now: number): void {
    if (this.#phase === 'over') return;
    if (now - this.#lastDataAt > this.#o.timeoutMs) {
      this.#lost(new ReplicationError('ERR_REPL_TIMEOUT', `the master sent nothing for ${this.#o.timeoutMs} ms (raise timeoutMs)`, { step: this.#phase }));
      return;
    }
    // A little slack: ticks and ACKs run off the same coarse clock.
    if (now - this.#lastAckAt >= this.#o.ackIntervalMs - 50) this.sendAck();
  }

  // -- the end ------------------------------------------------------------------------------------

  /** Ends the link without reporting it (close, rdb-only done, a consumer-side failure). */
  destroy(): void {
    this.#phase = 'over';
    this.#cancelConnectTimer?.();
    this.#stopFastAcks?.();
    this.#handshake = null;
    this.#payload = null;
    const s = this.#socket;
    this.#socket = null;
    s?.destroy();
  }

  /** Drops the link from a failure, once. */
  lose(error: ReplicationError): void {
    this.#lost(error);
  }

  #lost(error: ReplicationError, retryMs?: number): void {
    if (this.#phase === 'over') return;
    const midSnapshot = this.#phase === 'payload';
    this.destroy();
    error.host = this.#o.endpoint.host;
    error.port = this.#o.endpoint.port;
    this.#host.lost(error, retryMs, midSnapshot);
  }

  #write(data: Buffer): void {
    const s = this.#socket;
    if (s && !s.destroyed && s.writable) s.write(data);
  }
}

function linkError(err: Error | undefined, phase: LinkPhase): ReplicationError {
  const message = err ? `the link to the master failed (${(err as NodeJS.ErrnoException).code ?? err.message})` : 'the master closed the link';
  return new ReplicationError('ERR_REPL_LINK', message, { step: phase, ...(err ? { cause: err } : {}) });
}
