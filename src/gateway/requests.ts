/**
 * Client requests over WebSocket: parse, authorise, act, answer. Every frame gets exactly one answer
 * (ack, pong or error) when it carries an id, and a bad frame never closes the connection: the
 * client gets an error frame with a code and carries on.
 */
import { Authorizer, type Grants } from './auth.js';
import { GatewayError, TokenError, type WireCode } from './errors.js';
import type { History, PublishResult } from './history.js';
import type { Hub } from './hub.js';
import { ackJson, errorJson, parseClientFrame, pongJson, type ClientFrame, type FrameLimits, type RequestId } from './protocol.js';
import type { Session } from './session.js';

export interface RequestLimits extends FrameLimits {
  /** Channel + pattern subscriptions per client (default 100). */
  maxSubscriptionsPerClient: number;
  /** Largest message a client may publish, in bytes (default 64 KiB). */
  maxMessageBytes: number;
  /** Frames per second per client before `rate_limited` (default 100; 0 disables). */
  maxFramesPerSecond: number;
}

export interface RequestContext {
  hub: Hub;
  authorizer: Authorizer;
  history: History;
  limits: RequestLimits;
  now(): number;
  /** Counts an error frame sent, by code. */
  countError(code: WireCode): void;
  countPublish(via: 'ws' | 'http'): void;
}

interface Rate {
  windowStart: number;
  frames: number;
}

export class Requests {
  readonly #ctx: RequestContext;
  readonly #rates = new WeakMap<Session, Rate>();

  constructor(ctx: RequestContext) {
    this.#ctx = ctx;
  }

