/**
 * One socket to one Redis server: write batching, reply matching, handshake, reconnect with backoff,
 * offline queue, command timeouts.
 *
 * Lifecycle:  connecting -> handshaking -> ready -> (socket lost) -> waiting -> connecting -> ...
 *                                                 -> (quit/disconnect/gave up) -> closed
 *
 * Guarantees, whatever the network does:
 * - every command settles exactly once;
 * - a command that was written is never written again: if its reply is lost it fails with
 *   OutcomeUnknownError (or TimeoutError), because Redis may have applied it;
 * - a command that was never written fails with NotSentError, or waits in the bounded offline queue and
 *   is written after the next handshake;
 * - nothing queued is written before the handshake (AUTH/HELLO, SELECT, CLIENT SETNAME, and a PING that
 *   waits out -LOADING) has succeeded, so callers never see LOADING or NOAUTH from a restart;
 * - after a command timeout the socket is reset, so a late reply can never be matched to another caller.
 *
 * Commands issued in the same tick are written in one socket write (process.nextTick flush): N concurrent
 * awaits cost one syscall. Timeouts run off one coarse sweep per connection, not a timer per command.
 */
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { RespDecoder, WriteBatch } from '../resp/index.js';
import { ProtocolError, ReplyError } from '../resp/errors.js';
import type { Command, RespValue } from '../resp/types.js';
import { systemClock, type Clock } from '../clock.js';
import { CommandEntry, Fifo, Mode, type Pending } from './command-queue.js';
import { socketReader } from './socket-reader.js';
import { ConnectionError, NotSentError, OutcomeUnknownError, TimeoutError } from './errors.js';

export interface ReconnectOptions {
  /** First delay (default 50); doubles each attempt. */
  baseMs?: number;
  /** Longest delay (default 500). */
  maxMs?: number;
  /** Give up after this many failed attempts in a row (default: never). */
  maxAttempts?: number;
  /** Fraction of each delay that is randomised, 0..1, so that many clients don't reconnect in step. */
  jitter?: number;
}

export interface ConnectionOptions {
  host?: string;
  port?: number;
  /** Unix socket path; overrides host/port. */
  path?: string;
  /** true, or options for tls.connect (ca, cert, servername...). */
  tls?: boolean | tls.ConnectionOptions;
  username?: string;
  password?: string;
  db?: number;
  clientName?: string;
  /** 2 (default) or 3 (HELLO 3, falling back to 2 on servers without HELLO). */
  protocol?: 2 | 3;
  /** Default 10 000. */
  connectTimeoutMs?: number;
  /** 0 (default) disables; otherwise a written command with no reply in this time fails and resets the socket. */
  commandTimeoutMs?: number;
  /** false disables reconnecting. */
  reconnect?: false | ReconnectOptions;
  /** Commands kept while disconnected (default 10 000); 0 makes them fail at once with NotSentError. */
  offlineQueueMax?: number;
  /** How long a command may wait offline before failing with NotSentError (default 30 000). */
  offlineTimeoutMs?: number;
  /** Bulk replies as Buffer instead of string. */
  returnBuffers?: boolean;
  /** How often the handshake retries while the server answers -LOADING (default 100). */
  loadingRetryMs?: number;
  keepAliveMs?: number;
  clock?: Clock;
  /**
   * RESP2 subscriber connection: replies that are pub/sub frames (message, pmessage, smessage,
   * subscribe confirmations) are routed like RESP3 pushes. Only pub/sub commands and PING go on it.
   */
  subscriber?: boolean;
  /** Pub/sub messages and other pushes that no command is waiting for. */
  onPush?: (frame: RespValue[]) => void;
  /**
   * Asked before every connect and reconnect where to connect (Sentinel: "where is the master now?");
   * `host` and `port` of these options are set to its answer. A rejection counts as a failed attempt
   * (backoff, reconnect.maxAttempts). The socket layer never learns why the address changed.
   */
  resolveAddress?: () => Promise<{ host: string; port: number }>;
}

