/**
 * Sorted-set commands. GEOADD arrives as ZADD (with the geohash as score), the blocking and
 * multi-key pops as ZPOPMIN/ZPOPMAX. Scores are IEEE doubles in JS as in C, so ZINCRBY and the
 * aggregates compute exactly what the master did. GEOSEARCHSTORE / GEORADIUS ... STORE, which the
 * master sends as is, run Redis's geohash search in apply-geo.ts.
 *
 * Lex ranges (ZREMRANGEBYLEX, ZRANGESTORE BYLEX) are exact for what they are meant for, sets whose
 * scores are all equal. With mixed scores Redis's result depends on the set's encoding (listpack:
 * an early exit, then a walk; skiplist: a search through its random levels, no early exit), which no
 * replica, Redis's own included, reproduces; the mirror follows the listpack walk.
 */
import { dropIfEmpty, float, int, lookup, lookupOrCreate, rankRange, upper, Unhandled, type Ctx, type Handler } from './context.js';
import { bin } from './dataset.js';
import { ZSet, type ZEntry } from './zset.js';

/** ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...] */
function zadd(c: Ctx, a: Buffer[]): void {
  let i = 1;
  let nx = false;
  let xx = false;
  let gt = false;
  let lt = false;
  let incr = false;
  for (; i < a.length; i++) {
    const o = upper(a[i]);
    if (o === 'NX') nx = true;
    else if (o === 'XX') xx = true;
    else if (o === 'GT') gt = true;
    else if (o === 'LT') lt = true;
    else if (o === 'INCR') incr = true;
    else if (o !== 'CH') break;
  }
  if (xx && !lookup(c, a[0]!, 'zset')) return;
  const z = lookupOrCreate(c, a[0]!, 'zset', () => new ZSet()).value;
  for (; i + 1 < a.length; i += 2) {
    const m = bin(a[i + 1]!);
    const cur = z.score(m);
    if ((nx && cur !== undefined) || (xx && cur === undefined)) continue;
    let score = float(a[i]);
    if (incr) score = (cur ?? 0) + score;
    if (Number.isNaN(score)) throw new Unhandled('ZADD INCR produced NaN');
    if (cur !== undefined && ((gt && score <= cur) || (lt && score >= cur))) continue;
    z.set(m, score);
  }
  dropIfEmpty(c, a[0]!, lookup(c, a[0]!, 'zset')!);
}

function zincrby(c: Ctx, a: Buffer[]): void {
  const z = lookupOrCreate(c, a[0]!, 'zset', () => new ZSet()).value;
  const m = bin(a[2]!);
  const score = (z.score(m) ?? 0) + float(a[1]);
  if (Number.isNaN(score)) throw new Unhandled('ZINCRBY produced NaN');
  z.set(m, score);
}

function zrem(c: Ctx, a: Buffer[]): void {
  const e = lookup(c, a[0]!, 'zset');
  if (!e) return;
  for (let i = 1; i < a.length; i++) e.value.delete(bin(a[i]!));
  dropIfEmpty(c, a[0]!, e);
}

interface Bound {
  value: number;
  exclusive: boolean;
}

function scoreBound(b: Buffer | undefined): Bound {
  const s = b?.toString('latin1') ?? '';
  return s[0] === '(' ? { value: float(Buffer.from(s.slice(1))), exclusive: true } : { value: float(b), exclusive: false };
}

/** Lex bounds as binary strings; '-' and '+' as null (open). */
interface LexBound {
  value: string | null;
  exclusive: boolean;
  min: boolean;
}

function lexBound(b: Buffer | undefined): LexBound {
  const s = b?.toString('latin1') ?? '';
  if (s === '-') return { value: null, exclusive: false, min: true };
  if (s === '+') return { value: null, exclusive: false, min: false };
  if (s[0] !== '[' && s[0] !== '(') throw new Unhandled('a lex range bound must start with [ or (');
  return { value: s.slice(1), exclusive: s[0] === '(', min: false };
}

function aboveMin(score: number, min: Bound): boolean {
  return min.exclusive ? score > min.value : score >= min.value;
}

function belowMax(score: number, max: Bound): boolean {
  return max.exclusive ? score < max.value : score <= max.value;
}

function lexAboveMin(m: string, b: LexBound): boolean {
  if (b.value === null) return b.min;
  return b.exclusive ? m > b.value : m >= b.value;
}

function lexBelowMax(m: string, b: LexBound): boolean {
  if (b.value === null) return !b.min;
  return b.exclusive ? m < b.value : m <= b.value;
}

