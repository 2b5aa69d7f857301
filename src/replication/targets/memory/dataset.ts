/**
 * The memory mirror's data: databases of keys, each key an Entry with its type, value and expiry.
 *
 * Keys, members, fields and list items are "binary strings": Buffer.toString('latin1'), one char per
 * byte. That keeps them binary-safe, lets Map and Set hash them by content, compares them in byte
 * order with `<` (what Redis's memcmp does) and stores them as V8's compact one-byte strings. String
 * values stay Buffers (they can be up to 512 MB, beyond V8's string limit, and SETRANGE/APPEND edit
 * them).
 */
import { ZSet } from './zset.js';
import type { StreamData } from './stream-data.js';

/**
 * A hash's fields, and (Redis 7.4 hash-field expiry) the absolute expiry in ms of the fields that
 * have one. Only hashes with field TTLs carry `fieldExpiresAt`; reads hide expired fields, writes
 * apply to them (the master's HDEL removes them, as for keys).
 */
export type HashValue = Map<string, string> & { fieldExpiresAt?: Map<string, number> };

export type Entry =
  | { type: 'string'; value: Buffer; expiresAt: number | undefined }
  | { type: 'list'; value: string[]; expiresAt: number | undefined }
  | { type: 'set'; value: Set<string>; expiresAt: number | undefined }
  | { type: 'hash'; value: HashValue; expiresAt: number | undefined }
  | { type: 'zset'; value: ZSet; expiresAt: number | undefined }
  | { type: 'stream'; value: StreamData; expiresAt: number | undefined };

export type EntryType = Entry['type'];

/**
 * A snapshot key whose value is kept as the snapshot had it until first used: a string value as a
 * binary string, a small collection as its RDB blobs (listpack, ziplist, intset, quicklist nodes).
 * Reading or assigning `value` decodes it once into the Entry form and drops the packed bytes.
 *
 * Why: a full sync of millions of keys would otherwise build every small hash, list and zset as
 * Maps, arrays and strings (a dozen heap objects each) that most mirrors never read; two compact
 * strings per key load several times faster and leave the garbage collector far less to trace.
 * It is what Redis does itself: small collections stay listpacks in memory.
 */
export class PackedEntry {
  readonly type: EntryType;
  expiresAt: number | undefined;
  #packed: string | string[] | undefined;
  #unpack: ((packed: string | string[]) => Entry['value']) | undefined;
  #value: Entry['value'] | undefined;

  constructor(type: EntryType, expiresAt: number | undefined, packed: string | string[], unpack: (packed: string | string[]) => Entry['value']) {
    this.type = type;
    this.expiresAt = expiresAt;
    this.#packed = packed;
    this.#unpack = unpack;
  }

  get value(): Entry['value'] {
    if (this.#packed !== undefined) {
      this.#value = this.#unpack!(this.#packed);
      this.#packed = undefined;
      this.#unpack = undefined;
    }
    return this.#value!;
  }

  set value(v: Entry['value']) {
    this.#packed = undefined;
    this.#unpack = undefined;
    this.#value = v;
  }

  /** True while the value has not been decoded yet. */
  get packed(): boolean {
    return this.#packed !== undefined;
  }
}
export type Db = Map<string, Entry>;

export class Dataset {
  readonly dbs = new Map<number, Db>();

  /** The database, created on first use. */
  db(n: number): Db {
    let db = this.dbs.get(n);
    if (!db) {
      db = new Map();
      this.dbs.set(n, db);
    }
    return db;
  }

  /** Total keys (expired ones not yet deleted included). */
  get size(): number {
    let n = 0;
    for (const db of this.dbs.values()) n += db.size;
    return n;
  }
}

/** Strings longer than this stay Buffers: V8's strings end just short of Redis's 512 MB values. */
const PACK_STRING_MAX = 64 << 20;

const unpackString = (s: string | string[]): Entry['value'] => bytes(s as string);

/**
 * A string entry holding a copy of `value`: packed as a binary string (a third of a Buffer's heap
 * footprint, which the young-generation GC copies for every key written), unpacked on first use.
 */
export function stringEntry(value: Buffer, expiresAt: number | undefined): Entry {
  if (value.length > PACK_STRING_MAX) return { type: 'string', value: Buffer.from(value), expiresAt };
  return new PackedEntry('string', expiresAt, value.toString('latin1'), unpackString) as unknown as Entry;
}

/** A binary string from bytes. */
export function bin(b: Buffer): string {
  return b.toString('latin1');
}

/** Bytes from a binary string. */
export function bytes(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

/** A key's binary string from what a caller of the read API passes: text is taken as UTF-8. */
export function keyOf(key: string | Buffer): string {
  return typeof key === 'string' ? Buffer.from(key, 'utf8').toString('latin1') : key.toString('latin1');
}

/** True when a collection entry holds nothing any more (Redis deletes such keys). */
export function isEmpty(e: Entry): boolean {
  switch (e.type) {
    case 'string':
      return false;
    case 'list':
      return e.value.length === 0;
    case 'stream':
      return false; // an empty stream is a stream
    case 'zset':
      return e.value.size === 0;
    default:
      return e.value.size === 0;
  }
}

/** A deep copy (COPY, and nothing else: everything else moves entries). */
export function cloneEntry(e: Entry): Entry {
  switch (e.type) {
    case 'string':
      return { type: 'string', value: Buffer.from(e.value), expiresAt: e.expiresAt };
    case 'list':
      return { type: 'list', value: e.value.slice(), expiresAt: e.expiresAt };
    case 'set':
      return { type: 'set', value: new Set(e.value), expiresAt: e.expiresAt };
    case 'hash': {
      const h: HashValue = new Map(e.value);
      if (e.value.fieldExpiresAt) h.fieldExpiresAt = new Map(e.value.fieldExpiresAt);
      return { type: 'hash', value: h, expiresAt: e.expiresAt };
    }
    case 'zset':
      return { type: 'zset', value: e.value.clone(), expiresAt: e.expiresAt };
    default:
      return { type: 'stream', value: e.value.clone(), expiresAt: e.expiresAt };
  }
}

export { ZSet };
