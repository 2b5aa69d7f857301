/**
 * How the SQL targets store a value in the `value` column (BLOB in SQLite, bytea in PostgreSQL):
 * value format 1, chosen to be binary-safe (keys, members and values are arbitrary bytes, NUL
 * included, which PostgreSQL text and jsonb refuse), lossless, and cheap to write for millions of
 * keys. The `type` column says which layout the bytes follow:
 *
 *   string   the value's bytes, as they are (so `SELECT value` is the string)
 *   list     item*                                  in list order
 *   set      item*                                  in no particular order
 *   hash     (field item, value item)*              in no particular order
 *   zset     (member item, score)*                  in no particular order; score = float64 LE
 *   stream   varint n, n x entry, last-id, max-deleted-id, varint entries-added,
 *            varint g, g x group
 *              entry    id, varint pairs, pairs x (field item, value item)
 *              group    name item, last-id, varint entries-read+1 (0 = unknown),
 *                       varint p, p x (id, consumer item, varint delivery-ms, varint delivery-count),
 *                       varint c, c x (name item, varint seen-ms, varint active-ms+1 (0 = unknown))
 *
 *   item     varint length, then that many bytes
 *   varint   unsigned LEB128 (7 bits a byte, low bits first)
 *   id       16 bytes: ms and seq as unsigned 64-bit big-endian (so ids compare as bytes)
 *
 * Collections carry no item count: a value is items until its end, which lets a collection that
 * arrives in parts (a big key in the snapshot) be written as the concatenation of its parts.
 * Hash-field TTLs (Redis 7.4 RDB types) are not kept, as in the memory mirror. Module values are not
 * stored (counted in `unsupportedKeys`).
 *
 * decodeValue() turns a row back into Buffers for readers; decodeEntry()/encodeEntry() convert to
 * and from the memory mirror's in-memory form, on which the SQL targets apply collection commands.
 */
import type { StreamValue } from '../../../rdb/index.js';
import type { Entry, EntryType } from '../memory/dataset.js';
import { StreamData, type StreamId } from '../memory/stream-data.js';
import { ZSet } from '../memory/zset.js';
import { ByteReader, ByteWriter, ValueFormatError } from './bytes.js';

export { ValueFormatError };

/** The types a row can have (Redis's TYPE names). */
export type KeyType = EntryType;

export const KEY_TYPES: readonly KeyType[] = ['string', 'list', 'set', 'hash', 'zset', 'stream'];

/** A key's value as readers get it. zset members come in Redis's order (score, then member bytes). */
export type RedisValue =
  | { type: 'string'; value: Buffer }
  | { type: 'list'; value: Buffer[] }
  | { type: 'set'; value: Buffer[] }
  | { type: 'hash'; value: [field: Buffer, value: Buffer][] }
  | { type: 'zset'; value: [member: Buffer, score: number][] }
  | { type: 'stream'; value: StreamValue };

// -------------------------------------------------------------------------------------------------
// Stream ids

const U64 = 2n ** 64n;

/** 'ms-seq' -> 16 bytes. */
export function writeIdString(w: ByteWriter, id: string): void {
  const dash = id.indexOf('-');
  const ms = BigInt(dash < 0 ? id : id.slice(0, dash));
  const seq = dash < 0 ? 0n : BigInt(id.slice(dash + 1));
  if (ms < 0n || ms >= U64 || seq < 0n || seq >= U64) throw new ValueFormatError(`stream id out of range: ${id}`);
  w.u64be(ms);
  w.u64be(seq);
}

function writeId(w: ByteWriter, id: StreamId): void {
  w.u64be(id.ms);
  w.u64be(id.seq);
}

function readId(r: ByteReader): StreamId {
  return { ms: r.u64be(), seq: r.u64be() };
}

function idText(id: StreamId): string {
  return `${id.ms}-${id.seq}`;
}

// -------------------------------------------------------------------------------------------------
// Encoding

