/**
 * The gateway's plain HTTP endpoints: GET /sse, POST /publish/:channel, GET /history/:channel,
 * /metrics, /healthz and the page. Refusals are JSON bodies shaped like error frames.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Grants } from './auth.js';
import type { GatewayContext } from './context.js';
import { GatewayError, type TokenError } from './errors.js';
import { MESSAGE_ID, pathName, readBody, sendError, sendJson, validName } from './http-util.js';
import { ackJson, errorJson } from './protocol.js';
import { SseTransport, bearer, readSseRequest } from './sse.js';
import { serveWeb } from './web-assets.js';

export interface HttpRoutesOptions {
  registry: Registry;
  /** True while the subscriber connection is up (for /healthz). */
  redisUp(): boolean;
  /** Serve the page (default true). */
  web: boolean;
}

export class HttpRoutes {
  readonly #ctx: GatewayContext;
  readonly #opts: HttpRoutesOptions;

  constructor(ctx: GatewayContext, opts: HttpRoutesOptions) {
    this.#ctx = ctx;
    this.#opts = opts;
  }

  /** The http server's request listener. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const fail = (): void => void res.destroy();
    if (path === '/sse' && req.method === 'GET') this.#sse(req, res, url).catch(fail);
    else if (path.startsWith('/publish/') && req.method === 'POST') this.#publish(req, res, url, pathName(path, '/publish/')).catch(fail);
    else if (path.startsWith('/history/') && req.method === 'GET') this.#history(req, res, url, pathName(path, '/history/')).catch(fail);
    else if (path === '/metrics' && req.method === 'GET') this.#metrics(res);
    else if (path === '/healthz') this.#healthz(res);
    else if (!(this.#opts.web && req.method === 'GET' && serveWeb(path, res))) sendJson(res, 404, { error: 'not found' });
  };

  /** Grants for the request's token (query `token` or Bearer), or a 401 answer and undefined. */
  #grants(req: IncomingMessage, res: ServerResponse, token: string | undefined): Grants | undefined {
    try {
      return this.#ctx.authorizer.grantsFor(token);
    } catch (err) {
      const e = err as TokenError;
      sendError(res, 401, 'unauthorized', e.message, { reason: e.reason });
      return undefined;
    }
  }

  async #sse(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const ctx = this.#ctx;
    const q = readSseRequest(req, url);
    const grants = this.#grants(req, res, q.token);
    if (!grants) return;
    const all = [...q.channels, ...q.patterns];
    if (all.length === 0) return sendError(res, 400, 'bad_frame', 'give at least one ?channel= or ?pattern=');
    if (all.length > ctx.limits.maxSubscriptionsPerClient) return sendError(res, 400, 'too_many_subscriptions', `at most ${ctx.limits.maxSubscriptionsPerClient} subscriptions per client`);
    if (!all.every((n) => validName(n, ctx.limits.maxChannelLength))) return sendError(res, 400, 'bad_channel', `channel names must be 1-${ctx.limits.maxChannelLength} printable characters`);
    const refused = [...q.channels.filter((c) => !ctx.authorizer.canSubscribe(grants, c)), ...q.patterns.filter((p) => !ctx.authorizer.canPSubscribe(grants, p))];
    if (refused.length > 0) return sendError(res, 403, 'forbidden', 'not allowed to subscribe to some of these names', { names: refused });
    if (q.lastEventId !== undefined && !MESSAGE_ID.test(q.lastEventId)) return sendError(res, 400, 'bad_frame', 'Last-Event-ID must be a message id such as 1700000000000-0');
    const ip = ctx.clientIp(req);
    if (!ctx.admit(ip)) return sendError(res, 429, 'rate_limited', 'too many connections from this address');
    const transport = new SseTransport(res);
    const session = ctx.open(transport, ip, grants);
    req.socket.setNoDelay(true);
    res.on('close', () => session.close('client'));
    transport.start(2000);
    session.control(ctx.hello(session));
    try {
      // Live channels and patterns first; then the channels resumed from Last-Event-ID, whose replay
      // follows the ack.
      const resume = q.lastEventId === undefined ? [] : q.channels.filter((c) => ctx.history.ruleFor(c) !== undefined);
      const live = q.channels.filter((c) => !resume.includes(c));
      const ack = ackJson(undefined, { channels: q.channels, patterns: q.patterns });
      if (live.length) await ctx.hub.subscribe(session, 'channel', live);
      if (q.patterns.length) await ctx.hub.subscribe(session, 'pattern', q.patterns);
      if (resume.length) await ctx.hub.subscribe(session, 'channel', resume, { since: q.lastEventId!, confirmed: () => session.control(ack) });
      else session.control(ack);
    } catch (err) {
      const e = err instanceof GatewayError ? err : new GatewayError('unavailable', 'subscription failed');
      ctx.countError(e.wire);
      session.control(errorJson(e.wire, e.message));
      setImmediate(() => session.close('client'));
    }
  }

  async #publish(req: IncomingMessage, res: ServerResponse, url: URL, channel: string | undefined): Promise<void> {
    const ctx = this.#ctx;
    const grants = this.#grants(req, res, url.searchParams.get('token') ?? bearer(req));
    if (!grants) return;
    if (channel === undefined || !validName(channel, ctx.limits.maxChannelLength)) return sendError(res, 400, 'bad_channel', 'bad channel name');
    if (!ctx.authorizer.canPublish(grants, channel)) return sendError(res, 403, 'forbidden', 'not allowed to publish to this channel');
    const body = await readBody(req, ctx.limits.maxMessageBytes);
    if (body === undefined) return sendError(res, 413, 'too_large', `body over ${ctx.limits.maxMessageBytes} bytes`);
    try {
      const r = await ctx.history.publish(channel, body.toString('utf8'));
      ctx.publishes.http++;
      sendJson(res, 200, r.id === undefined ? { receivers: r.receivers } : { receivers: r.receivers, id: r.id });
    } catch {
      sendError(res, 503, 'unavailable', 'Redis did not accept the publish');
    }
  }

  async #history(req: IncomingMessage, res: ServerResponse, url: URL, channel: string | undefined): Promise<void> {
    const ctx = this.#ctx;
    const grants = this.#grants(req, res, url.searchParams.get('token') ?? bearer(req));
    if (!grants) return;
    if (channel === undefined || !validName(channel, ctx.limits.maxChannelLength)) return sendError(res, 400, 'bad_channel', 'bad channel name');
    if (!ctx.authorizer.canSubscribe(grants, channel)) return sendError(res, 403, 'forbidden', 'not allowed to read this channel');
    if (ctx.history.ruleFor(channel) === undefined) return sendError(res, 404, 'history_unavailable', 'this channel keeps no history');
    const since = url.searchParams.get('since') ?? '0-0';
    if (!MESSAGE_ID.test(since)) return sendError(res, 400, 'bad_frame', 'since must be a message id such as 1700000000000-0');
    const limit = Math.min(Number(url.searchParams.get('limit') ?? 1000) || 1000, 10_000);
    try {
      const r = await ctx.history.since(channel, since, limit);
      sendJson(res, 200, { channel, entries: r.entries, trimmed: r.trimmed });
    } catch {
      sendError(res, 503, 'unavailable', 'Redis did not answer');
    }
  }

  #metrics(res: ServerResponse): void {
    const registry = this.#opts.registry;
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      },
      () => sendJson(res, 500, { error: 'metrics failed' }),
    );
  }

  #healthz(res: ServerResponse): void {
    const up = this.#opts.redisUp();
    const hub = this.#ctx.hub;
    sendJson(res, up ? 200 : 503, { status: up ? 'ok' : 'redis_down', connections: this.#ctx.sessions.size, subscriptions: { channels: hub.channelCount, patterns: hub.patternCount } });
  }
}
