/**
 * Server-Sent Events: `GET /sse?channel=a&channel=b&pattern=stats.*&token=...`.
 *
 * The same JSON messages as the WebSocket protocol, one per SSE event (`data: {...}`), with `id:`
 * set for messages that have a history id, so the browser's EventSource sends `Last-Event-ID` when
 * it reconnects and the gateway replays from there on every history channel of the request. The
 * subscription set is fixed by the URL; there are no acks in-band other than the first `ack` event.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CloseReason, Session, Transport } from './session.js';

export class SseTransport implements Transport {
  readonly kind = 'sse' as const;
  readonly encoding = 'sse' as const;
  readonly res: ServerResponse;
  session: Session | undefined;
  readonly #onDrain = (): void => this.session?.written();

  constructor(res: ServerResponse) {
    this.res = res;
  }

  /** Sends the SSE headers and the reconnect delay. */
  start(retryMs: number): void {
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Proxies such as nginx buffer responses unless told not to; events must flow as they come.
      'x-accel-buffering': 'no',
    });
    this.res.write(`retry: ${retryMs}\n\n`);
  }

  buffered(): number {
    return this.res.writableLength;
  }

  write(chunks: Buffer[]): void {
    const res = this.res;
    if (res.destroyed || res.writableEnded) return;
    if (chunks.length === 1) res.write(chunks[0]);
    else {
      res.cork();
      for (const c of chunks) res.write(c);
      res.uncork();
    }
  }

  awaitDrain(): void {
    if (this.res.writableNeedDrain) this.res.once('drain', this.#onDrain);
    else setTimeout(this.#onDrain, 5);
  }

  /** A comment line keeps idle connections open through proxies; skipped when data is waiting. */
  keepAlive(): void {
    if (this.res.destroyed || this.res.writableEnded || this.res.writableLength > 0) return;
    this.res.write(': keep-alive\n\n');
  }

  close(reason: CloseReason): void {
    if (this.res.destroyed) return;
    if (reason === 'slow_consumer' || reason === 'send_buffer_overflow' || reason === 'heartbeat') this.res.destroy();
    else this.res.end();
  }
}

export interface SseRequest {
  channels: string[];
  patterns: string[];
  token: string | undefined;
  lastEventId: string | undefined;
}

/** Reads the subscription set and resume point from the URL and headers (validated by the caller). */
export function readSseRequest(req: IncomingMessage, url: URL): SseRequest {
  const header = req.headers['last-event-id'];
  const lastEventId = (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get('lastEventId') ?? undefined;
  return {
    channels: url.searchParams.getAll('channel'),
    patterns: url.searchParams.getAll('pattern'),
    token: url.searchParams.get('token') ?? bearer(req),
    lastEventId: lastEventId === '' ? undefined : lastEventId,
  };
}

/** The token of an `Authorization: Bearer ...` header. */
export function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  return m ? m[1] : undefined;
}
