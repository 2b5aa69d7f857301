/**
 * A sorted set: member -> score, plus the members in Redis's order (score, then member bytes).
 *
 * The order is an array kept sorted by binary-search insertion (a memmove per change, fast up to
 * hundreds of thousands of members), built lazily after bulk loads: a snapshot's zset arrives as a
 * list of pairs and is sorted once, on first use.
 */
export type ZEntry = [member: string, score: number];

export function zcompare(a: ZEntry, b: ZEntry): number {
  if (a[1] < b[1]) return -1;
  if (a[1] > b[1]) return 1;
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

export class ZSet {
  readonly scores = new Map<string, number>();
  #sorted: ZEntry[] | null = [];

  get size(): number {
    return this.scores.size;
  }

  score(member: string): number | undefined {
    return this.scores.get(member);
  }

  /** Sets a member's score. */
  set(member: string, score: number): void {
    const old = this.scores.get(member);
    if (old === score) return;
    this.scores.set(member, score);
    const s = this.#sorted;
    if (!s) return;
    if (old !== undefined) s.splice(this.#find([member, old]), 1);
    s.splice(this.#insertAt([member, score]), 0, [member, score]);
  }

  /** Adds many pairs without keeping the order (snapshot loads); the order is rebuilt on first use. */
  bulkSet(pairs: Iterable<ZEntry>): void {
    for (const [m, sc] of pairs) this.scores.set(m, sc);
    this.#sorted = null;
  }

  delete(member: string): boolean {
    const old = this.scores.get(member);
    if (old === undefined) return false;
    this.scores.delete(member);
    if (this.#sorted) this.#sorted.splice(this.#find([member, old]), 1);
    return true;
  }

  /** Members in order (do not modify the returned array). */
  sorted(): readonly ZEntry[] {
    if (!this.#sorted) this.#sorted = [...this.scores].sort(zcompare);
    return this.#sorted;
  }

  /** Removes the members at ranks [start, end) and returns them. */
  removeRange(start: number, end: number): ZEntry[] {
    const s = this.sorted() as ZEntry[];
    const out = s.splice(start, Math.max(0, end - start));
    for (const [m] of out) this.scores.delete(m);
    return out;
  }

  /** Index of the first member not less than `e`. */
  lowerBound(e: ZEntry): number {
    const s = this.sorted();
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (zcompare(s[mid]!, e) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  clone(): ZSet {
    const z = new ZSet();
    z.bulkSet(this.scores);
    return z;
  }

  #find(e: ZEntry): number {
    return this.lowerBound(e);
  }

  #insertAt(e: ZEntry): number {
    return this.lowerBound(e);
  }
}
