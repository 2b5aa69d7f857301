/**
 * Turns decoded encodings into the plain JS values of key events, and copies events for callers
 * that keep Buffers (`copyBuffers`). Pure functions; the parser owns the scratch arrays.
 */
import {
  QUICKLIST_NODE_CONTAINER_PACKED,
  QUICKLIST_NODE_CONTAINER_PLAIN,
  RDB_TYPE_HASH_LISTPACK,
  RDB_TYPE_HASH_LISTPACK_EX,
  RDB_TYPE_HASH_LISTPACK_EX_PRE_GA,
  RDB_TYPE_HASH_ZIPLIST,
  RDB_TYPE_HASH_ZIPMAP,
  RDB_TYPE_LIST_QUICKLIST,
  RDB_TYPE_LIST_QUICKLIST_2,
  RDB_TYPE_LIST_ZIPLIST,
  RDB_TYPE_SET_INTSET,
  RDB_TYPE_SET_LISTPACK,
  RDB_TYPE_ZSET_LISTPACK,
  RDB_TYPE_ZSET_ZIPLIST,
  rdbTypeName,
} from './constants.js';
import { asRdbError, EncodingError, keyPreview } from './errors.js';
import type { ElementCursor } from './encodings/cursor.js';
import { intsetItems } from './encodings/intset.js';
import { ListpackCursor } from './encodings/listpack.js';
import { itemBuffer, type Item } from './encodings/numbers.js';
import { ZiplistCursor } from './encodings/ziplist.js';
import { zipmapItems } from './encodings/zipmap.js';
import type { EncodedValue, HashEntry, RdbEvent, RdbValue, StreamValue, ZsetEntry } from './types.js';

/** What decoding reuses from one value to the next: one per parser, so nothing is allocated per blob. */
export class DecodeScratch {
  readonly lp = new ListpackCursor();
  readonly zl = new ZiplistCursor();
  readonly items: Item[] = [];
}

/** True for object types whose whole value is one encoded string (decoded by decodeBlobValue). */
export function isBlobType(type: number): boolean {
  return (type >= RDB_TYPE_HASH_ZIPMAP && type <= RDB_TYPE_HASH_ZIPLIST) || type === RDB_TYPE_HASH_LISTPACK ||
    type === RDB_TYPE_ZSET_LISTPACK || type === RDB_TYPE_SET_LISTPACK ||
    type === RDB_TYPE_HASH_LISTPACK_EX_PRE_GA || type === RDB_TYPE_HASH_LISTPACK_EX;
}

/** Decodes a blob-encoded value of `type` (ziplist, listpack, intset, zipmap). */
export function decodeBlobValue(type: number, blob: Buffer, scratch: DecodeScratch): RdbValue {
  const { lp, zl } = scratch;
  switch (type) {
    case RDB_TYPE_LIST_ZIPLIST:
      zl.open(blob, 0, blob.length);
      return toBuffers(zl, []);
    case RDB_TYPE_ZSET_ZIPLIST:
      zl.open(blob, 0, blob.length);
      return toZset(zl);
    case RDB_TYPE_HASH_ZIPLIST:
      zl.open(blob, 0, blob.length);
      return toHash(zl);
    case RDB_TYPE_HASH_LISTPACK:
      lp.open(blob, 0, blob.length);
      return toHash(lp);
    case RDB_TYPE_ZSET_LISTPACK:
      lp.open(blob, 0, blob.length);
      return toZset(lp);
    case RDB_TYPE_SET_LISTPACK:
      lp.open(blob, 0, blob.length);
      return toBuffers(lp, []);
    case RDB_TYPE_SET_INTSET: {
      const items = scratch.items;
      items.length = 0;
      intsetItems(blob, 0, blob.length, items);
      const out: Buffer[] = new Array(items.length);
      for (let i = 0; i < items.length; i++) out[i] = itemBuffer(items[i]!);
      return out;
    }
    case RDB_TYPE_HASH_ZIPMAP: {
      const items = scratch.items;
      items.length = 0;
      zipmapItems(blob, 0, blob.length, items);
      const out: HashEntry[] = [];
      for (let i = 0; i < items.length; i += 2) out.push([items[i] as Buffer, items[i + 1] as Buffer]);
      return out;
    }
    default:
      // RDB_TYPE_HASH_LISTPACK_EX(_PRE_GA): (field, value, ttl) triplets, ttl absolute ms, 0 = none.
      lp.open(blob, 0, blob.length);
      return toHashWithTtl(lp);
  }
}

