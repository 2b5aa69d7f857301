/**
 * A session over a WebSocket. ws does the handshake, reads and parses client frames, and sends
 * pings and close frames; the fan-out path writes pre-built frames itself.
 *
 * Why: a message that goes to a thousand clients is framed once (Batch.encoded('frame'): header and
 * payload in one Buffer, valid on every connection because server frames are unmasked) and that
 * Buffer is written to each client's socket, the one the HTTP server handed over with the upgrade
 * (no ws internals). ws.send would rebuild a header per client and write header and payload as two
 * chunks; in bench/gateway.ts this took the server's CPU per delivery at a fixed rate (one write per
 * message per socket) from 6.5-7.4 µs to 4.9-6.9 µs, most of the rest being the kernel's write.
 * Complete frames never interleave badly with ws's own writes (pings, close), which are complete
 * frames too. With permessage-deflate, compression is per connection, so that path uses ws.send.
 *
 * Backpressure: no callback per write; when the session finds the socket over its high-water mark
 * it asks for one 'drain'.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Encoding } from './batch.js';
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

const DEFLATE_OPTIONS = { binary: false, compress: true, fin: true } as const;

export class WsTransport implements Transport {
  readonly kind = 'ws' as const;
  readonly encoding: Encoding;
  readonly ws: WebSocket;
  readonly #socket: Duplex;
  session: Session | undefined;
  readonly #onDrain = (): void => this.session?.written();
  #pending = 0;
  readonly #onSent = (): void => {
    if (--this.#pending === 0 && this.#waiting) {
      this.#waiting = false;
      this.session?.written();
    }
  };
  #waiting = false;

  constructor(ws: WebSocket, socket: Duplex) {
    this.ws = ws;
    this.#socket = socket;
    this.encoding = ws.extensions.includes('permessage-deflate') ? 'text' : 'frame';
  }

  buffered(): number {
    return this.ws.bufferedAmount;
  }

  write(chunks: Buffer[]): void {
    if (this.ws.readyState !== 1) return;
    if (this.encoding === 'text') {
      for (const c of chunks) {
        this.#pending++;
        this.ws.send(c, DEFLATE_OPTIONS, this.#onSent);
      }
      return;
    }
    const s = this.#socket;
    if (chunks.length === 1) s.write(chunks[0]);
    else {
      s.cork();
      for (const c of chunks) s.write(c);
      s.uncork();
    }
  }

  awaitDrain(): void {
    if (this.encoding === 'text') {
      if (this.#pending === 0) setImmediate(this.#onDrain);
      else this.#waiting = true;
      return;
    }
    // 'drain' follows only a write that returned false; below the socket's own high-water mark
    // there is none to wait for, so look again shortly.
    if (this.#socket.writableNeedDrain) this.#socket.once('drain', this.#onDrain);
    else setTimeout(this.#onDrain, 5);
  }

  close(reason: CloseReason): void {
    if (this.ws.readyState > 1) return;
    if (TERMINATE.has(reason)) this.ws.terminate();
    else this.ws.close(CLOSE_CODES[reason], reason);
  }
}
