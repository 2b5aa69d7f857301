/**
 * Bit commands on strings: SETBIT, BITOP, BITFIELD (sent as is by the master). Bit 0 is the most
 * significant bit of byte 0, as in Redis; writes grow the string with zero bytes.
 */
import { lookup, int, upper, Unhandled, type Ctx, type Handler } from './context.js';

/** The key's bytes grown to at least `len` (a new key when missing). */
function grown(c: Ctx, key: Buffer, len: number): Buffer {
  const k = key.toString('latin1');
  const e = lookup(c, key, 'string');
  if (e && e.value.length >= len) return e.value;
  const out = Buffer.alloc(Math.max(len, e?.value.length ?? 0));
  e?.value.copy(out);
  if (e) e.value = out;
  else c.db.set(k, { type: 'string', value: out, expiresAt: undefined });
  return out;
}

/** SETBIT key offset 0|1 */
function setbit(c: Ctx, a: Buffer[]): void {
  const off = int(a[1]);
  const on = a[2]!.toString('latin1') === '1';
  const buf = grown(c, a[0]!, (off >> 3) + 1);
  const mask = 1 << (7 - (off & 7));
  buf[off >> 3] = on ? buf[off >> 3]! | mask : buf[off >> 3]! & ~mask;
}

/** BITOP AND | OR | XOR | NOT destkey key...: missing keys are zero bytes; an empty result deletes destkey. */
function bitop(c: Ctx, a: Buffer[]): void {
  const op = upper(a[0]);
  const dest = a[1]!.toString('latin1');
  const srcs = a.slice(2).map((k) => lookup(c, k, 'string')?.value ?? Buffer.alloc(0));
  const len = Math.max(0, ...srcs.map((s) => s.length));
  if (len === 0) {
    c.db.delete(dest);
    return;
  }
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i++) {
    if (op === 'NOT') {
      out[i] = ~(srcs[0]![i] ?? 0) & 0xff;
      continue;
    }
    let v = srcs[0]![i] ?? 0;
    for (let j = 1; j < srcs.length; j++) {
      const b = srcs[j]![i] ?? 0;
      if (op === 'AND') v &= b;
      else if (op === 'OR') v |= b;
      else if (op === 'XOR') v ^= b;
      else throw new Unhandled(`BITOP ${op}`);
    }
    out[i] = v;
  }
  c.db.set(dest, { type: 'string', value: out, expiresAt: undefined });
}

interface FieldType {
  signed: boolean;
  bits: number;
}

function fieldType(b: Buffer | undefined): FieldType {
  const m = /^([iu])(\d+)$/i.exec(b?.toString('latin1') ?? '');
  if (!m) throw new Unhandled('BITFIELD type');
  return { signed: m[1]!.toLowerCase() === 'i', bits: Number(m[2]) };
}

function fieldOffset(b: Buffer | undefined, t: FieldType): number {
  const s = b?.toString('latin1') ?? '';
  return s[0] === '#' ? Number(s.slice(1)) * t.bits : Number(s);
}

function readBits(buf: Buffer, off: number, t: FieldType): bigint {
  let v = 0n;
  for (let i = 0; i < t.bits; i++) {
    const bit = off + i;
    const byte = buf[bit >> 3] ?? 0;
    v = (v << 1n) | BigInt((byte >> (7 - (bit & 7))) & 1);
  }
  if (t.signed && t.bits > 0 && v >> BigInt(t.bits - 1) === 1n) v -= 1n << BigInt(t.bits);
  return v;
}

function writeBits(buf: Buffer, off: number, t: FieldType, value: bigint): void {
  const mask = (1n << BigInt(t.bits)) - 1n;
  const u = value & mask;
  for (let i = 0; i < t.bits; i++) {
    const bit = off + i;
    const on = (u >> BigInt(t.bits - 1 - i)) & 1n;
    const m = 1 << (7 - (bit & 7));
    buf[bit >> 3] = on ? buf[bit >> 3]! | m : buf[bit >> 3]! & ~m;
  }
}

/** The value after overflow handling, or undefined for FAIL when out of range. */
function overflow(v: bigint, t: FieldType, mode: string): bigint | undefined {
  const b = BigInt(t.bits);
  const min = t.signed ? -(1n << (b - 1n)) : 0n;
  const max = t.signed ? (1n << (b - 1n)) - 1n : (1n << b) - 1n;
  if (v >= min && v <= max) return v;
  if (mode === 'FAIL') return undefined;
  if (mode === 'SAT') return v < min ? min : max;
  const span = 1n << b;
  return (((v - min) % span) + span) % span + min;
}

/** BITFIELD key [GET t off] [SET t off v] [INCRBY t off n] [OVERFLOW WRAP|SAT|FAIL] ... */
function bitfield(c: Ctx, a: Buffer[]): void {
  type Op = { kind: 'SET' | 'INCRBY'; t: FieldType; off: number; arg: bigint; mode: string };
  const ops: Op[] = [];
  let mode = 'WRAP';
  let highest = 0;
  for (let i = 1; i < a.length; ) {
    const sub = upper(a[i]);
    if (sub === 'OVERFLOW') {
      mode = upper(a[i + 1]);
      i += 2;
    } else if (sub === 'GET') i += 3;
    else if (sub === 'SET' || sub === 'INCRBY') {
      const t = fieldType(a[i + 1]);
      const off = fieldOffset(a[i + 2], t);
      ops.push({ kind: sub, t, off, arg: BigInt(a[i + 3]!.toString('latin1')), mode });
      highest = Math.max(highest, off + t.bits);
      i += 4;
    } else throw new Unhandled(`BITFIELD subcommand ${sub}`);
  }
  if (ops.length === 0) return;
  // Redis grows the string for the highest write first, even when that write then fails.
  const buf = grown(c, a[0]!, (highest + 7) >> 3);
  for (const op of ops) {
    const old = readBits(buf, op.off, op.t);
    const v = overflow(op.kind === 'SET' ? op.arg : old + op.arg, op.t, op.mode);
    if (v !== undefined) writeBits(buf, op.off, op.t, v);
  }
}

export const bitCommands: Record<string, Handler> = {
  SETBIT: setbit,
  BITOP: bitop,
  BITFIELD: bitfield,
};
