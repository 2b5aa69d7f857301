/**
 * Which keys a replicated command touches, so that a SQL target can read all the rows a batch needs
 * in one query before applying it (one round trip to PostgreSQL per batch, not one per command).
 *
 * Key positions follow Redis's command table (first/last/step, numkeys for the Z*STORE family, the
 * key after the subcommand for XGROUP, the key and STORE destination for SORT and the geo radius
 * searches), for the write
 * commands a Redis 7 master propagates and the memory mirror applies. SORT's BY/GET patterns name
 * keys that depend on values: sortPatterns()/patternKey() below, read just before the SORT runs. A key is "blind" when the command sets or deletes it without looking at its
 * old value (plain SET, MSET, DEL, UNLINK, GETDEL): its row need not be read.
 *
 * A command missing here is still applied when it needs no key (PUBLISH) or reported as unhandled:
 * the overlay (overlay.ts) refuses to guess at a row it was not given.
 */
import type { ReplicatedCommand } from '../target.js';

export interface KeyRef {
  db: number;
  key: Buffer;
  /** Set or deleted without reading the old value. */
  blind: boolean;
}

/** Commands that act on whole databases: the rows they touch are not known in advance. */
export const BARRIERS: ReadonlySet<string> = new Set(['FLUSHDB', 'FLUSHALL', 'SWAPDB']);

type Positions = (a: Buffer[]) => number[];

const first: Positions = (a) => (a.length > 0 ? [0] : []);
const firstTwo: Positions = (a) => (a.length > 1 ? [0, 1] : first(a));
const all: Positions = (a) => a.map((_, i) => i);
const fromSecond: Positions = (a) => a.map((_, i) => i).slice(1);
const everyOther: Positions = (a) => a.map((_, i) => i).filter((i) => i % 2 === 0);
const second: Positions = (a) => (a.length > 1 ? [1] : []);

/** dest numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...] */
const destAndNumkeys: Positions = (a) => {
  const n = Number(a[1]?.toString('latin1'));
  if (!Number.isInteger(n) || n < 0) return [0];
  const out = [0];
  for (let i = 0; i < n && 2 + i < a.length; i++) out.push(2 + i);
  return out;
};

const SINGLE = [
  'SETNX', 'SETEX', 'PSETEX', 'GETSET', 'GETEX', 'APPEND', 'SETRANGE', 'INCR', 'DECR', 'INCRBY', 'DECRBY',
  'INCRBYFLOAT', 'SETBIT', 'BITFIELD', 'LPUSH', 'RPUSH', 'LPUSHX', 'RPUSHX', 'LPOP', 'RPOP', 'LINSERT', 'LSET',
  'LREM', 'LTRIM', 'SADD', 'SREM', 'SPOP', 'HSET', 'HMSET', 'HSETNX', 'HDEL', 'HINCRBY', 'HINCRBYFLOAT', 'XADD',
  'XDEL', 'XTRIM', 'XSETID', 'XACK', 'XCLAIM', 'ZADD', 'ZINCRBY', 'ZREM', 'ZREMRANGEBYSCORE', 'ZREMRANGEBYLEX',
  'ZREMRANGEBYRANK', 'ZPOPMIN', 'ZPOPMAX', 'RESTORE', 'EXPIRE', 'PEXPIRE', 'EXPIREAT', 'PEXPIREAT', 'PERSIST',
  'PFADD',
];

/**
 * GEORADIUS key lon lat radius unit [opts] / GEORADIUSBYMEMBER key member radius unit [opts]: the key
 * and the STORE / STOREDIST destinations. Options start after the unit (`from`), so that a member
 * named STORE is not taken for the option.
 */
const geoRadiusKeys = (from: number): Positions => (a) => {
  const out = a.length > 0 ? [0] : [];
  for (let i = from; i < a.length; i++) {
    const o = a[i]!.toString('latin1').toUpperCase();
    if (o === 'COUNT') i++;
    else if ((o === 'STORE' || o === 'STOREDIST') && i + 1 < a.length) out.push(++i);
  }
  return out;
};

/** SORT key [BY p] [LIMIT o c] [GET p ...] [ASC|DESC] [ALPHA] [STORE dest]: the key and dest. */
const sortKeys: Positions = (a) => {
  const out = a.length > 0 ? [0] : [];
  for (let i = 1; i < a.length; i++) {
    const o = a[i]!.toString('latin1').toUpperCase();
    if (o === 'BY' || o === 'GET') i++;
    else if (o === 'LIMIT') i += 2;
    else if (o === 'STORE' && i + 1 < a.length) out.push(++i);
  }
  return out;
};

