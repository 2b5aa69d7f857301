/**
 * One-dimensional PostgreSQL arrays in the binary wire format (array_recv), for statement parameters:
 * node-postgres sends a Buffer parameter as binary, so `$1::bytea[]` given one of these is read with
 * no text parsing and no hex escaping of every key and value (pg's own array serializer writes text).
 *
 *   int32 ndim (0 for an empty array), int32 has-nulls, int32 element type OID,
 *   [int32 length, int32 lower bound (1)], then per element int32 size (-1 = NULL) and its bytes.
 */
import { ByteWriter } from './bytes.js';

const OID = { int4: 23, int8: 20, bytea: 17, text: 25 } as const;

function header(w: ByteWriter, oid: number, n: number, hasNull: boolean): void {
  w.i32be(n > 0 ? 1 : 0);
  w.i32be(hasNull ? 1 : 0);
  w.i32be(oid);
  if (n === 0) return;
  w.i32be(n);
  w.i32be(1);
}

export function int4Array(xs: readonly number[]): Buffer {
  const w = new ByteWriter(20 + xs.length * 8);
  header(w, OID.int4, xs.length, false);
  for (const x of xs) {
    w.i32be(4);
    w.i32be(x);
  }
  return w.view();
}

export function int8Array(xs: readonly (number | undefined)[]): Buffer {
  const w = new ByteWriter(20 + xs.length * 12);
  header(w, OID.int8, xs.length, xs.includes(undefined));
  for (const x of xs) {
    if (x === undefined) {
      w.i32be(-1);
    } else {
      w.i32be(8);
      w.i64be(x);
    }
  }
  return w.view();
}

/** bytea[] from Buffers, or text[] from ASCII strings (the type names). */
export function bytesArray(xs: readonly (Buffer | string)[], type: 'bytea' | 'text' = 'bytea'): Buffer {
  let size = 20;
  for (const x of xs) size += 4 + x.length;
  const w = new ByteWriter(size);
  header(w, OID[type], xs.length, false);
  for (const x of xs) {
    w.i32be(x.length);
    if (typeof x === 'string') {
      w.ensure(x.length);
      w.len += w.buf.write(x, w.len, 'latin1');
    } else {
      w.bytes(x);
    }
  }
  return w.view();
}
