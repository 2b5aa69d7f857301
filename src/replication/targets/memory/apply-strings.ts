/**
 * String commands. A Redis 7 master sends most of them rewritten (notes 3.3b): SET with PXAT or
 * KEEPTTL for SETEX/PSETEX/GETSET/INCRBYFLOAT, DEL for GETDEL, PEXPIREAT/PERSIST for GETEX. The
 * original forms are applied too, so that other sources of commands (a replica of a replica, an AOF)
 * work; INCRBYFLOAT alone is refused, because its long-double formatting cannot be reproduced exactly.
 *
 * Values are copied on the way in (the arguments are views of 64 KiB socket chunks), packed as
 * binary strings (dataset.ts's stringEntry).
 */
import { lookup, int, int64, upper, Unhandled, type Ctx, type Handler } from './context.js';
import { stringEntry } from './dataset.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function put(c: Ctx, key: Buffer | string, value: Buffer, expiresAt: number | undefined): void {
  c.db.set(typeof key === 'string' ? key : key.toString('latin1'), stringEntry(value, expiresAt));
}

export interface SetOptions {
  nx: boolean;
  xx: boolean;
  keep: boolean;
  /** Absolute expiry in ms, when an EX/PX/EXAT/PXAT option gave one. */
  at: number | undefined;
}

/** Reads SET's options after key and value: [NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL]. */
export function parseSetOptions(a: Buffer[], now: number): SetOptions {
  const o: SetOptions = { nx: false, xx: false, keep: false, at: undefined };
  for (let i = 2; i < a.length; i++) {
    const w = upper(a[i]);
    if (w === 'NX') o.nx = true;
    else if (w === 'XX') o.xx = true;
    else if (w === 'GET') continue;
    else if (w === 'KEEPTTL') o.keep = true;
    else if (w === 'EX') o.at = now + int(a[++i]) * 1000;
    else if (w === 'PX') o.at = now + int(a[++i]);
    else if (w === 'EXAT') o.at = int(a[++i]) * 1000;
    else if (w === 'PXAT') o.at = int(a[++i]);
    else throw new Unhandled(`SET option ${w}`);
  }
  return o;
}

/** SET key value [NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL] */
function set(c: Ctx, a: Buffer[]): void {
  const { nx, xx, keep, at } = parseSetOptions(a, c.now);
  const key = a[0]!.toString('latin1');
  const old = c.db.get(key);
  if ((nx && old) || (xx && !old)) return;
  put(c, key, a[1]!, at ?? (keep ? old?.expiresAt : undefined));
}

function setnx(c: Ctx, a: Buffer[]): void {
  if (!c.db.has(a[0]!.toString('latin1'))) put(c, a[0]!, a[1]!, undefined);
}

function setex(unitMs: number): Handler {
  return (c, a) => put(c, a[0]!, a[2]!, c.now + int(a[1]) * unitMs);
}

function mset(onlyIfNoneExists: boolean): Handler {
  return (c, a) => {
    if (onlyIfNoneExists) for (let i = 0; i < a.length; i += 2) if (c.db.has(a[i]!.toString('latin1'))) return;
    for (let i = 0; i + 1 < a.length; i += 2) put(c, a[i]!, a[i + 1]!, undefined);
  };
}

function getset(c: Ctx, a: Buffer[]): void {
  put(c, a[0]!, a[1]!, undefined);
}

function getdel(c: Ctx, a: Buffer[]): void {
  c.db.delete(a[0]!.toString('latin1'));
}

/** GETEX key [EX s | PX ms | EXAT s | PXAT ms | PERSIST] */
function getex(c: Ctx, a: Buffer[]): void {
  const e = lookup(c, a[0]!, 'string');
  if (!e) return;
  const o = upper(a[1]);
  if (o === 'PERSIST') e.expiresAt = undefined;
  else if (o === 'EX') e.expiresAt = c.now + int(a[2]) * 1000;
  else if (o === 'PX') e.expiresAt = c.now + int(a[2]);
  else if (o === 'EXAT') e.expiresAt = int(a[2]) * 1000;
  else if (o === 'PXAT') e.expiresAt = int(a[2]);
}

function append(c: Ctx, a: Buffer[]): void {
  const e = lookup(c, a[0]!, 'string');
  if (e) e.value = Buffer.concat([e.value, a[1]!]);
  else put(c, a[0]!, a[1]!, undefined);
}

/** SETRANGE key offset value: zero-pads; an empty value on a missing key creates nothing. */
function setrange(c: Ctx, a: Buffer[]): void {
  const off = int(a[1]);
  const v = a[2]!;
  const e = lookup(c, a[0]!, 'string');
  if (!e && v.length === 0) return;
  const old = e?.value ?? Buffer.alloc(0);
  const out = old.length >= off + v.length ? old : Buffer.concat([old, Buffer.alloc(off + v.length - old.length)]);
  v.copy(out, off);
  if (e) e.value = out;
  else c.db.set(a[0]!.toString('latin1'), { type: 'string', value: out, expiresAt: undefined });
}

/** INCR / DECR / INCRBY / DECRBY: exact 64-bit arithmetic; the key keeps its TTL. */
function incr(sign: 1n | -1n, withArg: boolean): Handler {
  return (c, a) => {
    const by = withArg ? int64(a[1]) * sign : sign;
    const e = lookup(c, a[0]!, 'string');
    const cur = e ? int64(e.value) : 0n;
    const next = cur + by;
    if (next < INT64_MIN || next > INT64_MAX) throw new Unhandled('increment overflows 64 bits');
    const value = Buffer.from(next.toString(), 'latin1');
    if (e) e.value = value;
    else c.db.set(a[0]!.toString('latin1'), { type: 'string', value, expiresAt: undefined });
  };
}

function refuseIncrByFloat(): void {
  throw new Unhandled('INCRBYFLOAT cannot be reproduced exactly (Redis 7 masters send it as SET ... KEEPTTL)');
}

export const stringCommands: Record<string, Handler> = {
  SET: set,
  SETNX: setnx,
  SETEX: setex(1000),
  PSETEX: setex(1),
  MSET: mset(false),
  MSETNX: mset(true),
  GETSET: getset,
  GETDEL: getdel,
  GETEX: getex,
  APPEND: append,
  SETRANGE: setrange,
  INCR: incr(1n, false),
  DECR: incr(-1n, false),
  INCRBY: incr(1n, true),
  DECRBY: incr(-1n, true),
  INCRBYFLOAT: refuseIncrByFloat,
};
