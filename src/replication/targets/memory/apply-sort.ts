/**
 * SORT ... STORE, which a master propagates as is (sort.c, Redis 7.0):
 *
 *   SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC | DESC] [ALPHA] STORE destination
 *
 * Deterministic where Redis is: numeric sorts break ties by the element's bytes; ALPHA with STORE
 * compares bytes (not strcoll); a set sorted without BY is sorted ALPHA so that replicas agree; BY
 * without '*' means "don't sort" (zsets keep their order, lists theirs). Where Redis is not (ALPHA
 * BY with equal weights keeps qsort's order), the mirror keeps the source order instead.
 */
import { bin, type Db } from './dataset.js';
import { int, upper, Unhandled, type Ctx } from './context.js';

/** The value a pattern names for `elem`: `#` is the element; `*` is replaced by it; `->f` reads a hash field. */
function lookupByPattern(db: Db, pattern: string, elem: string): string | undefined {
  if (pattern === '#') return elem;
  const star = pattern.indexOf('*');
  if (star === -1) return undefined;
  const arrow = pattern.indexOf('->', star + 1);
  const hasField = arrow !== -1 && arrow + 2 < pattern.length;
  const keyPattern = hasField ? pattern.slice(0, arrow) : pattern;
  const key = keyPattern.slice(0, star) + elem + keyPattern.slice(star + 1);
  const e = db.get(key);
  if (!e) return undefined;
  if (hasField) return e.type === 'hash' ? e.value.get(pattern.slice(arrow + 2)) : undefined;
  return e.type === 'string' ? bin(e.value) : undefined;
}

/** strtod as sort.c uses it: the whole string must be a number, NaN refused. */
function weight(v: string | undefined): number {
  if (v === undefined) return 0;
  const t = v.toLowerCase();
  const n = t === 'inf' || t === '+inf' ? Infinity : t === '-inf' ? -Infinity : Number(v);
  if (v.trim() !== v || v === '' || Number.isNaN(n)) throw new Unhandled('SORT weight that is not a number (the master would have refused it)');
  return n;
}

function bytesCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sort(c: Ctx, a: Buffer[]): void {
  let by: string | undefined;
  let offset = 0;
  let count = -1;
  let desc = false;
  let alpha = false;
  let store: string | undefined;
  const gets: string[] = [];
  for (let i = 1; i < a.length; i++) {
    const o = upper(a[i]);
    if (o === 'ASC') desc = false;
    else if (o === 'DESC') desc = true;
    else if (o === 'ALPHA') alpha = true;
    else if (o === 'LIMIT') {
      offset = int(a[++i]);
      count = int(a[++i]);
    } else if (o === 'STORE') store = bin(a[++i]!);
    else if (o === 'BY') by = bin(a[++i]!);
    else if (o === 'GET') gets.push(bin(a[++i]!));
    else throw new Unhandled(`SORT option ${o}`);
  }
  if (store === undefined) return; // a SORT without STORE changes nothing (and is not propagated)
  const src = c.db.get(bin(a[0]!));
  let elems: string[];
  let dontSort = by !== undefined && !by.includes('*');
  if (!src) elems = [];
  else if (src.type === 'list') elems = src.value.slice();
  else if (src.type === 'set') {
    elems = [...src.value];
    if (dontSort) {
      // sort.c: a set's own order is not replicable, so with STORE it is sorted ALPHA.
      dontSort = false;
      alpha = true;
      by = undefined;
    }
  } else if (src.type === 'zset') elems = src.value.sorted().map(([m]) => m);
  else throw new Unhandled(`SORT of a ${src.type}`);

  if (!dontSort) {
    const keyed = elems.map((e) => {
      const v = by === undefined ? e : lookupByPattern(c.db, by, e);
      return { e, v, w: alpha ? 0 : weight(v) };
    });
    keyed.sort((x, y) => {
      let cmp: number;
      if (alpha) {
        if (x.v === undefined || y.v === undefined) cmp = x.v === y.v ? 0 : x.v === undefined ? -1 : 1;
        else cmp = bytesCompare(x.v, y.v);
      } else {
        cmp = x.w < y.w ? -1 : x.w > y.w ? 1 : bytesCompare(x.e, y.e);
      }
      return desc ? -cmp : cmp;
    });
    elems = keyed.map((k) => k.e);
  } else if (desc && src?.type === 'zset') {
    elems.reverse();
  }
  const start = Math.max(0, offset);
  const picked = count < 0 ? elems.slice(start) : elems.slice(start, start + count);
  const out: string[] = [];
  for (const e of picked) {
    if (gets.length === 0) out.push(e);
    else for (const g of gets) out.push(lookupByPattern(c.db, g, e) ?? '');
  }
  if (out.length === 0) c.db.delete(store);
  else c.db.set(store, { type: 'list', value: out, expiresAt: undefined });
}
