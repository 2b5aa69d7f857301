/**
 * Intset decoding (redis src/intset.c), RDB type 11:
 *
 *   encoding u32le (2, 4 or 8: bytes per integer) | length u32le | integers, little-endian, sorted
 */
import { EncodingError } from '../errors.js';
import { int64LE, type Item } from './numbers.js';

/** Appends the members of the intset in `buf[start..end)` to `out`; returns how many. */
export function intsetItems(buf: Buffer, start: number, end: number, out: Item[]): number {
  if (end - start < 8) throw bad('shorter than its header');
  const width = buf.readUInt32LE(start);
  const n = buf.readUInt32LE(start + 4);
  if (width !== 2 && width !== 4 && width !== 8) throw bad(`encoding ${width}`);
  if (8 + n * width !== end - start) throw bad(`${n} members of ${width} bytes do not fill ${end - start} bytes`);
  let p = start + 8;
  if (width === 2) for (let i = 0; i < n; i++, p += 2) out.push(buf.readInt16LE(p));
  else if (width === 4) for (let i = 0; i < n; i++, p += 4) out.push(buf.readInt32LE(p));
  else for (let i = 0; i < n; i++, p += 8) out.push(int64LE(buf, p));
  return n;
}

function bad(what: string): EncodingError {
  return new EncodingError('ERR_RDB_INTEGRITY', `intset integrity check failed: ${what}`);
}
