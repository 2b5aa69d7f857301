/**
 * HyperLogLog commands (PFADD, PFMERGE, PFCOUNT, PFDEBUG TODENSE), byte for byte as Redis 7 lays them
 * out, because a HyperLogLog is a string: GET on the master and on the mirror must return the same
 * bytes. The layout (hyperloglog.c):
 *
 *   header (16 bytes): "HYLL", encoding (0 dense, 1 sparse), 3 unused, cached cardinality (u64 LE;
 *                      the top bit of its last byte set = stale)
 *   dense:  16384 registers of 6 bits, packed from the least significant bit (12288 bytes)
 *   sparse: opcodes  ZERO  00xxxxxx           1..64 zero registers
 *                    XZERO 01xxxxxx yyyyyyyy  1..16384 zero registers
 *                    VAL   1vvvvvxx           1..4 registers of value 1..32
 *
 * A new HyperLogLog is sparse; it becomes dense when a register needs a value above 32 or the sparse
 * form would grow past hll-sparse-max-bytes (3000 by default: pass the master's setting if it differs).
 * The sparse update follows Redis's exactly (split the opcode covering the register, then merge
 * adjacent equal VALs among the next five opcodes), since any other valid encoding of the same
 * registers would be different bytes. PFCOUNT stores the count it computes (the master propagates
 * it for that reason), so the estimator is Redis 7's too (Ertl's, with the same double arithmetic).
 */
import { lookup, upper, Unhandled, type Ctx, type Handler } from './context.js';

const P = 14;
const REGISTERS = 1 << P;
const Q = 64 - P;
const BITS = 6;
const HDR = 16;
const DENSE_SIZE = HDR + Math.floor((REGISTERS * BITS + 7) / 8);
const SPARSE = 1;
const DENSE = 0;
const VAL_MAX_VALUE = 32;
const VAL_MAX_LEN = 4;
const ZERO_MAX_LEN = 64;
const XZERO_MAX_LEN = 16384;
const ALPHA_INF = 0.721347520444481703680; // 0.5 / ln(2)

/** Redis's default hll-sparse-max-bytes (the mirror assumes the master runs with it). */
export const HLL_SPARSE_MAX_BYTES = 3000;

// -- hashing -------------------------------------------------------------------------------------

const M64 = 0xc6a4a7935bd1e995n;
const MASK64 = 0xffffffffffffffffn;

/** MurmurHash64A as Redis has it (endian-neutral), seed 0xadc83b19. */
function murmur64a(data: Buffer, seed: bigint): bigint {
  const len = data.length;
  let h = (seed ^ ((BigInt(len) * M64) & MASK64)) & MASK64;
  const whole = len - (len & 7);
  for (let i = 0; i < whole; i += 8) {
    let k = data.readBigUInt64LE(i);
    k = (k * M64) & MASK64;
    k ^= k >> 47n;
    k = (k * M64) & MASK64;
    h ^= k;
    h = (h * M64) & MASK64;
  }
  const rest = len & 7;
  if (rest > 0) {
    for (let i = rest - 1; i >= 0; i--) h ^= BigInt(data[whole + i]!) << BigInt(8 * i);
    h = (h * M64) & MASK64;
  }
  h ^= h >> 47n;
  h = (h * M64) & MASK64;
  h ^= h >> 47n;
  return h;
}

/** The register an element goes to and the length of its 000..1 pattern (hllPatLen). */
function patLen(ele: Buffer): [index: number, count: number] {
  let hash = murmur64a(ele, 0xadc83b19n);
  const index = Number(hash & BigInt(REGISTERS - 1));
  hash >>= BigInt(P);
  hash |= 1n << BigInt(Q);
  let count = 1;
  while ((hash & 1n) === 0n) {
    count++;
    hash >>= 1n;
  }
  return [index, count];
}

// -- dense registers -----------------------------------------------------------------------------

function denseGet(b: Buffer, reg: number): number {
  const byte = HDR + ((reg * BITS) >> 3);
  const fb = (reg * BITS) & 7;
  const b0 = b[byte]!;
  const b1 = b[byte + 1] ?? 0;
  return ((b0 >> fb) | (b1 << (8 - fb))) & 63;
}

