/**
 * A run of messages that goes to many clients as the same bytes.
 *
 * The hub appends consecutive messages of one subscription to one Batch and hands the same Batch
 * object to every client of that subscription. At the end of the event-loop turn each Batch is
 * encoded once per transport kind (one WebSocket text payload, one SSE chunk) and those bytes are
 * written to every socket: framing cost is per message, not per delivery.
 *
 * A control frame (ack, error, pong, lagged) is a Batch of one part that counts no messages and is
 * never dropped.
 */

export type TransportKind = 'ws' | 'sse';

const NL = 0x0a;

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
  #ws: Buffer | undefined;
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
   * The bytes for one transport, built on first use and then shared. WebSocket: the JSON objects
   * joined by "\n" (one text frame). SSE: one `data:` event per object, with `id:` when known.
   */
  encoded(kind: TransportKind): Buffer {
    if (kind === 'ws') return (this.#ws ??= Buffer.from(this.parts.length === 1 ? this.parts[0]! : this.parts.join('\n')));
    return (this.#sse ??= Buffer.from(this.#sseText()));
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
 * Joins encoded batches for one write. WebSocket payloads need "\n" between batches (each holds
 * whole JSON objects); SSE chunks are self-delimiting. One batch is returned as is (no copy).
 */
export function joinEncoded(kind: TransportKind, bufs: Buffer[]): Buffer {
  if (bufs.length === 1) return bufs[0]!;
  if (kind === 'sse') return Buffer.concat(bufs);
  let total = bufs.length - 1;
  for (const b of bufs) total += b.length;
  const out = Buffer.allocUnsafe(total);
  let off = 0;
  for (let i = 0; i < bufs.length; i++) {
    if (i > 0) out[off++] = NL;
    const b = bufs[i]!;
    b.copy(out, off);
    off += b.length;
  }
  return out;
}
