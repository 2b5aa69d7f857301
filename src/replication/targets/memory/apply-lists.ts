/**
 * List commands. Blocking and multi-key pops arrive rewritten (BLPOP/LMPOP -> LPOP/RPOP with a count,
 * BLMOVE -> LMOVE, BRPOPLPUSH -> RPOPLPUSH); the blocking forms are accepted here as their
 * non-blocking equivalents anyway. Lists are arrays of binary strings, head first.
 */
import { dropIfEmpty, lookup, lookupOrCreate, int, rankRange, upper, Unhandled, type Ctx, type Handler } from './context.js';
import { bin } from './dataset.js';

function push(left: boolean, onlyIfExists: boolean): Handler {
  return (c, a) => {
    if (onlyIfExists && !lookup(c, a[0]!, 'list')) return;
    const list = lookupOrCreate(c, a[0]!, 'list', () => []).value;
    const items = a.slice(1).map(bin);
    if (left) list.unshift(...items.reverse());
    else for (const it of items) list.push(it);
  };
}

/** LPOP / RPOP key [count] */
function pop(left: boolean): Handler {
  return (c, a) => {
    const e = lookup(c, a[0]!, 'list');
    if (!e) return;
    const n = a.length > 1 ? int(a[1]) : 1;
    if (left) e.value.splice(0, n);
    else e.value.splice(Math.max(0, e.value.length - n), n);
    dropIfEmpty(c, a[0]!, e);
  };
}

/** LINSERT key BEFORE | AFTER pivot element */
function linsert(c: Ctx, a: Buffer[]): void {
  const e = lookup(c, a[0]!, 'list');
  if (!e) return;
  const i = e.value.indexOf(bin(a[2]!));
  if (i === -1) return;
  e.value.splice(upper(a[1]) === 'AFTER' ? i + 1 : i, 0, bin(a[3]!));
}

function lset(c: Ctx, a: Buffer[]): void {
  const e = lookup(c, a[0]!, 'list');
  if (!e) throw new Unhandled('LSET on a key the mirror does not have');
  let i = int(a[1]);
  if (i < 0) i += e.value.length;
  if (i < 0 || i >= e.value.length) throw new Unhandled('LSET index out of range in the mirror');
  e.value[i] = bin(a[2]!);
}

/** LREM key count element: count > 0 from the head, < 0 from the tail, 0 all. */
function lrem(c: Ctx, a: Buffer[]): void {
  const e = lookup(c, a[0]!, 'list');
  if (!e) return;
  const count = int(a[1]);
  const v = bin(a[2]!);
  const list = e.value;
  let left = count === 0 ? Infinity : Math.abs(count);
  if (count >= 0) {
    e.value = list.filter((x) => !(x === v && left-- > 0));
  } else {
    const out: string[] = [];
    for (let i = list.length - 1; i >= 0; i--) if (!(list[i] === v && left-- > 0)) out.push(list[i]!);
    e.value = out.reverse();
  }
  dropIfEmpty(c, a[0]!, e);
}

function ltrim(c: Ctx, a: Buffer[]): void {
  const e = lookup(c, a[0]!, 'list');
  if (!e) return;
  const [s, end] = rankRange(int(a[1]), int(a[2]), e.value.length);
  e.value = e.value.slice(s, end);
  dropIfEmpty(c, a[0]!, e);
}

/**
 * LMOVE source destination LEFT|RIGHT LEFT|RIGHT (RPOPLPUSH is RIGHT LEFT). With source and
 * destination the same key it rotates the list in place: the key (and its TTL) stays, even when it
 * holds one item.
 */
function lmove(c: Ctx, src: Buffer, dst: Buffer, from: string, to: string): void {
  const e = lookup(c, src, 'list');
  if (!e || e.value.length === 0) return;
  lookup(c, dst, 'list'); // a wrong-typed destination fails before anything moves, as in Redis
  const item = from === 'LEFT' ? e.value.shift()! : e.value.pop()!;
  const d = src.equals(dst) ? e.value : lookupOrCreate(c, dst, 'list', () => []).value;
  if (to === 'LEFT') d.unshift(item);
  else d.push(item);
  dropIfEmpty(c, src, e);
}

export const listCommands: Record<string, Handler> = {
  LPUSH: push(true, false),
  RPUSH: push(false, false),
  LPUSHX: push(true, true),
  RPUSHX: push(false, true),
  LPOP: pop(true),
  RPOP: pop(false),
  LINSERT: linsert,
  LSET: lset,
  LREM: lrem,
  LTRIM: ltrim,
  LMOVE: (c, a) => lmove(c, a[0]!, a[1]!, upper(a[2]), upper(a[3])),
  BLMOVE: (c, a) => lmove(c, a[0]!, a[1]!, upper(a[2]), upper(a[3])),
  RPOPLPUSH: (c, a) => lmove(c, a[0]!, a[1]!, 'RIGHT', 'LEFT'),
  BRPOPLPUSH: (c, a) => lmove(c, a[0]!, a[1]!, 'RIGHT', 'LEFT'),
};
