/**
 * Binary strings (every character below 256) stored as bytes in large Buffers, outside the V8 heap:
 * what ByteKeyMap keeps its keys in and PackedStore its keys' packed values. A string is written once
 * and named by its place (chunk number * CHUNK + offset, a small integer below 2 GB of bytes); it is
 * never moved except by compaction, which the owner drives because only it knows which places are
 * still in use.
 */
import { offHeapBytes } from './off-heap.js';

export const CHUNK = 1 << 20;

/**
 * How the arena's owners lay out their slots: in pages of PAGE, slot s at page s >>> PAGE_BITS,
 * offset s & PAGE_MASK, each with its string's place and length (-1 for a free slot).
 */
export const PAGE_BITS = 14;
export const PAGE = 1 << PAGE_BITS;
export const PAGE_MASK = PAGE - 1;

/** A page of places or lengths: a plain array of small integers or a typed array. */
export type NumberPage = { [offset: number]: number };

export class ByteArena {
  #chunks: Buffer[] = [];
  /** The chunk being filled and its fill level. */
  #current = -1;
  #fill = CHUNK;
  #live = 0;
  #dead = 0;

  /** Appends the string's bytes; returns their place. */
  put(s: string): number {
    const n = s.length;
    let chunk: number;
    let at: number;
    if (n > CHUNK / 4) {
      // A big string gets a buffer of its own (its offset is 0, so its place is its chunk number times
      // CHUNK whatever its size), so the chunk being filled is not cut short.
      chunk = this.#chunks.push(offHeapBytes(n)) - 1;
      at = 0;
    } else {
      if (this.#current < 0 || this.#fill + n > CHUNK) {
        this.#current = this.#chunks.push(offHeapBytes(CHUNK)) - 1;
        this.#fill = 0;
      }
      chunk = this.#current;
      at = this.#fill;
      this.#fill += n;
    }
    this.#chunks[chunk]!.write(s, at, n, 'latin1');
    this.#live += n;
    return chunk * CHUNK + at;
  }

  /** The `length` bytes at `place` as a binary string. */
  read(place: number, length: number): string {
    const at = place % CHUNK;
    return this.#chunks[Math.floor(place / CHUNK)]!.toString('latin1', at, at + length);
  }

  /** True when the `s.length` bytes at `place` are `s`. */
  equals(place: number, s: string): boolean {
    const buf = this.#chunks[Math.floor(place / CHUNK)]!;
    const at = place % CHUNK;
    for (let i = 0; i < s.length; i++) if (buf[at + i] !== s.charCodeAt(i)) return false;
    return true;
  }

  /** The owner no longer uses `length` bytes it put here. */
  release(length: number): void {
    this.#live -= length;
    this.#dead += length;
  }

  /** More than 4 MB is left behind by released strings, and more than is in use. */
  get wasteful(): boolean {
    return this.#dead > 4 * CHUNK && this.#dead > this.#live;
  }

  /**
   * Rewrites the strings still in use into fresh chunks, leaving the released ones' bytes behind:
   * the owner's slots below `slots` whose length is not -1, their places updated in place.
   */
  compact(places: NumberPage[], lengths: NumberPage[], slots: number): void {
    const old = new ByteArena();
    old.#chunks = this.#chunks;
    this.clear();
    for (let s = 0; s < slots; s++) {
      const p = s >>> PAGE_BITS;
      const o = s & PAGE_MASK;
      const n = lengths[p]![o]!;
      if (n >= 0) places[p]![o] = this.put(old.read(places[p]![o]!, n));
    }
  }

  clear(): void {
    this.#chunks = [];
    this.#current = -1;
    this.#fill = CHUNK;
    this.#live = 0;
    this.#dead = 0;
  }

  /** Bytes in use, bytes released, and chunks (diagnostics and tests). */
  get bytes(): { live: number; dead: number; chunks: number } {
    return { live: this.#live, dead: this.#dead, chunks: this.#chunks.length };
  }
}
