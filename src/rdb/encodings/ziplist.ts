/**
 * Ziplist decoding (redis src/ziplist.c), used by RDB types 10, 12, 13 and by quicklist (14) nodes.
 *
 *   zlbytes u32le | zltail u32le | zllen u16le (65535 = count it) | entry* | 0xFF
 *   entry = prevlen (1 byte, or 0xFE + u32le) | encoding [+ data]
 *
 * Encodings: 00pppppp / 01pppppp qqqqqqqq / 10000000 u32be are strings of that length; 0xC0 i16,
 * 0xD0 i32, 0xE0 i64, 0xF0 i24, 0xFE i8 (all little-endian); 0xF1..0xFD immediates 0..12 (RDB 6+).
 * Every step is bounds-checked: the blob comes from a file that may be corrupt.
 */
import { EncodingError } from '../errors.js';
import { ElementCursor } from './cursor.js';
import { int64LE, type Item } from './numbers.js';

const ZIP_END = 0xff;
const ZIP_BIG_PREVLEN = 0xfe;
const HEADER = 10;

/**
 * Reads a ziplist one element at a time, with no allocation per element (see ElementCursor):
 * `open(buf, start, end)`, then `next()` until it returns false, having checked the terminator
 * and zllen.
 */
export class ZiplistCursor extends ElementCursor {
  open(buf: Buffer, start: number, end: number): void {
    if (end - start < HEADER + 1) throw bad('shorter than its header');
    const zlbytes = buf.readUInt32LE(start);
    if (zlbytes !== end - start) throw bad(`zlbytes ${zlbytes} but the blob has ${end - start} bytes`);
    this.reset(buf, start + HEADER, end - 1);
    const zllen = buf.readUInt16LE(start + 8);
    this.declared = zllen === 0xffff ? -1 : zllen;
  }

  next(): boolean {
    const buf = this.buf;
    const last = this.last;
    let p = this.p;
    if (p >= last) return this.#end();
    // prevlen: not needed walking forward, only skipped.
    p += buf[p] === ZIP_BIG_PREVLEN ? 5 : 1;
    if (p >= last) throw bad('entry cut short');
    const enc = buf[p]!;
    let len: number;
    this.count++;
    switch (enc >> 6) {
      case 0:
        len = enc & 0x3f;
        p += 1;
        break;
      case 1:
        if (p + 2 > last) throw bad('entry cut short');
        len = ((enc & 0x3f) << 8) | buf[p + 1]!;
        p += 2;
        break;
      case 2:
        if (enc !== 0x80 || p + 5 > last) throw bad('bad string encoding');
        len = buf.readUInt32BE(p + 1);
        p += 5;
        break;
      default:
        return this.#int(buf, p, enc, last);
    }
    if (p + len > last) throw bad('string entry past the end');
    this.p = p + len;
    return this.setBytes(p, len);
  }

  #int(buf: Buffer, p: number, enc: number, last: number): boolean {
    if (enc >= 0xf1 && enc <= 0xfd) {
      this.p = p + 1;
      return this.setInt((enc & 0x0f) - 1);
    }
    let size: number;
    switch (enc) {
      case 0xc0:
        size = 2;
        break;
      case 0xd0:
        size = 4;
        break;
      case 0xe0:
        size = 8;
        break;
      case 0xf0:
        size = 3;
        break;
      case 0xfe:
        size = 1;
        break;
      default:
        throw bad(`unknown entry encoding 0x${enc.toString(16)}`);
    }
    if (p + 1 + size > last) throw bad('integer entry past the end');
    const q = p + 1;
    this.p = q + size;
    if (size === 2) return this.setInt(buf.readInt16LE(q));
    if (size === 4) return this.setInt(buf.readInt32LE(q));
    if (size === 8) return this.setInt(int64LE(buf, q));
    if (size === 3) return this.setInt(buf.readIntLE(q, 3));
    return this.setInt(buf.readInt8(q));
  }

  #end(): false {
    const last = this.last;
    if (this.p !== last || this.buf[last] !== ZIP_END) throw bad('missing the 0xFF terminator');
    const zllen = this.declared;
    if (zllen !== -1 && zllen !== this.count) throw bad(`zllen ${zllen} but ${this.count} entries`);
    return this.finish();
  }
}

/**
 * Appends the elements of the ziplist in `buf[start..end)` to `out`; returns how many. With
 * `scores`, string elements at odd positions (zset scores) come as numbers, not Buffers.
 */
export function ziplistItems(buf: Buffer, start: number, end: number, out: Item[], scores = false, c = new ZiplistCursor()): number {
  c.open(buf, start, end);
  return c.items(out, scores);
}

function bad(what: string): EncodingError {
  return new EncodingError('ERR_RDB_INTEGRITY', `ziplist integrity check failed: ${what}`);
}
