/**
 * Set and hash commands. SPOP arrives as SREM (or DEL when it empties the set) and HINCRBYFLOAT as
 * HSET; the raw forms cannot be reproduced (SPOP is random, HINCRBYFLOAT's formatting is long double)
 * and are refused.
 *
 * Hash-field expiry (Redis 7.4): a 7.4 master propagates HEXPIRE / HPEXPIRE / HEXPIREAT as
 * HPEXPIREAT, and a field's expiry as HDEL. HSET replaces a field and its TTL; HINCRBY keeps the TTL
 * (Redis's HASH_SET_KEEP_TTL). Written from Redis's documented behaviour: this machine's Redis (7.0)
 * has no field expiry to compare with.
 */
import { dropIfEmpty, lookup, lookupOrCreate, int, int64, upper, Unhandled, type Ctx, type Handler } from './context.js';
import { bin, type HashValue } from './dataset.js';

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

/** Sets a field, dropping its TTL (what HSET does to a field it replaces). */
function setField(h: HashValue, f: string, v: string): void {
  h.set(f, v);
  if (h.fieldExpiresAt?.delete(f) && h.fieldExpiresAt.size === 0) h.fieldExpiresAt = undefined;
}

/** HSET / HMSET key field value [field value ...] */
function hset(c: Ctx, a: Buffer[]): void {
  const h = lookupOrCreate(c, a[0]!, 'hash', () => new Map()).value;
  for (let i = 1; i + 1 < a.length; i += 2) setField(h, bin(a[i]!), bin(a[i + 1]!));
}

function hsetnx(c: Ctx, a: Buffer[]): void {
  const h = lookupOrCreate(c, a[0]!, 'hash', () => new Map()).value;
  const f = bin(a[1]!);
  if (!h.has(f)) setField(h, f, bin(a[2]!));
}

function hdel(c: Ctx, a: Buffer[]): void {
  const e = lookup(c, a[0]!, 'hash');
  if (!e) return;
  const h = e.value;
  for (let i = 1; i < a.length; i++) {
    const f = bin(a[i]!);
    h.delete(f);
    h.fieldExpiresAt?.delete(f);
  }
  if (h.fieldExpiresAt?.size === 0) h.fieldExpiresAt = undefined;
  dropIfEmpty(c, a[0]!, e);
}

/** The fields after `FIELDS numfields`, which starts at a[from]. */
function fieldsArg(a: Buffer[], from: number): string[] {
  if (upper(a[from]) !== 'FIELDS') throw new Unhandled('hash-field expiry command without FIELDS');
  const n = int(a[from + 1]);
  if (n < 1 || from + 2 + n !== a.length) throw new Unhandled('hash-field expiry command with a wrong field count');
  return a.slice(from + 2).map(bin);
}

/** HPEXPIREAT key unix-ms [NX | XX | GT | LT] FIELDS numfields field ...: the form a 7.4 master propagates. */
function hpexpireat(c: Ctx, a: Buffer[]): void {
  const at = int(a[1]);
  let i = 2;
  const cond = upper(a[i]);
  if (cond === 'NX' || cond === 'XX' || cond === 'GT' || cond === 'LT') i++;
  const fields = fieldsArg(a, i);
  const e = lookup(c, a[0]!, 'hash');
  if (!e) return;
  const h = e.value;
  for (const f of fields) {
    if (!h.has(f)) continue;
    const cur = h.fieldExpiresAt?.get(f);
    if (cond === 'NX' && cur !== undefined) continue;
    if (cond === 'XX' && cur === undefined) continue;
    if (cond === 'GT' && (cur === undefined || at <= cur)) continue;
    if (cond === 'LT' && cur !== undefined && at >= cur) continue;
    (h.fieldExpiresAt ??= new Map()).set(f, at);
  }
}

/** HPERSIST key FIELDS numfields field ... */
function hpersist(c: Ctx, a: Buffer[]): void {
  const fields = fieldsArg(a, 1);
  const h = lookup(c, a[0]!, 'hash')?.value;
  if (!h?.fieldExpiresAt) return;
  for (const f of fields) h.fieldExpiresAt.delete(f);
  if (h.fieldExpiresAt.size === 0) h.fieldExpiresAt = undefined;
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
  HPEXPIREAT: hpexpireat,
  HPERSIST: hpersist,
  HINCRBYFLOAT: refuse('HINCRBYFLOAT cannot be reproduced exactly (Redis 7 masters send it as HSET)'),
};
