/**
 * What every command handler of the memory mirror gets, and the small helpers they share: typed key
 * lookup, argument parsing, the "empty collections vanish" rule.
 *
 * Handlers apply commands as a Redis replica does: keys that the mirror's clock says have expired are
 * still there for writes (the master sends a DEL when it expires a key; until then the key lives on
 * the master, and the command that arrived was run against it). Only reads hide expired keys.
 */
import { Dataset, isEmpty, type Db, type Entry, type EntryType } from './dataset.js';

export interface Ctx {
  ds: Dataset;
  /** The database the command runs in. */
  dbIndex: number;
  db: Db;
  /** Wall-clock ms, for relative expiries (EX/PX) a master never sends but a mirror may still see. */
  now: number;
}

export type Handler = (c: Ctx, args: Buffer[]) => void;

/** Thrown by a handler for a command or form the mirror does not apply; becomes an `unhandled` event. */
export class Unhandled extends Error {}

export type EntryOf<T extends EntryType> = Extract<Entry, { type: T }>;

/** The key's entry if it has type `type`; undefined when missing; Unhandled (WRONGTYPE) otherwise. */
export function lookup<T extends EntryType>(c: Ctx, key: Buffer | string, type: T): EntryOf<T> | undefined {
  const e = c.db.get(typeof key === 'string' ? key : key.toString('latin1'));
  if (!e) return undefined;
  if (e.type !== type) throw new Unhandled(`WRONGTYPE: the mirror holds a ${e.type} where the master had a ${type}`);
  return e as EntryOf<T>;
}

/** The key's entry, created empty with `make` when missing. */
export function lookupOrCreate<T extends EntryType>(c: Ctx, key: Buffer, type: T, make: () => EntryOf<T>['value']): EntryOf<T> {
  const k = key.toString('latin1');
  const found = lookup(c, k, type);
  if (found) return found;
  const e = { type, value: make(), expiresAt: undefined } as unknown as EntryOf<T>;
  c.db.set(k, e);
  return e;
}

/** Deletes the key when its collection became empty (Redis never keeps empty lists, sets, hashes, zsets). */
export function dropIfEmpty(c: Ctx, key: Buffer | string, e: Entry): void {
  if (isEmpty(e)) c.db.delete(typeof key === 'string' ? key : key.toString('latin1'));
}

export function upper(b: Buffer | undefined): string {
  return b === undefined ? '' : b.toString('latin1').toUpperCase();
}

/** A 64-bit signed integer argument, exactly. */
export function int64(b: Buffer | undefined): bigint {
  const s = b?.toString('latin1') ?? '';
  if (!/^-?\d+$/.test(s)) throw new Unhandled('an integer argument is not an integer');
  return BigInt(s);
}

/** An integer argument that fits a JS number (counts, indexes, ms timestamps). */
export function int(b: Buffer | undefined): number {
  const s = b?.toString('latin1') ?? '';
  if (!/^[-+]?\d+$/.test(s)) throw new Unhandled('an integer argument is not an integer');
  return Number(s);
}

/** A double as Redis's strtod reads it (inf, -inf, +inf included). */
export function float(b: Buffer | undefined): number {
  const s = (b?.toString('latin1') ?? '').toLowerCase();
  if (s === 'inf' || s === '+inf' || s === 'infinity' || s === '+infinity') return Infinity;
  if (s === '-inf' || s === '-infinity') return -Infinity;
  const n = Number(s);
  if (s.trim() === '' || Number.isNaN(n)) throw new Unhandled('a float argument is not a number');
  return n;
}

/** Redis's rank normalisation (LRANGE, LTRIM, ZRANGE by rank): negative from the end, clamped; [start, end) or empty. */
export function rankRange(start: number, stop: number, len: number): [number, number] {
  if (start < 0) start += len;
  if (stop < 0) stop += len;
  if (start < 0) start = 0;
  if (start > stop || start >= len) return [0, 0];
  if (stop >= len) stop = len - 1;
  return [start, stop + 1];
}
