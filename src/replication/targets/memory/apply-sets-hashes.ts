/**
 * Set and hash commands. SPOP arrives as SREM (or DEL when it empties the set) and HINCRBYFLOAT as
 * HSET; the raw forms cannot be reproduced (SPOP is random, HINCRBYFLOAT's formatting is long double)
 * and are refused.
 */
import { dropIfEmpty, lookup, lookupOrCreate, int64, Unhandled, type Ctx, type Handler } from './context.js';
import { bin } from './dataset.js';

function sadd(c: Ctx, a: Buffer[]): void {
  const s = lookupOrCreate(c, a[0]!, 'set', () => new Set()).value;
  for (let i = 1; i < a.length; i++) s.add(bin(a[i]!));
}

function srem(c: Ctx, a: Buffer[]): void {
  const e = lookup(c, a[0]!, 'set');
  if (!e) return;
  for (let i = 1; i < a.length; i++) e.value.delete(bin(a[i]!));
  dropIfEmpty(c, a[0]!, e);
}

/** SMOVE source destination member (the same key twice changes nothing). */
function smove(c: Ctx, a: Buffer[]): void {
  const e = lookup(c, a[0]!, 'set');
  lookup(c, a[1]!, 'set');
  if (a[0]!.equals(a[1]!)) return;
  const m = bin(a[2]!);
  if (!e || !e.value.delete(m)) return;
  dropIfEmpty(c, a[0]!, e);
  lookupOrCreate(c, a[1]!, 'set', () => new Set()).value.add(m);
}

/** SINTERSTORE / SUNIONSTORE / SDIFFSTORE destination key...: missing keys are empty sets. */
function setStore(op: 'inter' | 'union' | 'diff'): Handler {
  return (c, a) => {
    const dest = bin(a[0]!);
    const sets = a.slice(1).map((k) => lookup(c, k, 'set')?.value ?? new Set<string>());
    let out: Set<string>;
    if (op === 'union') {
      out = new Set();
      for (const s of sets) for (const m of s) out.add(m);
    } else if (op === 'inter') {
      const [first, ...rest] = [...sets].sort((x, y) => x.size - y.size);
      out = new Set([...(first ?? [])].filter((m) => rest.every((s) => s.has(m))));
    } else {
      const [first, ...rest] = sets;
      out = new Set([...(first ?? [])].filter((m) => !rest.some((s) => s.has(m))));
    }
    if (out.size === 0) c.db.delete(dest);
    else c.db.set(dest, { type: 'set', value: out, expiresAt: undefined });
  };
}

/** HSET / HMSET key field value [field value ...] */
function hset(c: Ctx, a: Buffer[]): void {
  const h = lookupOrCreate(c, a[0]!, 'hash', () => new Map()).value;
  for (let i = 1; i + 1 < a.length; i += 2) h.set(bin(a[i]!), bin(a[i + 1]!));
}

function hsetnx(c: Ctx, a: Buffer[]): void {
  const h = lookupOrCreate(c, a[0]!, 'hash', () => new Map()).value;
  const f = bin(a[1]!);
  if (!h.has(f)) h.set(f, bin(a[2]!));
}

function hdel(c: Ctx, a: Buffer[]): void {
  const e = lookup(c, a[0]!, 'hash');
  if (!e) return;
  for (let i = 1; i < a.length; i++) e.value.delete(bin(a[i]!));
  dropIfEmpty(c, a[0]!, e);
}

/** HINCRBY key field increment: exact 64-bit arithmetic. */
function hincrby(c: Ctx, a: Buffer[]): void {
  const h = lookupOrCreate(c, a[0]!, 'hash', () => new Map()).value;
  const f = bin(a[1]!);
  const cur = h.get(f);
  const next = (cur === undefined ? 0n : int64(Buffer.from(cur, 'latin1'))) + int64(a[2]);
  h.set(f, next.toString());
}

function refuse(what: string): Handler {
  return () => {
    throw new Unhandled(what);
  };
}

export const setHashCommands: Record<string, Handler> = {
  SADD: sadd,
  SREM: srem,
  SMOVE: smove,
  SINTERSTORE: setStore('inter'),
  SUNIONSTORE: setStore('union'),
  SDIFFSTORE: setStore('diff'),
  SPOP: refuse('SPOP is random (Redis 7 masters send the members it popped as SREM)'),
  HSET: hset,
  HMSET: hset,
  HSETNX: hsetnx,
  HDEL: hdel,
  HINCRBY: hincrby,
  HINCRBYFLOAT: refuse('HINCRBYFLOAT cannot be reproduced exactly (Redis 7 masters send it as HSET)'),
};
