/**
 * The "redo" client: simple, pipelined, no sugar.
 *
 *   await client.cmd(['SET', 'one', 'abc'])                 // 'OK'
 *   await client.cmd([['GET', 'one'], ['GET', 'two']])      // ['abc', 'def']: one write, one round trip
 *
 * Concurrent cmd() calls issued in the same tick share one socket write. Blocking commands run on
 * connections of their own. Pub/sub runs on a subscriber connection (RESP2) or on the main connection
 * as push frames (RESP3).
 */
import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import type { Command, RespValue } from '../resp/types.js';
import { ReplyError } from '../resp/errors.js';
import { Connection, type ConnectionState } from './connection.js';
import { Mode } from './command-queue.js';
import { isBlocking } from './blocking.js';
import { NotSentError } from './errors.js';
import { PubSub, type MessageHandler } from './pubsub.js';
import { resolveOptions, type ClientOptions } from './options.js';

export interface ScanOptions {
  match?: string;
  count?: number;
  /** SCAN only: the key type. */
  type?: string;
}

const RAW_PUBSUB = new Set(['SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'UNSUBSCRIBE', 'PUNSUBSCRIBE', 'SUNSUBSCRIBE']);

const FORWARDED = ['connect', 'ready', 'error', 'close', 'reconnecting', 'end'] as const;

export class Client extends EventEmitter {
  readonly options: ClientOptions;
  readonly #main: Connection;
  #subscriber: Connection | undefined;
  #pubsub: PubSub | undefined;
  #idleBlocking: Connection[] = [];
  /** Every blocking connection, idle or busy, so that quit() and disconnect() reach them all. */
  #blockingAll = new Set<Connection>();
  /** quit() or disconnect() was called: no new connections may be opened. */
  #closed = false;
  #scripts = new Map<string, Script>();
  /** Epoch of the connection when WATCH was last sent; undefined when nothing is watched. */
  #watchEpoch: number | undefined;
  #readyWait: Promise<void> | undefined;

  constructor(options: ClientOptions) {
    super();
    this.options = options;
    this.#main = new Connection({ ...options, onPush: (f) => this.#pubsub?.dispatch(f) });
    for (const ev of FORWARDED) {
      this.#main.on(ev, (...args: unknown[]) => {
        if (ev === 'error' && this.listenerCount('error') === 0) return;
        this.emit(ev, ...args);
      });
    }
  }

  get status(): ConnectionState {
    return this.#main.state;
  }

  /** The protocol in effect on the main connection. */
  get protocol(): 2 | 3 {
    return this.#main.protocol;
  }

  /** Resolves once the client is connected and its handshake done; rejects if it closes first. */
  ready(): Promise<void> {
    // After disconnect() the state reads 'ready' until the socket's close event: check #closed first.
    if (this.#closed || this.#main.state === 'closed') return Promise.reject(new NotSentError('client-closed', undefined, 'client is closed'));
    if (this.#main.state === 'ready') return Promise.resolve();
    // One pair of listeners however many callers wait: a burst of early subscribe() calls must not
    // add a listener each (MaxListenersExceededWarning at 11).
    this.#readyWait ??= new Promise<void>((resolve, reject) => {
      const onReady = () => {
        this.#main.off('end', onEnd);
        this.#readyWait = undefined;
        resolve();
      };
      const onEnd = () => {
        this.#main.off('ready', onReady);
        this.#readyWait = undefined;
        reject(new NotSentError('client-closed', undefined, 'client closed before it was ready'));
      };
      this.#main.once('ready', onReady);
      this.#main.once('end', onEnd);
    });
    return this.#readyWait;
  }

  /**
   * One command -> its reply (a ReplyError rejects). A list of commands -> the list of replies, in
   * order, with ReplyErrors in place: one failing command does not throw away the others.
   */
  cmd<T = RespValue>(command: Command): Promise<T>;
  cmd<T = RespValue[]>(commands: readonly Command[]): Promise<T>;
  cmd(command: Command | readonly Command[]): Promise<unknown> {
    const name = command[0];
    if (typeof name === 'string') {
      // Only WATCH, UNWATCH and the blocking commands (B..., WAIT, WAITAOF, XREAD...) need a closer
      // look; every other command skips the upper-casing: its first letter is not b, u, w or x.
      const first = name.charCodeAt(0) | 0x20;
      if (first !== 0x62 && first !== 0x75 && first !== 0x77 && first !== 0x78) {
        // Nor are SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, PUNSUBSCRIBE, SUNSUBSCRIBE (9 to 12 letters).
        if (name.length < 9 || (first !== 0x73 && first !== 0x70)) return this.#main.send(command as Command);
      }
      return this.#special(command as Command, name);
    }
    if (Array.isArray(name)) return this.#main.sendPipeline(command as readonly Command[]);
    if (command.length === 0) return Promise.resolve([]);
    if (isBlocking(command as Command)) return this.#blocking(command as Command);
    return this.#main.send(command as Command);
  }

  #special(c: Command, name: string): Promise<RespValue> {
    if (name.length >= 9 && name.length <= 12) {
      const upper = name.toUpperCase();
      if (RAW_PUBSUB.has(upper)) return this.#rawPubSub(upper, c);
      if (upper.charCodeAt(0) === 0x53 || upper.charCodeAt(0) === 0x50) return this.#main.send(c); // S..., P...: not blocking
    }
    if (name.length === 5 || name.length === 7) {
      const upper = name.toUpperCase();
      if (upper === 'WATCH') return this.#watch(c);
      if (upper === 'UNWATCH') this.#watchEpoch = undefined;
    }
    if (isBlocking(c)) return this.#blocking(c);
    return this.#main.send(c);
  }

  /**
   * SUBSCRIBE and its kin given to cmd() go through the pub/sub API (messages arrive as 'message' and
   * 'pmessage' events, and survive reconnects). Sent as plain commands, their confirmations would
   * arrive as replies nobody waits for, or, under RESP2, be taken for the replies of later commands.
   */
  async #rawPubSub(upper: string, c: Command): Promise<RespValue> {
    const names = c.slice(1).map(String);
    const all = names.length === 0 ? undefined : names;
    if (upper.endsWith('UNSUBSCRIBE')) {
      if (upper === 'UNSUBSCRIBE') await this.unsubscribe(all);
      else if (upper === 'PUNSUBSCRIBE') await this.punsubscribe(all);
      else await this.sunsubscribe(all);
      return null;
    }
    if (names.length === 0) throw new TypeError(`${upper} needs at least one channel`);
    if (upper === 'SUBSCRIBE') await this.subscribe(names);
    else if (upper === 'PSUBSCRIBE') await this.psubscribe(names);
    else await this.ssubscribe(names);
    return null;
  }

  async #watch(c: Command): Promise<RespValue> {
    const reply = await this.#main.send(c);
    this.#watchEpoch = this.#main.epoch;
    return reply;
  }

  /** Runs a blocking command on a connection of its own, reused afterwards. */
  async #blocking(c: Command): Promise<RespValue> {
    if (this.#closed || this.#main.state === 'closed') throw new NotSentError('client-closed', String(c[0]).toUpperCase(), 'client is closed');
    let conn = this.#idleBlocking.pop();
    // An idle connection may have given up reconnecting (reconnect.maxAttempts) while it waited.
    while (conn && conn.state === 'closed') {
      this.#blockingAll.delete(conn);
      conn = this.#idleBlocking.pop();
    }
    if (!conn) {
      conn = new Connection({ ...this.options, commandTimeoutMs: 0 });
      this.#blockingAll.add(conn);
    }
    try {
      return await conn.send(c, { noTimeout: true });
    } finally {
      if (conn.state === 'ready' && this.#idleBlocking.length < (this.options.blockingPoolMax ?? 4) && !this.#closed) {
        this.#idleBlocking.push(conn);
      } else {
        this.#blockingAll.delete(conn);
        conn.disconnect();
      }
    }
  }

  /** A MULTI/EXEC transaction, written as one unit and never split across a reconnect. */
  multi(): Multi {
    return new Multi((cmds) => this.#exec(cmds));
  }

  async #exec(cmds: Command[]): Promise<RespValue[] | null> {
    const watched = this.#watchEpoch;
    this.#watchEpoch = undefined;
    // After WATCH the block may run only on the connection that sent WATCH: if that connection is
    // gone (now, or before the block is written) the server forgot the watch and EXEC would apply
    // unconditionally. The connection refuses it with NotSentError 'watch-lost' instead; the
    // caller's optimistic loop retries from WATCH.
    return this.#main.sendPipeline([['MULTI'], ...cmds, ['EXEC']], Mode.Multi, watched);
  }

  /** A Lua script run with EVALSHA, falling back to EVAL when the server does not have it cached. */
  script(lua: string): Script {
    let s = this.#scripts.get(lua);
    if (!s) {
      s = new Script(lua);
      this.#scripts.set(lua, s);
    }
    return s;
  }

  eval(lua: string, keys: (string | Buffer)[] = [], args: (string | Buffer | number)[] = []): Promise<RespValue> {
    return this.script(lua).run(this, keys, args);
  }

  // ---- scanning ----------------------------------------------------------------------------------

  scanIterator(opts: ScanOptions = {}): AsyncGenerator<string | Buffer> {
    const extra: (string | number)[] = [];
    if (opts.type) extra.push('TYPE', opts.type);
    return this.#scan(['SCAN'], opts, extra, 1);
  }

  hscanIterator(key: string | Buffer, opts: ScanOptions = {}): AsyncGenerator<[string | Buffer, string | Buffer]> {
    return this.#scan(['HSCAN', key], opts, [], 2) as AsyncGenerator<[string | Buffer, string | Buffer]>;
  }

  sscanIterator(key: string | Buffer, opts: ScanOptions = {}): AsyncGenerator<string | Buffer> {
    return this.#scan(['SSCAN', key], opts, [], 1);
  }

  zscanIterator(key: string | Buffer, opts: ScanOptions = {}): AsyncGenerator<[string | Buffer, number]> {
    return this.#scan(['ZSCAN', key], opts, [], 2, true) as AsyncGenerator<[string | Buffer, number]>;
  }

  async *#scan(head: (string | Buffer)[], opts: ScanOptions, extra: (string | number)[], width: 1 | 2, scores = false): AsyncGenerator<any> {
    let cursor: string = '0';
    const tail: (string | number)[] = [];
    if (opts.match) tail.push('MATCH', opts.match);
    if (opts.count) tail.push('COUNT', opts.count);
    tail.push(...extra);
    do {
      const [next, items] = (await this.#main.send([...head, cursor, ...tail])) as [string | Buffer, RespValue[]];
      cursor = String(next);
      if (width === 1) {
        for (const item of items) yield item;
      } else {
        for (let i = 0; i < items.length; i += 2) yield [items[i], scores ? Number(items[i + 1]) : items[i + 1]];
      }
    } while (cursor !== '0');
  }

  // ---- pub/sub -----------------------------------------------------------------------------------

  #ps(): PubSub {
    if (this.#pubsub) return this.#pubsub;
    if (this.#closed || this.#main.state === 'closed') throw new NotSentError('client-closed', 'SUBSCRIBE', 'client is closed');
    if (this.#main.protocol === 3) {
      this.#pubsub = new PubSub(this.#main);
    } else {
      this.#subscriber = new Connection({
        ...this.options,
        protocol: 2,
        commandTimeoutMs: 0,
        subscriber: true,
        onPush: (f) => this.#pubsub?.dispatch(f),
      });
      this.#subscriber.on('error', (err) => {
        if (this.listenerCount('error') > 0) this.emit('error', err);
      });
      this.#pubsub = new PubSub(this.#subscriber);
    }
    this.#pubsub.onMessage = (message, channel, pattern) => {
      if (pattern === undefined) this.emit('message', channel, message);
      else this.emit('pmessage', pattern, channel, message);
    };
    // A throwing handler is the caller's bug: reported on 'error', or, with no listener, thrown on
    // the next tick as an EventEmitter listener's would be, never inside the reply decoder.
    this.#pubsub.onHandlerError = (err) => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
      else
        process.nextTick(() => {
          throw err;
        });
    };
    return this.#pubsub;
  }

  async #sub(kind: 'channel' | 'pattern' | 'shard', names: string[], handler: MessageHandler): Promise<void> {
    // Under RESP3 subscriptions ride the main connection as push frames, but only if the server took
    // HELLO 3: one before Redis 6 leaves the connection on RESP2, where they need a subscriber
    // connection. The first handshake tells which.
    if (!this.#pubsub && (this.options.protocol ?? 2) === 3 && this.#main.epoch === 0) await this.ready().catch(() => undefined);
    return this.#ps().subscribe(kind, names, handler);
  }

  subscribe(channels: string | string[], handler: MessageHandler = noop): Promise<void> {
    return this.#sub('channel', toList(channels), handler);
  }

  psubscribe(patterns: string | string[], handler: MessageHandler = noop): Promise<void> {
    return this.#sub('pattern', toList(patterns), handler);
  }

  ssubscribe(channels: string | string[], handler: MessageHandler = noop): Promise<void> {
    return this.#sub('shard', toList(channels), handler);
  }

  unsubscribe(channels?: string | string[], handler?: MessageHandler): Promise<void> {
    return this.#pubsub?.unsubscribe('channel', channels === undefined ? undefined : toList(channels), handler) ?? Promise.resolve();
  }

  punsubscribe(patterns?: string | string[], handler?: MessageHandler): Promise<void> {
    return this.#pubsub?.unsubscribe('pattern', patterns === undefined ? undefined : toList(patterns), handler) ?? Promise.resolve();
  }

  sunsubscribe(channels?: string | string[], handler?: MessageHandler): Promise<void> {
    return this.#pubsub?.unsubscribe('shard', channels === undefined ? undefined : toList(channels), handler) ?? Promise.resolve();
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  /** A new client with the same options (and overrides). */
  duplicate(overrides: Partial<ClientOptions> = {}): Client {
    return new Client({ ...this.options, ...overrides });
  }

  /** Waits for the replies of everything written, then closes every connection. */
  async quit(): Promise<void> {
    this.#closed = true;
    // Busy blocking connections get QUIT too: their command's reply arrives first, as for any other.
    const blocking = [...this.#blockingAll];
    this.#idleBlocking = [];
    this.#blockingAll.clear();
    await Promise.all([this.#main.quit(), this.#subscriber?.quit(), ...blocking.map((c) => c.quit())]);
  }

  /**
   * Re-establishes every connection now (resubscribing, re-resolving the address): written commands
   * fail as outcome unknown, unwritten ones wait for the new connection. Idle blocking connections are
   * closed and made afresh when next needed.
   */
  reconnect(): void {
    for (const c of this.#idleBlocking.splice(0)) c.disconnect();
    this.#subscriber?.reconnect();
    this.#main.reconnect();
  }

  /** Closes every connection now. */
  disconnect(): void {
    this.#closed = true;
    for (const c of this.#blockingAll) c.disconnect();
    this.#idleBlocking = [];
    this.#blockingAll.clear();
    this.#subscriber?.disconnect();
    this.#main.disconnect();
  }
}

export class Multi {
  readonly #cmds: Command[] = [];
  readonly #exec: (cmds: Command[]) => Promise<RespValue[] | null>;

  constructor(exec: (cmds: Command[]) => Promise<RespValue[] | null>) {
    this.#exec = exec;
  }

  cmd(command: Command): this {
    this.#cmds.push(command);
    return this;
  }

  get length(): number {
    return this.#cmds.length;
  }

  /**
   * Sends MULTI, the commands and EXEC in one write. Resolves with EXEC's replies (ReplyErrors in
   * place), or null when a WATCHed key changed. Rejects with EXECABORT when a command was refused
   * while queueing.
   */
  exec(): Promise<RespValue[] | null> {
    return this.#exec(this.#cmds);
  }
}

export class Script {
  readonly lua: string;
  readonly sha: string;

  constructor(lua: string) {
    this.lua = lua;
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(client: Client, keys: (string | Buffer)[] = [], args: (string | Buffer | number)[] = []): Promise<RespValue> {
    try {
      return await client.cmd(['EVALSHA', this.sha, keys.length, ...keys, ...args]);
    } catch (err) {
      if (err instanceof ReplyError && err.prefix === 'NOSCRIPT') {
        return client.cmd(['EVAL', this.lua, keys.length, ...keys, ...args]);
      }
      throw err;
    }
  }
}

function toList(x: string | string[]): string[] {
  return Array.isArray(x) ? x : [x];
}

function noop(): void {}

/**
 * Creates a client and starts connecting. Accepts a redis://, rediss:// or unix:// URL, or options;
 * with neither, REDIS_URL, else 127.0.0.1:6379.
 */
export function createClient(urlOrOptions?: string | ClientOptions): Client {
  return new Client(resolveOptions(urlOrOptions));
}
