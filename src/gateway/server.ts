/**
 * createGateway: one HTTP server carrying the WebSocket endpoint (/ws), Server-Sent Events (/sse),
 * producers' POST /publish/:channel, /metrics, /healthz and the live-graphs page (/).
 *
 * Redis connections: the client passed in (or created from a URL) carries commands (publish,
 * history); a duplicate in RESP3 carries every subscription of the process. RESP3, because pushes
 * then travel on the client's main connection, whose 'close'/'ready' events the hub needs to tell
 * clients about a gap (the RESP2 subscriber connection's events are not exposed by the client).
 *
 * Several gateway processes behind a load balancer share Redis and need nothing else: each holds
 * its own subscriptions, and history ids come from Redis.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Registry } from 'prom-client';
import { createClient, type Client, type ClientOptions } from '../client/index.js';
import { ClusterClient } from '../client/cluster/index.js';
import { systemClock, type Clock } from '../clock.js';
import { Authorizer, createToken, type AuthOptions, type Grants, type TokenClaims } from './auth.js';
import { GatewayError, TokenError, type WireCode } from './errors.js';
import { History, type HistoryRule, type PublishResult } from './history.js';
import { Hub, type Subscriber } from './hub.js';
import { createMetrics } from './metrics.js';
import { DEFAULT_FRAME_LIMITS, ackJson, errorJson, type ServerHello } from './protocol.js';
import { Requests, type RequestLimits } from './requests.js';
import { DEFAULT_SESSION_OPTIONS, Session, type CloseReason, type SessionOptions } from './session.js';
import { SseTransport, bearer, readSseRequest } from './sse.js';
import { WsTransport } from './ws-transport.js';
import { serveWeb } from './web-assets.js';

/** pino-compatible; the gateway never logs unless given one. */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface GatewayLimits extends RequestLimits, SessionOptions {
  /** Open connections (WebSocket + SSE) per client IP (default 100; 0 disables). */
  maxConnectionsPerIp: number;
}

export interface GatewayOptions {
  /**
   * A redstack Client (used for commands; the gateway duplicates it for subscriptions), a URL, or
   * options; or a ClusterClient, on which channels are shard channels (SSUBSCRIBE, SPUBLISH) and
   * patterns use PSUBSCRIBE (they see only PUBLISH traffic: sharded pub/sub has no patterns).
   */
  redis: Client | ClusterClient | string | ClientOptions;
  /** Port to listen on (0: any free port). Default 8080. */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  auth?: AuthOptions;
  /** History per channel pattern (Redis streams), e.g. [{ pattern: 'stats.*', maxLen: 600 }]. */
  history?: HistoryRule[];
  /** Key prefix of history streams and the id sequence (default 'redstack:gateway:'). */
  keyPrefix?: string;
  limits?: Partial<GatewayLimits>;
  /** WebSocket ping interval; a client that misses a pong by the next one is closed. Default 30 s. */
  heartbeatMs?: number;
  /**
   * permessage-deflate. Off by default: compressing costs CPU per client per message (a shared
   * frame can no longer be shared) and zlib's memory fragments (ws #1202, #1369). When on, zlib
   * work is limited to `concurrency` jobs at a time.
   */
  compression?: false | { threshold?: number; concurrency?: number };
  /** Serve the live-graphs page at / (default true). */
  web?: boolean;
  /** The client's address for per-IP limits (default: the socket's remote address). */
  clientIp?: (req: IncomingMessage) => string;
  logger?: Logger;
  clock?: Clock;
}

export interface Gateway {
  readonly server: Server;
  /** The port listened on (useful with port 0). */
  readonly port: number;
  /** http://host:port */
  readonly url: string;
  readonly hub: Hub;
  /** The gateway's own prom-client registry. */
  readonly registry: Registry;
  readonly history: History;
  /** Connected clients. */
  readonly sessions: ReadonlySet<Session>;
  /** Signs a token with the configured secret. */
  createToken(claims: TokenClaims): string;
  /** Publishes as the gateway's own producers do (history script where a rule covers the channel). */
  publish(channel: string, data: string): Promise<PublishResult>;
  /** Closes every client (1001), the server (if the gateway created it) and its Redis connections. */
  close(): Promise<void>;
}

const NOOP_LOGGER: Logger = { info() {}, warn() {}, error() {} };

