/**
 * The memory mirror's data: databases of keys, each key an Entry with its type, value and expiry.
 *
 * Keys, members, fields and list items are "binary strings": Buffer.toString('latin1'), one char per
 * byte. That keeps them binary-safe, lets Map and Set hash them by content, compares them in byte
 * order with `<` (what Redis's memcmp does) and stores them as V8's compact one-byte strings. String
 * values stay Buffers (they can be up to 512 MB, beyond V8's string limit, and SETRANGE/APPEND edit
 * them).
 */
import { ByteKeyMap } from './byte-key-map.js';
import { PackedStore, type Packed } from './packed-store.js';
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

/** Makes a PackedEntry's value from what it holds packed: one function per packed form, shared by every entry. */
export type Unpack = (packed: string | string[]) => Entry['value'];

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
  #unpack: Unpack | undefined;
  #value: Entry['value'] | undefined;

  constructor(type: EntryType, expiresAt: number | undefined, packed: string | string[], unpack: Unpack) {
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

  /** A string value's binary string while it has not been decoded, else undefined. */
  packedString(): string | undefined {
    return this.type === 'string' && typeof this.#packed === 'string' ? this.#packed : undefined;
  }

  /** What this entry holds while it has not been decoded, else undefined. */
  packedForm(): Packed | undefined {
    return this.#packed === undefined ? undefined : { type: this.type, expiresAt: this.expiresAt, packed: this.#packed, unpack: this.#unpack! };
  }

  static of(p: Packed): Entry {
    return new PackedEntry(p.type, p.expiresAt, p.packed, p.unpack) as unknown as Entry;
  }
}
/** One database's keys, as the command handlers use them: a Keyspace here, an overlay in the SQL targets. */
export interface Db {
  readonly size: number;
  get(key: string): Entry | undefined;
  has(key: string): boolean;
  set(key: string, entry: Entry): unknown;
  delete(key: string): boolean;
  clear(): void;
  [Symbol.iterator](): IterableIterator<[string, Entry]>;
}

/**
 * One database of the mirror, in three parts; a key lives in exactly one of them.
 *
 * - The snapshot's keys whose values are still packed go into a PackedStore, off the V8 heap: a
 *   full collection of a 2-million-key mirror would otherwise mark ~6 million objects, one pause of
 *   300 ms on 2 busy cores. A command or read that touches such a key takes it out and moves it to
 *   `added`, where commands edit it in place.
 * - The snapshot's other keys (collections decoded while loading, streams, values over 64 MB) go
 *   into one Map, which loads as fast as anything in JavaScript and is only updated and deleted from
 *   afterwards, so it never grows.
 * - Keys added after the load go into a ByteKeyMap, which keeps their bytes off the V8 heap too. Why:
 *   under the live stream every new key kept as a string, with the Map tables growing around it, is
 *   copied twice by the young-generation collector, and those scavenges were the mirror's lag tail
 *   (3-7 ms stops every ~0.3 s at 50 000 writes/s); a Map also rehashes its whole table when it fills
 *   (~20 ms at 262 144 keys, ~270 ms at 2 million), where Redis rehashes incrementally. The
 *   ByteKeyMap's table is rebuilt from stored hashes, a few ms at a million keys.
 */
export class Keyspace implements Db {
  readonly #base = new Map<string, Slot>();
  #packed: PackedStore | null = null;
  #added: ByteKeyMap<Slot> | null = null;
  #loading: boolean;

  /** @param loading true while a snapshot fills it (see the parts above). */
  constructor(loading = false) {
    this.#loading = loading;
  }

  /** The snapshot is in: from now on, new keys go to `added`. */
  seal(): void {
    this.#loading = false;
  }

  get size(): number {
    return this.#base.size + (this.#packed === null ? 0 : this.#packed.size) + (this.#added === null ? 0 : this.#added.size);
  }