function denseSetRaw(b: Buffer, reg: number, val: number): void {
  const byte = HDR + ((reg * BITS) >> 3);
  const fb = (reg * BITS) & 7;
  const fb8 = 8 - fb;
  b[byte] = (b[byte]! & ~(63 << fb)) | ((val << fb) & 0xff);
  if (byte + 1 < b.length) b[byte + 1] = (b[byte + 1]! & ~(63 >> fb8)) | (val >> fb8);
}

/** hllDenseSet: raises the register; true when it changed. */
function denseSet(b: Buffer, reg: number, count: number): boolean {
  if (count <= denseGet(b, reg)) return false;
  denseSetRaw(b, reg, count);
  return true;
}

// -- sparse opcodes ------------------------------------------------------------------------------

const isZero = (op: number) => (op & 0xc0) === 0;
const isXZero = (op: number) => (op & 0xc0) === 0x40;
const isVal = (op: number) => (op & 0x80) !== 0;
const zeroLen = (op: number) => (op & 0x3f) + 1;
const xzeroLen = (op: number, next: number) => (((op & 0x3f) << 8) | next) + 1;
const valValue = (op: number) => ((op >> 2) & 0x1f) + 1;
const valLen = (op: number) => (op & 0x3) + 1;
const valOp = (value: number, len: number) => (((value - 1) << 2) | (len - 1)) | 0x80;

function pushZeros(out: number[], len: number): void {
  if (len > ZERO_MAX_LEN) {
    out.push(((len - 1) >> 8) | 0x40, (len - 1) & 0xff);
  } else out.push(len - 1);
}

/** A new, empty HyperLogLog: sparse, all registers in XZERO opcodes, cache valid at 0. */
export function createHll(): Buffer {
  const b = Buffer.alloc(HDR + Math.ceil(REGISTERS / XZERO_MAX_LEN) * 2);
  b.write('HYLL', 0, 'latin1');
  b[4] = SPARSE;
  let at = HDR;
  for (let left = REGISTERS; left > 0; left -= XZERO_MAX_LEN) {
    const n = Math.min(XZERO_MAX_LEN, left);
    b[at++] = ((n - 1) >> 8) | 0x40;
    b[at++] = (n - 1) & 0xff;
  }
  return b;
}

function toDense(b: Buffer): Buffer {
  if (b[4] === DENSE) return b;
  const d = Buffer.alloc(DENSE_SIZE);
  b.copy(d, 0, 0, HDR);
  d[4] = DENSE;
  let idx = 0;
  for (let p = HDR; p < b.length; ) {
    const op = b[p]!;
    if (isZero(op)) {
      idx += zeroLen(op);
      p++;
    } else if (isXZero(op)) {
      idx += xzeroLen(op, b[p + 1]!);
      p += 2;
    } else {
      const v = valValue(op);
      for (let n = valLen(op); n > 0; n--) denseSetRaw(d, idx++, v);
      p++;
    }
  }
  if (idx !== REGISTERS) throw new Unhandled('a corrupt sparse HyperLogLog');
  return d;
}

/**
 * hllSparseSet: raises register `index` to `count` in a sparse HyperLogLog. Returns the (possibly new,
 * possibly dense) bytes and whether a register changed.
 */
