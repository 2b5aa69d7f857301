/**
 * FakeRedis: a scriptable RESP server for client unit tests (reconnects, timeouts, redirections,
 * pub/sub), built on src/resp: a RespDecoder reads commands, encodeReply writes answers. It listens
 * on 127.0.0.1, port 0 (a free port) unless told otherwise, and needs no redis-server.
 *
 * ## Starting and stopping
 *
 *   const fake = await FakeRedis.start({ handler, password, username, hello, port });
 *   fake.port / fake.host / fake.address           // 'host:port'
 *   await fake.close();                            // stop listening, destroy every connection
 *   await fake.stop(); await fake.listen();        // down (ECONNREFUSED) and back up on the same port
 *
 * ## Scripting answers
 *
 * A command reaches, in order: the handler registered for its name with `fake.on(name, fn)`, then
 * `fake.handler`, then the built-in defaults. Each is `(cmd, conn, raw) => reply | undefined` (or a
 * Promise of one); `undefined` passes the command on to the next. `cmd` is the arguments as UTF-8
 * strings, `raw` the same as Buffers; the name keeps the case it was sent in (`cmd[0]`). A handler
 * that throws answers `-ERR fake-redis handler threw: ...`.
 *
 * A reply is any RespValue, encoded for the connection's protocol (RESP2, or RESP3 after HELLO 3;
 * strings as bulk strings); or one of these actions (import `reply`):
 *
 *   reply.status(text)                      a simple string ('+OK'); `reply.ok` is '+OK'
 *   reply.raw(bytes)                        exact bytes (Buffer or string), e.g. garbage or a half frame
 *   reply.many(v1, v2, ...)                 several replies to one command (RESP2 SUBSCRIBE a b)
 *   reply.push(items)                       a push frame ('>' under RESP3, '*' under RESP2)
 *   reply.error(text)                       an error reply ('-ERR ...')
 *   reply.moved(slot, host, port)           '-MOVED slot host:port'
 *   reply.ask(slot, host, port)             '-ASK slot host:port'
 *   reply.hang()                            never answer: this connection goes silent (commands are
 *                                           still read and logged, like a stalled server)
 *   reply.cut(value, { at, reset })         write the first `at` bytes of the encoded value (default:
 *                                           half, at least 1), then end the connection (FIN), or
 *                                           reset it (RST) with `reset: true`
 *   reply.delay(ms, value)                  answer after `ms`; later replies wait (order is kept)
 *   reply.trickle(value, { chunk, everyMs }) write the encoding `chunk` bytes (default 1) at a time,
 *                                           `everyMs` apart (default 1): a slow server
 *   reply.close() / reply.reset()           no answer; end (FIN) / reset (RST) the connection
 *
 * Replies leave in command order, whatever their delays.
 *
 * ## Built-in defaults
 *
 * PING [msg], ECHO, HELLO [2|3 [AUTH u p] [SETNAME n]] (answers -ERR unknown command when created
 * with `hello: false`, like Redis < 6), AUTH [user] pass (checks `password`; until AUTH every other
 * command gets -NOAUTH), SELECT, CLIENT SETNAME/GETNAME/ID/(others: +OK), QUIT, a small keyspace per
 * db (GET SET DEL EXISTS INCR INCRBY DECR MGET DBSIZE FLUSHDB FLUSHALL), and pub/sub (SUBSCRIBE
 * UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH) with RESP2 arrays or RESP3 pushes. Anything else:
 * `-ERR unknown command`. Inline (non-RESP) commands are not supported: malformed input gets
 * `-ERR Protocol error` and the connection is closed, as Redis does.
 *
 * ## Server controls and counters
 *
 *   fake.pause() / fake.resume()      stop answering on every connection (commands queue up, as
 *                                     under SIGSTOP); resume answers them all in order
 *   fake.closeAll({ reset })          end (or reset) every open connection now
 *   fake.refuse(on = true)            accept and immediately destroy new connections
 *   fake.sendToAll(value) / fake.pushToAll(items) / fake.publish(channel, message)
 *   fake.connections                  connections open now
 *   fake.connectionsTotal             connections accepted since start
 *   fake.commandsTotal                commands received (answered or not)
 *   fake.log                          every command received: { conn: id, args: string[] }
 *   fake.commandNames()               upper-cased names from the log, in order
 *   fake.clients                      open FakeConnections
 *   fake.clearLog()
 *   await fake.waitFor(() => cond, timeoutMs)  / waitForCommands(n) / waitForConnections(n)
 *
 * A FakeConnection has `id`, `socket`, `protocol` (2 | 3), `db`, `name`, `authenticated`,
 * `channels`/`patterns` (Sets), `commands` (its own log), and `send(value)`, `push(items)`,
 * `sendRaw(bytes)`, `end()`, `destroy()`.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { RespDecoder, ReplyError, encodeReply, encodePush, type RespValue } from '../../src/resp/index.js';

const ACTION = Symbol('fake-redis action');

export type Action =
  | { [ACTION]: 'raw'; bytes: Buffer }
  | { [ACTION]: 'many'; values: Reply[] }
  | { [ACTION]: 'push'; items: RespValue[] }
  | { [ACTION]: 'hang' }
  | { [ACTION]: 'cut'; value: RespValue; at: number | undefined; reset: boolean }
  | { [ACTION]: 'delay'; ms: number; value: Reply }
  | { [ACTION]: 'trickle'; value: RespValue; chunk: number; everyMs: number }
  | { [ACTION]: 'close'; reset: boolean };

export type Reply = RespValue | Action;

export type Handler = (cmd: string[], conn: FakeConnection, raw: Buffer[]) => Reply | undefined | Promise<Reply | undefined>;

export const reply = {
  status: (text: string): Action => ({ [ACTION]: 'raw', bytes: Buffer.from(`+${text}\r\n`) }),
  ok: { [ACTION]: 'raw', bytes: Buffer.from('+OK\r\n') } as Action,
  raw: (bytes: Buffer | string): Action => ({ [ACTION]: 'raw', bytes: typeof bytes === 'string' ? Buffer.from(bytes) : bytes }),
  many: (...values: Reply[]): Action => ({ [ACTION]: 'many', values }),
  push: (items: RespValue[]): Action => ({ [ACTION]: 'push', items }),
  error: (text: string): ReplyError => new ReplyError(text),
  moved: (slot: number, host: string, port: number): ReplyError => new ReplyError(`MOVED ${slot} ${host}:${port}`),
  ask: (slot: number, host: string, port: number): ReplyError => new ReplyError(`ASK ${slot} ${host}:${port}`),
  hang: (): Action => ({ [ACTION]: 'hang' }),
  cut: (value: RespValue, opts: { at?: number; reset?: boolean } = {}): Action => ({ [ACTION]: 'cut', value, at: opts.at, reset: opts.reset ?? false }),
  delay: (ms: number, value: Reply): Action => ({ [ACTION]: 'delay', ms, value }),
  trickle: (value: RespValue, opts: { chunk?: number; everyMs?: number } = {}): Action => ({
    [ACTION]: 'trickle',
    value,
    chunk: Math.max(1, opts.chunk ?? 1),
    everyMs: opts.everyMs ?? 1,
  }),
  close: (): Action => ({ [ACTION]: 'close', reset: false }),
  reset: (): Action => ({ [ACTION]: 'close', reset: true }),
};

function isAction(v: unknown): v is Action {
  return typeof v === 'object' && v !== null && ACTION in v;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface FakeRedisOptions {
  handler?: Handler;
  /** Required by AUTH; until then commands other than AUTH/HELLO get -NOAUTH. */
  password?: string;
  /** Username accepted by AUTH/HELLO when `password` is set (default 'default'). */
  username?: string;
  /** Answer HELLO (default true). false: '-ERR unknown command' as Redis before 6. */
  hello?: boolean;
  /** Port to listen on (default 0: a free one). */
  port?: number;
  host?: string;
}