  get(key: string): Entry | undefined {
    const s = this.#base.get(key);
    if (s !== undefined) return typeof s === 'string' ? expand(this.#base, key, s) : s;
    if (this.#packed !== null) {
      const p = this.#packed.take(key);
      if (p !== undefined) {
        const e = PackedEntry.of(p);
        (this.#added ??= new ByteKeyMap<Slot>()).set(key, e);
        return e;
      }
    }
    if (this.#added === null) return undefined;
    const t = this.#added.get(key);
    return typeof t === 'string' ? expand(this.#added, key, t) : t;
  }

  has(key: string): boolean {
    return this.#base.has(key) || (this.#packed !== null && this.#packed.has(key)) || (this.#added !== null && this.#added.has(key));
  }

  set(key: string, entry: Entry): this {
    if (this.#loading) {
      const p = entry instanceof PackedEntry ? entry.packedForm() : undefined;
      if (p !== undefined && !this.#base.has(key) && !(this.#added !== null && this.#added.has(key))) {
        (this.#packed ??= new PackedStore()).add(key, p);
        return this;
      }
    }
    const slot = compact(entry);
    if (this.#base.size > 0 && this.#base.has(key)) {
      this.#base.set(key, slot);
      return this;
    }
    this.#packed?.delete(key);
    if (this.#loading && !(this.#added !== null && this.#added.has(key))) this.#base.set(key, slot);
    else (this.#added ??= new ByteKeyMap<Slot>()).set(key, slot);
    return this;
  }

  delete(key: string): boolean {
    return this.#base.delete(key) || (this.#packed !== null && this.#packed.delete(key)) || (this.#added !== null && this.#added.delete(key));
  }

  clear(): void {
    this.#base.clear();
    this.#packed = null;
    this.#added = null;
  }

  /** Entries made for packed keys and compact slots here are not stored: iteration only reads. */
  *[Symbol.iterator](): IterableIterator<[string, Entry]> {
    for (const [k, s] of this.#base) yield [k, typeof s === 'string' ? packedStringEntry(s) : s];
    if (this.#packed !== null) for (const [k, p] of this.#packed) yield [k, PackedEntry.of(p)];
    if (this.#added !== null) for (const [k, s] of this.#added) yield [k, typeof s === 'string' ? packedStringEntry(s) : s];
  }
}

/**
 * What a Keyspace holds for a key: its Entry, or, for a string value with no expiry that nothing has
 * decoded, just the packed binary string. Most keys of a big mirror are such strings, loaded or SET and
 * never touched again: one heap object each instead of two is less for the load to allocate and for the
 * garbage collector to copy out of the young generation on every write. The Entry is made again (and
 * kept) when a command or a read touches the key.
 */
type Slot = Entry | string;

function compact(e: Entry): Slot {
  if (e.expiresAt !== undefined || !(e instanceof PackedEntry)) return e;
  return e.packedString() ?? e;
}

function expand(m: { set(key: string, slot: Slot): unknown }, key: string, packed: string): Entry {
  const e = packedStringEntry(packed);
  m.set(key, e);
  return e;
}

export class Dataset {
  readonly dbs = new Map<number, Db>();
  #loading: boolean;

  /** @param loading true for the dataset a full sync fills (see Keyspace); seal() when it is complete. */
  constructor(loading = false) {
    this.#loading = loading;
  }

  /** The database, created on first use. */
  db(n: number): Db {
    let db = this.dbs.get(n);
    if (!db) {
      db = new Keyspace(this.#loading);
      this.dbs.set(n, db);
    }
    return db;
  }

  /** The snapshot is complete: keys added from now on are the live stream's. */
  seal(): void {
    this.#loading = false;
    for (const db of this.dbs.values()) if (db instanceof Keyspace) db.seal();
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

/** The Entry of a string value given as its packed binary string. */
function packedStringEntry(packed: string): Entry {
  return new PackedEntry('string', undefined, packed, unpackString) as unknown as Entry;
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
