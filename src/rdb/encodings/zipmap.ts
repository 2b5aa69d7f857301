/**
 * Zipmap decoding (redis src/zipmap.c), RDB type 9 (hashes in RDB 2-3; converted on load since):
 *
 *   zmlen u8 (>= 254: count it) | (len key len free value [free unused bytes])* | 0xFF
 *   len = one byte < 254, or 254 + u32le
 */
import { EncodingError } from '../errors.js';
import { bytesAt, type Item } from './numbers.js';

const ZIPMAP_BIGLEN = 254;
const ZIPMAP_END = 255;

/** Appends field, value, field, value, ... of the zipmap in `buf[start..end)` to `out`; returns pairs. */
export function zipmapItems(buf: Buffer, start: number, end: number, out: Item[]): number {
  const ab = buf.buffer;
  const off = buf.byteOffset;
  if (end - start < 2) throw bad('shorter than its header');
  const declared = buf[start]!;
  let p = start + 1;
  let pairs = 0;
  for (;;) {
    if (p >= end) throw bad('missing the 0xFF terminator');
    if (buf[p] === ZIPMAP_END) break;
    // field
    let len: number;
    [len, p] = readLen(buf, p, end);
    if (p + len > end) throw bad('field past the end');
    out.push(bytesAt(ab, off + p, len));
    p += len;
    // value, preceded by its count of unused trailing bytes
    [len, p] = readLen(buf, p, end);
    if (p >= end) throw bad('value cut short');
    const free = buf[p++]!;
    if (p + len + free > end) throw bad('value past the end');
    out.push(bytesAt(ab, off + p, len));
    p += len + free;
    pairs++;
  }
  if (p !== end - 1) throw bad('bytes after the terminator');
  if (declared < ZIPMAP_BIGLEN && declared !== pairs) throw bad(`zmlen ${declared} but ${pairs} pairs`);
  return pairs;
}

function readLen(buf: Buffer, p: number, end: number): [number, number] {
  if (p >= end) throw bad('length cut short');
  const b = buf[p]!;
  if (b < ZIPMAP_BIGLEN) return [b, p + 1];
  if (b === ZIPMAP_BIGLEN && p + 5 <= end) return [buf.readUInt32LE(p + 1), p + 5];
  throw bad('bad length');
}

function bad(what: string): EncodingError {
  return new EncodingError('ERR_RDB_INTEGRITY', `zipmap integrity check failed: ${what}`);
}