function sparseSet(b: Buffer, index: number, count: number, maxBytes: number): [Buffer, boolean] {
  if (count > VAL_MAX_VALUE) return promote(b, index, count);
  // Step 1: the opcode covering the register.
  let p = HDR;
  let first = 0;
  let prev = -1;
  let span = 0;
  while (p < b.length) {
    const op = b[p]!;
    let oplen = 1;
    if (isZero(op)) span = zeroLen(op);
    else if (isVal(op)) span = valLen(op);
    else {
      span = xzeroLen(op, b[p + 1]!);
      oplen = 2;
    }
    if (index <= first + span - 1) break;
    prev = p;
    p += oplen;
    first += span;
  }
  if (span === 0 || p >= b.length) throw new Unhandled('a corrupt sparse HyperLogLog');
  const op = b[p]!;
  const oldLen = isXZero(op) ? 2 : 1;
  const runlen = isZero(op) ? zeroLen(op) : isXZero(op) ? xzeroLen(op, b[p + 1]!) : valLen(op);
  // Step 2: the easy cases in place.
  if (isVal(op)) {
    if (valValue(op) >= count) return [b, false];
    if (runlen === 1) {
      b[p] = valOp(count, 1);
      return [mergeVals(b, prev === -1 ? HDR : prev), true];
    }
  }
  if (isZero(op) && runlen === 1) {
    b[p] = valOp(count, 1);
    return [mergeVals(b, prev === -1 ? HDR : prev), true];
  }
  // The general case: split the opcode into up to three.
  const last = first + span - 1;
  const seq: number[] = [];
  if (!isVal(op)) {
    if (index !== first) pushZeros(seq, index - first);
    seq.push(valOp(count, 1));
    if (index !== last) pushZeros(seq, last - index);
  } else {
    const cur = valValue(op);
    if (index !== first) seq.push(valOp(cur, index - first));
    seq.push(valOp(count, 1));
    if (index !== last) seq.push(valOp(cur, last - index));
  }
  // Step 3: put the new sequence in place of the old opcode, unless that grows the string too much.
  const delta = seq.length - oldLen;
  if (delta > 0 && b.length + delta > maxBytes) return promote(b, index, count);
  const out = Buffer.concat([b.subarray(0, p), Buffer.from(seq), b.subarray(p + oldLen)]);
  return [mergeVals(out, prev === -1 ? HDR : prev), true];
}

/** Step 4: merges adjacent VALs of equal value, scanning up to 5 opcodes from `start`; invalidates the cache. */
function mergeVals(b: Buffer, start: number): Buffer {
  let p = start;
  let end = b.length;
  let scan = 5;
  while (p < end && scan-- > 0) {
    const op = b[p]!;
    if (isXZero(op)) {
      p += 2;
      continue;
    }
    if (isZero(op)) {
      p++;
      continue;
    }
    if (p + 1 < end && isVal(b[p + 1]!)) {
      const v1 = valValue(op);
      const v2 = valValue(b[p + 1]!);
      if (v1 === v2) {
        const len = valLen(op) + valLen(b[p + 1]!);
        if (len <= VAL_MAX_LEN) {
          b[p + 1] = valOp(v1, len);
          b = Buffer.concat([b.subarray(0, p), b.subarray(p + 1)]);
          end--;
          continue;
        }
      }
    }
    p++;
  }
  invalidate(b);
  return b;
}

function promote(b: Buffer, index: number, count: number): [Buffer, boolean] {
  const d = toDense(b);
  const changed = denseSet(d, index, count);
  return [d, changed];
}

function invalidate(b: Buffer): void {
  b[15] = b[15]! | 0x80;
}

function setRegister(b: Buffer, index: number, count: number, maxBytes: number): [Buffer, boolean] {
  if (b[4] === DENSE) return [b, denseSet(b, index, count)];
  return sparseSet(b, index, count, maxBytes);
}

// -- counting ------------------------------------------------------------------------------------

/** Registers as a histogram of their values. */
function histogram(b: Buffer): number[] {
  const h = new Array<number>(64).fill(0);
  if (b[4] === DENSE) {
    for (let r = 0; r < REGISTERS; r++) h[denseGet(b, r)]!++;
    return h;
  }
  let idx = 0;
  for (let p = HDR; p < b.length; ) {
    const op = b[p]!;
    if (isZero(op)) {
      h[0]! += zeroLen(op);
      idx += zeroLen(op);
      p++;
    } else if (isXZero(op)) {
      h[0]! += xzeroLen(op, b[p + 1]!);
      idx += xzeroLen(op, b[p + 1]!);
      p += 2;
    } else {
      h[valValue(op)]! += valLen(op);
      idx += valLen(op);
      p++;
    }
  }
  if (idx !== REGISTERS) throw new Unhandled('a corrupt sparse HyperLogLog');
  return h;
}

function sigma(x: number): number {
  if (x === 1) return Infinity;
  let zPrime: number;
  let y = 1;
  let z = x;
  do {
    x *= x;
    zPrime = z;
    z += x * y;
    y += y;
  } while (zPrime !== z);
  return z;
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let zPrime: number;
  let y = 1.0;
  let z = 1 - x;
  do {
    x = Math.sqrt(x);
    zPrime = z;
    y *= 0.5;
    const d = 1 - x;
    z -= d * d * y;
  } while (zPrime !== z);
  return z / 3;
}

