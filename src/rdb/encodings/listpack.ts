/**
 * Listpack decoding (redis src/listpack.c), used by RDB types 16-18, 20, 23, 25 and stream nodes.
 *
 *   total u32le | count u16le (65535 = count it) | entry* | 0xFF
 *   entry = encoding [+ data] | backlen (1-5 bytes, the entry's size for walking backwards)
 *
 * Encodings: 0xxxxxxx 7-bit uint; 10xxxxxx 6-bit-length string; 110xxxxx yyyyyyyy 13-bit int;
 * 1110xxxx yyyyyyyy 12-bit-length string; 0xF0 + u32le length string; 0xF1 i16, 0xF2 i24, 0xF3 i32,
 * 0xF4 i64 (little-endian). The backlen is skipped by computing its size, not by reading it.
 */
import { EncodingError } from '../errors.js';
import { ElementCursor } from './cursor.js';
import { int64LE, type Item } from './numbers.js';

const LP_EOF = 0xff;
const HEADER = 6;

/** Size of the backlen that follows an entry of `len` bytes (lpEncodeBacklen). */
function backlenSize(len: number): number {
  return len <= 127 ? 1 : len < 16383 ? 2 : len < 2097151 ? 3 : len < 268435455 ? 4 : 5;
}

/**
 * Reads a listpack one element at a time, with no allocation per element (see ElementCursor):
 * `open(buf, start, end)`, then `next()` until it returns false, having checked the terminator
 * and the declared count.
 */
export class ListpackCursor extends ElementCursor {
  open(buf: Buffer, start: number, end: number): void {
    if (end - start < HEADER + 1) throw bad('shorter than its header');
    const total = buf.readUInt32LE(start);
    if (total !== end - start) throw bad(`total ${total} but the blob has ${end - start} bytes`);
    this.reset(buf, start + HEADER, end - 1);
    const declared = buf.readUInt16LE(start + 4);
    this.declared = declared === 0xffff ? -1 : declared;
  }

  next(): boolean {
    const buf = this.buf;
    const last = this.last;
    const p = this.p;
    if (p >= last) return this.#end();
    const b = buf[p]!;
    let head: number; // encoding bytes
    let len: number; // data bytes
    this.count++;
    if (b < 0x80) {
      this.p = p + 2; // the entry is one byte, its backlen one more
      return this.setInt(b);
    } else if (b < 0xc0) {
      head = 1;
      len = b & 0x3f;
    } else if (b < 0xe0) {
      if (p + 3 > last) throw bad('entry cut short');
      const v = ((b & 0x1f) << 8) | buf[p + 1]!;
      this.p = p + 3;
      return this.setInt(v >= 4096 ? v - 8192 : v);
    } else if (b < 0xf0) {
      if (p + 2 > last) throw bad('entry cut short');
      head = 2;
      len = ((b & 0x0f) << 8) | buf[p + 1]!;
    } else if (b === 0xf0) {
      if (p + 5 > last) throw bad('entry cut short');
      head = 5;
      len = buf.readUInt32LE(p + 1);
    } else {
      return this.#int(buf, p, b, last);
    }
    const s = p + head;
    if (s + len > last) throw bad('string entry past the end');
    this.p = s + len + backlenSize(head + len);
    return this.setBytes(s, len);
  }

  #int(buf: Buffer, p: number, b: number, last: number): boolean {
    const q = p + 1;
    let size: number;
    switch (b) {
      case 0xf1:
        size = 2;
        break;
      case 0xf2:
        size = 3;
        break;
      case 0xf3:
        size = 4;
        break;
      case 0xf4:
        size = 8;
        break;
      default:
        throw bad(`unknown entry encoding 0x${b.toString(16)}`);
    }
    // +1 for the backlen, which for these small entries is always one byte.
    if (q + size + 1 > last) throw bad('integer entry past the end');
    this.p = q + size + 1;
    if (size === 2) return this.setInt(buf.readInt16LE(q));
    if (size === 3) return this.setInt(buf.readIntLE(q, 3));
    if (size === 4) return this.setInt(buf.readInt32LE(q));
    return this.setInt(int64LE(buf, q));
  }

  #end(): false {
    const last = this.last;
    if (this.p !== last || this.buf[last] !== LP_EOF) throw bad('missing the 0xFF terminator');
    const declared = this.declared;
    if (declared !== -1 && declared !== this.count) throw bad(`count ${declared} but ${this.count} entries`);
    return this.finish();
  }
}

/**
 * Appends the elements of the listpack in `buf[start..end)` to `out`; returns how many. With
 * `scores`, string elements at odd positions (zset scores) come as numbers, not Buffers.
 */
export function listpackItems(buf: Buffer, start: number, end: number, out: Item[], scores = false, c = new ListpackCursor()): number {
  c.open(buf, start, end);
  return c.items(out, scores);
}

function bad(what: string): EncodingError {
  return new EncodingError('ERR_RDB_INTEGRITY', `listpack integrity check failed: ${what}`);
}
