/**
 * Builds synthetic RDB bytes for encodings no fixture holds (RDB 1 and 5, Valkey 80, LZF and
 * integer-encoded keys, 32/64-bit lengths, NaN scores, module values ...). Test-only.
 */
import { crc64Hex } from '../../src/rdb/index.js';

export type Part = Buffer | string | number[];

export function bytes(...parts: Part[]): Buffer {
  return Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
}

/** rdbSaveLen: 6-bit, 14-bit, 32-bit or (forced or needed) 64-bit. */
export function len(n: number | bigint, width?: 32 | 64): Buffer {
  const v = BigInt(n);
  if (width === 64 || v > 0xffffffffn) {
    const b = Buffer.alloc(9);
    b[0] = 0x81;
    b.writeBigUInt64BE(v, 1);
    return b;
  }
  if (width === 32 || v >= 16384n) {
    const b = Buffer.alloc(5);
    b[0] = 0x80;
    b.writeUInt32BE(Number(v), 1);
    return b;
  }
  const x = Number(v);
  return x < 64 ? Buffer.from([x]) : Buffer.from([0x40 | (x >> 8), x & 0xff]);
}

/** A length-prefixed raw string. */
export function str(s: string | Buffer): Buffer {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s, 'latin1');
  return Buffer.concat([len(b.length), b]);
}

export function i64le(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(n));
  return b;
}

export function f64le(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(n);
  return b;
}

/** A whole file: magic + version, body, EOF, and the CRC-64 trailer for version 5+ (or zeros). */
export function rdbFile(version: number, body: Part[], opts: { magic?: string; checksum?: 'ok' | 'zero' } = {}): Buffer {
  const magic = opts.magic ?? 'REDIS';
  const head = magic === 'REDIS' ? `REDIS${String(version).padStart(4, '0')}` : `${magic}${String(version).padStart(3, '0')}`;
  const content = bytes(head, ...body, [0xff]);
  if (version < 5 && magic === 'REDIS') return content;
  const crc = opts.checksum === 'zero' ? Buffer.alloc(8) : Buffer.from(crc64Hex(content), 'hex').reverse();
  return Buffer.concat([content, crc]);
}

/** A listpack of strings and small integers (7-bit uint / 6-bit string encodings only). */
export function listpack(items: (string | number)[]): Buffer {
  const entries = items.map((it) => {
    if (typeof it === 'number') return Buffer.from([it & 0x7f, 1]);
    const b = Buffer.from(it, 'latin1');
    if (b.length >= 64) throw new Error('test listpack: short strings only');
    return Buffer.concat([Buffer.from([0x80 | b.length]), b, Buffer.from([1 + b.length])]);
  });
  const body = Buffer.concat(entries);
  const head = Buffer.alloc(6);
  head.writeUInt32LE(6 + body.length + 1, 0);
  head.writeUInt16LE(items.length, 4);
  return Buffer.concat([head, body, Buffer.from([0xff])]);
}