/** hllCount (Redis 7): Ertl's estimator over the register histogram; llroundl rounds half away from zero. */
function count(b: Buffer): number {
  const m = REGISTERS;
  const reg = histogram(b);
  let z = m * tau((m - reg[Q + 1]!) / m);
  for (let j = Q; j >= 1; --j) {
    z += reg[j]!;
    z *= 0.5;
  }
  z += m * sigma(reg[0]! / m);
  const e = (ALPHA_INF * m * m) / z;
  const whole = Math.floor(e);
  return e - whole >= 0.5 ? whole + 1 : whole;
}

// -- commands ------------------------------------------------------------------------------------

function hllOf(c: Ctx, key: Buffer): Buffer | undefined {
  const e = lookup(c, key, 'string');
  if (!e) return undefined;
  const b = e.value;
  if (b.length < HDR || b.toString('latin1', 0, 4) !== 'HYLL' || b[4]! > 1 || (b[4] === DENSE && b.length !== DENSE_SIZE)) {
    throw new Unhandled('WRONGTYPE: not a valid HyperLogLog in the mirror');
  }
  return b;
}

function store(c: Ctx, key: Buffer, b: Buffer): void {
  const k = key.toString('latin1');
  const e = c.db.get(k);
  if (e && e.type === 'string') e.value = b;
  else c.db.set(k, { type: 'string', value: b, expiresAt: undefined });
}

export function hllCommands(maxBytes = HLL_SPARSE_MAX_BYTES): Record<string, Handler> {
  /** PFADD key element...: creates the key (sparse) when missing; the cache goes stale on any change. */
  const pfadd: Handler = (c, a) => {
    let b = hllOf(c, a[0]!);
    let updated = false;
    if (!b) {
      b = createHll();
      updated = true;
    } else b = Buffer.from(b);
    for (let i = 1; i < a.length; i++) {
      const [index, n] = patLen(a[i]!);
      const [next, changed] = setRegister(b, index, n, maxBytes);
      b = next;
      if (changed) updated = true;
    }
    if (updated) invalidate(b);
    store(c, a[0]!, b);
  };

  /** PFMERGE dest src...: the registers' maxima (dest included); dense if any input is. */
  const pfmerge: Handler = (c, a) => {
    const max = new Uint8Array(REGISTERS);
    let dense = false;
    for (const key of a) {
      const src = hllOf(c, key);
      if (!src) continue;
      if (src[4] === DENSE) dense = true;
      const d = toDense(src);
      for (let r = 0; r < REGISTERS; r++) {
        const v = denseGet(d, r);
        if (v > max[r]!) max[r] = v;
      }
    }
    let b = hllOf(c, a[0]!);
    b = b ? Buffer.from(b) : createHll();
    if (dense) b = toDense(b);
    for (let r = 0; r < REGISTERS; r++) {
      if (max[r] === 0) continue;
      b = setRegister(b, r, max[r]!, maxBytes)[0];
    }
    invalidate(b);
    store(c, a[0]!, b);
  };

  /** PFCOUNT key: refreshes a stale cached count (the only write it does; several keys write nothing). */
  const pfcount: Handler = (c, a) => {
    if (a.length !== 1) return;
    const b = hllOf(c, a[0]!);
    if (!b || (b[15]! & 0x80) === 0) return;
    const out = Buffer.from(b);
    out.writeBigUInt64LE(BigInt(count(out)), 8);
    store(c, a[0]!, out);
  };

  /**
   * PFDEBUG TODENSE key converts, and so does GETREG (Redis converts a sparse HLL to read its
   * registers, and propagates the command for that); the other subcommands only read.
   */
  const pfdebug: Handler = (c, a) => {
    const sub = upper(a[0]);
    if (sub !== 'TODENSE' && sub !== 'GETREG') return;
    const b = hllOf(c, a[1]!);
    if (b && b[4] === SPARSE) store(c, a[1]!, toDense(b));
  };

  return { PFADD: pfadd, PFMERGE: pfmerge, PFCOUNT: pfcount, PFDEBUG: pfdebug };
}