const POSITIONS: Record<string, Positions> = {
  ...Object.fromEntries(SINGLE.map((n) => [n, first])),
  SET: first,
  RENAME: firstTwo,
  RENAMENX: firstTwo,
  LMOVE: firstTwo,
  BLMOVE: firstTwo,
  RPOPLPUSH: firstTwo,
  BRPOPLPUSH: firstTwo,
  SMOVE: firstTwo,
  ZRANGESTORE: firstTwo,
  SINTERSTORE: all,
  SUNIONSTORE: all,
  SDIFFSTORE: all,
  PFMERGE: all,
  MSETNX: everyOther,
  BITOP: fromSecond,
  ZUNIONSTORE: destAndNumkeys,
  ZINTERSTORE: destAndNumkeys,
  ZDIFFSTORE: destAndNumkeys,
  XGROUP: second,
  PFCOUNT: all,
  PFDEBUG: second,
  SORT: sortKeys,
  'RESTORE-ASKING': first,
  GEOSEARCHSTORE: firstTwo,
  GEORADIUS: geoRadiusKeys(5),
  GEORADIUSBYMEMBER: geoRadiusKeys(4),
};

/** Commands that overwrite or delete all their keys without reading them. */
const BLIND: Record<string, Positions> = {
  DEL: all,
  UNLINK: all,
  GETDEL: first,
  MSET: everyOther,
};

function upper(b: Buffer | undefined): string {
  return b === undefined ? '' : b.toString('latin1').toUpperCase();
}

/** SET without NX, XX or KEEPTTL replaces the key whatever it was. */
function setIsBlind(a: Buffer[]): boolean {
  for (let i = 2; i < a.length; i++) {
    const o = upper(a[i]);
    if (o === 'NX' || o === 'XX' || o === 'KEEPTTL') return false;
  }
  return true;
}

/** The keys `c` touches, each with its database. Empty for commands that touch none (or unknown ones). */
export function commandKeys(c: ReplicatedCommand): KeyRef[] {
  const a = c.args;
  const name = c.name;
  if (name === 'MOVE') {
    if (a.length < 2) return [];
    const to = Number(a[1]!.toString('latin1'));
    const out: KeyRef[] = [{ db: c.db, key: a[0]!, blind: false }];
    if (Number.isInteger(to) && to >= 0) out.push({ db: to, key: a[0]!, blind: false });
    return out;
  }
  if (name === 'COPY') {
    if (a.length < 2) return [];
    let db = c.db;
    for (let i = 2; i < a.length - 1; i++) if (upper(a[i]) === 'DB') db = Number(a[i + 1]!.toString('latin1'));
    const out: KeyRef[] = [{ db: c.db, key: a[0]!, blind: false }];
    if (Number.isInteger(db) && db >= 0) out.push({ db, key: a[1]!, blind: false });
    return out;
  }
  const blind = BLIND[name];
  if (blind) return blind(a).map((i) => ({ db: c.db, key: a[i]!, blind: true }));
  if (name === 'SET' && setIsBlind(a)) return a.length > 0 ? [{ db: c.db, key: a[0]!, blind: true }] : [];
  const pos = POSITIONS[name];
  return pos ? pos(a).map((i) => ({ db: c.db, key: a[i]!, blind: false })) : [];
}

/**
 * Splits a batch at whole-database commands. Each 'apply' segment lists the rows to read first:
 * every non-blind key whose first use in the segment is not a blind write.
 */
export type Segment =
  | { kind: 'apply'; commands: ReplicatedCommand[]; fetch: KeyRef[] }
  | { kind: 'barrier'; command: ReplicatedCommand };

export function planBatch(commands: readonly ReplicatedCommand[]): Segment[] {
  const out: Segment[] = [];
  let cur: { kind: 'apply'; commands: ReplicatedCommand[]; fetch: KeyRef[] } | null = null;
  let known = new Set<string>();
  for (const c of commands) {
    if (BARRIERS.has(c.name)) {
      out.push({ kind: 'barrier', command: c });
      cur = null;
      known = new Set();
      continue;
    }
    if (!cur) {
      cur = { kind: 'apply', commands: [], fetch: [] };
      out.push(cur);
    }
    cur.commands.push(c);
    for (const ref of commandKeys(c)) {
      const id = `${ref.db}:${ref.key.toString('latin1')}`;
      if (known.has(id)) continue;
      known.add(id);
      if (!ref.blind) cur.fetch.push(ref);
    }
  }
  return out;
}

/**
 * SORT's BY and GET patterns that name keys (`*` replaced by each element; `#` and patterns without
 * `*` name none): which keys a SORT reads depends on the source's elements, so the targets read
 * these once the source is known, just before applying the SORT (see Overlay.extraKeys).
 */
export function sortPatterns(a: readonly Buffer[]): string[] {
  const out: string[] = [];
  for (let i = 1; i < a.length; i++) {
    const o = a[i]!.toString('latin1').toUpperCase();
    if (o === 'BY' || o === 'GET') {
      const p = a[++i]?.toString('latin1');
      if (p !== undefined && p !== '#' && p.includes('*')) out.push(p);
    } else if (o === 'LIMIT') {
      i += 2;
    } else if (o === 'STORE') {
      i++;
    }
  }
  return out;
}

/** The key a SORT pattern names for one element (as sort.c's lookupKeyByPattern builds it). */
export function patternKey(pattern: string, elem: string): string {
  const star = pattern.indexOf('*');
  const arrow = pattern.indexOf('->', star + 1);
  const keyPattern = arrow !== -1 && arrow + 2 < pattern.length ? pattern.slice(0, arrow) : pattern;
  return keyPattern.slice(0, star) + elem + keyPattern.slice(star + 1);
}
