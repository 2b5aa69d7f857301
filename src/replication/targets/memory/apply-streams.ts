/**
 * Stream commands as a Redis 7 master propagates them: XADD with the id it generated and exact
 * trimming (`MAXLEN ~ n` arrives as `MAXLEN = <what it kept>`), XDEL, XTRIM, XSETID, XGROUP, XACK,
 * and XCLAIM (which is what XREADGROUP and XAUTOCLAIM become). An `XADD *` could only come from
 * elsewhere and is refused: the id is the master's to choose.
 *
 * Not reproducible by any replica (notes 3.3b): entries-read/lag, delivery times after a history
 * re-read, consumers created by reads that returned nothing. The mirror keeps groups as well as
 * the stream tells it.
 */
import { lookup, lookupOrCreate, int, upper, Unhandled, type Ctx, type Handler } from './context.js';
import { bin } from './dataset.js';
import { StreamData, compareIds, idString, parseId, type StreamGroupData, type StreamId } from './stream-data.js';

function id(b: Buffer | undefined): StreamId {
  const parsed = parseId(b?.toString('latin1') ?? '');
  if (!parsed) throw new Unhandled('a stream id the mirror cannot use (XADD * or ms-*?)');
  return parsed;
}

/** Parses [MAXLEN | MINID [= | ~] threshold [LIMIT n]] at a[i]; returns the index after it and the trim. */
function trimSpec(a: Buffer[], i: number): { next: number; trim: ((s: StreamData) => void) | undefined } {
  const o = upper(a[i]);
  if (o !== 'MAXLEN' && o !== 'MINID') return { next: i, trim: undefined };
  i++;
  const mod = a[i]?.toString('latin1');
  if (mod === '=' || mod === '~') i++;
  const threshold = a[i++];
  if (upper(a[i]) === 'LIMIT') i += 2;
  if (mod === '~') throw new Unhandled('approximate trimming (~) depends on the master\'s node layout');
  const trim = o === 'MAXLEN' ? (s: StreamData) => s.trimMaxLen(int(threshold)) : (s: StreamData) => s.trimMinId(id(threshold));
  return { next: i, trim };
}

/** XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] id field value [field value ...] */
function xadd(c: Ctx, a: Buffer[]): void {
  let i = 1;
  let nomk = false;
  let trim: ((s: StreamData) => void) | undefined;
  for (;;) {
    if (upper(a[i]) === 'NOMKSTREAM') {
      nomk = true;
      i++;
      continue;
    }
    const t = trimSpec(a, i);
    if (t.next === i) break;
    trim = t.trim;
    i = t.next;
  }
  if (nomk && !lookup(c, a[0]!, 'stream')) return;
  const entryId = id(a[i]);
  const s = lookupOrCreate(c, a[0]!, 'stream', () => new StreamData()).value;
  s.add(entryId, a.slice(i + 1).map(bin));
  trim?.(s);
}

function xdel(c: Ctx, a: Buffer[]): void {
  const s = lookup(c, a[0]!, 'stream')?.value;
  if (s) for (let i = 1; i < a.length; i++) s.delete(id(a[i]));
}

function xtrim(c: Ctx, a: Buffer[]): void {
  const s = lookup(c, a[0]!, 'stream')?.value;
  if (s) trimSpec(a, 1).trim?.(s);
}

/** XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id] */
function xsetid(c: Ctx, a: Buffer[]): void {
  const s = lookup(c, a[0]!, 'stream')?.value;
  if (!s) return;
  s.lastId = id(a[1]);
  for (let i = 2; i < a.length; i += 2) {
    const o = upper(a[i]);
    if (o === 'ENTRIESADDED') s.entriesAdded = int(a[i + 1]);
    else if (o === 'MAXDELETEDID') s.maxDeletedId = id(a[i + 1]);
  }
}

function group(s: StreamData, name: Buffer | undefined): StreamGroupData | undefined {
  return s.groups.get(bin(name ?? Buffer.alloc(0)));
}

function consumer(g: StreamGroupData, name: string, now: number) {
  let cons = g.consumers.get(name);
  if (!cons) {
    cons = { seenTime: now, activeTime: -1, pending: new Set() };
    g.consumers.set(name, cons);
  }
  return cons;
}

