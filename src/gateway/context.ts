/**
 * What the gateway's endpoints share: limits, the hub, authorisation, history, the set of sessions,
 * per-IP connection counts and the counters behind /metrics. One instance per gateway.
 */
import type { IncomingMessage } from 'node:http';
import type { Clock } from '../clock.js';
import type { Authorizer, Grants } from './auth.js';
import type { WireCode } from './errors.js';
import type { History } from './history.js';
import type { Hub } from './hub.js';
import type { ServerHello } from './protocol.js';
import type { RequestLimits } from './requests.js';
import { Session, type SessionOptions, type Transport } from './session.js';

/** pino-compatible; the gateway never logs unless given one. */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const NOOP_LOGGER: Logger = { info() {}, warn() {}, error() {} };

export interface GatewayLimits extends RequestLimits, SessionOptions {
  /** Open connections (WebSocket + SSE) per client IP (default 100; 0 disables). */
  maxConnectionsPerIp: number;
}

export class GatewayContext {
  readonly sessions = new Set<Session>();
  readonly errors: Record<string, number> = {};
  readonly rejected: Record<string, number> = {};
  readonly publishes = { ws: 0, http: 0 };
  readonly connections = { ws: 0, sse: 0 };
  readonly #perIp = new Map<string, number>();
  readonly #clientIp: (req: IncomingMessage) => string;
  /** Set once the hub exists (the hub is told about closed sessions through this context). */
  hub!: Hub;

  constructor(
    readonly limits: GatewayLimits,
    readonly authorizer: Authorizer,
    readonly history: History,
    readonly clock: Clock,
    readonly log: Logger,
    clientIp: ((req: IncomingMessage) => string) | undefined,
  ) {
    this.#clientIp = clientIp ?? ((req) => req.socket.remoteAddress ?? 'unknown');
  }

  clientIp(req: IncomingMessage): string {
    return this.#clientIp(req);
  }

  /** Takes a connection slot for the address; false (counted) when it has none left. */
  admit(ip: string): boolean {
    const n = this.#perIp.get(ip) ?? 0;
    const max = this.limits.maxConnectionsPerIp;
    if (max > 0 && n >= max) {
      this.rejected.too_many_connections = (this.rejected.too_many_connections ?? 0) + 1;
      return false;
    }
    this.#perIp.set(ip, n + 1);
    return true;
  }

  release(ip: string): void {
    const n = (this.#perIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.#perIp.delete(ip);
    else this.#perIp.set(ip, n);
  }

  /** A session for an admitted connection, registered and counted. */
  open(transport: Transport & { session: Session | undefined }, ip: string, grants: Grants): Session {
    const session = new Session(this.hub, transport, ip, grants, this.limits);
    transport.session = session;
    this.sessions.add(session);
    this.connections[transport.kind]++;
    return session;
  }

  /** Called by the hub once a session's subscriptions are released. */
  closed(session: Session, reason: string): void {
    this.sessions.delete(session);
    this.connections[session.transport.kind]--;
    this.release(session.ip);
    if (reason !== 'client' && reason !== 'shutdown') {
      this.log.info({ session: session.id, ip: session.ip, reason, dropped: session.droppedTotal }, 'client disconnected');
    }
  }

  countError(code: WireCode): void {
    this.errors[code] = (this.errors[code] ?? 0) + 1;
  }

  hello(s: Session): string {
    const h: ServerHello = {
      type: 'hello',
      version: 1,
      session: s.id,
      limits: { maxFrameBytes: this.limits.maxFrameBytes, maxSubscriptions: this.limits.maxSubscriptionsPerClient, sendBufferBytes: this.limits.sendBufferBytes },
      auth: s.grants.expiresAt === undefined ? { token: s.grants.token } : { token: s.grants.token, expiresAt: s.grants.expiresAt },
    };
    return JSON.stringify(h);
  }

  clientSubscriptions(): number {
    let n = 0;
    for (const s of this.sessions) n += s.subscriptions.size;
    return n;
  }
}