/**
 * The value an `encoded` key event stands for, as the parser would have delivered it without the
 * option. With `encoded`, blobs are only checked when they are decoded: a corrupt one throws an
 * RdbError (ERR_RDB_INTEGRITY or ERR_RDB_ENCODING) naming the key and the event's offset when given.
 */
export function decodeEncoded(v: EncodedValue, at: { key?: Buffer; offset?: number } = {}, scratch: DecodeScratch = new DecodeScratch()): RdbValue {
  try {
    return decodeEncodedValue(v, scratch);
  } catch (err) {
    throw asRdbError(err, { offset: at.offset ?? -1, element: 'value', key: keyPreview(at.key), typeName: rdbTypeName(v.rdbType) });
  }
}

function decodeEncodedValue(v: EncodedValue, scratch: DecodeScratch): RdbValue {
  if (v.rdbType === RDB_TYPE_LIST_QUICKLIST) {
    const out: Buffer[] = [];
    for (const node of v.blobs) {
      scratch.zl.open(node, 0, node.length);
      toBuffers(scratch.zl, out);
    }
    return out;
  }
  if (v.rdbType === RDB_TYPE_LIST_QUICKLIST_2) {
    const out: Buffer[] = [];
    for (let i = 0; i < v.blobs.length; i++) {
      const node = v.blobs[i]!;
      const container = v.containers?.[i];
      if (container === QUICKLIST_NODE_CONTAINER_PLAIN) {
        out.push(node);
      } else if (container === QUICKLIST_NODE_CONTAINER_PACKED) {
        scratch.lp.open(node, 0, node.length);
        toBuffers(scratch.lp, out);
      } else {
        throw new EncodingError('ERR_RDB_INTEGRITY', `quicklist node container ${container} (1 plain or 2 packed expected)`);
      }
    }
    return out;
  }
  if (!isBlobType(v.rdbType) || v.blobs.length !== 1) {
    throw new EncodingError('ERR_RDB_INTEGRITY', `an encoded value of RDB type ${v.rdbType} with ${v.blobs.length} blobs`);
  }
  return decodeBlobValue(v.rdbType, v.blobs[0]!, scratch);
}

/** Appends the remaining elements of `c` to `out` as Buffers (integers as their decimal text). */
export function toBuffers(c: ElementCursor, out: Buffer[]): Buffer[] {
  while (c.next()) out.push(c.bytes());
  return out;
}

// Pairs go into arrays sized from the header's count when it gives one: an array grown by push
// starts with room for 17, several times what a small hash needs.
function toHash(c: ElementCursor): HashEntry[] {
  const out: HashEntry[] = c.declared > 0 ? new Array(c.declared >> 1) : [];
  let i = 0;
  while (c.next()) {
    const field = c.bytes();
    if (!c.next()) throw odd('hash', c.count);
    out[i++] = [field, c.bytes()];
  }
  return out;
}

function toZset(c: ElementCursor): ZsetEntry[] {
  const out: ZsetEntry[] = c.declared > 0 ? new Array(c.declared >> 1) : [];
  let i = 0;
  while (c.next()) {
    const member = c.bytes();
    if (!c.next()) throw odd('sorted set', c.count);
    out[i++] = [member, c.score()];
  }
  return out;
}

function odd(what: string, n: number): EncodingError {
  return new EncodingError('ERR_RDB_INTEGRITY', `${what} with an odd number of elements (${n})`);
}

function toHashWithTtl(c: ElementCursor): HashEntry[] {
  const out: HashEntry[] = [];
  while (c.next()) {
    const field = c.bytes();
    if (!c.next()) throw notTriplets(c.count);
    const value = c.bytes();
    if (!c.next()) throw notTriplets(c.count);
    if (!c.isInt) throw new EncodingError('ERR_RDB_INTEGRITY', 'hash field TTL is not an integer');
    const ttl = c.int;
    out.push(ttl === 0 ? [field, value] : [field, value, Number(ttl)]);
  }
  return out;
}

function notTriplets(n: number): EncodingError {
  return new EncodingError('ERR_RDB_INTEGRITY', `hash with field TTLs has ${n} elements, not a multiple of 3`);
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
    case 'key': {
      const encoded = ev.encoded && { ...ev.encoded, blobs: ev.encoded.blobs.map(copyBuf) };
      return { ...ev, key: copyBuf(ev.key), value: copyValue(ev.value), encoded } as RdbEvent;
    }
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
