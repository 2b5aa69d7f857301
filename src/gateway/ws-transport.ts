/**
 * A session over a WebSocket (`ws` does the framing). Each write is one text frame holding one or
 * more "\n"-separated JSON messages, sent with ws's public send(): the payload Buffer is shared by
 * every client that gets the same batch, ws adds a 2-10 byte header per socket and writes header and
 * payload in one corked writev, with no copy of the payload (ws marks Buffers read-only and server
 * frames are unmasked).
 */
import type { WebSocket } from 'ws';
import type { CloseReason, Session, Transport } from './session.js';

/** WebSocket close codes per reason (4000-4999 are the application's own range). */
export const CLOSE_CODES: Record<CloseReason, number> = {
  client: 1000,
  shutdown: 1001,
  heartbeat: 1001,
  unauthorized: 4001,
  token_expired: 4003,
  slow_consumer: 4008,
  send_buffer_overflow: 4009,
};

// A client that is not reading never receives a close frame queued behind megabytes: for these the
// socket is destroyed, not closed politely.
const TERMINATE = new Set<CloseReason>(['slow_consumer', 'send_buffer_overflow', 'heartbeat']);

const SEND_OPTIONS = { binary: false, compress: false, fin: true } as const;

export class WsTransport implements Transport {
  readonly kind = 'ws' as const;
  readonly ws: WebSocket;
  session: Session | undefined;
  readonly #onSent: (err?: Error) => void;

  constructor(ws: WebSocket) {
    this.ws = ws;
    // One callback per connection, not a closure per write.
    this.#onSent = (err?: Error) => {
      if (err === undefined || err === null) this.session?.written();
    };
  }

  buffered(): number {
    return this.ws.bufferedAmount;
  }

  write(chunk: Buffer): void {
    if (this.ws.readyState !== 1) return;
    this.ws.send(chunk, SEND_OPTIONS, this.#onSent);
  }

  close(reason: CloseReason): void {
    if (this.ws.readyState > 1) return;
    if (TERMINATE.has(reason)) this.ws.terminate();
    else this.ws.close(CLOSE_CODES[reason], reason);
  }
}
