/**
 * A stream as the memory mirror keeps it: entries in id order, the stream's counters, and consumer
 * groups with their pending entries. Ids are [ms, seq] as bigints (both are unsigned 64-bit).
 */
export interface StreamId {
  ms: bigint;
  seq: bigint;
}

export interface StreamEntryData {
  id: StreamId;
  /** field, value, field, value... as binary strings. */
  fields: string[];
}

export interface PendingEntry {
  consumer: string;
  deliveryTime: number;
  deliveryCount: number;
}

export interface StreamConsumerData {
  seenTime: number;
  activeTime: number;
  /** Ids (as 'ms-seq') this consumer has pending. */
  pending: Set<string>;
}

export interface StreamGroupData {
  lastId: StreamId;
  /** -1 when unknown (SCG_INVALID_ENTRIES_READ). */
  entriesRead: number;
  /** Pending entries by id string. */
  pending: Map<string, PendingEntry>;
  consumers: Map<string, StreamConsumerData>;
}

export const ZERO_ID: StreamId = { ms: 0n, seq: 0n };
const U64_MAX = 18446744073709551615n;

/** Parses 'ms-seq' or 'ms' (seq defaults to `seq`); '-' and '+' are the smallest and largest ids. */
export function parseId(s: string, seq = 0n): StreamId | undefined {
  if (s === '-') return { ms: 0n, seq: 0n };
  if (s === '+') return { ms: U64_MAX, seq: U64_MAX };
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) return undefined;
  return { ms: BigInt(m[1]!), seq: m[2] === undefined ? seq : BigInt(m[2]) };
}

export function idString(id: StreamId): string {
  return `${id.ms}-${id.seq}`;
}

export function compareIds(a: StreamId, b: StreamId): number {
  if (a.ms !== b.ms) return a.ms < b.ms ? -1 : 1;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return 0;
}

export class StreamData {
  entries: StreamEntryData[] = [];
  lastId: StreamId = ZERO_ID;
  maxDeletedId: StreamId = ZERO_ID;
  entriesAdded = 0;
  groups = new Map<string, StreamGroupData>();

  get length(): number {
    return this.entries.length;
  }

  /** Appends an entry; the master guarantees its id is above every earlier one. */
  add(id: StreamId, fields: string[]): void {
    this.entries.push({ id, fields });
    this.lastId = id;
    this.entriesAdded++;
  }

  /** Index of the first entry with an id >= `id`. */
  lowerBound(id: StreamId): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareIds(this.entries[mid]!.id, id) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  delete(id: StreamId): boolean {
    const i = this.lowerBound(id);
    if (i >= this.entries.length || compareIds(this.entries[i]!.id, id) !== 0) return false;
    this.entries.splice(i, 1);
    if (compareIds(id, this.maxDeletedId) > 0) this.maxDeletedId = id;
    return true;
  }

  /** Keeps the newest `n` entries. */
  trimMaxLen(n: number): void {
    if (this.entries.length > n) this.entries.splice(0, this.entries.length - n);
  }

  /** Drops entries with an id below `id`. */
  trimMinId(id: StreamId): void {
    const i = this.lowerBound(id);
    if (i > 0) this.entries.splice(0, i);
  }

  /** Entries with start <= id <= end. */
  range(start: StreamId, end: StreamId): StreamEntryData[] {
    const out: StreamEntryData[] = [];
    for (let i = this.lowerBound(start); i < this.entries.length && compareIds(this.entries[i]!.id, end) <= 0; i++) out.push(this.entries[i]!);
    return out;
  }

  has(id: StreamId): boolean {
    const i = this.lowerBound(id);
    return i < this.entries.length && compareIds(this.entries[i]!.id, id) === 0;
  }

  clone(): StreamData {
    const s = new StreamData();
    s.entries = this.entries.map((e) => ({ id: e.id, fields: e.fields.slice() }));
    s.lastId = this.lastId;
    s.maxDeletedId = this.maxDeletedId;
    s.entriesAdded = this.entriesAdded;
    for (const [name, g] of this.groups) {
      s.groups.set(name, {
        lastId: g.lastId,
        entriesRead: g.entriesRead,
        pending: new Map([...g.pending].map(([k, p]) => [k, { ...p }])),
        consumers: new Map([...g.consumers].map(([k, c]) => [k, { ...c, pending: new Set(c.pending) }])),
      });
    }
    return s;
  }
}
