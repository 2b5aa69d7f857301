/**
 * The element cursor that ziplist and listpack decoding share: `next()` reads one element and
 * leaves it in fields (an integer, or the position and length of its bytes) instead of pushing an
 * Item, so that a value's decoder turns each element straight into what the event holds: a Buffer
 * view, an integer's decimal text, a score. No array, closure or string per element; the parser
 * keeps one cursor of each kind and reuses it for every blob.
 */
import { bytesAt, intText, scoreFromBytes, type Item } from './numbers.js';

const EMPTY = Buffer.alloc(0);

export abstract class ElementCursor {
  buf: Buffer = EMPTY;
  /** Read position, and the index of the blob's last byte (its terminator). */
  p = 0;
  last = 0;
  /** Elements read so far. */
  count = 0;
  /** Elements the header declares, or -1 when it does not say (65535): a size hint, checked at the end. */
  declared = -1;
  /** The current element: an integer, or `len` bytes at `start`. */
  isInt = false;
  int: number | bigint = 0;
  start = 0;
  len = 0;
  #ab: ArrayBufferLike = EMPTY.buffer;
  #off = 0;

  /** Starts on the blob in `buf[start..end)`, checking its header. */
  abstract open(buf: Buffer, start: number, end: number): void;
  /** Reads the next element; false at the end, once the terminator and declared count are checked. */
  abstract next(): boolean;

  protected reset(buf: Buffer, p: number, last: number): void {
    this.buf = buf;
    this.#ab = buf.buffer;
    this.#off = buf.byteOffset;
    this.p = p;
    this.last = last;
    this.count = 0;
  }

  /** At the end of a blob: drop it, so that a cursor kept between values pins no input chunk. */
  protected finish(): false {
    this.buf = EMPTY;
    this.#ab = EMPTY.buffer;
    return false;
  }

  protected setInt(v: number | bigint): true {
    this.isInt = true;
    this.int = v;
    return true;
  }

  protected setBytes(start: number, len: number): true {
    this.isInt = false;
    this.start = start;
    this.len = len;
    return true;
  }

  /** The current element as a Buffer: a view of its bytes, or an integer's decimal text. */
  bytes(): Buffer {
    return this.isInt ? intText(this.int) : bytesAt(this.#ab, this.#off + this.start, this.len);
  }

  /** The current element as a zset score (text parsed as strtod would). */
  score(): number {
    return this.isInt ? Number(this.int) : scoreFromBytes(this.buf, this.start, this.start + this.len);
  }

  /** The current element as an Item (integers stay numbers). */
  item(): Item {
    return this.isInt ? this.int : bytesAt(this.#ab, this.#off + this.start, this.len);
  }

  /** Appends every remaining element to `out` (odd ones as scores with `scores`); returns the count. */
  items(out: Item[], scores = false): number {
    while (this.next()) out.push(scores && (this.count & 1) === 0 ? this.score() : this.item());
    return this.count;
  }
}