export class FakeConnection {
  readonly id: number;
  readonly socket: Socket;
  protocol: 2 | 3 = 2;
  db = 0;
  name: string | null = null;
  authenticated: boolean;
  readonly channels = new Set<string>();
  readonly patterns = new Set<string>();
  /** Commands received on this connection, as strings. */
  readonly commands: string[][] = [];
  /** Set by reply.hang(): nothing more is written. */
  silent = false;
  /** Becomes true once the socket is closed. */
  closed = false;
  #chain: Promise<void> = Promise.resolve();

  constructor(id: number, socket: Socket, authenticated: boolean) {
    this.id = id;
    this.socket = socket;
    this.authenticated = authenticated;
  }

  /** Writes one reply now, encoded for this connection's protocol (out of command order). */
  send(value: RespValue): void {
    this.sendRaw(encodeReply(value, { resp3: this.protocol === 3 }));
  }

  /** Writes a push frame (RESP3 '>', RESP2 '*'). */
  push(items: RespValue[]): void {
    this.sendRaw(encodePush(items, { resp3: this.protocol === 3 }));
  }

  sendRaw(bytes: Buffer | string): void {
    if (!this.closed && !this.socket.destroyed) this.socket.write(bytes);
  }

  /** Half-close: FIN after pending writes. */
  end(): void {
    this.socket.end();
  }