  /** Handles one WebSocket message. Never throws. */
  handle(session: Session, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (session.closed) return;
    if (isBinary) {
      this.#error(session, new GatewayError('binary_unsupported', 'binary frames are not part of the protocol; send JSON text'));
      return;
    }
    if (!this.#allow(session)) {
      this.#error(session, new GatewayError('rate_limited', `more than ${this.#ctx.limits.maxFramesPerSecond} frames per second`, { option: 'maxFramesPerSecond' }));
      return;
    }
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    let frame: ClientFrame;
    try {
      frame = parseClientFrame(buf, this.#ctx.limits);
    } catch (err) {
      this.#error(session, err);
      return;
    }
    this.#dispatch(session, frame).catch((err: unknown) => this.#error(session, err, frame.id));
  }

  async #dispatch(session: Session, f: ClientFrame): Promise<void> {
    if (f.type === 'ping') {
      session.control(pongJson(f.id));
      return;
    }
    if (f.type === 'auth') return this.#auth(session, f.token, f.id);
    if (f.type === 'unsubscribe' || f.type === 'punsubscribe') {
      const kind = f.type === 'unsubscribe' ? 'channel' : 'pattern';
      const names = f.type === 'unsubscribe' ? f.channels : f.patterns;
      const missing = new Set(this.#ctx.hub.unsubscribe(session, kind, names));
      const done = names.filter((n) => !missing.has(n));
      session.control(ackJson(f.id, kind === 'channel' ? { channels: done } : { patterns: done }));
      return;
    }
    this.#checkLive(session);
    if (f.type === 'publish') return this.#publish(session, f.channel, f.data, f.id);
    if (f.type === 'subscribe') return this.#subscribe(session, 'channel', f.channels, f.id, f.since);
    return this.#subscribe(session, 'pattern', f.patterns, f.id);
  }

  async #subscribe(session: Session, kind: 'channel' | 'pattern', names: string[], id: RequestId | undefined, since?: string): Promise<void> {
    const g = session.grants;
    const refused = names.filter((n) => !(kind === 'channel' ? this.#ctx.authorizer.canSubscribe(g, n) : this.#ctx.authorizer.canPSubscribe(g, n)));
    if (refused.length > 0) {
      // All or nothing: a refused name means no subscription at all, and no data.
      throw Object.assign(new GatewayError('forbidden', `not allowed to ${kind === 'channel' ? 'subscribe to' : 'psubscribe'} ${refused.length} of the requested names`, { requestId: id }), {
        names: refused,
      });
    }
    const prefix = kind === 'channel' ? 'c:' : 'p:';
    const fresh = names.filter((n) => !session.subscriptions.has(prefix + n)).length;
    const max = this.#ctx.limits.maxSubscriptionsPerClient;
    if (session.subscriptions.size + fresh > max) {
      throw new GatewayError('too_many_subscriptions', `at most ${max} subscriptions per client`, { requestId: id, option: 'maxSubscriptionsPerClient' });
    }
    const ack = ackJson(id, kind === 'channel' ? { channels: names } : { patterns: names });
    if (since !== undefined) {
      const without = names.filter((n) => this.#ctx.history.ruleFor(n) === undefined);
      if (without.length > 0) throw new GatewayError('history_unavailable', `${without.length} of the channels keep no history`, { requestId: id });
    }
    await this.#ctx.hub.subscribe(session, kind, names, { since, confirmed: () => session.control(ack) });
  }

  async #publish(session: Session, channel: string, data: string, id: RequestId | undefined): Promise<void> {
    if (!this.#ctx.authorizer.canPublish(session.grants, channel)) throw new GatewayError('forbidden', 'not allowed to publish to this channel', { requestId: id });
    const bytes = Buffer.byteLength(data);
    if (bytes > this.#ctx.limits.maxMessageBytes) {
      throw new GatewayError('too_large', `message of ${bytes} bytes is over the limit of ${this.#ctx.limits.maxMessageBytes}`, { requestId: id, option: 'maxMessageBytes' });
    }
    let r: PublishResult;
    try {
      r = await this.#ctx.history.publish(channel, data);
    } catch (err) {
      throw new GatewayError('unavailable', 'Redis did not accept the publish', { requestId: id, cause: err });
    }
    this.#ctx.countPublish('ws');
    session.control(ackJson(id, r.id === undefined ? { receivers: r.receivers } : { receivers: r.receivers, messageId: r.id }));
  }

  /** Replaces the session's grants; subscriptions the new token does not cover are dropped. */
  async #auth(session: Session, token: string, id: RequestId | undefined): Promise<void> {
    let g: Grants;
    try {
      g = this.#ctx.authorizer.grantsFor(token, Date.now());
    } catch (err) {
      throw err instanceof GatewayError ? new GatewayError(err.wire, err.message, { requestId: id }) : err;
    }
    session.grants = g;
    const revoked: { channels: string[]; patterns: string[] } = { channels: [], patterns: [] };
    for (const s of [...session.subscriptions.values()]) {
      const ok = s.kind === 'channel' ? this.#ctx.authorizer.canSubscribe(g, s.name) : this.#ctx.authorizer.canPSubscribe(g, s.name);
      if (!ok) (s.kind === 'channel' ? revoked.channels : revoked.patterns).push(s.name);
    }
    if (revoked.channels.length) this.#ctx.hub.unsubscribe(session, 'channel', revoked.channels);
    if (revoked.patterns.length) this.#ctx.hub.unsubscribe(session, 'pattern', revoked.patterns);
    session.control(ackJson(id, { expiresAt: g.expiresAt, revoked }));
  }

  #checkLive(session: Session): void {
    if (!Authorizer.live(session.grants)) throw new TokenError('expired', 'token has expired; send a new one with {"type":"auth"}');
  }

  #allow(session: Session): boolean {
    const max = this.#ctx.limits.maxFramesPerSecond;
    if (max <= 0) return true;
    const now = this.#ctx.now();
    let r = this.#rates.get(session);
    if (!r || now - r.windowStart >= 1000) {
      r = { windowStart: now, frames: 0 };
      this.#rates.set(session, r);
    }
    return ++r.frames <= max;
  }

  #error(session: Session, err: unknown, id?: RequestId): void {
    if (session.closed) return;
    if (err instanceof GatewayError) {
      const extra: Record<string, unknown> = {};
      const names = (err as GatewayError & { names?: string[] }).names;
      if (names) extra.names = names;
      this.#ctx.countError(err.wire);
      session.control(errorJson(err.wire, err.message, err.requestId ?? id, extra));
      return;
    }
    // Not a client error: say so without detail (it may hold internals), keep the connection.
    this.#ctx.countError('unavailable');
    session.control(errorJson('unavailable', 'the request failed inside the gateway', id));
  }
}
