/**
 * Turns decoded encodings into the plain JS values of key events, and copies events for callers
 * that keep Buffers (`copyBuffers`). Pure functions; the parser owns the scratch arrays.
 */
import {
  RDB_TYPE_HASH_LISTPACK,
  RDB_TYPE_HASH_LISTPACK_EX,
  RDB_TYPE_HASH_LISTPACK_EX_PRE_GA,
  RDB_TYPE_HASH_ZIPLIST,
  RDB_TYPE_HASH_ZIPMAP,
  RDB_TYPE_LIST_ZIPLIST,
  RDB_TYPE_SET_INTSET,
  RDB_TYPE_SET_LISTPACK,
  RDB_TYPE_ZSET_LISTPACK,
  RDB_TYPE_ZSET_ZIPLIST,
} from './constants.js';
import { EncodingError } from './errors.js';
import { intsetItems } from './encodings/intset.js';
import { listpackItems } from './encodings/listpack.js';
import { itemBuffer, itemScore, type Item } from './encodings/numbers.js';
import { ziplistItems } from './encodings/ziplist.js';
import { zipmapItems } from './encodings/zipmap.js';
import type { HashEntry, RdbEvent, RdbValue, StreamValue, ZsetEntry } from './types.js';

/** True for object types whose whole value is one encoded string (decoded by decodeBlobValue). */
export function isBlobType(type: number): boolean {
  return (type >= RDB_TYPE_HASH_ZIPMAP && type <= RDB_TYPE_HASH_ZIPLIST) || type === RDB_TYPE_HASH_LISTPACK ||
    type === RDB_TYPE_ZSET_LISTPACK || type === RDB_TYPE_SET_LISTPACK ||
    type === RDB_TYPE_HASH_LISTPACK_EX_PRE_GA || type === RDB_TYPE_HASH_LISTPACK_EX;
}

/** Decodes a blob-encoded value of `type` (ziplist, listpack, intset, zipmap). */
export function decodeBlobValue(type: number, blob: Buffer, scratch: Item[]): RdbValue {
  scratch.length = 0;
  switch (type) {
    case RDB_TYPE_HASH_ZIPMAP:
      zipmapItems(blob, 0, blob.length, scratch);
      return toHash(scratch);
    case RDB_TYPE_LIST_ZIPLIST:
      ziplistItems(blob, 0, blob.length, scratch);
      return toBuffers(scratch, []);
    case RDB_TYPE_SET_INTSET:
      intsetItems(blob, 0, blob.length, scratch);
      return toBuffers(scratch, []);
    case RDB_TYPE_ZSET_ZIPLIST:
      ziplistItems(blob, 0, blob.length, scratch, true);
      return toZset(scratch);
    case RDB_TYPE_HASH_ZIPLIST:
      ziplistItems(blob, 0, blob.length, scratch);
      return toHash(scratch);
    case RDB_TYPE_HASH_LISTPACK:
      listpackItems(blob, 0, blob.length, scratch);
      return toHash(scratch);
    case RDB_TYPE_ZSET_LISTPACK:
      listpackItems(blob, 0, blob.length, scratch, true);
      return toZset(scratch);
    case RDB_TYPE_SET_LISTPACK:
      listpackItems(blob, 0, blob.length, scratch);
      return toBuffers(scratch, []);
    default:
      // RDB_TYPE_HASH_LISTPACK_EX(_PRE_GA): (field, value, ttl) triplets, ttl absolute ms, 0 = none.
      listpackItems(blob, 0, blob.length, scratch);
      return toHashWithTtl(scratch);
  }
}

/** Appends the decimal text or bytes of each item to `out`. */
export function toBuffers(items: Item[], out: Buffer[]): Buffer[] {
  for (let i = 0; i < items.length; i++) out.push(itemBuffer(items[i]!));
  return out;
}

function toHash(items: Item[]): HashEntry[] {
  const n = items.length;
  if (n & 1) throw new EncodingError('ERR_RDB_INTEGRITY', `hash with an odd number of elements (${n})`);
  const out: HashEntry[] = new Array(n >> 1);
  for (let i = 0; i < n; i += 2) out[i >> 1] = [itemBuffer(items[i]!), itemBuffer(items[i + 1]!)];
  return out;
}

function toZset(items: Item[]): ZsetEntry[] {
  const n = items.length;
  if (n & 1) throw new EncodingError('ERR_RDB_INTEGRITY', `sorted set with an odd number of elements (${n})`);
  const out: ZsetEntry[] = new Array(n >> 1);
  for (let i = 0; i < n; i += 2) out[i >> 1] = [itemBuffer(items[i]!), itemScore(items[i + 1]!)];
  return out;
}

function toHashWithTtl(items: Item[]): HashEntry[] {
  const n = items.length;
  if (n % 3) throw new EncodingError('ERR_RDB_INTEGRITY', `hash with field TTLs has ${n} elements, not a multiple of 3`);
  const out: HashEntry[] = [];
  for (let i = 0; i < n; i += 3) {
    const ttl = items[i + 2]!;
    if (typeof ttl === 'object') throw new EncodingError('ERR_RDB_INTEGRITY', 'hash field TTL is not an integer');
    const field = itemBuffer(items[i]!);
    const value = itemBuffer(items[i + 1]!);
    out.push(ttl === 0 ? [field, value] : [field, value, Number(ttl)]);
  }
  return out;
}

function copyBuf(b: Buffer): Buffer {
  return Buffer.from(b);
}

/** A deep copy of an event whose Buffers no longer share memory with the input. */
export function copyEvent(ev: RdbEvent): RdbEvent {
  switch (ev.kind) {
    case 'aux':
      return { ...ev, value: copyBuf(ev.value) };
    case 'function':
      return ev.description ? { ...ev, code: copyBuf(ev.code), description: copyBuf(ev.description) } : { ...ev, code: copyBuf(ev.code) };
    case 'module-aux':
      return { ...ev, raw: copyBuf(ev.raw) };
    case 'key':
      return { ...ev, key: copyBuf(ev.key), value: copyValue(ev.value) } as RdbEvent;
    default:
      return ev;
  }
}

function copyValue(v: RdbValue | undefined): RdbValue | undefined {
  if (v === undefined) return v;
  if (Buffer.isBuffer(v)) return copyBuf(v);
  if (Array.isArray(v)) {
    return (v as unknown[]).map((x) => (Buffer.isBuffer(x) ? copyBuf(x) : (x as unknown[]).map((y) => (Buffer.isBuffer(y) ? copyBuf(y) : y)))) as RdbValue;
  }
  if ('entries' in v) {
    const s = v as StreamValue;
    return {
      ...s,
      entries: s.entries.map((e) => ({ id: e.id, fields: e.fields.map(([f, x]) => [copyBuf(f), copyBuf(x)] as [Buffer, Buffer]) })),
      groups: s.groups.map((g) => ({
        ...g,
        name: copyBuf(g.name),
        pending: g.pending.map((p) => ({ ...p })),
        consumers: g.consumers.map((c) => ({ ...c, name: copyBuf(c.name), pending: [...c.pending] })),
      })),
    };
  }
  return { ...v, raw: copyBuf(v.raw) };
}
