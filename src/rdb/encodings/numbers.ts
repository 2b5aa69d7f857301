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
  return typeof item === 'object' ? item : Buffer.from(String(item), 'latin1');
}

/** An item as a zset score: strings are parsed as Redis prints doubles ("inf", "-inf", "nan"). */
export function itemScore(item: Item): number {
  if (typeof item === 'number') return item;
  if (typeof item === 'bigint') return Number(item);
  return parseScore(item.toString('latin1'));
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