  /** Close now; with `reset`, send RST instead of FIN. */
  destroy(reset = false): void {
    if (reset && typeof this.socket.resetAndDestroy === 'function') this.socket.resetAndDestroy();
    else this.socket.destroy();
  }

  /** Queues work after everything queued before it: replies leave in command order. */
  enqueue(fn: () => Promise<void> | void): void {
    this.#chain = this.#chain.then(fn).catch((err: unknown) => {
      // A handler bug must not vanish silently: the client under test receives it as an error reply.
      this.sendRaw(encodeReply(new ReplyError(`ERR fake-redis handler threw: ${String(err)}`)));
    });
  }
}

type Store = Map<string, string>;

export class FakeRedis {
  readonly host: string;
  port: number;
  handler: Handler | undefined;
  readonly options: FakeRedisOptions;

  readonly log: { conn: number; args: string[] }[] = [];
  connectionsTotal = 0;
  commandsTotal = 0;

  #server: Server;
  #conns = new Set<FakeConnection>();
  #byName = new Map<string, Handler>();
  #refusing = false;
  #paused: { promise: Promise<void>; resolve: () => void } | null = null;
  #dbs = new Map<number, Store>();
  #nextId = 1;
  #listening = false;

  private constructor(options: FakeRedisOptions) {
    this.options = options;
    this.handler = options.handler;
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 0;
    this.#server = createServer((socket) => this.#accept(socket));
  }

