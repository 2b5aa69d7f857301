/**
 * A string-keyed map split into a fixed number of plain Maps by a hash of the key.
 *
 * Why: a JavaScript Map rehashes its whole table when it fills, and deleted entries count towards
 * full, so a view whose grid churns (nodes leaving, new ids joining) rebuilds its whole node table on
 * some join, on the message path. Views of one grid hold the same ids and hear them in the same order,
 * so in a process that runs many views they all rebuild on the same message: measured with 250 views
 * of 1 000 nodes, the 25th new id cost 20-35 ms there. Split in 16, each rebuild touches a sixteenth
 * of the table, and different ids fill different parts, so the work is spread over many joins instead.
 * The total work is the same; a lookup costs one short string hash more.
 */
const SHARDS = 16; // a power of two

export class ShardedMap<V> {
  readonly #shards: Map<string, V>[] = Array.from({ length: SHARDS }, () => new Map<string, V>());
  #size = 0;

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
    // FNV-1a over UTF-16 code units: fast on short ids, and mixes well enough for 16 buckets.
    let h = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    return this.#shards[(h ^ (h >>> 16)) & (SHARDS - 1)]!;
  }
}