export type ConnectionState = 'connecting' | 'handshaking' | 'ready' | 'waiting' | 'closed';

export interface SendOptions {
  noTimeout?: boolean;
  /** RESP3/subscriber: the push kind ('subscribe', 'unsubscribe', ...) that confirms this command. */
  pushKind?: string;
  /** How many such confirmations. */
  pushConfirms?: number;
}

/** A Pending bound to the connection of one epoch (see sendPipeline). */
type Guarded = Pending & { epoch?: number };

const PUBSUB_KINDS = new Set(['message', 'pmessage', 'smessage', 'subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe']);

function flushConnection(conn: Connection): void {
  conn._flush();
}

export class Connection extends EventEmitter {
  readonly options: ConnectionOptions;
  readonly #clock: Clock;
  #state: ConnectionState = 'connecting';
  #socket: net.Socket | null = null;
  #decoder: RespDecoder;
  #batch = new WriteBatch();
  #flushQueued = false;
  /** Entries at the tail of #awaiting that are in #batch, not yet handed to the socket. */
  #unflushed = 0;
  #awaiting = new Fifo<Pending>();
  #offline = new Fifo<Pending>();
  /** Coarse time, refreshed by the sweep. */
  #now: number;
  #stopSweep: () => void;
  #attempts = 0;
  #closing = false;
  #lastError: Error | undefined;
  #protocol: 2 | 3;
  #reconnectTimer: (() => void) | null = null;
  /** What the decoder had seen at the last sweep: a change means bytes arrived in between. */
  #seen = -1;
  #epoch = 0;

  constructor(options: ConnectionOptions) {
    super();
    this.options = options;
    this.#clock = options.clock ?? systemClock;
    this.#protocol = options.protocol ?? 2;
    this.#now = this.#clock.now();
    this.#decoder = this.#newDecoder();
    const timeout = options.commandTimeoutMs ?? 0;
    const tick = timeout > 0 ? Math.max(5, Math.min(250, timeout / 4)) : 250;
    this.#stopSweep = this.#clock.every(tick, () => this.#sweep());
    this.#connect();
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** The protocol in effect (3 may have fallen back to 2 on an old server). */
  get protocol(): 2 | 3 {
    return this.#protocol;
  }

  /** Increments on every successful handshake: state such as WATCH does not survive a change. */
  get epoch(): number {
    return this.#epoch;
  }

  get pendingCount(): number {
    return this.#awaiting.length + this.#offline.length;
  }

  get where(): string {
    return this.options.path ?? `${this.options.host ?? '127.0.0.1'}:${this.options.port ?? 6379}`;
  }

  #newDecoder(): RespDecoder {
    return new RespDecoder({
      returnBuffers: this.options.returnBuffers ?? false,
      onReply: (v) => this.#onReply(v),
      onPush: (v) => this.#onPush(v),
    });
  }

  // ---- sending -----------------------------------------------------------------------------------

