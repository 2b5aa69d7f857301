/**
 * The snapshot's keys whose values are still packed (a string value, or a small collection's RDB
 * blobs), held as bytes outside the V8 heap until a command or a read takes them out.
 *
 * Why: a 2-million-key mirror kept on the heap is ~6 million objects (key strings, packed strings,
 * PackedEntry objects, Map entries). V8 must mark all of them in every full collection: ~300 ms of
 * marking for the 0.5 GB heap, which on 2 busy cores V8 finishes in one pause of 300-350 ms
 * (measured with --trace-gc-nvp at 100 000 writes/s: mark.full_closure_parallel). Here a key costs
 * the heap a few small integers in pages that hold no pointers (its key map's slot); its key and
 * value bytes sit in ByteArenas, its type, places and expiry in typed-array pages, all from
 * off-heap.ts (memory V8's collection heuristics do not count, so the load's few hundred MB start no
 * collection later on). A full collection then has little to mark.
 *
 * Only the snapshot fills it (add), and it only shrinks afterwards: a key a command touches is taken
 * out (take) and lives on the heap from then on, where commands edit it in place.
 */
import { ByteArena, PAGE, PAGE_BITS, PAGE_MASK } from './byte-arena.js';
import { ByteKeyMap } from './byte-key-map.js';
import { offHeapFloat64, offHeapInt32 } from './off-heap.js';
import type { EntryType, Unpack } from './dataset.js';

/** A value as PackedEntry holds it before its first use. */
export interface Packed {
  type: EntryType;
  expiresAt: number | undefined;
  packed: string | string[];
  unpack: Unpack;
}

const TYPES: readonly EntryType[] = ['string', 'list', 'set', 'hash', 'zset', 'stream'];
/** meta = type index | (blob count + 1, or 0 for one blob given as a string) << 3 | unpacker index << 20. */
const BLOBS_SHIFT = 3;
const BLOBS_MASK = (1 << 17) - 1;
const UNPACK_SHIFT = 20;

export class PackedStore {
  /** Key -> record number. */
  readonly #keys = new ByteKeyMap<number>();
  readonly #bytes = new ByteArena();
  // Records, by page, in typed arrays: nothing here is on the V8 heap.
  #meta: Int32Array[] = [];
  #places: Float64Array[] = [];
  /** Payload length; -1 for a free record. */
  #lengths: Int32Array[] = [];
  #expiries: Float64Array[] = [];
  #records = 0;
  /** Freed records, to be used again. */
  #unused: number[] = [];
  /** The few distinct unpack functions (one per RDB type), by index. */
  readonly #unpackers: Unpack[] = [];

  get size(): number {
    return this.#keys.size;
  }

  has(key: string): boolean {
    return this.#keys.has(key);
  }

  /** Stores `key`'s packed value, replacing any it had. */
  add(key: string, v: Packed): void {
    const blobs = typeof v.packed === 'string' ? 0 : v.packed.length + 1;
    if (blobs > BLOBS_MASK) throw new RangeError(`a packed value of ${blobs} blobs`);
    let u = this.#unpackers.indexOf(v.unpack);
    if (u < 0) u = this.#unpackers.push(v.unpack) - 1;
    const payload = typeof v.packed === 'string' ? v.packed : joinBlobs(v.packed);
    const r = this.#unused.length > 0 ? this.#unused.pop()! : this.#records++;
    const p = r >>> PAGE_BITS;
    const o = r & PAGE_MASK;
    if (p === this.#meta.length) {
      this.#meta.push(offHeapInt32(PAGE));
      this.#places.push(offHeapFloat64(PAGE));
      this.#lengths.push(offHeapInt32(PAGE).fill(-1));
      this.#expiries.push(offHeapFloat64(PAGE));
    }
    this.#meta[p]![o] = TYPES.indexOf(v.type) | (blobs << BLOBS_SHIFT) | (u << UNPACK_SHIFT);
    this.#places[p]![o] = this.#bytes.put(payload);
    this.#lengths[p]![o] = payload.length;
    this.#expiries[p]![o] = v.expiresAt ?? NaN;
    const old = this.#keys.replace(key, r);
    if (old !== undefined) this.#free(old);
  }

  /** Removes `key` and returns its packed value. */
  take(key: string): Packed | undefined {
    const r = this.#keys.take(key);
    if (r === undefined) return undefined;
    const v = this.#read(r);
    this.#free(r);
    return v;
  }

  delete(key: string): boolean {
    const r = this.#keys.take(key);
    if (r === undefined) return false;
    this.#free(r);
    return true;
  }

  clear(): void {
    this.#keys.clear();
    this.#bytes.clear();
    this.#meta = [];
    this.#places = [];
    this.#lengths = [];
    this.#expiries = [];
    this.#records = 0;
    this.#unused = [];
  }

  /** Every key with its packed value, read afresh (the store keeps them). */
  *entries(): IterableIterator<[string, Packed]> {
    for (const [key, r] of this.#keys) yield [key, this.#read(r)];
  }

  [Symbol.iterator](): IterableIterator<[string, Packed]> {
    return this.entries();
  }

  /** Payload bytes held, live and left behind (diagnostics and tests). */
  get bytes(): { live: number; dead: number; chunks: number } {
    return this.#bytes.bytes;
  }

  #read(r: number): Packed {
    const p = r >>> PAGE_BITS;
    const o = r & PAGE_MASK;
    const meta = this.#meta[p]![o]!;
    const payload = this.#bytes.read(this.#places[p]![o]!, this.#lengths[p]![o]!);
    const blobs = (meta >>> BLOBS_SHIFT) & BLOBS_MASK;
    const expiresAt = this.#expiries[p]![o]!;
    return {
      type: TYPES[meta & 7]!,
      expiresAt: Number.isNaN(expiresAt) ? undefined : expiresAt,
      packed: blobs === 0 ? payload : splitBlobs(payload, blobs - 1),
      unpack: this.#unpackers[meta >>> UNPACK_SHIFT]!,
    };
  }

  /** Frees record `r` (its key already gone); its payload bytes stay behind until compaction. */
  #free(r: number): void {
    const p = r >>> PAGE_BITS;
    const o = r & PAGE_MASK;
    this.#bytes.release(this.#lengths[p]![o]!);
    this.#lengths[p]![o] = -1;
    this.#unused.push(r);
    if (this.#bytes.wasteful) this.#bytes.compact(this.#places, this.#lengths, this.#records);
  }
}

/** Blobs as one binary string: each one's length in 4 bytes (big-endian), then its bytes. */
function joinBlobs(blobs: readonly string[]): string {
  let s = '';
  for (const b of blobs) s += String.fromCharCode((b.length >>> 24) & 0xff, (b.length >>> 16) & 0xff, (b.length >>> 8) & 0xff, b.length & 0xff) + b;
  return s;
}

function splitBlobs(s: string, count: number): string[] {
  const out: string[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const n = ((s.charCodeAt(at) << 24) | (s.charCodeAt(at + 1) << 16) | (s.charCodeAt(at + 2) << 8) | s.charCodeAt(at + 3)) >>> 0;
    out.push(s.slice(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}