/** Appends the snapshot stream `v` (all its parts merged) in value format 1. */
export function encodeStreamValue(w: ByteWriter, v: StreamValue): void {
  w.varint(v.entries.length);
  for (const e of v.entries) {
    writeIdString(w, e.id);
    w.varint(e.fields.length);
    for (const [f, x] of e.fields) {
      w.item(f);
      w.item(x);
    }
  }
  writeIdString(w, v.lastId);
  writeIdString(w, v.maxDeletedId ?? '0-0');
  w.varint(v.entriesAdded ?? v.entries.length);
  w.varint(v.groups.length);
  for (const g of v.groups) {
    w.item(g.name);
    writeIdString(w, g.lastId);
    w.varint(g.entriesRead === undefined || g.entriesRead < 0 ? 0 : g.entriesRead + 1);
    const owner = new Map<string, Buffer>();
    for (const c of g.consumers) for (const id of c.pending) owner.set(id, c.name);
    w.varint(g.pending.length);
    for (const p of g.pending) {
      writeIdString(w, p.id);
      w.item(owner.get(p.id) ?? Buffer.alloc(0));
      w.varint(Math.max(0, p.deliveryTime));
      w.varint(Math.max(0, p.deliveryCount));
    }
    w.varint(g.consumers.length);
    for (const c of g.consumers) {
      w.item(c.name);
      w.varint(Math.max(0, c.seenTime));
      w.varint(c.activeTime === undefined || c.activeTime < 0 ? 0 : c.activeTime + 1);
    }
  }
}

function encodeStreamData(w: ByteWriter, s: StreamData): void {
  w.varint(s.entries.length);
  for (const e of s.entries) {
    writeId(w, e.id);
    w.varint(e.fields.length >> 1);
    for (const f of e.fields) w.itemLatin1(f);
  }
  writeId(w, s.lastId);
  writeId(w, s.maxDeletedId);
  w.varint(s.entriesAdded);
  w.varint(s.groups.size);
  for (const [name, g] of s.groups) {
    w.itemLatin1(name);
    writeId(w, g.lastId);
    w.varint(g.entriesRead < 0 ? 0 : g.entriesRead + 1);
    w.varint(g.pending.size);
    for (const [id, p] of g.pending) {
      writeIdString(w, id);
      w.itemLatin1(p.consumer);
      w.varint(Math.max(0, p.deliveryTime));
      w.varint(Math.max(0, p.deliveryCount));
    }
    w.varint(g.consumers.size);
    for (const [cname, c] of g.consumers) {
      w.itemLatin1(cname);
      w.varint(Math.max(0, c.seenTime));
      w.varint(c.activeTime < 0 ? 0 : c.activeTime + 1);
    }
  }
}

/** Appends a memory-mirror entry's value in value format 1. */
export function encodeEntry(w: ByteWriter, e: Entry): void {
  switch (e.type) {
    case 'string':
      w.bytes(e.value);
      return;
    case 'list':
      for (const it of e.value) w.itemLatin1(it);
      return;
    case 'set':
      for (const it of e.value) w.itemLatin1(it);
      return;
    case 'hash':
      for (const [f, v] of e.value) {
        w.itemLatin1(f);
        w.itemLatin1(v);
      }
      return;
    case 'zset':
      for (const [m, s] of e.value.scores) {
        w.itemLatin1(m);
        w.f64le(s);
      }
      return;
    default:
      encodeStreamData(w, e.value);
  }
}

// -------------------------------------------------------------------------------------------------
// Decoding

function checkType(type: string): KeyType {
  if (!(KEY_TYPES as readonly string[]).includes(type)) throw new ValueFormatError(`unknown type ${JSON.stringify(type)}`);
  return type as KeyType;
}

/** A row's value as the memory mirror's entry (binary strings), for commands to work on. */
export function decodeEntry(type: string, value: Buffer, expiresAt: number | undefined): Entry {
  const r = new ByteReader(value);
  switch (checkType(type)) {
    case 'string':
      return { type: 'string', value: Buffer.from(value), expiresAt };
    case 'list': {
      const items: string[] = [];
      while (!r.done) items.push(r.itemLatin1());
      return { type: 'list', value: items, expiresAt };
    }
    case 'set': {
      const s = new Set<string>();
      while (!r.done) s.add(r.itemLatin1());
      return { type: 'set', value: s, expiresAt };
    }
    case 'hash': {
      const h = new Map<string, string>();
      while (!r.done) h.set(r.itemLatin1(), r.itemLatin1());
      return { type: 'hash', value: h, expiresAt };
    }
    case 'zset': {
      const pairs: [string, number][] = [];
      while (!r.done) pairs.push([r.itemLatin1(), r.f64le()]);
      const z = new ZSet();
      z.bulkSet(pairs);
      return { type: 'zset', value: z, expiresAt };
    }
    default:
      return { type: 'stream', value: decodeStreamData(r), expiresAt };
  }
}

