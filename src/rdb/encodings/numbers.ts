/**
 * Integer helpers shared by the encodings. Values that Redis stores as integers (int-encoded strings,
 * ziplist/listpack/intset integers) are logically strings: their decimal text. Decoders hand them
 * over as JS numbers while they are exact (|n| <= 2^53 - 1) and as bigint beyond, so that nothing
 * is ever rounded; `itemBuffer` turns either into the decimal text as a Buffer.
 */

/** An element of a ziplist or listpack: a string (Buffer) or an integer. */
export type Item = Buffer | number | bigint;

const TWO_32 = 4294967296;

/** Signed 64-bit little-endian integer at `at`, exact: a number when safe, else a bigint. */
export function int64LE(buf: Buffer, at: number): number | bigint {
  const hi = buf.readInt32LE(at + 4);
  if (hi >= -0x200000 && hi < 0x200000) return hi * TWO_32 + buf.readUInt32LE(at);
  return buf.readBigInt64LE(at);
}

/** Unsigned 64-bit big-endian integer at `at`, exact: a number when safe, else a bigint. */
export function uint64BE(buf: Buffer, at: number): number | bigint {
  const hi = buf.readUInt32BE(at);
  if (hi < 0x200000) return hi * TWO_32 + buf.readUInt32BE(at + 4);
  return buf.readBigUInt64BE(at);
}

/** The decimal text of an integer item, or the item itself when it is already bytes. */
export function itemBuffer(item: Item): Buffer {
  return typeof item === 'object' ? item : intText(item);
}

/** Decimal text of an integer as a Buffer (a pooled allocation: cheaper than Buffer.from(string)). */
export function intText(n: number | bigint): Buffer {
  const s = '' + n;
  const b = Buffer.allocUnsafe(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

/**
 * Node's own Buffer class (what `buf.slice()` constructs; exposed as `Buffer[Symbol.species]`).
 * Constructing it directly is about half the cost of `subarray`, which looks the species up and
 * coerces its arguments on every call: this runs once per element, ~10 M times for a 160 MB dump.
 * Any runtime where that is not Buffer's class gets Buffer.from, which makes the same view.
 */
type ViewCtor = new (ab: ArrayBufferLike, offset: number, length: number) => Buffer;
const species = (Buffer as unknown as Record<symbol, unknown>)[Symbol.species] as ViewCtor | undefined;
const FastBuffer: ViewCtor = typeof species === 'function' && species.prototype === Buffer.prototype
  ? species
  : (function (ab: ArrayBufferLike, offset: number, length: number) { return Buffer.from(ab as ArrayBuffer, offset, length); } as unknown as ViewCtor);

/**
 * A Buffer over `length` bytes at `offset` of `ab`: the parser's hottest allocation. Callers take
 * `buf.buffer` and `buf.byteOffset` once per blob or chunk (reading them costs as much again).
 */
export function bytesAt(ab: ArrayBufferLike, offset: number, length: number): Buffer {
  return new FastBuffer(ab, offset, length);
}

/** A view of `buf[start..end)`, for one-off use (hot loops use bytesAt). */
export function view(buf: Buffer, start: number, end: number): Buffer {
  return new FastBuffer(buf.buffer, buf.byteOffset + start, end - start);
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/**
 * A score stored as text in `buf[start..end)` (ziplist/listpack zsets, type-3 zsets). Plain decimals
 * of at most 15 significant digits are computed as integer / 10^k, which IEEE division rounds
 * exactly as strtod would (both operands are exact); anything else goes through parseScore.
 */
export function scoreFromBytes(buf: Buffer, start: number, end: number): number {
  // 16+ characters cannot be a <= 15-digit plain decimal: straight to the general parser.
  if (end - start > 16) return parseScore(buf.toString('latin1', start, end));
  let p = start;
  const neg = buf[p] === 0x2d;
  if (neg) p++;
  let mant = 0;
  let digits = 0;
  let frac = -1;
  for (; p < end; p++) {
    const c = buf[p]!;
    if (c >= 0x30 && c <= 0x39) {
      // Past 15 digits the fast path is inexact: leave now (Redis 7.0 writes 17 with %.17g).
      if (++digits > 15) break;
      mant = mant * 10 + (c - 0x30);
      if (frac >= 0) frac++;
    } else if (c === 0x2e && frac < 0) {
      frac = 0;
    } else {
      break;
    }
  }
  if (p !== end || digits === 0 || frac === 0) return parseScore(buf.toString('latin1', start, end));
  const v = frac > 0 ? mant / POW10[frac]! : mant;
  return neg ? -v : v;
}

/** An item as a zset score: strings are parsed as Redis prints doubles ("inf", "-inf", "nan"). */
export function itemScore(item: Item): number {
  if (typeof item === 'number') return item;
  if (typeof item === 'bigint') return Number(item);
  return scoreFromBytes(item, 0, item.length);
}

/** Parses a score as Redis writes it in text (strtod: also "inf", "-inf", "nan" in any case). */
export function parseScore(text: string): number {
  const n = Number(text);
  if (!Number.isNaN(n) || text === 'NaN') return n;
  const t = text.trim().toLowerCase();
  if (t === 'inf' || t === '+inf' || t === 'infinity' || t === '+infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  return Number.NaN;
}
