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

/**
 * Decimal text of an integer as a Buffer (a pooled allocation: cheaper than Buffer.from(string)).
 * Digits are written straight into it: `'' + n` would go through V8's number-to-string cache, which
 * keeps each new string alive past the next scavenge or two, so that ~1 M integer elements became
 * several MB of promoted garbage (and a young generation grown to its maximum).
 */
export function intText(n: number | bigint): Buffer {
  if (typeof n !== 'number' || n > 0x7fffffff || n < -0x7fffffff) return bigText(n);
  let v = n < 0 ? -n : n;
  let len = n < 0 ? 2 : 1;
  for (let x = v; x >= 10; x = (x / 10) | 0) len++;
  const b = Buffer.allocUnsafe(len);
  let p = len;
  do {
    const q = (v / 10) | 0;
    b[--p] = 0x30 + v - q * 10;
    v = q;
  } while (v !== 0);
  if (n < 0) b[0] = 0x2d;
  return b;
}

function bigText(n: number | bigint): Buffer {
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

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
/** Dekker's splitter for 53-bit doubles: 2^27 + 1. */
const SPLIT = 134217729;
/** How far from a rounding boundary (relative) the 17-digit path must land to be trusted: 2^-90. */
const TIE_MARGIN = 2 ** -90;

/**
 * A score stored as text in `buf[start..end)` (ziplist/listpack zsets, type-3 zsets), exactly as
 * strtod would read it, without making a string in the common cases:
 * - up to 15 significant digits: integer / 10^k, both exact, so IEEE division rounds as strtod;
 * - 16 or 17 (Redis before 7.2 writes every non-integer score with %.17g): exactDecimal17;
 * - anything else (exponents, inf/nan, more digits): parseScore.
 */
export function scoreFromBytes(buf: Buffer, start: number, end: number): number {
  // "-0.000" + 17 digits is 23 characters: anything longer has too many digits for the fast paths.
  if (end - start > 24) return parseScore(buf.toString('latin1', start, end));
  let p = start;
  const neg = buf[p] === 0x2d;
  if (neg) p++;
  let hi = 0; // the first 9 significant digits
  let lo = 0; // the next 8 at most
  let sig = 0;
  let digits = 0;
  let frac = -1;
  for (; p < end; p++) {
    const c = buf[p]! - 0x30;
    if (c >= 0 && c <= 9) {
      digits++;
      if (frac >= 0) frac++;
      if (sig === 0 && c === 0) continue;
      if (++sig <= 9) hi = hi * 10 + c;
      else if (sig <= 17) lo = lo * 10 + c;
      else break;
    } else if (c === -2 && frac < 0) {
      frac = 0;
    } else {
      break;
    }
  }
  if (p !== end || digits === 0 || frac === 0 || frac > 22) return parseScore(buf.toString('latin1', start, end));
  let v: number;
  if (sig <= 15) {
    const mant = sig > 9 ? hi * POW10[sig - 9]! + lo : hi;
    v = frac > 0 ? mant / POW10[frac]! : mant;
  } else {
    v = exactDecimal17(hi, lo, sig - 9, frac);
    if (v !== v) return parseScore(buf.toString('latin1', start, end));
  }
  return neg ? -v : v;
}

/**
 * (a * 10^nb + b) / 10^k correctly rounded, for a of 9 digits, nb of 7 or 8 (16-17 significant
 * digits: the integer M may exceed 2^53) and k <= 22; NaN when the result lies too close to a
 * rounding boundary to decide here (then the caller asks strtod).
 *
 * M is formed exactly as hi + lo (hi = M rounded), the quotient as q1 + q2 with q1 = hi / 10^k and
 * q2 the exact remainder M - q1 * 10^k (Dekker's product) divided by 10^k. q1 + q2 is within
 * 2^-100 (relative) of M / 10^k, so its rounding is M / 10^k's unless the exact sum sits within
 * TIE_MARGIN of a boundary: that is tested by rounding the sum nudged both ways.
 */
function exactDecimal17(a: number, b: number, nb: number, k: number): number {
  const t = POW10[nb]!;
  // a * t < 2^57 may round; its error is recovered exactly from a's 15-bit halves (products < 2^42).
  const p = a * t;
  const a1 = Math.floor(a / 32768);
  const r = a1 * t * 32768 - p + (a - a1 * 32768) * t + b;
  const hi = p + r;
  const lo = r - (hi - p);
  if (k === 0) return hi;
  const d = POW10[k]!;
  const q1 = hi / d;
  // ph + pl = q1 * d exactly (Dekker).
  let c = SPLIT * q1;
  const qh = c - (c - q1);
  const ql = q1 - qh;
  c = SPLIT * d;
  const dh = c - (c - d);
  const dl = d - dh;
  const ph = q1 * d;
  const pl = qh * dh - ph + qh * dl + ql * dh + ql * dl;
  const q2 = (hi - ph - pl + lo) / d;
  const s = q1 + q2;
  const err = q2 - (s - q1);
  const margin = Math.abs(s) * TIE_MARGIN;
  if (s + (err + margin) !== s || s + (err - margin) !== s) return Number.NaN;
  return s;
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