export async function createGateway(opts: GatewayOptions): Promise<Gateway> {
  const log = opts.logger ?? NOOP_LOGGER;
  const clock = opts.clock ?? systemClock;
  const limits: GatewayLimits = {
    ...DEFAULT_FRAME_LIMITS,
    ...DEFAULT_SESSION_OPTIONS,
    maxSubscriptionsPerClient: 100,
    maxMessageBytes: 64 * 1024,
    maxFramesPerSecond: 100,
    maxConnectionsPerIp: 100,
    ...opts.limits,
  };
  const cluster = opts.redis instanceof ClusterClient ? opts.redis : undefined;
  const ownsClient = !(typeof opts.redis === 'object' && 'cmd' in opts.redis);
  const redis: Client | ClusterClient = cluster ?? (ownsClient ? createClient(opts.redis as string | ClientOptions) : (opts.redis as Client));
  let subscriber: Subscriber & { status: string; quit(): Promise<void>; disconnect(): void };
  if (cluster) {
    subscriber = clusterSubscriber(cluster);
  } else {
    const sub = (redis as Client).duplicate({ protocol: 3, commandTimeoutMs: 0 });
    // Errors surface through commands and 'close'; the listener keeps EventEmitter from throwing.
    sub.on('error', (err: Error) => log.warn({ err: { code: (err as { code?: string }).code, message: err.message } }, 'gateway subscriber connection error'));
    sub.on('close', () => log.warn({}, 'gateway lost its Redis subscriber connection; clients will be told of the gap'));
    sub.on('ready', () => log.info({}, 'gateway subscriber connection ready'));
    subscriber = sub;
  }

  const history = new History(redis, opts.history ?? [], { keyPrefix: opts.keyPrefix, sharded: cluster !== undefined });
  const authorizer = new Authorizer(opts.auth);
  const sessions = new Set<Session>();
  const perIp = new Map<string, number>();
  const errors: Record<string, number> = {};
  const rejected: Record<string, number> = {};
  const publishes = { ws: 0, http: 0 };
  const conns = { ws: 0, sse: 0 };

  const release = (ip: string): void => {
    const n = (perIp.get(ip) ?? 1) - 1;
    if (n <= 0) perIp.delete(ip);
    else perIp.set(ip, n);
  };
  const hub = new Hub(subscriber, {
    history,
    clock,
    onSessionClosed(session, reason) {
      sessions.delete(session);
      conns[session.transport.kind]--;
      release(session.ip);
      if (reason !== 'client' && reason !== 'shutdown') log.info({ session: session.id, ip: session.ip, reason, dropped: session.droppedTotal }, 'client disconnected');
    },
  });
  const countError = (code: WireCode): void => {
    errors[code] = (errors[code] ?? 0) + 1;
  };
  const requests = new Requests({
    hub,
    authorizer,
    history,
    limits,
    now: () => clock.now(),
    countError,
    countPublish: (via) => publishes[via]++,
  });
  const registry = createMetrics(hub, {
    connections: () => ({ ...conns }),
    clientSubscriptions: () => {
      let n = 0;
      for (const s of sessions) n += s.subscriptions.size;
      return n;
    },
    publishes: () => ({ ...publishes }),
    errors: () => errors,
    rejectedConnections: () => rejected,
  });

  const clientIp = opts.clientIp ?? ((req: IncomingMessage) => req.socket.remoteAddress ?? 'unknown');
  const admit = (ip: string): boolean => {
    const n = perIp.get(ip) ?? 0;
    if (limits.maxConnectionsPerIp > 0 && n >= limits.maxConnectionsPerIp) {
      rejected.too_many_connections = (rejected.too_many_connections ?? 0) + 1;
      return false;
    }
    perIp.set(ip, n + 1);
    return true;
  };
  const hello = (s: Session): string => {
    const h: ServerHello = {
      type: 'hello',
      version: 1,
      session: s.id,
      limits: { maxFrameBytes: limits.maxFrameBytes, maxSubscriptions: limits.maxSubscriptionsPerClient, sendBufferBytes: limits.sendBufferBytes },
      auth: s.grants.expiresAt === undefined ? { token: s.grants.token } : { token: s.grants.token, expiresAt: s.grants.expiresAt },
    };
    return JSON.stringify(h);
  };

  // ---- WebSocket ----------------------------------------------------------------------------------
  const wss = new WebSocketServer({
    noServer: true,
    // ws closes the connection (1009) over maxPayload; our own, lower maxFrameBytes answers with an
    // error frame instead and keeps the connection. maxPayload only stops memory abuse.
    maxPayload: Math.max(1024 * 1024, limits.maxFrameBytes * 4),
    perMessageDeflate: opts.compression
      ? { threshold: opts.compression.threshold ?? 1024, concurrencyLimit: opts.compression.concurrency ?? 4, serverNoContextTakeover: true, clientNoContextTakeover: true }
      : false,
    clientTracking: false,
  });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/ws') {
      refuseUpgrade(socket, 404, 'not found');
      return;
    }
    const ip = clientIp(req);
    if (!admit(ip)) {
      refuseUpgrade(socket, 429, 'too many connections from this address');
      return;
    }
    const token = url.searchParams.get('token') ?? bearer(req) ?? undefined;
    // The slot is taken before the handshake; a handshake that ws refuses (bad headers) never
    // becomes a session, so give the slot back when its socket closes.
    let upgraded = false;
    socket.once('close', () => {
      if (!upgraded) release(ip);
    });
    wss.handleUpgrade(req, socket, head, (ws) => {
      upgraded = true;
      onConnection(ws, ip, token);
    });
  };

  const onConnection = (ws: WebSocket, ip: string, token: string | undefined): void => {
    const transport = new WsTransport(ws);
    let grants: Grants;
    let refusal: TokenError | undefined;
    try {
      grants = authorizer.grantsFor(token);
    } catch (err) {
      grants = { token: false, subscribe: [], publish: [] };
      refusal = err instanceof TokenError ? err : new TokenError('malformed', 'token refused');
    }
    const session = new Session(hub, transport, ip, grants, limits);
    transport.session = session;
    sessions.add(session);
    conns.ws++;
    ws.on('message', (data, isBinary) => {
      session.alive = true;
      requests.handle(session, data as Buffer, isBinary);
    });
    ws.on('pong', () => {
      session.alive = true;
    });
    ws.on('close', () => session.close('client'));
    ws.on('error', () => session.close('client'));
    if (refusal) {
      // Browsers cannot read an HTTP status from a failed WebSocket handshake: accept, say why, close.
      countError('unauthorized');
      ws.send(errorJson('unauthorized', refusal.message, undefined, { reason: refusal.reason }), () => session.close('unauthorized'));
      return;
    }
    session.control(hello(session));
  };

  // ---- SSE ---------------------------------------------------------------------------------------
  const onSse = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const q = readSseRequest(req, url);
    let grants: Grants;
    try {
      grants = authorizer.grantsFor(q.token);
    } catch (err) {
      const e = err as TokenError;
      return sendJson(res, 401, { type: 'error', code: 'unauthorized', message: e.message, reason: e.reason });
    }
    const all = [...q.channels, ...q.patterns];
    if (all.length === 0) return sendJson(res, 400, { type: 'error', code: 'bad_frame', message: 'give at least one ?channel= or ?pattern=' });
    if (all.length > limits.maxSubscriptionsPerClient) {
      return sendJson(res, 400, { type: 'error', code: 'too_many_subscriptions', message: `at most ${limits.maxSubscriptionsPerClient} subscriptions per client` });
    }
    for (const n of all) {
      if (n.length === 0 || n.length > limits.maxChannelLength || /[\u0000-\u001f\u007f]/.test(n)) {
        return sendJson(res, 400, { type: 'error', code: 'bad_channel', message: 'channel names must be 1-256 printable characters' });
      }
    }
    const refused = [...q.channels.filter((c) => !Authorizer.canSubscribe(grants, c)), ...q.patterns.filter((p) => !Authorizer.canPSubscribe(grants, p))];
    if (refused.length > 0) return sendJson(res, 403, { type: 'error', code: 'forbidden', message: 'not allowed to subscribe to some of these names', names: refused });
    if (q.lastEventId !== undefined && !/^\d{1,20}-\d{1,20}$/.test(q.lastEventId)) {
      return sendJson(res, 400, { type: 'error', code: 'bad_frame', message: 'Last-Event-ID must be a message id such as 1700000000000-0' });
    }
    const ip = clientIp(req);
    if (!admit(ip)) return sendJson(res, 429, { type: 'error', code: 'rate_limited', message: 'too many connections from this address' });
    const transport = new SseTransport(res);
    const session = new Session(hub, transport, ip, grants, limits);
    transport.session = session;
    sessions.add(session);
    conns.sse++;
    req.socket.setNoDelay(true);
    res.on('close', () => session.close('client'));
    transport.start(2000);
    session.control(hello(session));
    try {
      // Live channels and patterns first; then the channels resumed from Last-Event-ID, whose replay
      // follows the ack.
      const resume = q.lastEventId === undefined ? [] : q.channels.filter((c) => history.ruleFor(c) !== undefined);
      const live = q.channels.filter((c) => !resume.includes(c));
      const ack = ackJson(undefined, { channels: q.channels, patterns: q.patterns });
      if (live.length) await hub.subscribe(session, 'channel', live);
      if (q.patterns.length) await hub.subscribe(session, 'pattern', q.patterns);
      if (resume.length) await hub.subscribe(session, 'channel', resume, { since: q.lastEventId!, confirmed: () => session.control(ack) });
      else session.control(ack);
    } catch (err) {
      const e = err instanceof GatewayError ? err : new GatewayError('unavailable', 'subscription failed');
      countError(e.wire);
      session.control(errorJson(e.wire, e.message));
      setImmediate(() => session.close('client'));
    }
  };

  // ---- POST /publish/:channel ----------------------------------------------------------------------
  const onPublish = async (req: IncomingMessage, res: ServerResponse, url: URL, channel: string): Promise<void> => {
    let grants: Grants;
    try {
      grants = authorizer.grantsFor(url.searchParams.get('token') ?? bearer(req));
    } catch (err) {
      return sendJson(res, 401, { type: 'error', code: 'unauthorized', message: (err as Error).message });
    }
    if (channel.length === 0 || channel.length > limits.maxChannelLength || /[\u0000-\u001f\u007f]/.test(channel)) {
      return sendJson(res, 400, { type: 'error', code: 'bad_channel', message: 'bad channel name' });
    }
    if (!Authorizer.canPublish(grants, channel)) return sendJson(res, 403, { type: 'error', code: 'forbidden', message: 'not allowed to publish to this channel' });
    const body = await readBody(req, limits.maxMessageBytes);
    if (body === undefined) return sendJson(res, 413, { type: 'error', code: 'too_large', message: `body over ${limits.maxMessageBytes} bytes` });
    try {
      const r = await history.publish(channel, body.toString('utf8'));
      publishes.http++;
      return sendJson(res, 200, r.id === undefined ? { receivers: r.receivers } : { receivers: r.receivers, id: r.id });
    } catch {
      return sendJson(res, 503, { type: 'error', code: 'unavailable', message: 'Redis did not accept the publish' });
    }
  };

  // ---- GET /history/:channel?since=ID&limit=N ---------------------------------------------------------
  const onHistory = async (req: IncomingMessage, res: ServerResponse, url: URL, channel: string): Promise<void> => {
    let grants: Grants;
    try {
      grants = authorizer.grantsFor(url.searchParams.get('token') ?? bearer(req));
    } catch (err) {
      return sendJson(res, 401, { type: 'error', code: 'unauthorized', message: (err as Error).message });
    }
    if (!Authorizer.canSubscribe(grants, channel)) return sendJson(res, 403, { type: 'error', code: 'forbidden', message: 'not allowed to read this channel' });
    if (history.ruleFor(channel) === undefined) return sendJson(res, 404, { type: 'error', code: 'history_unavailable', message: 'this channel keeps no history' });
    const since = url.searchParams.get('since') ?? '0-0';
    const limit = Math.min(Number(url.searchParams.get('limit') ?? 1000) || 1000, 10_000);
    if (!/^\d{1,20}-\d{1,20}$/.test(since)) return sendJson(res, 400, { type: 'error', code: 'bad_frame', message: 'since must be a message id such as 1700000000000-0' });
    try {
      const r = await history.since(channel, since, limit);
      return sendJson(res, 200, { channel, entries: r.entries, trimmed: r.trimmed });
    } catch {
      return sendJson(res, 503, { type: 'error', code: 'unavailable', message: 'Redis did not answer' });
    }
  };

  // ---- routing -------------------------------------------------------------------------------------
  const onRequest = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if (path === '/sse' && req.method === 'GET') {
      onSse(req, res, url).catch(() => res.destroy());
      return true;
    }
    if (path.startsWith('/publish/') && req.method === 'POST') {
      let channel: string;
      try {
        channel = decodeURIComponent(path.slice('/publish/'.length));
      } catch {
        sendJson(res, 400, { type: 'error', code: 'bad_channel', message: 'bad channel name' });
        return true;
      }
      onPublish(req, res, url, channel).catch(() => res.destroy());
      return true;
    }
    if (path.startsWith('/history/') && req.method === 'GET') {
      let channel: string;
      try {
        channel = decodeURIComponent(path.slice('/history/'.length));
      } catch {
        sendJson(res, 400, { type: 'error', code: 'bad_channel', message: 'bad channel name' });
        return true;
      }
      onHistory(req, res, url, channel).catch(() => res.destroy());
      return true;
    }
    if (path === '/metrics' && req.method === 'GET') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        () => sendJson(res, 500, { error: 'metrics failed' }),
      );
      return true;
    }
    if (path === '/healthz') {
      const up = hub.redisUp && subscriber.status === 'ready';
      sendJson(res, up ? 200 : 503, { status: up ? 'ok' : 'redis_down', connections: sessions.size, subscriptions: { channels: hub.channelCount, patterns: hub.patternCount } });
      return true;
    }
    if (opts.web !== false && req.method === 'GET' && serveWeb(path, res)) return true;
    return false;
  };

  // ---- the server ------------------------------------------------------------------------------------
  const server = createServer((req, res) => {
    if (!onRequest(req, res)) sendJson(res, 404, { error: 'not found' });
  });
  server.keepAliveTimeout = 65_000;
  server.on('upgrade', onUpgrade);

  // ---- the coarse clock: heartbeats, token expiry, slow consumers -------------------------------------
  const heartbeatMs = opts.heartbeatMs ?? 30_000;
  let sinceBeat = 0;
  const stopSweep = clock.every(1000, () => {
    const now = clock.now();
    const wall = Date.now();
    sinceBeat += 1000;
    const beat = sinceBeat >= heartbeatMs;
    if (beat) sinceBeat = 0;
    for (const s of sessions) {
      s.sweep(now);
      if (s.closed) continue;
      if (s.grants.expiresAt !== undefined && s.grants.expiresAt <= wall) {
        countError('unauthorized');
        s.control(errorJson('unauthorized', 'token expired', undefined, { reason: 'expired' }));
        setImmediate(() => s.close('token_expired'));
        continue;
      }
      if (!beat) continue;
      const t = s.transport;
      if (t instanceof WsTransport) {
        if (!s.alive) {
          s.close('heartbeat');
          continue;
        }
        s.alive = false;
        t.ws.ping();
      } else if (t instanceof SseTransport) t.keepAlive();
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8080, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  const host = opts.host ?? '127.0.0.1';
  log.info({ port, history: opts.history?.map((h) => h.pattern) ?? [], anonymousRead: opts.auth?.anonymousRead ?? [] }, 'gateway listening');

  let closing: Promise<void> | undefined;
  return {
    server,
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    hub,
    registry,
    history,
    sessions,
    createToken(claims) {
      const s = opts.auth?.secret;
      if (s === undefined) throw new TypeError('createToken: the gateway has no auth.secret');
      return createToken(s, claims);
    },
    publish: (channel, data) => history.publish(channel, data),
    close() {
      closing ??= (async () => {
        stopSweep();
        server.off('upgrade', onUpgrade);
        for (const s of [...sessions]) s.close('shutdown');
        hub.close();
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
        if (!cluster) await Promise.all([subscriber.quit().catch(() => subscriber.disconnect()), ownsClient ? redis.quit().catch(() => redis.disconnect()) : undefined]);
        // A cluster client belongs to the caller; only the gateway's subscriptions are released.
        else await Promise.all([cluster.sunsubscribe().catch(() => undefined), cluster.punsubscribe().catch(() => undefined)]);
      })();
      return closing;
    },
  };
}

/**
 * The hub's view of a cluster: channels through sharded pub/sub, each on the master of its slot
 * (the cluster client follows slot moves and failovers), patterns through classic PSUBSCRIBE.
 * The cluster client does not report its subscriber connections' losses, so no `lagged` notice
 * follows a node's reconnect on a cluster (see docs/gateway-protocol.md).
 */
function clusterSubscriber(c: ClusterClient): Subscriber & { status: string; quit(): Promise<void>; disconnect(): void } {
  return {
    subscribe: (names, h) => c.ssubscribe(names, h),
    unsubscribe: (names, h) => c.sunsubscribe(names, h),
    psubscribe: (names, h) => c.psubscribe(names, h),
    punsubscribe: (names, h) => c.punsubscribe(names, h),
    on: () => undefined,
    off: () => undefined,
    get status() {
      return c.status;
    },
    quit: async () => undefined,
    disconnect: () => undefined,
  };
}

function refuseUpgrade(socket: Duplex, status: 404 | 429, message: string): void {
  const body = JSON.stringify({ error: message });
  socket.end(`HTTP/1.1 ${status} ${status === 429 ? 'Too Many Requests' : 'Not Found'}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** Reads a request body up to `max` bytes; undefined (and the request drained) when it is larger. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      req.resume();
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > max) {
        over = true;
        chunks.length = 0;
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