  /** Sends one command; resolves with its reply, rejects with its ReplyError or a client error. */
  send(command: Command, options?: SendOptions): Promise<RespValue> {
    return new Promise((resolve, reject) => {
      if (command.length === 0) {
        reject(emptyCommand());
        return;
      }
      if (options === undefined) {
        this.#enqueue(new CommandEntry(resolve, reject, Mode.Single, [command], this.#now, false, 0));
      } else {
        const p = new CommandEntry(resolve, reject, Mode.Single, [command], this.#now, options.noTimeout ?? false, options.pushConfirms ?? 0);
        this.#enqueue(p, options.pushKind);
      }
    });
  }

  /**
   * Sends several commands in one write; resolves with their replies in order, ReplyErrors in place.
   * With `epoch` (EXEC after WATCH) they are written only on the connection of that epoch: when it is
   * gone they fail with NotSentError 'watch-lost' rather than run unguarded on a new connection.
   */
  sendPipeline(commands: readonly Command[], mode: Mode = Mode.Pipeline, epoch?: number): Promise<any> {
    if (commands.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      // Checked before anything is encoded: a pipeline whose third command has a bad argument must
      // not leave the first two in the write batch, where their replies would go to later callers.
      const bad = badCommand(commands);
      if (bad) {
        reject(bad);
        return;
      }
      const p = new CommandEntry(resolve, reject, mode, commands, this.#now, false, 0);
      if (epoch !== undefined) {
        if (this.#state !== 'ready' || this.#closing || epoch !== this.#epoch) {
          reject(new NotSentError('watch-lost', p.name, `the connection to ${this.where} was lost after WATCH; watch again and retry`, { cause: this.#lastError }));
          return;
        }
        (p as Guarded).epoch = epoch;
      }
      this.#enqueue(p);
    });
  }

  #enqueue(p: Pending, pushKind?: string): void {
    if (pushKind) (p as Pending & { pushKind?: string }).pushKind = pushKind;
    // Not while closing: after quit() has queued QUIT, a command written behind it would never run,
    // and would then be reported as "outcome unknown".
    if (this.#state === 'ready' && !this.#closing) {
      this.#write(p);
      return;
    }
    if (this.#state === 'closed' || this.#closing) {
      p.reject(new NotSentError('client-closed', p.name, `connection to ${this.where} is closed`));
      return;
    }
    const max = this.options.offlineQueueMax ?? 10_000;
    if (max === 0) {
      p.reject(new NotSentError('offline-queue-disabled', p.name, `not connected to ${this.where}`, { cause: this.#lastError }));
      return;
    }
    if (this.#offline.length >= max) {
      p.reject(new NotSentError('offline-queue-full', p.name, `offline queue holds ${max} commands (raise offlineQueueMax)`));
      return;
    }
    p.t = this.#now;
    this.#offline.push(p);
  }

  /** Adds to this tick's batch; the batch is written once, on the next tick. */
  #write(p: Pending): void {
    const cmds = p.commands!;
    for (let i = 0; i < cmds.length; i++) this.#batch.add(cmds[i]!);
    this.#awaiting.push(p);
    this.#unflushed++;
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      process.nextTick(flushConnection, this);
    }
  }

  /** @internal Writes the batch. Called on the tick after commands were queued. */
  _flush(): void {
    this.#flushQueued = false;
    if (this.#unflushed === 0) return;
    const sock = this.#socket;
    if (!sock || sock.destroyed) return; // the close handler takes the unflushed entries back
    const out = this.#batch.takeBytes();
    this.#unflushed = 0;
    if (Array.isArray(out)) {
      sock.cork();
      for (const b of out) sock.write(b);
      sock.uncork();
    } else {
      sock.write(out);
    }
    // Nothing left queued in the socket: the kernel has the bytes, so the batch may write the next
    // tick's commands into the same memory. Otherwise it writes elsewhere until the queue drains.
    if (sock.writableLength === 0) this.#batch.release();
  }

  /** Writes handshake commands at once, ahead of anything queued. */
  #writeHandshake(commands: Command[]): Promise<RespValue[]> {
    return new Promise((resolve, reject) => {
      const batch = new WriteBatch();
      for (const c of commands) batch.add(c);
      this.#awaiting.push({
        resolve,
        reject,
        mode: Mode.Pipeline,
        left: commands.length,
        replies: [],
        t: this.#now,
        name: 'handshake',
        commands: null,
        noTimeout: false,
        pushConfirms: 0,
      });
      const out = batch.take();
      if (typeof out === 'string') this.#socket!.write(out);
      else for (const b of out) this.#socket!.write(b);
    });
  }

  // ---- receiving ---------------------------------------------------------------------------------

  #onReply(value: RespValue): void {
    if (this.options.subscriber && Array.isArray(value) && value.length >= 3 && PUBSUB_KINDS.has(String(value[0]))) {
      this.#onPush(value);
      return;
    }
    const p = this.#awaiting.peek();
    if (p === undefined) {
      this.#fail(new ProtocolError('reply received with no command waiting for it', this.#decoder.offset));
      return;
    }
    if (p.mode === Mode.Single) {
      this.#awaiting.shift();
      if (value instanceof ReplyError) {
        value.command = p.name;
        p.reject(value);
      } else {
        p.resolve(value);
      }
      return;
    }
    p.replies!.push(value);
    p.t = this.#now;
    if (--p.left > 0) return;
    this.#awaiting.shift();
    if (p.mode === Mode.Pipeline) {
      p.resolve(p.replies);
    } else {
      const exec = p.replies![p.replies!.length - 1]!;
      if (exec instanceof ReplyError) p.reject(exec);
      else p.resolve(exec);
    }
  }

  #onPush(frame: RespValue[]): void {
    const kind = String(frame[0]);
    const head = this.#awaiting.peek() as (Pending & { pushKind?: string }) | undefined;
    if (head && head.pushConfirms > 0 && head.pushKind === kind) {
      this.options.onPush?.(frame);
      if (--head.pushConfirms === 0) {
        this.#awaiting.shift();
        head.resolve(frame[2] ?? null);
      }
      return;
    }
    if (!this.options.subscriber && PUBSUB_KINDS.has(kind) === false && kind !== 'invalidate') {
      // Unknown push kinds are handed on as they are; the caller decides.
    }
    this.options.onPush?.(frame);
  }