/** XGROUP CREATE | SETID | DESTROY | CREATECONSUMER | DELCONSUMER key group ... */
function xgroup(c: Ctx, a: Buffer[]): void {
  const sub = upper(a[0]);
  const key = a[1]!;
  if (sub === 'CREATE') {
    const mkstream = a.slice(4).some((x) => upper(x) === 'MKSTREAM');
    const s = mkstream ? lookupOrCreate(c, key, 'stream', () => new StreamData()).value : lookup(c, key, 'stream')?.value;
    if (!s) return;
    const raw = a[3]!.toString('latin1');
    const read = entriesRead(a, 4);
    s.groups.set(bin(a[2]!), {
      lastId: raw === '$' ? s.lastId : id(a[3]),
      entriesRead: read ?? (raw === '$' ? s.entriesAdded : -1),
      pending: new Map(),
      consumers: new Map(),
    });
    return;
  }
  const s = lookup(c, key, 'stream')?.value;
  if (!s) return;
  const g = group(s, a[2]);
  if (sub === 'DESTROY') {
    s.groups.delete(bin(a[2]!));
  } else if (!g) {
    return;
  } else if (sub === 'SETID') {
    const raw = a[3]!.toString('latin1');
    g.lastId = raw === '$' ? s.lastId : id(a[3]);
    g.entriesRead = entriesRead(a, 4) ?? (raw === '$' ? s.entriesAdded : -1);
  } else if (sub === 'CREATECONSUMER') {
    consumer(g, bin(a[3]!), c.now);
  } else if (sub === 'DELCONSUMER') {
    const name = bin(a[3]!);
    const cons = g.consumers.get(name);
    if (!cons) return;
    for (const p of cons.pending) g.pending.delete(p);
    g.consumers.delete(name);
  } else {
    throw new Unhandled(`XGROUP ${sub}`);
  }
}

function entriesRead(a: Buffer[], from: number): number | undefined {
  for (let i = from; i < a.length; i++) if (upper(a[i]) === 'ENTRIESREAD') return int(a[i + 1]);
  return undefined;
}

function xack(c: Ctx, a: Buffer[]): void {
  const s = lookup(c, a[0]!, 'stream')?.value;
  const g = s && group(s, a[1]);
  if (!g) return;
  for (let i = 2; i < a.length; i++) {
    const k = idString(id(a[i]));
    const p = g.pending.get(k);
    if (!p) continue;
    g.pending.delete(k);
    g.consumers.get(p.consumer)?.pending.delete(k);
  }
}

/** XCLAIM key group consumer min-idle-time id... [IDLE ms] [TIME ms] [RETRYCOUNT n] [FORCE] [JUSTID] [LASTID id] */
function xclaim(c: Ctx, a: Buffer[]): void {
  const s = lookup(c, a[0]!, 'stream')?.value;
  const g = s && group(s, a[1]);
  if (!s || !g) return;
  const name = bin(a[2]!);
  const ids: StreamId[] = [];
  let i = 4;
  for (; i < a.length; i++) {
    const parsed = parseId(a[i]!.toString('latin1'));
    if (!parsed) break;
    ids.push(parsed);
  }
  let time = c.now;
  let retry: number | undefined;
  let force = false;
  let justid = false;
  for (; i < a.length; i++) {
    const o = upper(a[i]);
    if (o === 'IDLE') time = c.now - int(a[++i]);
    else if (o === 'TIME') time = int(a[++i]);
    else if (o === 'RETRYCOUNT') retry = int(a[++i]);
    else if (o === 'FORCE') force = true;
    else if (o === 'JUSTID') justid = true;
    else if (o === 'LASTID') {
      const last = id(a[++i]);
      if (compareIds(last, g.lastId) > 0) g.lastId = last;
    } else throw new Unhandled(`XCLAIM option ${o}`);
  }
  for (const entry of ids) {
    const k = idString(entry);
    let p = g.pending.get(k);
    if (!s.has(entry)) {
      // Redis 7 drops the pending entry of a deleted stream entry when XCLAIM meets it (and
      // propagates that XCLAIM): the replica's stream lacks the entry too, so it does the same.
      if (p) {
        g.pending.delete(k);
        g.consumers.get(p.consumer)?.pending.delete(k);
      }
      continue;
    }
    if (!p) {
      if (!force) continue;
      p = { consumer: '', deliveryTime: time, deliveryCount: 0 };
      g.pending.set(k, p);
    }
    // The consumer is created only when it gets something, as in xclaimCommand.
    const cons = consumer(g, name, c.now);
    if (p.consumer !== name) g.consumers.get(p.consumer)?.pending.delete(k);
    p.consumer = name;
    p.deliveryTime = time;
    if (retry !== undefined) p.deliveryCount = retry;
    else if (!justid) p.deliveryCount++;
    cons.pending.add(k);
  }
}

export const streamCommands: Record<string, Handler> = {
  XADD: xadd,
  XDEL: xdel,
  XTRIM: xtrim,
  XSETID: xsetid,
  XGROUP: xgroup,
  XACK: xack,
  XCLAIM: xclaim,
};
