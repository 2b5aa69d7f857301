/**
 * Commands on keys and databases, whatever their type: DEL, expiry, RENAME, MOVE, COPY, SWAPDB,
 * FLUSHDB, FLUSHALL, and the commands a master propagates that change no data (PUBLISH, FUNCTION).
 *
 * Expiry arrives absolute from a Redis 7 master (PEXPIREAT, SET ... PXAT); the relative forms are
 * applied against the mirror's clock for completeness. Like a Redis replica, the mirror stores an
 * expiry that is already in the past instead of deleting the key: the master's DEL follows.
 */
import { cloneEntry } from './dataset.js';
import { Unhandled, int, upper, type Ctx, type Handler } from './context.js';

function del(c: Ctx, a: Buffer[]): void {
  for (const k of a) c.db.delete(k.toString('latin1'));
}

/** EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT key time [NX | XX | GT | LT] */
function expire(unitMs: number, absolute: boolean): Handler {
  return (c, a) => {
    const e = c.db.get(a[0]!.toString('latin1'));
    if (!e) return;
    const t = int(a[1]) * unitMs;
    const at = absolute ? t : c.now + t;
    const cur = e.expiresAt;
    for (const flag of a.slice(2).map(upper)) {
      if (flag === 'NX' && cur !== undefined) return;
      if (flag === 'XX' && cur === undefined) return;
      if (flag === 'GT' && (cur === undefined || at <= cur)) return;
      if (flag === 'LT' && cur !== undefined && at >= cur) return;
    }
    e.expiresAt = at;
  };
}

function persist(c: Ctx, a: Buffer[]): void {
  const e = c.db.get(a[0]!.toString('latin1'));
  if (e) e.expiresAt = undefined;
}

function rename(onlyIfAbsent: boolean): Handler {
  return (c, a) => {
    const src = a[0]!.toString('latin1');
    const dst = a[1]!.toString('latin1');
    const e = c.db.get(src);
    if (!e || src === dst) return;
    if (onlyIfAbsent && c.db.has(dst)) return;
    c.db.delete(src);
    c.db.set(dst, e);
  };
}

/** MOVE key db */
function move(c: Ctx, a: Buffer[]): void {
  const k = a[0]!.toString('latin1');
  const to = int(a[1]);
  const e = c.db.get(k);
  if (!e || to === c.dbIndex) return;
  const target = c.ds.db(to);
  if (target.has(k)) return;
  c.db.delete(k);
  target.set(k, e);
}

/** COPY source destination [DB n] [REPLACE] */
function copy(c: Ctx, a: Buffer[]): void {
  const src = a[0]!.toString('latin1');
  const dst = a[1]!.toString('latin1');
  let db = c.dbIndex;
  let replace = false;
  for (let i = 2; i < a.length; i++) {
    const o = upper(a[i]);
    if (o === 'REPLACE') replace = true;
    else if (o === 'DB') db = int(a[++i]);
    else throw new Unhandled(`COPY option ${o}`);
  }
  const e = c.db.get(src);
  if (!e) return;
  const target = c.ds.db(db);
  if (db === c.dbIndex && src === dst) return;
  if (target.has(dst) && !replace) return;
  target.set(dst, cloneEntry(e));
}

function swapdb(c: Ctx, a: Buffer[]): void {
  const x = int(a[0]);
  const y = int(a[1]);
  const dx = c.ds.db(x);
  const dy = c.ds.db(y);
  c.ds.dbs.set(x, dy);
  c.ds.dbs.set(y, dx);
}

function flushdb(c: Ctx): void {
  c.db.clear();
}

function flushall(c: Ctx): void {
  for (const db of c.ds.dbs.values()) db.clear();
}

/** Propagated, but no data of a mirror changes. */
function nothing(): void {}

export const keyCommands: Record<string, Handler> = {
  DEL: del,
  UNLINK: del,
  EXPIRE: expire(1000, false),
  PEXPIRE: expire(1, false),
  EXPIREAT: expire(1000, true),
  PEXPIREAT: expire(1, true),
  PERSIST: persist,
  RENAME: rename(false),
  RENAMENX: rename(true),
  MOVE: move,
  COPY: copy,
  SWAPDB: swapdb,
  FLUSHDB: flushdb,
  FLUSHALL: flushall,
  PUBLISH: nothing,
  SPUBLISH: nothing,
  FUNCTION: nothing,
  SCRIPT: nothing,
  MULTI: nothing,
  EXEC: nothing,
};
