/**
 * A run of messages that goes to many clients as the same bytes.
 *
 * The hub appends consecutive messages of one subscription to one Batch and hands the same Batch
 * object to every client of that subscription. At the end of the event-loop turn each Batch is
 * encoded once per encoding (one complete WebSocket frame, one SSE chunk) and that one Buffer is
 * written to every socket: framing costs once per batch, not once per delivery.
 *
 * A control frame (ack, error, pong, lagged) is a Batch of one part that counts no messages and is
 * never dropped.
 */

/** What a transport is, for counting: WebSocket or Server-Sent Events. */
export type TransportKind = 'ws' | 'sse';

/**
 * How a transport wants its bytes:
 *   'frame': a complete, unmasked WebSocket text frame (header + payload), written to the socket as is;
 *   'text':  the payload alone, for ws.send (the permessage-deflate path, which compresses per socket);
 *   'sse':   `id:`/`data:` events.
 */
export type Encoding = 'frame' | 'text' | 'sse';

export class Batch {
  /** JSON text of each message (or the one control frame). */
  readonly parts: string[] = [];
  /** History ids, parallel to parts, only when some part has one (SSE `id:` lines). */
  ids: (string | undefined)[] | undefined;
  /** Messages in this batch; 0 for a control frame. */
  count = 0;
  /** Approximate encoded size: the JSON characters plus separators. */
  bytes = 0;
  /** Control frames are never dropped for a slow consumer: acks and errors must arrive. */
  readonly droppable: boolean;
  #frame: Buffer | undefined;
  #text: Buffer | undefined;
  #sse: Buffer | undefined;

  constructor(droppable = true) {
    this.droppable = droppable;
  }

  static control(json: string): Batch {
    const b = new Batch(false);
    b.parts.push(json);
    b.bytes = json.length + 1;
    return b;
  }

  add(json: string, id?: string): void {
    if (id !== undefined || this.ids !== undefined) {
      this.ids ??= new Array<string | undefined>(this.parts.length);
      this.ids.push(id);
    }
    this.parts.push(json);
    this.count++;
    this.bytes += json.length + 1;
  }

  /**
   * The bytes for one encoding, built on first use and then shared by every client. A WebSocket
   * payload is the JSON objects joined by "\n" (one text frame); SSE has one `data:` event per
   * object, with `id:` when known.
   */
  encoded(enc: Encoding): Buffer {
    if (enc === 'frame') return (this.#frame ??= textFrame(this.#payload()));
    if (enc === 'text') return (this.#text ??= Buffer.from(this.#payload()));
    return (this.#sse ??= Buffer.from(this.#sseText()));
  }

  #payload(): string {
    return this.parts.length === 1 ? this.parts[0]! : this.parts.join('\n');
  }

  #sseText(): string {
    let s = '';
    for (let i = 0; i < this.parts.length; i++) {
      const id = this.ids?.[i];
      if (id !== undefined) s += 'id: ' + id + '\n';
      s += 'data: ' + this.parts[i] + '\n\n';
    }
    return s;
  }
}

/**
 * One final, unmasked WebSocket text frame (RFC 6455 5.2): 0x81, then the length in 7, 7+16 or
 * 7+64 bits, then the UTF-8 payload, built in one allocation. Server frames are never masked, so
 * the same bytes are valid on every connection.
 */
export function textFrame(text: string): Buffer {
  const len = Buffer.byteLength(text);
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const buf = Buffer.allocUnsafe(head + len);
  buf[0] = 0x81;
  if (head === 2) buf[1] = len;
  else if (head === 4) {
    buf[1] = 126;
    buf.writeUInt16BE(len, 2);
  } else {
    buf[1] = 127;
    buf.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    buf.writeUInt32BE(len >>> 0, 6);
  }
  buf.write(text, head, 'utf8');
  return buf;
}
