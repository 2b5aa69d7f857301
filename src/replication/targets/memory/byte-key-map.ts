/**
 * A map from binary strings (every character below 256: the mirror's keys are bytes read as latin1)
 * to values, that keeps its keys outside the V8 heap.
 *
 * Why: a key written by the live stream and kept in a Map is a string that V8's young-generation
 * collector copies twice on its way to the old generation, together with the Map tables that grow with
 * it. At 50 000 writes/s that is most of what a scavenge copies, and the scavenges are what the
 * mirror's lag tail is made of (bench/RESULTS.md). Here a key's bytes go into large Buffers (a
 * ByteArena), its hash, place and length into pages of small integers, and its value into a page of a
 * JavaScript array. The string a caller looked it up with dies young, and growing the map never
 * copies an object.
 *
 * Layout: slots (hash, place, length, value) in pages of PAGE slots that are never moved; an
 * open-addressing table (linear probing, at most half full) of slot numbers; key bytes appended to
 * 1 MB chunks. The table is rebuilt from the stored hashes when it fills (no key is read or hashed
 * again: ~5 ns a key). Deleted keys leave their bytes behind; once they outweigh the live ones the
 * chunks are rewritten.
 *
 * The arena and the table come from off-heap.ts, memory that V8's collection heuristics do not count.
 * The slot pages are plain arrays of small integers, on the heap in its large-object space: nothing
 * in them is a pointer, so they cost the collectors nothing per write. As off-heap typed arrays they
 * made the heap ~40 MB smaller after a 2-million-key load, and with it the allocation limit V8 sets
 * from the heap's size. Full collections then started inside the benchmark's lag steps and ramp (5, 4
 * and 0 in 3 traced rounds, against none in 3 with plain arrays). With ordinary typed arrays, it was
 * external memory that started them (p99 11.6 ms at 50k and 100k writes/s).
 */
import { ByteArena, PAGE, PAGE_BITS, PAGE_MASK } from './byte-arena.js';
import { offHeapInt32 } from './off-heap.js';

const EMPTY = 0;
const DELETED = -1;

export class ByteKeyMap<V> {
  /** Slot number + 1; EMPTY or DELETED. */
  #table = offHeapInt32(64);
  #mask = 63;
  /** Table cells not EMPTY (live and DELETED). */
  #filled = 0;
  #size = 0;

  // Slots, by page.
  #hashes: number[][] = [];
  /** The key bytes' place in the arena. */
  #places: number[][] = [];
  /** Key length; -1 for a free slot. */
  #lengths: number[][] = [];
  #values: (V | undefined)[][] = [];
  #slots = 0;
  #free: number[] = [];

  readonly #arena = new ByteArena();

  get size(): number {
    return this.#size;
  }

  get(key: string): V | undefined {
    const i = this.#find(key, hashOf(key));
    if (i < 0) return undefined;
    const s = this.#table[i]! - 1;
    return this.#values[s >>> PAGE_BITS]![s & PAGE_MASK];
  }

  has(key: string): boolean {
    return this.#find(key, hashOf(key)) >= 0;
  }

  set(key: string, value: V): this {
    this.replace(key, value);
    return this;
  }