  // ---- connecting and the handshake --------------------------------------------------------------

  #connect(resolved = false): void {
    this.#state = 'connecting';
    if (this.options.resolveAddress && !resolved) {
      this.options.resolveAddress().then(
        (addr) => {
          if (this.#closing || this.#state !== 'connecting') return;
          this.options.host = addr.host;
          this.options.port = addr.port;
          this.#connect(true);
        },
        (err: Error) => {
          if (this.#closing || this.#state !== 'connecting') return;
          this.#lastError = err;
          this.#emitError(err);
          this.#scheduleReconnect();
        },
      );
      return;
    }
    this.#decoder = this.#newDecoder();
    const o = this.options;
    let sock: net.Socket | undefined;
    const onChunk = (chunk: Buffer): void => {
      if (this.#socket !== sock) return;
      try {
        this.#decoder.write(chunk);
      } catch (err) {
        if (err instanceof ProtocolError) this.#fail(err);
        else throw err;
      }
    };
    // Plain sockets are read through `onread` (reused memory, large values read in place); TLS
    // sockets, which lack it, through 'data'.
    const onread = socketReader(() => (this.#socket === sock ? this.#decoder : null), onChunk, !(o.returnBuffers ?? false));
    if (o.path) {
      sock = net.connect({ path: o.path, onread });
    } else if (o.tls) {
      const extra = typeof o.tls === 'object' ? o.tls : {};
      sock = tls.connect({ host: o.host ?? '127.0.0.1', port: o.port ?? 6379, servername: o.host && !net.isIP(o.host) ? o.host : undefined, ...extra });
      sock.on('data', onChunk);
    } else {
      sock = net.connect({ host: o.host ?? '127.0.0.1', port: o.port ?? 6379, onread });
    }
    this.#socket = sock;
    sock.setNoDelay(true);
    sock.setKeepAlive(true, o.keepAliveMs ?? 30_000);
    const connectMs = o.connectTimeoutMs ?? 10_000;
    const cancelTimeout = this.#clock.after(connectMs, () => {
      if (this.#socket === sock && (this.#state === 'connecting' || this.#state === 'handshaking')) {
        this.#lastError = new TimeoutError('connect', undefined, false, connectMs);
        this.#emitError(this.#lastError);
        sock.destroy();
      }
    });
    sock.once(o.tls && !o.path ? 'secureConnect' : 'connect', () => {
      if (this.#socket !== sock) return;
      this.emit('connect');
      this.#handshake(sock).then(
        () => cancelTimeout(),
        () => cancelTimeout(),
      );
    });
    sock.on('error', (err) => {
      if (this.#socket !== sock) return;
      if (this.#state === 'connecting') {
        // Refused, unknown host, TLS verification...: typed, with the system error as the cause.
        const code = (err as NodeJS.ErrnoException).code ?? err.name;
        this.#lastError = new ConnectionError('ERR_CONNECT', `cannot connect to ${this.where}: ${code}`, { host: o.host, port: o.port }, { cause: err });
        this.#emitError(this.#lastError);
      } else {
        this.#lastError = err;
      }
    });
    sock.on('close', () => this.#onClose(sock));
  }

  /** HELLO/AUTH, CLIENT SETNAME, SELECT, then PING as the readiness probe; retried while -LOADING. */
  async #handshake(sock: net.Socket): Promise<void> {
    this.#state = 'handshaking';
    const o = this.options;
    try {
      for (;;) {
        const cmds: Command[] = [];
        if (this.#protocol === 3) {
          const hello: (string | number)[] = ['HELLO', 3];
          if (o.password !== undefined) hello.push('AUTH', o.username ?? 'default', o.password);
          if (o.clientName) hello.push('SETNAME', o.clientName);
          cmds.push(hello);
        } else {
          if (o.password !== undefined) cmds.push(o.username ? ['AUTH', o.username, o.password] : ['AUTH', o.password]);
          if (o.clientName) cmds.push(['CLIENT', 'SETNAME', o.clientName]);
        }
        if (o.db) cmds.push(['SELECT', o.db]);
        cmds.push(['PING']);
        const replies = await this.#writeHandshake(cmds);
        if (this.#socket !== sock) return;
        const err = replies.find((r): r is ReplyError => r instanceof ReplyError && !isHarmlessAuthError(r));
        if (!err) break;
        if (this.#protocol === 3 && err === replies[0] && /unknown command/i.test(err.message)) {
          this.#protocol = 2; // a server before 6.0 has no HELLO: fall back, explicitly
          continue;
        }
        if (err.prefix === 'LOADING' || err.prefix === 'MASTERDOWN') {
          await new Promise<void>((r) => this.#clock.after(o.loadingRetryMs ?? 100, r));
          if (this.#socket !== sock) return;
          continue;
        }
        const auth = ['NOAUTH', 'WRONGPASS', 'NOPERM'].includes(err.prefix) || /password/i.test(err.message);
        throw new ConnectionError(auth ? 'ERR_AUTH' : 'ERR_CONNECT', `handshake with ${this.where} refused: ${err.message}`, { host: o.host, port: o.port }, { cause: err });
      }
    } catch (err) {
      if (this.#socket !== sock) return;
      this.#lastError = err as Error;
      if (err instanceof ConnectionError) {
        this.#emitError(err);
        // The server said no (wrong password, bad db...): commands waiting offline would only wait
        // out offlineTimeoutMs for a handshake that fails the same way. Fail them now, typed; the
        // connection keeps retrying, so commands issued later still go through once it is accepted.
        for (const p of this.#offline.drain()) p.reject(new NotSentError('handshake-refused', p.name, err.message, { cause: err }));
      }
      sock.destroy();
      return;
    }
    this.#state = 'ready';
    this.#attempts = 0;
    this.#epoch++;
    // A failure of an earlier connection must not become the cause (or, for a command timeout, the
    // very error) of the next connection's losses.
    this.#lastError = undefined;
    // Listeners (pub/sub resubscription) queue their commands ahead of the offline queue.
    try {
      this.emit('ready');
    } catch (err) {
      // A throwing listener must not leave the offline queue stranded (this is an async function: the
      // exception would vanish into its promise). Rethrown on the next tick, as from any emitter.
      process.nextTick(() => {
        throw err;
      });
    }
    // The command timeout counts from the write: time spent offline is offlineTimeoutMs's business.
    this.#now = this.#clock.now();
    for (const p of this.#offline.drain()) {
      p.t = this.#now;
      try {
        this.#write(p);
      } catch (err) {
        // A bad argument (the encoder refuses it whole): this command fails, the others go on.
        p.reject(err as Error);
      }
    }
  }

  // ---- losing the connection ---------------------------------------------------------------------

  /** Fails the connection (protocol error, timeout): the socket is destroyed and the close path runs. */
  #fail(err: Error): void {
    this.#lastError = err;
    this.#emitError(err);
    this.#socket?.destroy();
  }

  #onClose(sock: net.Socket): void {
    if (this.#socket !== sock) return;
    this.#socket = null;
    const cause = this.#lastError;
    // Entries still in this tick's batch never reached the socket: they may be written again.
    const unsent = this.#unflushed > 0 ? this.#awaiting.popNewest(this.#unflushed) : [];
    this.#unflushed = 0;
    if (!this.#batch.empty) this.#batch.take();
    const timedOut = cause instanceof TimeoutError && cause.timeout === 'command';
    for (const p of this.#awaiting.drain()) {
      p.reject(
        timedOut
          ? new TimeoutError('command', p.name, true, this.options.commandTimeoutMs ?? 0)
          : new OutcomeUnknownError(p.name, `connection to ${this.where} lost before the reply`, { cause }),
      );
    }
    const requeue: Pending[] = [];
    for (const p of unsent) {
      if (p.commands === null) continue;
      // Bound to this connection (EXEC after WATCH): on another one it would run unconditionally.
      if ((p as Guarded).epoch !== undefined) p.reject(new NotSentError('watch-lost', p.name, `connection to ${this.where} lost after WATCH; watch again and retry`, { cause }));
      else requeue.push(p);
    }
    requeue.push(...this.#offline.drain());
    // From here on the connection is down, so a command issued by a 'close' listener waits offline;
    // it must not join #awaiting, where the next handshake's replies would be matched to it.
    this.#state = 'waiting';
    this.emit('close', cause);
    requeue.push(...this.#offline.drain());
    if (this.#closing || this.options.reconnect === false) {
      for (const p of requeue) p.reject(new NotSentError('client-closed', p.name, `connection to ${this.where} closed`, { cause }));
      this.#finish();
      return;
    }
    const max = this.options.offlineQueueMax ?? 10_000;
    for (const p of requeue) {
      if (this.#offline.length < max) this.#offline.push(p);
      else p.reject(new NotSentError(max === 0 ? 'offline-queue-disabled' : 'offline-queue-full', p.name, `connection to ${this.where} lost`, { cause }));
    }
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    const r = this.options.reconnect || {};
    const attempt = ++this.#attempts;
    if (attempt > (r.maxAttempts ?? Infinity)) {
      const err = new NotSentError('reconnect-gave-up', undefined, `gave up reconnecting to ${this.where} after ${attempt - 1} attempts (raise reconnect.maxAttempts)`, { cause: this.#lastError });
      for (const p of this.#offline.drain()) p.reject(new NotSentError('reconnect-gave-up', p.name, err.message, { cause: this.#lastError }));
      this.#emitError(err);
      this.#finish();
      return;
    }
    const base = r.baseMs ?? 50;
    // 500 ms: a server back after a restart is found within about half a second of listening.
    const cap = r.maxMs ?? 500;
    const jitter = r.jitter ?? 0.5;
    const full = Math.min(cap, base * 2 ** Math.min(attempt - 1, 20));
    const delay = Math.round(full * (1 - jitter * Math.random()));
    this.#state = 'waiting';
    this.emit('reconnecting', { attempt, delayMs: delay, error: this.#lastError });
    this.#reconnectTimer = this.#clock.after(delay, () => {
      this.#reconnectTimer = null;
      if (!this.#closing) this.#connect();
    });
  }

  #finish(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#stopSweep();
    this.#reconnectTimer?.();
    this.emit('end');
  }

  // ---- timeouts ----------------------------------------------------------------------------------

  #sweep(): void {
    this.#now = this.#clock.now();
    const timeout = this.options.commandTimeoutMs ?? 0;
    if (timeout > 0 && this.#socket && this.#state === 'ready') {
      const head = this.#awaiting.peek();
      // Bytes arriving since the last sweep are progress, not silence: a 100 MB reply may take longer
      // than the timeout to arrive and must not be failed half-way. The timeout is for a frozen
      // server or a dead link, which send nothing.
      const seen = this.#decoder.offset + this.#decoder.buffered;
      if (seen !== this.#seen) {
        this.#seen = seen;
        if (head) head.t = this.#now;
      } else if (head && !head.noTimeout && this.#now - head.t >= timeout) {
        // The head has waited too long: the server is frozen or the link is dead. Fail everything
        // written (their replies could only arrive late and be matched to the wrong caller) and reset.
        const err = new TimeoutError('command', head.name, true, timeout);
        this.#awaiting.shift();
        head.reject(err);
        this.#fail(err);
      }
    }
    const offlineMs = this.options.offlineTimeoutMs ?? 30_000;
    for (let p = this.#offline.peek(); p && this.#now - p.t >= offlineMs; p = this.#offline.peek()) {
      this.#offline.shift();
      p.reject(new NotSentError('offline-timeout', p.name, `not connected to ${this.where} within ${offlineMs} ms (raise offlineTimeoutMs)`, { cause: this.#lastError }));
    }
  }

  // ---- closing -----------------------------------------------------------------------------------

  /** Waits for every written command's reply, sends QUIT, and closes. Later commands fail as not sent. */
  async quit(): Promise<void> {
    if (this.#state === 'closed') return;
    if (this.#state !== 'ready') {
      this.disconnect();
      return;
    }
    const done = new Promise<void>((resolve) => this.once('end', resolve));
    const quitting = this.send(['QUIT']).catch(() => undefined);
    this.#closing = true;
    await quitting;
    this.#socket?.end();
    await done;
  }

  /**
   * Drops the socket and connects again at once (asking resolveAddress afresh), as after a lost link:
   * written commands fail as outcome unknown, unwritten ones wait for the new connection. For
   * followers of a failover (Sentinel) that learn the master moved while their socket is healthy.
   */
  reconnect(): void {
    if (this.#state === 'closed' || this.#closing) return;
    if (this.#socket) {
      this.#lastError = undefined;
      this.#socket.destroy();
    } else if (this.#state === 'waiting') {
      this.#reconnectTimer?.();
      this.#reconnectTimer = null;
      this.#connect();
    }
  }

  /** Closes now: written commands fail as outcome unknown, queued ones as not sent. */
  disconnect(): void {
    if (this.#state === 'closed') return;
    this.#closing = true;
    this.#reconnectTimer?.();
    if (this.#socket) {
      this.#socket.destroy();
    } else {
      for (const p of this.#offline.drain()) p.reject(new NotSentError('client-closed', p.name, 'disconnect() called'));
      this.#finish();
    }
  }

  #emitError(err: Error): void {
    // Never throw from an EventEmitter with no 'error' listener: errors reach callers through their
    // commands; the event is for monitoring.
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}

/**
 * Redis answers nothing at all to an empty command (`*0`), so the reply of the next command would be
 * taken for its reply: refuse it before it is written.
 */
function emptyCommand(): TypeError {
  return new TypeError('a command needs at least its name');
}

/** The first problem with a list of commands (an empty one, an argument of the wrong type), if any. */
function badCommand(commands: readonly Command[]): TypeError | undefined {
  for (let c = 0; c < commands.length; c++) {
    const cmd = commands[c];
    if (!Array.isArray(cmd) || cmd.length === 0) return new TypeError(`command ${c} of the pipeline is ${Array.isArray(cmd) ? 'empty' : 'not an array'}`);
    for (let i = 0; i < cmd.length; i++) {
      const a = cmd[i];
      if (typeof a !== 'string' && typeof a !== 'number' && !Buffer.isBuffer(a)) {
        return new TypeError(`command ${c} of the pipeline: argument ${i} must be a string, Buffer or number, got ${a === null ? 'null' : typeof a}`);
      }
    }
  }
  return undefined;
}

/** AUTH with a password on a server that has none configured: harmless, as ioredis also treats it. */
function isHarmlessAuthError(err: ReplyError): boolean {
  return /called without any password configured/i.test(err.message);
}