/**
 * The lex range as Redis walks it: from the first member (in score order) at or above `min`, then
 * while at or below `max`. Lex ranges are meant for sets whose scores are all equal; with mixed
 * scores this contiguous walk is what Redis's listpack-encoded sets do (skiplist-encoded ones follow
 * their random levels, which no replica can reproduce).
 */
function lexRun(sorted: readonly ZEntry[], min: LexBound, max: LexBound): [number, number] {
  if (!lexRangeMayHit(sorted, min, max)) return [0, 0];
  let i = 0;
  while (i < sorted.length && !lexAboveMin(sorted[i]![0], min)) i++;
  let j = i;
  while (j < sorted.length && lexBelowMax(sorted[j]![0], max)) j++;
  return [i, j];
}

/** Bound value for ordering: '-' below everything, '+' above. */
function lexKey(b: LexBound): [number, string] {
  return b.value === null ? [b.min ? -1 : 1, ''] : [0, b.value];
}

/**
 * Redis's zzlIsInLexRange / zslIsInLexRange early exit: an empty range, or the last member (in score
 * order) below min, or the first above max, means nothing is in range, whatever lies between.
 */
function lexRangeMayHit(sorted: readonly ZEntry[], min: LexBound, max: LexBound): boolean {
  const [a, av] = lexKey(min);
  const [b, bv] = lexKey(max);
  const cmp = a !== b ? a - b : a !== 0 ? 0 : av < bv ? -1 : av > bv ? 1 : 0;
  if (cmp > 0 || (cmp === 0 && (min.exclusive || max.exclusive))) return false;
  if (sorted.length === 0) return false;
  return lexAboveMin(sorted[sorted.length - 1]![0], min) && lexBelowMax(sorted[0]![0], max);
}

function removeWhere(c: Ctx, key: Buffer, pred: (e: ZEntry, rank: number) => boolean): void {
  const e = lookup(c, key, 'zset');
  if (!e) return;
  const doomed = e.value.sorted().filter(pred);
  for (const [m] of doomed) e.value.delete(m);
  dropIfEmpty(c, key, e);
}

function zpop(max: boolean): Handler {
  return (c, a) => {
    const e = lookup(c, a[0]!, 'zset');
    if (!e) return;
    const n = a.length > 1 ? int(a[1]) : 1;
    const len = e.value.size;
    if (max) e.value.removeRange(Math.max(0, len - n), len);
    else e.value.removeRange(0, Math.min(n, len));
    dropIfEmpty(c, a[0]!, e);
  };
}

/** Sorted sets (and plain sets, each member scored 1) of the source keys; missing keys are empty. */
function sources(c: Ctx, keys: Buffer[]): Map<string, number>[] {
  return keys.map((k) => {
    const e = c.db.get(bin(k));
    if (!e) return new Map();
    if (e.type === 'zset') return e.value.scores;
    if (e.type === 'set') return new Map([...e.value].map((m) => [m, 1]));
    throw new Unhandled(`WRONGTYPE: a ${e.type} as a sorted-set source`);
  });
}

/** ZUNIONSTORE / ZINTERSTORE dest numkeys key... [WEIGHTS w...] [AGGREGATE SUM|MIN|MAX]; ZDIFFSTORE dest numkeys key... */
function zstore(op: 'union' | 'inter' | 'diff'): Handler {
  return (c, a) => {
    const n = int(a[1]);
    const srcs = sources(c, a.slice(2, 2 + n));
    const weights = srcs.map(() => 1);
    let agg = 'SUM';
    for (let i = 2 + n; i < a.length; i++) {
      const o = upper(a[i]);
      if (o === 'WEIGHTS') for (let j = 0; j < n; j++) weights[j] = float(a[++i]);
      else if (o === 'AGGREGATE') agg = upper(a[++i]);
      else throw new Unhandled(`ZSTORE option ${o}`);
    }
    // Redis turns NaN (inf * 0, inf + -inf) into 0.
    const weighted = (v: number, w: number) => (Number.isNaN(v * w) ? 0 : v * w);
    const combine = (x: number, y: number) => {
      const r = agg === 'MIN' ? Math.min(x, y) : agg === 'MAX' ? Math.max(x, y) : x + y;
      return Number.isNaN(r) ? 0 : r;
    };
    const out = new Map<string, number>();
    if (op === 'diff') {
      for (const [m, s] of srcs[0] ?? []) if (!srcs.slice(1).some((x) => x.has(m))) out.set(m, s);
    } else if (op === 'union') {
      srcs.forEach((src, j) => {
        for (const [m, s] of src) {
          const v = weighted(s, weights[j]!);
          const cur = out.get(m);
          out.set(m, cur === undefined ? v : combine(cur, v));
        }
      });
    } else if (srcs.every((s) => s.size > 0)) {
      for (const [m, s] of srcs[0]!) {
        if (!srcs.every((x) => x.has(m))) continue;
        let v = weighted(s, weights[0]!);
        for (let j = 1; j < srcs.length; j++) v = combine(v, weighted(srcs[j]!.get(m)!, weights[j]!));
        out.set(m, v);
      }
    }
    store(c, a[0]!, out);
  };
}

