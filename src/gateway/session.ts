/**
 * One connected client, whatever its transport: its subscriptions, its grants, and its bounded send
 * queue.
 *
 * Flow control (ws #1620: an unbounded per-client buffer is how one slow browser eats the server):
 *
 *     hub ──push(batch)──> [ queue: batches not yet written ] ──write──> transport (socket buffer)
 *                           ^ dropped from the oldest end        ^ written only while the
 *                             when queue + socket buffer           transport holds < highWaterBytes
 *                             > sendBufferBytes
 *
 * - Everything the client is owed in one event-loop turn goes out as one write (one WebSocket frame,
 *   one SSE chunk): batches are pushed by reference and joined at flush time.
 * - A write is made only while the transport's own buffer is under `highWaterBytes`; otherwise the
 *   batches wait in the queue, where they can still be dropped, until the socket drains ('drain',
 *   no callback per write). Bytes handed to the socket cannot be dropped.
 * - When queue + socket buffer exceed `sendBufferBytes` (1 MiB by default, as Centrifugo), the
 *   oldest message batches are dropped and the client is sent `lagged` with the count before
 *   anything newer. Control frames (acks, errors) are never dropped.
 * - A client that has had to drop and has not drained below half the bound within
 *   `slowConsumerTimeoutMs` is disconnected with reason `slow_consumer`.
 * Nothing here ever waits on a client: pushing is an array append, and the hub never awaits a write.
 */
import { randomUUID } from 'node:crypto';
import { Batch, type Encoding, type TransportKind } from './batch.js';
import { laggedJson } from './protocol.js';
import type { Grants } from './auth.js';

export type CloseReason =
  | 'client' // the client closed or the socket failed
  | 'slow_consumer' // over the send buffer bound for too long
  | 'send_buffer_overflow' // control frames alone overflowed the bound (a client flooding requests it never reads)
  | 'unauthorized' // bad token at connect
  | 'token_expired'
  | 'heartbeat' // no pong in time
  | 'shutdown';

/** What a session writes to: a WebSocket or an SSE response. */
export interface Transport {
  readonly kind: TransportKind;
  /** The bytes it takes (see Batch.encoded). */
  readonly encoding: Encoding;
  /** Bytes handed to the transport and not yet written to the kernel. */
  buffered(): number;
  /** Writes the chunks, in order, as one write where it can (a corked writev). */
  write(chunks: Buffer[]): void;
  /** Calls session.written() once the transport's buffer has drained. */
  awaitDrain(): void;
  /** Ends the connection (for WebSocket with a close code derived from the reason). */
  close(reason: CloseReason): void;
}

export interface SessionOptions {
  /** Bound on queued + socket-buffered bytes per client (default 1 MiB). */
  sendBufferBytes: number;
  /** Write to the transport only while it buffers fewer bytes than this (default 64 KiB). */
  highWaterBytes: number;
  /** Disconnect a client that stays over the bound this long (default 10 s). */
  slowConsumerTimeoutMs: number;
}

export const DEFAULT_SESSION_OPTIONS: SessionOptions = {
  sendBufferBytes: 1024 * 1024,
  highWaterBytes: 64 * 1024,
  slowConsumerTimeoutMs: 10_000,
};

/** The session's side of the hub: scheduling, time and counters. */
export interface SessionHost {
  /** Flush this session at the end of the current event-loop turn. */
  schedule(session: Session): void;
  now(): number;
  /** `n` messages delivered to one client. */
  sent(kind: TransportKind, n: number): void;
  /** `n` messages dropped for one client. */
  dropped(n: number): void;
  closed(session: Session, reason: CloseReason): void;
}

export interface SubscriptionKey {
  kind: 'channel' | 'pattern';
  name: string;
}

export class Session {
  readonly id: string;
  readonly ip: string;
  readonly transport: Transport;
  grants: Grants;
  /** 'c:' + channel or 'p:' + pattern -> what it is. Maintained by the hub. */
  readonly subscriptions = new Map<string, SubscriptionKey>();
  /** Set by the hub while this session sits in its dirty list. */
  dirty = false;
  /** Last time anything arrived from the client (heartbeat). */
  alive = true;
  closed = false;
  closeReason: CloseReason | undefined;
  /** Messages dropped over the session's life. */
  droppedTotal = 0;

  readonly #host: SessionHost;
  readonly #opts: SessionOptions;
  #q: Batch[] = [];
  /** Entries before this index have their size in #queuedBytes (sizes are final once sealed). */
  #counted = 0;
  #queuedBytes = 0;
  /** Messages dropped since the last `lagged` notice was written. */
  #dropped = 0;
  #overSince: number | undefined;
  /** A drain notification is armed on the transport. */
  #draining = false;

