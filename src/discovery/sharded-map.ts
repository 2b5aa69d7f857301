/**
 * A string-keyed map split into a fixed number of plain Maps by a hash of the key.
 *
 * Why: a JavaScript Map rehashes its whole table at once when it fills (deleted entries count towards
 * full), and for big tables that is a pause: ~20 ms at 262 144 entries, ~270 ms at 2 097 152 on these
 * machines, while Redis rehashes incrementally. Split in n, each rebuild touches an n-th of the
 * entries, and different keys fill different parts, so the rebuilds come at different times. The
 * total work is the same; every lookup costs a string hash more (~40 ns for a 20-byte key).
 *
 * User: the view's node table (grids whose ids churn, where every view in a process rebuilt on the
 * same join). (The memory mirror used it for keys added after a snapshot, until byte-key-map.ts.)
 */
export class ShardedMap<V> {
  readonly #shards: Map<string, V>[];
  readonly #mask: number;
  #size = 0;

  /** @param shards a power of two */
  constructor(shards = 16) {
    if (!Number.isInteger(shards) || shards < 1 || (shards & (shards - 1)) !== 0) throw new RangeError('shards must be a power of two');
    this.#mask = shards - 1;
    this.#shards = Array.from({ length: shards }, () => new Map<string, V>());
  }

  get size(): number {
    return this.#size;
  }

  get(key: string): V | undefined {
    return this.#shard(key).get(key);
  }

  has(key: string): boolean {
    return this.#shard(key).has(key);
  }

  set(key: string, value: V): this {
    const m = this.#shard(key);
    const before = m.size;
    m.set(key, value);
    this.#size += m.size - before;
    return this;
  }

  delete(key: string): boolean {
    const gone = this.#shard(key).delete(key);
    if (gone) this.#size--;
    return gone;
  }

  clear(): void {
    for (const m of this.#shards) m.clear();
    this.#size = 0;
  }

  /** The hot loop (snapshots walk every node): no iterator objects. */
  forEachValue(fn: (value: V) => void): void {
    for (const m of this.#shards) for (const v of m.values()) fn(v);
  }

  /** Values in shard order, each shard in insertion order (so not the overall insertion order). */
  *values(): IterableIterator<V> {
    for (const m of this.#shards) yield* m.values();
  }

  *entries(): IterableIterator<[string, V]> {
    for (const m of this.#shards) yield* m.entries();
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }

  /** Entries per shard (diagnostics and tests). */
  shardSizes(): number[] {
    return this.#shards.map((m) => m.size);
  }

  #shard(key: string): Map<string, V> {
    // FNV-1a over UTF-16 code units (binary strings: bytes), folded: fast on short keys, mixes well enough here.
    let h = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    return this.#shards[(h ^ (h >>> 16)) & this.#mask]!;
  }
}
