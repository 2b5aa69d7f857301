/**
 * Binary strings (every character below 256) stored as bytes in large Buffers, outside the V8 heap:
 * what ByteKeyMap keeps its keys in and PackedStore its keys' packed values. A string is written once
 * and named by its place (chunk number * CHUNK + offset, a small integer below 2 GB of bytes); it is
 * never moved except by compaction, which the owner drives because only it knows which places are
 * still in use.
 */
export const CHUNK = 1 << 20;

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
      chunk = this.#chunks.push(Buffer.allocUnsafeSlow(n)) - 1;
      at = 0;
    } else {
      if (this.#current < 0 || this.#fill + n > CHUNK) {
        this.#current = this.#chunks.push(Buffer.allocUnsafeSlow(CHUNK)) - 1;
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
   * Starts over with empty chunks and hands the owner a function that copies a string from the old
   * ones into the new and gives its new place; the old chunks go once the owner has moved what it uses.
   */
  compact(moveAll: (move: (place: number, length: number) => number) => void): void {
    const old = new ByteArena();
    old.#chunks = this.#chunks;
    this.clear();
    moveAll((place, length) => this.put(old.read(place, length)));
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
