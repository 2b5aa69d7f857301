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
import { int64LE, scoreFromBytes, bytesAt, type Item } from './numbers.js';

const ZIP_END = 0xff;
const ZIP_BIG_PREVLEN = 0xfe;
const HEADER = 10;

/**
 * Appends the elements of the ziplist in `buf[start..end)` to `out`; returns how many. With
 * `scores`, string elements at odd positions (zset scores) come as numbers, not Buffers.
 */
export function ziplistItems(buf: Buffer, start: number, end: number, out: Item[], scores = false): number {
  const ab = buf.buffer;
  const off = buf.byteOffset;
  if (end - start < HEADER + 1) throw bad('shorter than its header');
  const zlbytes = buf.readUInt32LE(start);
  if (zlbytes !== end - start) throw bad(`zlbytes ${zlbytes} but the blob has ${end - start} bytes`);
  const zllen = buf.readUInt16LE(start + 8);
  let p = start + HEADER;
  let count = 0;
  const last = end - 1;
  while (p < last) {
    // prevlen: not needed walking forward, only skipped.
    p += buf[p] === ZIP_BIG_PREVLEN ? 5 : 1;
    if (p >= last) throw bad('entry cut short');
    const enc = buf[p]!;
    let len: number;
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
      default: {
        p = readInt(buf, p, enc, last, out);
        count++;
        continue;
      }
    }
    if (p + len > last) throw bad('string entry past the end');
    out.push(scores && count & 1 ? scoreFromBytes(buf, p, p + len) : bytesAt(ab, off + p, len));
    p += len;
    count++;
  }
  if (p !== last || buf[last] !== ZIP_END) throw bad('missing the 0xFF terminator');
  if (zllen !== 0xffff && zllen !== count) throw bad(`zllen ${zllen} but ${count} entries`);
  return count;
}

function readInt(buf: Buffer, p: number, enc: number, last: number, out: Item[]): number {
  let size: number;
  let v: number | bigint;
  if (enc >= 0xf1 && enc <= 0xfd) {
    out.push((enc & 0x0f) - 1);
    return p + 1;
  }
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
  if (size === 2) v = buf.readInt16LE(q);
  else if (size === 4) v = buf.readInt32LE(q);
  else if (size === 8) v = int64LE(buf, q);
  else if (size === 3) v = buf.readIntLE(q, 3);
  else v = buf.readInt8(q);
  out.push(v);
  return q + size;
}

function bad(what: string): EncodingError {
  return new EncodingError('ERR_RDB_INTEGRITY', `ziplist integrity check failed: ${what}`);
}
