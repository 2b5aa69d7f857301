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
import { int64LE, scoreFromBytes, bytesAt, type Item } from './numbers.js';

const LP_EOF = 0xff;
const HEADER = 6;

/** Size of the backlen that follows an entry of `len` bytes (lpEncodeBacklen). */
function backlenSize(len: number): number {
  return len <= 127 ? 1 : len < 16383 ? 2 : len < 2097151 ? 3 : len < 268435455 ? 4 : 5;
}

/**
 * Appends the elements of the listpack in `buf[start..end)` to `out`; returns how many. With
 * `scores`, string elements at odd positions (zset scores) come as numbers, not Buffers.
 */
export function listpackItems(buf: Buffer, start: number, end: number, out: Item[], scores = false): number {
  const ab = buf.buffer;
  const off = buf.byteOffset;
  if (end - start < HEADER + 1) throw bad('shorter than its header');
  const total = buf.readUInt32LE(start);
  if (total !== end - start) throw bad(`total ${total} but the blob has ${end - start} bytes`);
  const declared = buf.readUInt16LE(start + 4);
  const last = end - 1;
  let p = start + HEADER;
  let count = 0;
  while (p < last) {
    const b = buf[p]!;
    let head: number; // encoding bytes
    let len: number; // data bytes
    if (b < 0x80) {
      out.push(b);
      p += 2; // the entry is one byte, its backlen one more
      count++;
      continue;
    } else if (b < 0xc0) {
      head = 1;
      len = b & 0x3f;
    } else if (b < 0xe0) {
      if (p + 3 > last) throw bad('entry cut short');
      let v = ((b & 0x1f) << 8) | buf[p + 1]!;
      if (v >= 4096) v -= 8192;
      out.push(v);
      p += 3;
      count++;
      continue;
    } else if (b < 0xf0) {
      if (p + 2 > last) throw bad('entry cut short');
      head = 2;
      len = ((b & 0x0f) << 8) | buf[p + 1]!;
    } else if (b === 0xf0) {
      if (p + 5 > last) throw bad('entry cut short');
      head = 5;
      len = buf.readUInt32LE(p + 1);
    } else {
      p = readInt(buf, p, b, last, out);
      count++;
      continue;
    }
    const s = p + head;
    if (s + len > last) throw bad('string entry past the end');
    out.push(scores && count & 1 ? scoreFromBytes(buf, s, s + len) : bytesAt(ab, off + s, len));
    p = s + len + backlenSize(head + len);
    count++;
  }
  if (p !== last || buf[last] !== LP_EOF) throw bad('missing the 0xFF terminator');
  if (declared !== 0xffff && declared !== count) throw bad(`count ${declared} but ${count} entries`);
  return count;
}

function readInt(buf: Buffer, p: number, b: number, last: number, out: Item[]): number {
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
  if (size === 2) out.push(buf.readInt16LE(q));
  else if (size === 3) out.push(buf.readIntLE(q, 3));
  else if (size === 4) out.push(buf.readInt32LE(q));
  else out.push(int64LE(buf, q));
  return q + size + 1;
}

function bad(what: string): EncodingError {
  return new EncodingError('ERR_RDB_INTEGRITY', `listpack integrity check failed: ${what}`);
}
