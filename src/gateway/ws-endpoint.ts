/**
 * GET /ws: the WebSocket endpoint. Admits (per-IP limit), upgrades through ws, authenticates, and
 * wires each socket to a Session and the request handler.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Grants } from './auth.js';
import type { GatewayContext } from './context.js';
import { TokenError } from './errors.js';
import { refuseUpgrade } from './http-util.js';
import { errorJson } from './protocol.js';
import type { Requests } from './requests.js';
import { bearer } from './sse.js';
import { WsTransport } from './ws-transport.js';

export interface WsEndpointOptions {
  /** permessage-deflate with zlib limited to `concurrency` jobs (ws's concurrencyLimit); off when absent. */
  compression?: { threshold?: number; concurrency?: number };
}

export class WsEndpoint {
  readonly #ctx: GatewayContext;
  readonly #requests: Requests;
  readonly #wss: WebSocketServer;

  constructor(ctx: GatewayContext, requests: Requests, opts: WsEndpointOptions = {}) {
    this.#ctx = ctx;
    this.#requests = requests;
    const c = opts.compression;
    this.#wss = new WebSocketServer({
      noServer: true,
      // ws closes the connection (1009) over maxPayload; the lower maxFrameBytes is answered with an
      // error frame and the connection kept. maxPayload only stops memory abuse.
      maxPayload: Math.max(1024 * 1024, ctx.limits.maxFrameBytes * 4),
      perMessageDeflate: c ? { threshold: c.threshold ?? 1024, concurrencyLimit: c.concurrency ?? 4, serverNoContextTakeover: true, clientNoContextTakeover: true } : false,
      clientTracking: false,
    });
  }

  /** The http server's 'upgrade' listener. */
  readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/ws') {
      refuseUpgrade(socket, 404, 'not found');
      return;
    }
    const ip = this.#ctx.clientIp(req);
    if (!this.#ctx.admit(ip)) {
      refuseUpgrade(socket, 429, 'too many connections from this address');
      return;
    }
    const token = url.searchParams.get('token') ?? bearer(req) ?? undefined;
    // The slot is taken before the handshake; a handshake that ws refuses (bad headers) never
    // becomes a session, so the slot is given back when its socket closes.
    let upgraded = false;
    socket.once('close', () => {
      if (!upgraded) this.#ctx.release(ip);
    });
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      upgraded = true;
      this.#connected(ws, socket, ip, token);
    });
  };

  #connected(ws: WebSocket, socket: Duplex, ip: string, token: string | undefined): void {
    let grants: Grants;
    let refusal: TokenError | undefined;
    try {
      grants = this.#ctx.authorizer.grantsFor(token);
    } catch (err) {
      grants = { token: false, subscribe: [], publish: [] };
      refusal = err instanceof TokenError ? err : new TokenError('malformed', 'token refused');
    }
    const session = this.#ctx.open(new WsTransport(ws, socket), ip, grants);
    ws.on('message', (data, isBinary) => {
      session.alive = true;
      this.#requests.handle(session, data as Buffer, isBinary);
    });
    ws.on('pong', () => {
      session.alive = true;
    });
    ws.on('close', () => session.close('client'));
    ws.on('error', () => session.close('client'));
    if (refusal) {
      // Browsers cannot read the HTTP status of a refused handshake: accept, say why, then close.
      this.#ctx.countError('unauthorized');
      ws.send(errorJson('unauthorized', refusal.message, undefined, { reason: refusal.reason }), () => session.close('unauthorized'));
      return;
    }
    session.control(this.#ctx.hello(session));
  }
}
