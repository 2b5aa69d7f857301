/**
 * A growable byte buffer to encode into, and a cursor to decode from: the two halves of the SQL
 * targets' value format (see codec.ts) and of PostgreSQL's binary COPY rows (see pg-copy.ts).
 *
 * Numbers in the value format are unsigned LEB128 varints (7 bits a byte, low bits first), computed
 * with arithmetic rather than bit operators so that they stay exact up to 2^53.
 */

export class ByteWriter {
  buf: Buffer;
  len = 0;

  constructor(size = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** The bytes written so far (a view: copy it or use it before the next write). */
  view(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  /** A copy of the bytes written so far. */
  copy(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }

  reset(): void {
    this.len = 0;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(bigger, 0, 0, this.len);
    this.buf = bigger;
  }

  /** An unsigned integer < 2^53 as a varint. */
  varint(n: number): void {
    this.ensure(8);
    const b = this.buf;
    while (n >= 0x80) {
      b[this.len++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    b[this.len++] = n;
  }

  bytes(src: Buffer): void {
    this.ensure(src.length);
    src.copy(this.buf, this.len);
    this.len += src.length;
  }

  /** A length-prefixed item from bytes. */
  item(src: Buffer): void {
    this.varint(src.length);
    this.bytes(src);
  }

  /** A length-prefixed item from a binary string (one char per byte, as the memory mirror keeps them). */
  itemLatin1(s: string): void {
    this.varint(s.length);
    this.ensure(s.length);
    this.len += this.buf.write(s, this.len, s.length, 'latin1');
  }

  f64le(x: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(x, this.len);
    this.len += 8;
  }

  u64be(x: bigint): void {
    this.ensure(8);
    this.buf.writeBigUInt64BE(x, this.len);
    this.len += 8;
  }

  i64be(x: number): void {
    this.ensure(8);
    this.buf.writeBigInt64BE(BigInt(x), this.len);
    this.len += 8;
  }

  i32be(x: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(x, this.len);
    this.len += 4;
  }

  i16be(x: number): void {
    this.ensure(2);
    this.buf.writeInt16BE(x, this.len);
    this.len += 2;
  }
}

/** Thrown for bytes that are not a well-formed value of the declared type. */
export class ValueFormatError extends Error {}

export class ByteReader {
  readonly buf: Buffer;
  pos = 0;

  constructor(buf: Buffer) {
    this.buf = buf;
  }

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): number {
    const b = this.buf;
    let n = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= b.length) throw new ValueFormatError('value truncated inside a number');
      const x = b[this.pos++]!;
      n += (x & 0x7f) * scale;
      if (x < 0x80) return n;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new ValueFormatError('number too long');
    }
  }

  #take(n: number): number {
    const at = this.pos;
    if (at + n > this.buf.length) throw new ValueFormatError('value truncated');
    this.pos += n;
    return at;
  }

  /** A length-prefixed item as a view into the value's bytes. */
  item(): Buffer {
    const n = this.varint();
    const at = this.#take(n);
    return this.buf.subarray(at, at + n);
  }

  /** A length-prefixed item as a binary string. */
  itemLatin1(): string {
    const n = this.varint();
    const at = this.#take(n);
    return this.buf.toString('latin1', at, at + n);
  }

  f64le(): number {
    return this.buf.readDoubleLE(this.#take(8));
  }

  u64be(): bigint {
    return this.buf.readBigUInt64BE(this.#take(8));
  }
}