function store(c: Ctx, dest: Buffer, members: Iterable<[string, number]>): void {
  const z = new ZSet();
  z.bulkSet(members);
  if (z.size === 0) c.db.delete(bin(dest));
  else c.db.set(bin(dest), { type: 'zset', value: z, expiresAt: undefined });
}

/** ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count] */
function zrangestore(c: Ctx, a: Buffer[]): void {
  let by = 'RANK';
  let rev = false;
  let offset = 0;
  let count = -1;
  for (let i = 4; i < a.length; i++) {
    const o = upper(a[i]);
    if (o === 'BYSCORE' || o === 'BYLEX') by = o;
    else if (o === 'REV') rev = true;
    else if (o === 'LIMIT') {
      offset = int(a[++i]);
      count = int(a[++i]);
    } else throw new Unhandled(`ZRANGESTORE option ${o}`);
  }
  const src = lookup(c, a[1]!, 'zset')?.value;
  const all = src ? [...src.sorted()] : [];
  if (rev) all.reverse();
  let picked: ZEntry[];
  if (by === 'RANK') {
    const [s, e] = rankRange(int(a[2]), int(a[3]), all.length);
    picked = all.slice(s, e);
  } else {
    // With REV, the first bound given is the maximum.
    const [lo, hi] = rev ? [a[3], a[2]] : [a[2], a[3]];
    if (by === 'BYSCORE') {
      const min = scoreBound(lo);
      const max = scoreBound(hi);
      picked = all.filter(([, s]) => aboveMin(s, min) && belowMax(s, max));
    } else if (!rev) {
      const [i, j] = lexRun(all, lexBound(lo), lexBound(hi));
      picked = all.slice(i, j);
    } else {
      // Reversed: from the last member at or below max, backwards while at or above min.
      const min = lexBound(lo);
      const max = lexBound(hi);
      // `all` is reversed here: its first element is the last in score order.
      let i = lexRangeMayHit([...all].reverse(), min, max) ? 0 : all.length;
      while (i < all.length && !lexBelowMax(all[i]![0], max)) i++;
      let j = i;
      while (j < all.length && lexAboveMin(all[j]![0], min)) j++;
      picked = all.slice(i, j);
    }
    picked = picked.slice(offset, count < 0 ? undefined : offset + count);
  }
  store(c, a[0]!, picked);
}

export const zsetCommands: Record<string, Handler> = {
  ZADD: zadd,
  ZINCRBY: zincrby,
  ZREM: zrem,
  ZREMRANGEBYSCORE: (c, a) => {
    const min = scoreBound(a[1]);
    const max = scoreBound(a[2]);
    removeWhere(c, a[0]!, ([, s]) => aboveMin(s, min) && belowMax(s, max));
  },
  ZREMRANGEBYLEX: (c, a) => {
    const e = lookup(c, a[0]!, 'zset');
    if (!e) return;
    const [i, j] = lexRun(e.value.sorted(), lexBound(a[1]), lexBound(a[2]));
    e.value.removeRange(i, j);
    dropIfEmpty(c, a[0]!, e);
  },
  ZREMRANGEBYRANK: (c, a) => {
    const e = lookup(c, a[0]!, 'zset');
    if (!e) return;
    const [s, end] = rankRange(int(a[1]), int(a[2]), e.value.size);
    e.value.removeRange(s, end);
    dropIfEmpty(c, a[0]!, e);
  },
  ZPOPMIN: zpop(false),
  ZPOPMAX: zpop(true),
  ZUNIONSTORE: zstore('union'),
  ZINTERSTORE: zstore('inter'),
  ZDIFFSTORE: zstore('diff'),
  ZRANGESTORE: zrangestore,
};