  /** Sets `key` to `value` and returns the value it had (undefined if it was absent): one lookup. */
  replace(key: string, value: V): V | undefined {
    const h = hashOf(key);
    const i = this.#find(key, h);
    if (i >= 0) {
      const s = this.#table[i]! - 1;
      const page = this.#values[s >>> PAGE_BITS]!;
      const old = page[s & PAGE_MASK];
      page[s & PAGE_MASK] = value;
      return old;
    }
    if (h === NOT_BINARY) throw new RangeError('ByteKeyMap keys are binary strings (every character below 256)');
    if ((this.#filled + 1) * 2 > this.#table.length) this.#rebuildTable(this.#size + 1);
    const s = this.#newSlot(key, h, value);
    let j = h & this.#mask;
    for (;;) {
      const t = this.#table[j]!;
      if (t === EMPTY || t === DELETED) {
        if (t === EMPTY) this.#filled++;
        this.#table[j] = s + 1;
        break;
      }
      j = (j + 1) & this.#mask;
    }
    this.#size++;
    return undefined;
  }

  delete(key: string): boolean {
    const i = this.#find(key, hashOf(key));
    if (i < 0) return false;
    this.#removeAt(i);
    return true;
  }

  /** Removes `key` and returns its value (undefined if it was absent): one lookup. */
  take(key: string): V | undefined {
    const i = this.#find(key, hashOf(key));
    if (i < 0) return undefined;
    const s = this.#table[i]! - 1;
    const value = this.#values[s >>> PAGE_BITS]![s & PAGE_MASK];
    this.#removeAt(i);
    return value;
  }

  clear(): void {
    this.#table = offHeapInt32(64);
    this.#mask = 63;
    this.#filled = 0;
    this.#size = 0;
    this.#hashes = [];
    this.#places = [];
    this.#lengths = [];
    this.#values = [];
    this.#slots = 0;
    this.#free = [];
    this.#arena.clear();
  }

  /** In slot order; a key set during the walk may or may not be visited, one deleted is not. */
  *entries(): IterableIterator<[string, V]> {
    for (let s = 0; s < this.#slots; s++) {
      const p = s >>> PAGE_BITS;
      const o = s & PAGE_MASK;
      if (this.#lengths[p]![o]! < 0) continue;
      yield [this.#keyAt(s), this.#values[p]![o] as V];
    }
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }

  /** Key bytes held, live and left behind by deletes (diagnostics and tests). */
  get bytes(): { live: number; dead: number; chunks: number } {
    return this.#arena.bytes;
  }

  // ---- internals ---------------------------------------------------------------------------------

  /** The table cell holding `key`, or -1. */
  #find(key: string, h: number): number {
    if (h === NOT_BINARY) return -1;
    const table = this.#table;
    const mask = this.#mask;
    let i = h & mask;
    for (;;) {
      const t = table[i]!;
      if (t === EMPTY) return -1;
      if (t !== DELETED) {
        const s = t - 1;
        const p = s >>> PAGE_BITS;
        const o = s & PAGE_MASK;
        if (this.#hashes[p]![o] === h && this.#lengths[p]![o] === key.length && this.#equals(p, o, key)) return i;
      }
      i = (i + 1) & mask;
    }
  }

  #equals(p: number, o: number, key: string): boolean {
    return this.#arena.equals(this.#places[p]![o]!, key);
  }

  #keyAt(s: number): string {
    const p = s >>> PAGE_BITS;
    const o = s & PAGE_MASK;
    return this.#arena.read(this.#places[p]![o]!, this.#lengths[p]![o]!);
  }

  #newSlot(key: string, h: number, value: V): number {
    const s = this.#free.length > 0 ? this.#free.pop()! : this.#slots++;
    const p = s >>> PAGE_BITS;
    const o = s & PAGE_MASK;
    if (p === this.#hashes.length) {
      this.#hashes.push(new Array<number>(PAGE).fill(0));
      this.#places.push(new Array<number>(PAGE).fill(0));
      this.#lengths.push(new Array<number>(PAGE).fill(-1));
      this.#values.push(new Array<V | undefined>(PAGE).fill(undefined));
    }
    this.#hashes[p]![o] = h;
    this.#values[p]![o] = value;
    this.#store(p, o, key);
    return s;
  }

  /** Appends the key's bytes to the arena and records where they are. */
  #store(p: number, o: number, key: string): void {
    this.#places[p]![o] = this.#arena.put(key);
    this.#lengths[p]![o] = key.length;
  }

  /** A table for `live` keys 20-40 % full, from the stored hashes (DELETED cells dropped). */
  #rebuildTable(live: number): void {
    let cap = 64;
    while (cap < live * 2.5) cap *= 2;
    const table = offHeapInt32(cap);
    const mask = cap - 1;
    const old = this.#table;
    for (let i = 0; i < old.length; i++) {
      const t = old[i]!;
      if (t === EMPTY || t === DELETED) continue;
      const s = t - 1;
      let j = this.#hashes[s >>> PAGE_BITS]![s & PAGE_MASK]! & mask;
      while (table[j] !== EMPTY) j = (j + 1) & mask;
      table[j] = t;
    }
    this.#table = table;
    this.#mask = mask;
    this.#filled = this.#size;
  }

  /** Frees the slot in table cell `i`; its key's bytes stay behind until the arena is compacted. */
  #removeAt(i: number): void {
    const s = this.#table[i]! - 1;
    this.#table[i] = DELETED;
    const p = s >>> PAGE_BITS;
    const o = s & PAGE_MASK;
    this.#arena.release(this.#lengths[p]![o]!);
    this.#lengths[p]![o] = -1;
    this.#values[p]![o] = undefined;
    this.#free.push(s);
    this.#size--;
    if (this.#arena.wasteful) this.#arena.compact(this.#places, this.#lengths, this.#slots);
  }
}

/** What hashOf gives for a key with a character above 255, which the map never holds. */
const NOT_BINARY = -1;

/**
 * FNV-1a over the characters, folded to 30 bits (a small integer wherever it is kept); NOT_BINARY for
 * a key that is not a binary string, found in the same pass.
 */
function hashOf(key: string): number {
  let h = 0x811c9dc5;
  let wide = 0;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    wide |= c;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return wide > 0xff ? NOT_BINARY : (h ^ (h >>> 15)) & 0x3fffffff;
}