function decodeStreamData(r: ByteReader): StreamData {
  const s = new StreamData();
  const n = r.varint();
  for (let i = 0; i < n; i++) {
    const id = readId(r);
    const pairs = r.varint();
    const fields: string[] = new Array(pairs * 2);
    for (let j = 0; j < pairs * 2; j++) fields[j] = r.itemLatin1();
    s.entries.push({ id, fields });
  }
  s.lastId = readId(r);
  s.maxDeletedId = readId(r);
  s.entriesAdded = r.varint();
  const groups = r.varint();
  for (let i = 0; i < groups; i++) {
    const name = r.itemLatin1();
    const lastId = readId(r);
    const entriesRead = r.varint() - 1;
    const pending = new Map<string, { consumer: string; deliveryTime: number; deliveryCount: number }>();
    const np = r.varint();
    for (let j = 0; j < np; j++) {
      const id = idText(readId(r));
      pending.set(id, { consumer: r.itemLatin1(), deliveryTime: r.varint(), deliveryCount: r.varint() });
    }
    const consumers = new Map<string, { seenTime: number; activeTime: number; pending: Set<string> }>();
    const nc = r.varint();
    for (let j = 0; j < nc; j++) {
      consumers.set(r.itemLatin1(), { seenTime: r.varint(), activeTime: r.varint() - 1, pending: new Set() });
    }
    for (const [id, p] of pending) consumers.get(p.consumer)?.pending.add(id);
    s.groups.set(name, { lastId, entriesRead, pending, consumers });
  }
  if (!r.done) throw new ValueFormatError('bytes left after a stream value');
  return s;
}

function zorder(a: [Buffer, number], b: [Buffer, number]): number {
  return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : Buffer.compare(a[0], b[0]);
}

/**
 * A row's value for readers: Buffers (views into `value`; copy what you keep), zset members in
 * Redis's order, the stream with ids as 'ms-seq' text.
 */
export function decodeValue(type: string, value: Buffer): RedisValue {
  const r = new ByteReader(value);
  switch (checkType(type)) {
    case 'string':
      return { type: 'string', value };
    case 'list':
    case 'set': {
      const items: Buffer[] = [];
      while (!r.done) items.push(r.item());
      return { type: type as 'list' | 'set', value: items };
    }
    case 'hash': {
      const pairs: [Buffer, Buffer][] = [];
      while (!r.done) pairs.push([r.item(), r.item()]);
      return { type: 'hash', value: pairs };
    }
    case 'zset': {
      const pairs: [Buffer, number][] = [];
      while (!r.done) pairs.push([r.item(), r.f64le()]);
      return { type: 'zset', value: pairs.sort(zorder) };
    }
    default: {
      const s = decodeStreamData(r);
      const bytes = (x: string) => Buffer.from(x, 'latin1');
      const entries = s.entries.map((e) => {
        const fields: [Buffer, Buffer][] = [];
        for (let i = 0; i < e.fields.length; i += 2) fields.push([bytes(e.fields[i]!), bytes(e.fields[i + 1]!)]);
        return { id: idText(e.id), fields };
      });
      return {
        type: 'stream',
        value: {
          entries,
          length: entries.length,
          lastId: idText(s.lastId),
          ...(entries.length > 0 ? { firstId: entries[0]!.id } : {}),
          maxDeletedId: idText(s.maxDeletedId),
          entriesAdded: s.entriesAdded,
          groups: [...s.groups].map(([name, g]) => ({
            name: bytes(name),
            lastId: idText(g.lastId),
            entriesRead: g.entriesRead,
            pending: [...g.pending].map(([id, p]) => ({ id, deliveryTime: p.deliveryTime, deliveryCount: p.deliveryCount })),
            consumers: [...g.consumers].map(([cname, c]) => ({ name: bytes(cname), seenTime: c.seenTime, activeTime: c.activeTime, pending: [...c.pending] })),
          })),
        },
      };
    }
  }
}