  static async start(options: FakeRedisOptions = {}): Promise<FakeRedis> {
    const fake = new FakeRedis(options);
    await fake.listen();
    return fake;
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** Connections open now. */
  get connections(): number {
    return this.#conns.size;
  }

  get clients(): FakeConnection[] {
    return [...this.#conns];
  }

  /** Registers a handler for one command name (case-insensitive); null removes it. */
  on(name: string, handler: Handler | null): this {
    if (handler) this.#byName.set(name.toUpperCase(), handler);
    else this.#byName.delete(name.toUpperCase());
    return this;
  }

  /** Starts listening (again), on the same port after stop(). */
  async listen(): Promise<void> {
    if (this.#listening) return;
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.port, this.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.#server.address() as { port: number }).port;
    this.#listening = true;
  }

  /** Stops listening and closes every connection; the port stays reserved in `port` for listen(). */
  async stop(): Promise<void> {
    this.closeAll();
    if (!this.#listening) return;
    this.#listening = false;
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async close(): Promise<void> {
    this.resume();
    await this.stop();
  }

  /** Ends (FIN), or with `reset` resets (RST), every open connection. */
  closeAll(opts: { reset?: boolean } = {}): void {
    for (const c of this.#conns) c.destroy(opts.reset);
  }

  refuse(on = true): void {
    this.#refusing = on;
  }

  /** Stops answering everywhere; commands keep being read and queue up until resume(). */
  pause(): void {
    if (this.#paused) return;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.#paused = { promise, resolve };
  }

  resume(): void {
    const p = this.#paused;
    this.#paused = null;
    p?.resolve();
  }

  sendToAll(value: RespValue): void {
    for (const c of this.#conns) c.send(value);
  }

  pushToAll(items: RespValue[]): void {
    for (const c of this.#conns) c.push(items);
  }

  /** Delivers a message to subscribers as Redis would; returns how many received it. */
  publish(channel: string, message: string | Buffer): number {
    let n = 0;
    for (const c of this.#conns) {
      if (c.channels.has(channel)) {
        c.push(['message', channel, message]);
        n++;
      }
      for (const p of c.patterns) {
        if (globToRegExp(p).test(channel)) {
          c.push(['pmessage', p, channel, message]);
          n++;
        }
      }
    }
    return n;
  }

  commandNames(): string[] {
    return this.log.map((e) => e.args[0]?.toUpperCase() ?? '');
  }

  clearLog(): void {
    this.log.length = 0;
    for (const c of this.#conns) c.commands.length = 0;
  }

  /** Resolves when `cond()` holds, polling; rejects after `timeoutMs`. */
  async waitFor(cond: () => boolean, timeoutMs = 2000, what = 'condition'): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > until) throw new Error(`fake-redis: timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(2);
    }
  }

  waitForCommands(n: number, timeoutMs?: number): Promise<void> {
    return this.waitFor(() => this.commandsTotal >= n, timeoutMs, `${n} commands (have ${this.commandsTotal})`);
  }

  waitForConnections(n: number, timeoutMs?: number): Promise<void> {
    return this.waitFor(() => this.connectionsTotal >= n, timeoutMs, `${n} connections (have ${this.connectionsTotal})`);
  }

  // -------------------------------------------------------------------------------------------

  #accept(socket: Socket): void {
    this.connectionsTotal++;
    if (this.#refusing) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const conn = new FakeConnection(this.#nextId++, socket, this.options.password === undefined);
    this.#conns.add(conn);
    const decoder = new RespDecoder({
      returnBuffers: true,
      onReply: (v) => this.#receive(conn, v),
    });
    let broken = false;
    socket.on('data', (chunk) => {
      if (conn.closed || broken) return;
      try {
        decoder.write(chunk);
      } catch {
        broken = true;
        conn.enqueue(() => {
          conn.sendRaw(encodeReply(new ReplyError('ERR Protocol error: invalid multibulk length')));
          conn.end();
        });
      }
    });
    const gone = () => {
      conn.closed = true;
      this.#conns.delete(conn);
    };
    socket.on('close', gone);
    socket.on('error', gone);
  }

  #receive(conn: FakeConnection, value: RespValue): void {
    if (!Array.isArray(value) || value.length === 0 || !value.every((a) => Buffer.isBuffer(a))) {
      conn.enqueue(() => {
        conn.sendRaw(encodeReply(new ReplyError('ERR Protocol error: expected an array of bulk strings')));
        conn.end();
      });
      return;
    }
    const raw = value as Buffer[];
    const strings = raw.map((b) => b.toString('utf8'));
    this.commandsTotal++;
    this.log.push({ conn: conn.id, args: strings });
    conn.commands.push(strings);
    conn.enqueue(async () => {
      if (this.#paused) await this.#paused.promise;
      if (conn.silent || conn.closed) return;
      const answer = await this.#answer(strings, raw, conn);
      await this.#perform(conn, answer);
    });
  }

  async #answer(strings: string[], raw: Buffer[], conn: FakeConnection): Promise<Reply> {
    const name = strings[0]!.toUpperCase();
    const own = this.#byName.get(name);
    if (own) {
      const r = await own(strings, conn, raw);
      if (r !== undefined) return r;
    }
    if (this.handler) {
      const r = await this.handler(strings, conn, raw);
      if (r !== undefined) return r;
    }
    return this.#default(name, strings, conn);
  }

  async #perform(conn: FakeConnection, r: Reply): Promise<void> {
    if (conn.silent || conn.closed) return;
    if (!isAction(r)) return conn.send(r);
    switch (r[ACTION]) {
      case 'raw':
        return conn.sendRaw(r.bytes);
      case 'many':
        for (const v of r.values) await this.#perform(conn, v);
        return;
      case 'push':
        return conn.push(r.items);
      case 'hang':
        conn.silent = true;
        return;
      case 'cut': {
        const bytes = encodeReply(r.value, { resp3: conn.protocol === 3 });
        const at = Math.max(1, Math.min(bytes.length - 1, r.at ?? Math.floor(bytes.length / 2)));
        conn.silent = true;
        if (r.reset) {
          // Let the partial bytes reach the peer before the RST.
          await new Promise<void>((resolve) => conn.socket.write(bytes.subarray(0, at), () => resolve()));
          await sleep(5);
          conn.destroy(true);
        } else {
          conn.socket.end(bytes.subarray(0, at));
        }
        return;
      }
      case 'delay':
        await sleep(r.ms);
        return this.#perform(conn, r.value);
      case 'trickle': {
        const bytes = encodeReply(r.value, { resp3: conn.protocol === 3 });
        for (let i = 0; i < bytes.length; i += r.chunk) {
          if (conn.closed) return;
          conn.sendRaw(bytes.subarray(i, i + r.chunk));
          if (i + r.chunk < bytes.length) await sleep(r.everyMs);
        }
        return;
      }
      case 'close':
        conn.silent = true;
        if (r.reset) conn.destroy(true);
        else conn.end();
        return;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Built-in commands

  #db(conn: FakeConnection): Store {
    let s = this.#dbs.get(conn.db);
    if (!s) this.#dbs.set(conn.db, (s = new Map()));
    return s;
  }

  #default(name: string, a: string[], conn: FakeConnection): Reply {
    if (!conn.authenticated && name !== 'AUTH' && name !== 'HELLO' && name !== 'QUIT') {
      return new ReplyError('NOAUTH Authentication required.');
    }
    if (conn.channels.size + conn.patterns.size > 0 && conn.protocol === 2 && !SUBSCRIBED_OK.has(name)) {
      return new ReplyError(`ERR Can't execute '${a[0]!.toLowerCase()}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`);
    }
    const db = () => this.#db(conn);
    switch (name) {
      case 'PING':
        if (conn.protocol === 2 && conn.channels.size + conn.patterns.size > 0) return ['pong', a[1] ?? ''];
        return a.length > 1 ? a[1]! : reply.status('PONG');
      case 'ECHO':
        return a[1] ?? new ReplyError("ERR wrong number of arguments for 'echo' command");
      case 'HELLO':
        return this.#hello(a, conn);
      case 'AUTH': {
        const [user, pass] = a.length > 2 ? [a[1]!, a[2]!] : [this.options.username ?? 'default', a[1] ?? ''];
        if (this.options.password === undefined) {
          return new ReplyError('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
        }
        if (user !== (this.options.username ?? 'default') || pass !== this.options.password) {
          return new ReplyError('WRONGPASS invalid username-password pair or user is disabled.');
        }
        conn.authenticated = true;
        return reply.ok;
      }
      case 'SELECT': {
        const n = Number(a[1]);
        if (!Number.isInteger(n) || n < 0 || n > 15) return new ReplyError('ERR DB index is out of range');
        conn.db = n;
        return reply.ok;
      }
      case 'CLIENT': {
        const sub = a[1]?.toUpperCase();
        if (sub === 'SETNAME') {
          conn.name = a[2] ?? null;
          return reply.ok;
        }
        if (sub === 'GETNAME') return conn.name;
        if (sub === 'ID') return conn.id;
        return reply.ok;
      }
      case 'QUIT':
        return reply.many(reply.ok, reply.close());
      case 'GET':
        return db().get(a[1]!) ?? null;
      case 'SET':
        db().set(a[1]!, a[2]!);
        return reply.ok;
      case 'MGET':
        return a.slice(1).map((k) => db().get(k) ?? null);
      case 'DEL':
      case 'UNLINK':
        return a.slice(1).filter((k) => db().delete(k)).length;
      case 'EXISTS':
        return a.slice(1).filter((k) => db().has(k)).length;
      case 'INCR':
      case 'DECR':
      case 'INCRBY':
      case 'DECRBY': {
        const by = name === 'INCR' ? 1 : name === 'DECR' ? -1 : Number(a[2]) * (name === 'DECRBY' ? -1 : 1);
        const cur = Number(db().get(a[1]!) ?? '0');
        if (!Number.isInteger(cur) || !Number.isInteger(by)) return new ReplyError('ERR value is not an integer or out of range');
        db().set(a[1]!, String(cur + by));
        return cur + by;
      }
      case 'DBSIZE':
        return db().size;
      case 'FLUSHDB':
        db().clear();
        return reply.ok;
      case 'FLUSHALL':
        this.#dbs.clear();
        return reply.ok;
      case 'SUBSCRIBE':
      case 'PSUBSCRIBE':
      case 'UNSUBSCRIBE':
      case 'PUNSUBSCRIBE':
        return this.#subscribe(name, a.slice(1), conn);
      case 'PUBLISH':
        return this.publish(a[1]!, a[2]!);
      default:
        return new ReplyError(`ERR unknown command '${a[0]}', with args beginning with: ${a.slice(1, 4).map((x) => `'${x}' `).join('')}`);
    }
  }

  #hello(a: string[], conn: FakeConnection): Reply {
    if (this.options.hello === false) return new ReplyError(`ERR unknown command 'HELLO', with args beginning with: `);
    let proto = conn.protocol;
    if (a.length > 1) {
      const v = Number(a[1]);
      if (v !== 2 && v !== 3) return new ReplyError('NOPROTO unsupported protocol version');
      proto = v;
    }
    for (let i = 2; i < a.length; i++) {
      const opt = a[i]!.toUpperCase();
      if (opt === 'AUTH') {
        const [user, pass] = [a[i + 1] ?? '', a[i + 2] ?? ''];
        if (this.options.password !== undefined && (user !== (this.options.username ?? 'default') || pass !== this.options.password)) {
          return new ReplyError('WRONGPASS invalid username-password pair or user is disabled.');
        }
        conn.authenticated = true;
        i += 2;
      } else if (opt === 'SETNAME') {
        conn.name = a[i + 1] ?? null;
        i += 1;
      } else {
        return new ReplyError(`ERR Syntax error in HELLO option '${a[i]}'`);
      }
    }
    if (!conn.authenticated) return new ReplyError('NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time');
    conn.protocol = proto;
    return new Map<RespValue, RespValue>([
      ['server', 'redis'],
      ['version', '7.2.0'],
      ['proto', proto],
      ['id', conn.id],
      ['mode', 'standalone'],
      ['role', 'master'],
      ['modules', []],
    ]);
  }

  #subscribe(name: string, targets: string[], conn: FakeConnection): Reply {
    const pattern = name.startsWith('P');
    const set = pattern ? conn.patterns : conn.channels;
    const kind = name.toLowerCase();
    const count = () => conn.channels.size + conn.patterns.size;
    const frames: Reply[] = [];
    const subscribing = !name.includes('UNSUB');
    const list = subscribing || targets.length ? targets : [...set];
    for (const t of list) {
      if (subscribing) set.add(t);
      else set.delete(t);
      frames.push(reply.push([kind, t, count()]));
    }
    if (list.length === 0) frames.push(reply.push([kind, null, count()]));
    return reply.many(...frames);
  }
}

const SUBSCRIBED_OK = new Set(['SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'UNSUBSCRIBE', 'PUNSUBSCRIBE', 'SUNSUBSCRIBE', 'PING', 'QUIT', 'RESET']);

/** Redis glob patterns (* ? [...]) as a RegExp; enough for tests. */
function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) re += '\\[';
      else {
        re += '[' + glob.slice(i + 1, end).replace(/\\/g, '\\\\').replace(/^\^/, '\\^') + ']';
        i = end;
      }
    } else if (c === '\\' && i + 1 < glob.length) re += '\\' + glob[++i];
    else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}
