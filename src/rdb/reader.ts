/**
 * The parser's input: one contiguous Buffer with a read position, refilled from written chunks.
 *
 *   buf:  [ consumed .......... | mark ...... pos ...... | end of buf ]   pending: [chunk][chunk]...
 *          ^ crcPos (CRC has covered buf up to here)
 *
 * Reads are bounds-checked against `buf` only. When an element is not complete, the read that ran
 * short records how many bytes it needs (`needAbs`, absolute) and throws NEED_MORE; the parser
 * rewinds `pos` to `mark`, the start of the element (a "safe state": nothing of it was emitted), and
 * waits. New chunks are only queued until `needAbs` bytes are present, then joined into one Buffer
 * with the unread tail, once: a 16 MB string arriving in 64 KB chunks is copied once, not 256 times.
 * Values inside one chunk are views (bytesAt), never copies.
 *
 * The CRC-64 is computed over bytes as they are consumed (never over trailing bytes after the RDB,
 * which in diskless replication belong to the EOF mark).
 */
import { Crc64 } from './crc64.js';
import { RdbError, type RdbErrorCode } from './errors.js';
import { lzfDecompress } from './encodings/lzf.js';
import { bytesAt, intText } from './encodings/numbers.js';
import { RDB_ENC_INT8, RDB_ENC_INT16, RDB_ENC_INT32, RDB_ENC_LZF, RDB_32BITLEN, RDB_64BITLEN } from './constants.js';

/** Thrown by a read that ran out of bytes. A constant, not an Error: no stack is captured. */
export const NEED_MORE: { readonly needMore: true } = Object.freeze({ needMore: true as const });

const EMPTY = Buffer.alloc(0);
const TWO_32 = 4294967296;
/** A tail up to this size is bridged rather than joined with the whole next chunk. */
const BRIDGE_MAX_TAIL = 64 * 1024;
/** Chunk bytes copied into a bridge beyond what the tail's element asked for. */
const BRIDGE_SLACK = 4096;

export class ByteReader {
  buf: Buffer = EMPTY;
  pos = 0;
  /** Start of the element being read: where a short read rewinds to. */
  mark = 0;
  /** Absolute offset of buf[0] in the stream. */
  base = 0;
  /** Absolute offset that must be available before parsing can make progress. */
  needAbs = 0;
  pending: Buffer[] = [];
  pendingBytes = 0;
  crc: Crc64 | null;
  crcPos = 0;
  /** While on a bridge: the chunk it was cut from, and how many bytes of old tail precede it. */
  #chunk: Buffer | null = null;
  #bridgeTail = 0;
  /** buf.buffer and buf.byteOffset, read once per buf rather than once per element view. */
  #ab: ArrayBufferLike = EMPTY.buffer;
  #abOffset = 0;

  constructor(
    readonly maxStringLength: number,
    readonly maxCollectionLength: number,
    checksum: boolean,
  ) {
    this.crc = checksum ? new Crc64() : null;
  }

  /** Absolute offset of the read position. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Bytes received but not yet consumed. */
  get buffered(): number {
    return this.buf.length - this.pos + this.pendingBytes;
  }

  /** Queues a chunk; true when enough bytes are now present to try parsing again. */
  push(chunk: Buffer): boolean {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    return this.base + this.buf.length + this.pendingBytes >= this.needAbs;
  }

  /**
   * Joins the unread tail and the queued chunks into one Buffer. When a short tail meets one new
   * chunk, it joins the tail with only the first bytes of the chunk (a "bridge"), and maybeSwap()
   * moves parsing into the chunk itself once past the tail: copying a few KB per chunk instead of
   * the whole chunk.
   */
  merge(full = false): void {
    if (this.pending.length === 0) return;
    this.updateCrc();
    const tailLen = this.buf.length - this.pos;
    if (!full && this.pending.length === 1 && tailLen > 0 && tailLen <= BRIDGE_MAX_TAIL) {
      const chunk = this.pending[0]!;
      const k = Math.max(0, this.needAbs - (this.base + this.buf.length)) + BRIDGE_SLACK;
      if (k * 2 < chunk.length) {
        this.#install(Buffer.concat([this.buf.subarray(this.pos), chunk.subarray(0, k)]));
        this.#chunk = chunk;
        this.#bridgeTail = tailLen;
        return;
      }
    }
    this.#install(tailLen === 0 && this.pending.length === 1 ? this.pending[0]! : Buffer.concat(tailLen ? [this.buf.subarray(this.pos), ...this.pending] : this.pending));
  }

