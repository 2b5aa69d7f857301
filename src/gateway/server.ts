/**
 * createGateway: one HTTP server carrying the WebSocket endpoint (/ws, ws-endpoint.ts), Server-Sent
 * Events (/sse), producers' POST /publish/:channel, GET /history/:channel, /metrics, /healthz and
 * the live-graphs page (http-routes.ts). This file wires them to the hub and runs the coarse clock.
 *
 * Redis connections: the client passed in (or created from a URL) carries commands (publish,
 * history); a duplicate in RESP3 carries every subscription of the process. RESP3, because pushes
 * then travel on the client's main connection, whose 'close'/'ready' events the hub needs to tell
 * clients about a gap (the client does not expose the events of its RESP2 subscriber connection).
 * A ClusterClient is used as it is (cluster-subscriber.ts).
 *
 * Several gateway processes behind a load balancer share Redis and need nothing else: each holds
 * its own subscriptions, and history ids come from Redis.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { createClient, type Client, type ClientOptions } from '../client/index.js';
import { ClusterClient } from '../client/index.js';
import { systemClock, type Clock } from '../clock.js';
import { Authorizer, createToken, type AuthOptions, type TokenClaims } from './auth.js';
import { clusterSubscriber, type OwnedSubscriber } from './cluster-subscriber.js';
import { GatewayContext, NOOP_LOGGER, type GatewayLimits, type Logger } from './context.js';
import { History, type HistoryRule, type PublishResult } from './history.js';
import { HttpRoutes } from './http-routes.js';
import { Hub } from './hub.js';
import { createMetrics } from './metrics.js';
import { DEFAULT_FRAME_LIMITS, errorJson } from './protocol.js';
import { Requests } from './requests.js';
import { DEFAULT_SESSION_OPTIONS, type Session } from './session.js';
import { SseTransport } from './sse.js';
import { WsEndpoint } from './ws-endpoint.js';
import { WsTransport } from './ws-transport.js';

export type { GatewayLimits, Logger } from './context.js';

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
  /** Closes every client (1001), the server and the Redis connections the gateway opened. */
  close(): Promise<void>;
}

export const DEFAULT_LIMITS: GatewayLimits = {
  ...DEFAULT_FRAME_LIMITS,
  ...DEFAULT_SESSION_OPTIONS,
  maxSubscriptionsPerClient: 100,
  maxMessageBytes: 64 * 1024,
  maxFramesPerSecond: 100,
  maxConnectionsPerIp: 100,
};

/** Starts a gateway and resolves once it listens (Redis may come later: /healthz says when). */
export async function createGateway(opts: GatewayOptions): Promise<Gateway> {
  const log = opts.logger ?? NOOP_LOGGER;
  const clock = opts.clock ?? systemClock;
  const limits: GatewayLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const cluster = opts.redis instanceof ClusterClient ? opts.redis : undefined;
  const ownsClient = !(typeof opts.redis === 'object' && 'cmd' in opts.redis);
  const redis: Client | ClusterClient = cluster ?? (ownsClient ? createClient(opts.redis as string | ClientOptions) : (opts.redis as Client));
  const subscriber = cluster ? clusterSubscriber(cluster) : ownSubscriber(redis as Client, log);

  const history = new History(redis, opts.history ?? [], { keyPrefix: opts.keyPrefix, sharded: cluster !== undefined });
  const ctx = new GatewayContext(limits, new Authorizer(opts.auth), history, clock, log, opts.clientIp);
  const hub = new Hub(subscriber, { history, clock, onSessionClosed: (s, reason) => ctx.closed(s, reason) });
  ctx.hub = hub;
  const requests = new Requests({
    hub,
    authorizer: ctx.authorizer,
    history,
    limits,
    now: () => clock.now(),
    countError: (code) => ctx.countError(code),
    countPublish: (via) => void ctx.publishes[via]++,
  });
  const registry = createMetrics(hub, {
    connections: () => ({ ...ctx.connections }),
    clientSubscriptions: () => ctx.clientSubscriptions(),
    publishes: () => ({ ...ctx.publishes }),
    errors: () => ctx.errors,
    rejectedConnections: () => ctx.rejected,
  });
  const ws = new WsEndpoint(ctx, requests, { compression: opts.compression || undefined });
  const routes = new HttpRoutes(ctx, { registry, redisUp: () => hub.redisUp && subscriber.status === 'ready', web: opts.web !== false });
  const server = createServer(routes.handle);
  server.keepAliveTimeout = 65_000;
  server.on('upgrade', ws.onUpgrade);
  const stopSweep = clock.every(1000, sweeper(ctx, opts.heartbeatMs ?? 30_000));

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8080, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  log.info({ port, history: opts.history?.map((h) => h.pattern) ?? [], anonymousRead: opts.auth?.anonymousRead ?? [] }, 'gateway listening');

  let closing: Promise<void> | undefined;
  return {
    server,
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    hub,
    registry,
    history,
    sessions: ctx.sessions,
    createToken(claims) {
      const s = opts.auth?.secret;
      if (s === undefined) throw new TypeError('createToken: the gateway has no auth.secret');
      return createToken(s, claims);
    },
    publish: (channel, data) => history.publish(channel, data),
    close() {
      closing ??= (async () => {
        stopSweep();
        server.off('upgrade', ws.onUpgrade);
        // Closing every session releases every subscription (the last client of each unsubscribes).
        for (const s of [...ctx.sessions]) s.close('shutdown');
        hub.close();
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
        await subscriber.quit().catch(() => subscriber.disconnect());
        if (ownsClient) await (redis as Client).quit().catch(() => redis.disconnect());
      })();
      return closing;
    },
  };
}

/** The subscriber connection: a RESP3 duplicate of the command client (see the file comment). */
function ownSubscriber(redis: Client, log: Logger): OwnedSubscriber {
  const sub = redis.duplicate({ protocol: 3, commandTimeoutMs: 0 });
  // Errors surface through commands and 'close'; the listener keeps EventEmitter from throwing.
  sub.on('error', (err: Error) => log.warn({ err: { code: (err as { code?: string }).code, message: err.message } }, 'gateway subscriber connection error'));
  sub.on('close', () => log.warn({}, 'gateway lost its Redis subscriber connection; clients will be told of the gap'));
  sub.on('ready', () => log.info({}, 'gateway subscriber connection ready'));
  return sub;
}

/**
 * The gateway's one coarse clock tick (every second): slow consumers past their timeout, tokens
 * past their expiry, and every `heartbeatMs` a WebSocket ping (a client that did not answer the
 * previous one is closed) or an SSE keep-alive comment.
 */
function sweeper(ctx: GatewayContext, heartbeatMs: number): () => void {
  let sinceBeat = 0;
  return () => {
    const now = ctx.clock.now();
    const wall = Date.now();
    sinceBeat += 1000;
    const beat = sinceBeat >= heartbeatMs;
    if (beat) sinceBeat = 0;
    for (const s of ctx.sessions) {
      s.sweep(now);
      if (s.closed) continue;
      if (s.grants.expiresAt !== undefined && s.grants.expiresAt <= wall) {
        ctx.countError('unauthorized');
        s.control(errorJson('unauthorized', 'token expired', undefined, { reason: 'expired' }));
        setImmediate(() => s.close('token_expired'));
        continue;
      }
      if (beat) heartbeat(s);
    }
  };
}

function heartbeat(s: Session): void {
  const t = s.transport;
  if (t instanceof WsTransport) {
    if (!s.alive) {
      s.close('heartbeat');
      return;
    }
    s.alive = false;
    t.ws.ping();
  } else if (t instanceof SseTransport) t.keepAlive();
}