  constructor(host: SessionHost, transport: Transport, ip: string, grants: Grants, opts: SessionOptions = DEFAULT_SESSION_OPTIONS) {
    this.id = randomUUID();
    this.#host = host;
    this.transport = transport;
    this.ip = ip;
    this.grants = grants;
    this.#opts = opts;
  }

  /** Bytes waiting in the queue (sealed batches only; exact at flush time). */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Queues a message batch (shared with other sessions) for the end of this turn. */
  push(batch: Batch): void {
    this.#q.push(batch);
    if (!this.dirty) this.#host.schedule(this);
  }

  /** Queues a control frame (ack, error, pong, lagged): never dropped. */
  control(json: string): void {
    if (this.closed) return;
    this.push(Batch.control(json));
  }

  /**
   * Writes everything queued as one chunk, or sheds and waits when the transport is backed up.
   * Called by the hub once per turn for each session that got something.
   */
  flush(): void {
    this.dirty = false;
    if (this.closed) return;
    for (; this.#counted < this.#q.length; this.#counted++) this.#queuedBytes += this.#q[this.#counted]!.bytes;
    const buffered = this.transport.buffered();
    if (this.#queuedBytes + buffered > this.#opts.sendBufferBytes) {
      this.#shed(buffered);
      if (this.closed) return;
    }
    const q = this.#q;
    if (q.length === 0 && this.#dropped === 0) return;
    // The socket still holds a high-water mark of bytes: keep the rest here, where it can be
    // dropped, and come back when it drains.
    if (buffered >= this.#opts.highWaterBytes) {
      this.#awaitDrain();
      return;
    }
    const enc = this.transport.encoding;
    const bufs: Buffer[] = [];
    if (this.#dropped > 0) {
      // The gap sits between what was written before and the oldest batch still queued.
      bufs.push(Batch.control(laggedJson('slow_consumer', { dropped: this.#dropped })).encoded(enc));
      this.#dropped = 0;
    }
    let count = 0;
    for (let i = 0; i < q.length; i++) {
      const b = q[i]!;
      bufs.push(b.encoded(enc));
      count += b.count;
    }
    this.#q = [];
    this.#counted = 0;
    this.#queuedBytes = 0;
    if (bufs.length > 0) this.transport.write(bufs);
    if (count > 0) this.#host.sent(this.transport.kind, count);
  }

  #awaitDrain(): void {
    if (this.#draining) return;
    this.#draining = true;
    this.transport.awaitDrain();
  }

  /** The transport drained: flush what waits, and note when the client has caught up. */
  written(): void {
    this.#draining = false;
    if (this.closed) return;
    const buffered = this.transport.buffered();
    if (this.#overSince !== undefined && buffered + this.#queuedBytes < this.#opts.sendBufferBytes / 2) this.#overSince = undefined;
    if ((this.#q.length > 0 || this.#dropped > 0) && !this.dirty) this.#host.schedule(this);
  }

  /** Called on the gateway's coarse clock: disconnects a client that stayed over the bound. */
  sweep(now: number): void {
    if (this.#overSince !== undefined && now - this.#overSince >= this.#opts.slowConsumerTimeoutMs) this.close('slow_consumer');
  }

  /** True while the session is over its bound and dropping. */
  get lagging(): boolean {
    return this.#overSince !== undefined;
  }

  /** Drops the oldest message batches until queue + socket buffer fit the bound. */
  #shed(buffered: number): void {
    let excess = this.#queuedBytes + buffered - this.#opts.sendBufferBytes;
    const kept: Batch[] = [];
    let dropped = 0;
    for (const b of this.#q) {
      if (excess > 0 && b.droppable) {
        excess -= b.bytes;
        this.#queuedBytes -= b.bytes;
        dropped += b.count;
      } else kept.push(b);
    }
    this.#q = kept;
    this.#counted = kept.length;
    this.#overSince ??= this.#host.now();
    if (dropped > 0) {
      this.#dropped += dropped;
      this.droppedTotal += dropped;
      this.#host.dropped(dropped);
    }
    if (excess > 0) this.close('send_buffer_overflow');
  }

  /** Closes the transport once; the hub removes the subscriptions when told through host.closed. */
  close(reason: CloseReason): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    this.#q = [];
    this.#queuedBytes = 0;
    this.#host.closed(this, reason);
    this.transport.close(reason);
  }
}