  #install(next: Buffer): void {
    this.base += this.pos;
    this.buf = next;
    this.#ab = next.buffer;
    this.#abOffset = next.byteOffset;
    this.pos = 0;
    this.mark = 0;
    this.crcPos = 0;
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** On a bridge, at an element boundary past the old tail: continue in the chunk itself. */
  maybeSwap(): void {
    if (this.#chunk === null || this.pos < this.#bridgeTail) return;
    this.updateCrc();
    const at = this.pos - this.#bridgeTail;
    this.base += this.#bridgeTail;
    this.buf = this.#chunk;
    this.#ab = this.#chunk.buffer;
    this.#abOffset = this.#chunk.byteOffset;
    this.pos = this.mark = this.crcPos = at;
    this.#chunk = null;
  }

  /** Leaves a bridge by joining the rest of its chunk (it ran out, or the RDB ended on it); false if not on one. */
  unbridge(): boolean {
    const chunk = this.#chunk;
    if (chunk === null) return false;
    this.#chunk = null;
    const rest = chunk.subarray(this.buf.length - this.#bridgeTail);
    this.pending.unshift(rest);
    this.pendingBytes += rest.length;
    this.merge(true);
    return true;
  }

  /** Folds the bytes consumed since the last call into the CRC. */
  updateCrc(): void {
    if (this.crc && this.pos > this.crcPos) this.crc.update(this.buf, this.crcPos, this.pos);
    this.crcPos = this.pos;
  }

  /** Records that `n` bytes from the read position are needed, and unwinds to the parser. */
  short(n: number): never {
    this.needAbs = this.base + this.pos + n;
    throw NEED_MORE;
  }

  fail(code: RdbErrorCode, message: string, at = this.pos): never {
    throw new RdbError(code, message, { offset: this.base + at });
  }

  u8(): number {
    if (this.pos >= this.buf.length) this.short(1);
    return this.buf[this.pos++]!;
  }

  /** A view of the next `n` bytes. */
  take(n: number): Buffer {
    const p = this.pos;
    if (p + n > this.buf.length) this.short(n);
    this.pos = p + n;
    return bytesAt(this.#ab, this.#abOffset + p, n);
  }

  skip(n: number): void {
    if (this.pos + n > this.buf.length) this.short(n);
    this.pos += n;
  }

  /** i64 little-endian as a number (expiry times; exact up to 2^53). */
  i64le(): number {
    const p = this.pos;
    if (p + 8 > this.buf.length) this.short(8);
    this.pos = p + 8;
    return this.buf.readInt32LE(p + 4) * TWO_32 + this.buf.readUInt32LE(p);
  }

  i32le(): number {
    const p = this.pos;
    if (p + 4 > this.buf.length) this.short(4);
    this.pos = p + 4;
    return this.buf.readInt32LE(p);
  }

  doubleLE(): number {
    const p = this.pos;
    if (p + 8 > this.buf.length) this.short(8);
    this.pos = p + 8;
    return this.buf.readDoubleLE(p);
  }

  /**
   * A length (rdbLoadLen), exact up to 2^53. A string-encoding prefix (11xxxxxx) where a length is
   * expected, an unknown 10xxxxxx prefix, or a 64-bit length beyond 2^53 is ERR_RDB_BAD_LENGTH.
   */
  len(): number {
    const p = this.pos;
    const buf = this.buf;
    if (p >= buf.length) this.short(1);
    const b = buf[p]!;
    if (b < 0x40) {
      this.pos = p + 1;
      return b;
    }
    if (b < 0x80) {
      if (p + 2 > buf.length) this.short(2);
      this.pos = p + 2;
      return ((b & 0x3f) << 8) | buf[p + 1]!;
    }
    return this.#longLen(b, p);
  }

  #longLen(b: number, p: number): number {
    const buf = this.buf;
    if (b === RDB_32BITLEN) {
      if (p + 5 > buf.length) this.short(5);
      this.pos = p + 5;
      return buf.readUInt32BE(p + 1);
    }
    if (b === RDB_64BITLEN) {
      if (p + 9 > buf.length) this.short(9);
      const hi = buf.readUInt32BE(p + 1);
      if (hi >= 0x200000) this.fail('ERR_RDB_BAD_LENGTH', 'length above 2^53', p);
      this.pos = p + 9;
      return hi * TWO_32 + buf.readUInt32BE(p + 5);
    }
    return this.fail('ERR_RDB_BAD_LENGTH', `invalid length prefix 0x${b.toString(16)}`, p);
  }

  /** A length that may use all 64 bits (stream ids, module integers): a number when exact, else a bigint. */
  lenU64(): number | bigint {
    const p = this.pos;
    if (p < this.buf.length && this.buf[p] === RDB_64BITLEN) {
      if (p + 9 > this.buf.length) this.short(9);
      const hi = this.buf.readUInt32BE(p + 1);
      if (hi >= 0x200000) {
        this.pos = p + 9;
        return this.buf.readBigUInt64BE(p + 1);
      }
    }
    return this.len();
  }

  /** A collection count, checked against maxCollectionLength before anything is sized by it. */
  count(): number {
    const p = this.pos;
    const n = this.len();
    if (n > this.maxCollectionLength) {
      this.fail('ERR_RDB_BAD_LENGTH', `collection of ${n} elements exceeds maxCollectionLength (${this.maxCollectionLength})`, p);
    }
    return n;
  }

  /**
   * A string (rdbGenericLoadStringObject): raw bytes as a view, an int-encoded value as its decimal
   * text, LZF decompressed into a new Buffer.
   */
  string(): Buffer {
    const p = this.pos;
    const buf = this.buf;
    if (p >= buf.length) this.short(1);
    const b = buf[p]!;
    if (b < 0x40) {
      // Short raw string: the common case, inlined.
      const s = p + 1;
      if (s + b > buf.length) this.short(1 + b);
      this.pos = s + b;
      return bytesAt(this.#ab, this.#abOffset + s, b);
    }
    if (b >= 0xc0) return this.#encodedString(b & 0x3f, p);
    const n = this.len();
    if (n > this.maxStringLength) this.#tooLong(n, p);
    return this.take(n);
  }

  /** Moves past a string without decoding it (LZF is not decompressed). */
  skipString(): void {
    const p = this.pos;
    if (p >= this.buf.length) this.short(1);
    const b = this.buf[p]!;
    if (b >= 0xc0) {
      const enc = b & 0x3f;
      if (enc === RDB_ENC_LZF) {
        this.pos = p + 1;
        const clen = this.len();
        const ulen = this.len();
        if (clen > this.maxStringLength || ulen > this.maxStringLength) this.#tooLong(Math.max(clen, ulen), p);
        this.skip(clen);
        return;
      }
      this.#encodedString(enc, p);
      return;
    }
    const n = this.len();
    if (n > this.maxStringLength) this.#tooLong(n, p);
    this.skip(n);
  }

  /** Walks a module's serialized opcode stream (rdbLoadCheckModuleValue) through its EOF opcode. */
  skipModuleOpcodes(): void {
    for (;;) {
      const p = this.pos;
      const op = this.lenU64();
      if (op === 0) return;
      if (op === 1 || op === 2) this.lenU64();
      else if (op === 3) this.skip(4);
      else if (op === 4) this.skip(8);
      else if (op === 5) this.skipString();
      else this.fail('ERR_RDB_UNKNOWN_TYPE', `unknown module opcode ${op}`, p);
    }
  }

  #encodedString(enc: number, p: number): Buffer {
    const buf = this.buf;
    let v: number;
    switch (enc) {
      case RDB_ENC_INT8:
        if (p + 2 > buf.length) this.short(2);
        v = buf.readInt8(p + 1);
        this.pos = p + 2;
        break;
      case RDB_ENC_INT16:
        if (p + 3 > buf.length) this.short(3);
        v = buf.readInt16LE(p + 1);
        this.pos = p + 3;
        break;
      case RDB_ENC_INT32:
        if (p + 5 > buf.length) this.short(5);
        v = buf.readInt32LE(p + 1);
        this.pos = p + 5;
        break;
      case RDB_ENC_LZF:
        return this.#lzf(p);
      default:
        return this.fail('ERR_RDB_BAD_LENGTH', `unknown string encoding ${enc}`, p);
    }
    return intText(v);
  }

  #lzf(p: number): Buffer {
    this.pos = p + 1;
    const clen = this.len();
    const ulen = this.len();
    if (clen > this.maxStringLength || ulen > this.maxStringLength) this.#tooLong(Math.max(clen, ulen), p);
    if (ulen === 0 || clen === 0) this.fail('ERR_RDB_LZF_CORRUPT', 'LZF block with a zero length', p);
    // A back reference (3 bytes) expands to at most 264: a larger claim is corrupt, and checking it
    // here keeps a few corrupt bytes from allocating 512 MB.
    if (ulen > clen * 88) this.fail('ERR_RDB_LZF_CORRUPT', `LZF block of ${clen} bytes cannot expand to ${ulen}`, p);
    const s = this.pos;
    if (s + clen > this.buf.length) this.short(clen);
    this.pos = s + clen;
    try {
      return lzfDecompress(this.buf, s, s + clen, ulen);
    } catch (err) {
      return this.fail('ERR_RDB_LZF_CORRUPT', (err as Error).message, p);
    }
  }

  #tooLong(n: number, p: number): never {
    this.fail('ERR_RDB_BAD_LENGTH', `string of ${n} bytes exceeds maxStringLength (${this.maxStringLength})`, p);
  }
}
