/**
 * Overlay: applies one segment of replicated commands (see command-keys.ts planBatch) to the rows it
 * touches, in memory, and reports the row changes for the SQL target to write in its transaction.
 *
 *   rows read for the segment ──> Overlay ──apply(command)...──> changes(): upserts, deletes, expiries
 *
 * Keyspace commands are applied on rows as rows (no value is decoded): SET, MSET, DEL/UNLINK/GETDEL,
 * the EXPIRE family, PERSIST, RENAME(NX), MOVE, COPY, and the no-ops (MULTI, EXEC, PUBLISH, FUNCTION,
 * SCRIPT). Every other command is a read-modify-write of values: the row is decoded into the memory
 * mirror's form (codec.ts decodeEntry) and the memory mirror's own command handler runs on it, so
 * that both kinds of target share one implementation of Redis's command semantics.
 *
 * The handlers see an OverlayDb: a Map from key to entry that only knows the rows it was given. A
 * key the planner did not fetch makes the command unhandled (never a guess that the key is absent).
 * Whole-database commands (FLUSHDB, FLUSHALL, SWAPDB) are not applied here: the target runs them in
 * SQL between segments.
 *
 * changes() compares each touched key's final value with the row as read, so that a command that
 * left a value as it was (a source of ZUNIONSTORE, a no-op LREM) writes nothing, and a command that
 * only moved a TTL writes only expires_at.
 */
import type { ReplicatedCommand } from '../target.js';
import { applyCommand } from '../memory/commands.js';
import { Unhandled, int, upper } from '../memory/context.js';
import { parseSetOptions } from '../memory/apply-strings.js';
import { Dataset, cloneEntry, type Entry } from '../memory/dataset.js';
import { ByteWriter } from './bytes.js';
import { decodeEntry, encodeEntry, type KeyType } from './codec.js';
import { patternKey, sortPatterns, type KeyRef } from './command-keys.js';

/** A stored row's content. `expiresAt` is ms since epoch. */
export interface RowValue {
  type: KeyType;
  value: Buffer;
  expiresAt: number | undefined;
}

/** A row as read from the table. */
export interface StoredRow extends RowValue {
  db: number;
  key: Buffer;
}

export interface RowChanges {
  /** Rows to insert or replace whole. */
  upserts: StoredRow[];
  /** Keys to delete. */
  deletes: { db: number; key: Buffer }[];
  /** Rows whose value stayed but whose expiry changed (undefined = none). */
  expiries: { db: number; key: Buffer; expiresAt: number | undefined }[];
}

type Current = { row: RowValue } | { entry: Entry } | null;

interface Slot {
  db: number;
  key: Buffer;
  /** The row as read: null when it did not exist, undefined when not read (a blind write). */
  orig: RowValue | null | undefined;
  cur: Current;
  touched: boolean;
}

class NotFetched extends Unhandled {
  constructor() {
    super('the command touches a key the SQL target did not read for it (no key spec for this form)');
  }
}

/** The Map the memory mirror's handlers work on; see the file comment. */
class OverlayDb extends Map<string, Entry> {
  readonly slots = new Map<string, Slot>();
  readonly index: number;
  /** Slots touched since the last changes(), shared by every db of the overlay. */
  readonly dirty: Slot[];

  constructor(index: number, dirty: Slot[]) {
    super();
    this.index = index;
    this.dirty = dirty;
  }

  /** Marks a slot as changed (changes() will look at it). */
  touch(s: Slot): void {
    if (s.touched) return;
    s.touched = true;
    this.dirty.push(s);
  }

  #known(k: string): Slot {
    const s = this.slots.get(k);
    if (!s) throw new NotFetched();
    return s;
  }

  /** The slot of key `k`, created for a blind write when missing. */
  slot(k: string): Slot {
    let s = this.slots.get(k);
    if (!s) {
      s = { db: this.index, key: Buffer.from(k, 'latin1'), orig: undefined, cur: null, touched: false };
      this.slots.set(k, s);
    }
    return s;
  }

  /** The key's slot if it is present, for keyspace commands. */
  present(k: string): Slot | undefined {
    const s = this.#known(k);
    return s.cur ? s : undefined;
  }

  override get(k: string): Entry | undefined {
    const s = this.#known(k);
    const cur = s.cur;
    if (!cur) return undefined;
    // The handler may change the entry in place: count it as touched (changes() finds out).
    this.touch(s);
    if ('entry' in cur) return cur.entry;
    const entry = decodeEntry(cur.row.type, cur.row.value, cur.row.expiresAt);
    s.cur = { entry };
    return entry;
  }

  override has(k: string): boolean {
    return this.#known(k).cur !== null;
  }

  override set(k: string, e: Entry): this {
    const s = this.slot(k);
    s.cur = { entry: e };
    this.touch(s);
    return this;
  }

  override delete(k: string): boolean {
    const s = this.slot(k);
    const had = s.cur !== null;
    s.cur = null;
    this.touch(s);
    return had;
  }

  override clear(): void {
    throw new Unhandled('whole-database change inside a segment');
  }

  override forEach(): void {
    throw new Unhandled('whole-database read inside a segment');
  }

  override entries(): MapIterator<[string, Entry]> {
    throw new Unhandled('whole-database read inside a segment');
  }

  override keys(): MapIterator<string> {
    throw new Unhandled('whole-database read inside a segment');
  }

  override values(): MapIterator<Entry> {
    throw new Unhandled('whole-database read inside a segment');
  }

  override [Symbol.iterator](): MapIterator<[string, Entry]> {
    throw new Unhandled('whole-database read inside a segment');
  }
}

function expiresOf(cur: Exclude<Current, null>): number | undefined {
  return 'entry' in cur ? cur.entry.expiresAt : cur.row.expiresAt;
}

function setExpires(cur: Exclude<Current, null>, at: number | undefined): void {
  if ('entry' in cur) cur.entry.expiresAt = at;
  else cur.row = { ...cur.row, expiresAt: at };
}

function copyOf(cur: Exclude<Current, null>): Exclude<Current, null> {
  // Row values are never changed in place (decodeEntry copies), so a row can be shared.
  return 'entry' in cur ? { entry: cloneEntry(cur.entry) } : { row: { ...cur.row } };
}

export class Overlay {
  readonly #ds = new Dataset();
  /** Made on first use (most batches only SET and DEL: nothing to encode). */
  #scratch: ByteWriter | undefined;
  readonly #dirty: Slot[] = [];
  /** Wall-clock ms for relative TTLs (EX/PX), which a Redis 7 master never sends. */
  now: number;
  /** Commands applied so far. */
  commands = 0;

  /** `rows`: what was read for `fetched` (keys missing from `rows` do not exist). */
  constructor(fetched: readonly KeyRef[], rows: readonly StoredRow[], now: number) {
    this.now = now;
    this.load(fetched, rows);
  }

  /**
   * Adds rows read for more keys (an overlay that lives across batches reads as it goes). Keys it
   * already holds keep their current state: what it holds is newer than what the table has.
   */
  load(fetched: readonly KeyRef[], rows: readonly StoredRow[]): void {
    const found = new Map<string, StoredRow>();
    for (const r of rows) found.set(`${r.db}:${r.key.toString('latin1')}`, r);
    for (const f of fetched) {
      const k = f.key.toString('latin1');
      const db = this.#db(f.db);
      if (db.slots.has(k)) continue;
      const row = found.get(`${f.db}:${k}`);
      const orig: RowValue | null = row ? { type: row.type, value: row.value, expiresAt: row.expiresAt } : null;
      db.slots.set(k, { db: f.db, key: f.key, orig, cur: orig ? { row: orig } : null, touched: false });
    }
  }

  /** Keys held (read, written or known absent). */
  get size(): number {
    let n = 0;
    for (const db of this.#ds.dbs.values()) n += (db as OverlayDb).slots.size;
    return n;
  }

  /** True when commands changed something since the last changes(). */
  get dirty(): boolean {
    return this.#dirty.length > 0;
  }

  /**
   * Keys `c` reads that depend on values and that this overlay does not hold: SORT's BY/GET pattern
   * keys, computed from the source's elements as they are now. The target reads them and load()s
   * them before apply(c). Empty for every other command.
   */
  extraKeys(c: ReplicatedCommand): KeyRef[] {
    if (c.name !== 'SORT' || c.args.length === 0) return [];
    const patterns = sortPatterns(c.args);
    if (patterns.length === 0) return [];
    const db = this.#db(c.db);
    const k = c.args[0]!.toString('latin1');
    const src = db.slots.has(k) ? db.get(k) : undefined;
    if (!src) return [];
    const elems = src.type === 'list' ? src.value : src.type === 'set' ? [...src.value] : src.type === 'zset' ? src.value.sorted().map(([m]) => m) : [];
    const refs: KeyRef[] = [];
    const seen = new Set<string>();
    for (const e of elems) {
      for (const p of patterns) {
        const key = patternKey(p, e);
        if (seen.has(key)) continue;
        seen.add(key);
        refs.push({ db: c.db, key: Buffer.from(key, 'latin1'), blind: false });
      }
    }
    return this.unknown(refs);
  }

  /** The keys of `refs` this overlay holds nothing about (they must be read before use). */
  unknown(refs: readonly KeyRef[]): KeyRef[] {
    return refs.filter((r) => !(this.#ds.dbs.get(r.db) as OverlayDb | undefined)?.slots.has(r.key.toString('latin1')));
  }

  #db(n: number): OverlayDb {
    let db = this.#ds.dbs.get(n) as OverlayDb | undefined;
    if (!db) {
      db = new OverlayDb(n, this.#dirty);
      this.#ds.dbs.set(n, db);
    }
    return db;
  }

  /** Applies one command; returns why it could not be applied, or undefined. */
  apply(c: ReplicatedCommand): string | undefined {
    this.commands++;
    try {
      this.#apply(c);
      return undefined;
    } catch (err) {
      if (err instanceof Unhandled) return err.message;
      throw err;
    }
  }

  #apply(c: ReplicatedCommand): void {
    const db = this.#db(c.db);
    const a = c.args;
    switch (c.name) {
      case 'SET':
        return this.#set(db, a);
      case 'MSET':
        for (let i = 0; i + 1 < a.length; i += 2) this.#put(db, a[i]!, { type: 'string', value: a[i + 1]!, expiresAt: undefined });
        return;
      case 'DEL':
      case 'UNLINK':
      case 'GETDEL':
        for (const k of a) db.delete(k.toString('latin1'));
        return;
      case 'EXPIRE':
        return this.#expire(db, a, 1000, false);
      case 'PEXPIRE':
        return this.#expire(db, a, 1, false);
      case 'EXPIREAT':
        return this.#expire(db, a, 1000, true);
      case 'PEXPIREAT':
        return this.#expire(db, a, 1, true);
      case 'PERSIST': {
        const s = db.present(a[0]!.toString('latin1'));
        if (s && expiresOf(s.cur!) !== undefined) {
          setExpires(s.cur!, undefined);
          db.touch(s);
        }
        return;
      }
      case 'RENAME':
      case 'RENAMENX':
        return this.#rename(db, a, c.name === 'RENAMENX');
      case 'MOVE':
        return this.#move(db, c.db, a);
      case 'COPY':
        return this.#copy(db, c.db, a);
      case 'MULTI':
      case 'EXEC':
      case 'PUBLISH':
      case 'SPUBLISH':
      case 'FUNCTION':
      case 'SCRIPT':
        return;
      case 'FLUSHDB':
      case 'FLUSHALL':
      case 'SWAPDB':
        throw new Unhandled(`${c.name} must be run by the SQL target between segments`);
      default:
        applyCommand(this.#ds, c.db, c.name, a, this.now);
    }
  }

  #put(db: OverlayDb, key: Buffer, row: RowValue): void {
    const s = db.slot(key.toString('latin1'));
    s.cur = { row };
    db.touch(s);
  }

  /** SET key value [NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL] (the mirror's rules). */
  #set(db: OverlayDb, a: Buffer[]): void {
    const { nx, xx, keep, at } = parseSetOptions(a, this.now);
    if (a.length < 2) throw new Unhandled('SET without a value');
    const k = a[0]!.toString('latin1');
    let old: Slot | undefined;
    if (nx || xx || keep) {
      old = db.present(k);
      if ((nx && old) || (xx && !old)) return;
    }
    this.#put(db, a[0]!, { type: 'string', value: a[1]!, expiresAt: at ?? (keep && old ? expiresOf(old.cur!) : undefined) });
  }

  /** EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT key time [NX | XX | GT | LT] */
  #expire(db: OverlayDb, a: Buffer[], unitMs: number, absolute: boolean): void {
    const s = db.present(a[0]!.toString('latin1'));
    if (!s) return;
    const t = int(a[1]) * unitMs;
    const at = absolute ? t : this.now + t;
    const cur = expiresOf(s.cur!);
    for (let i = 2; i < a.length; i++) {
      const flag = upper(a[i]);
      if (flag === 'NX' && cur !== undefined) return;
      if (flag === 'XX' && cur === undefined) return;
      if (flag === 'GT' && (cur === undefined || at <= cur)) return;
      if (flag === 'LT' && cur !== undefined && at >= cur) return;
    }
    setExpires(s.cur!, at);
    db.touch(s);
  }

  #rename(db: OverlayDb, a: Buffer[], onlyIfAbsent: boolean): void {
    const src = a[0]!.toString('latin1');
    const dst = a[1]!.toString('latin1');
    const from = db.present(src);
    if (!from || src === dst) return;
    if (onlyIfAbsent && db.has(dst)) return;
    const to = db.slot(dst);
    to.cur = from.cur;
    db.touch(to);
    from.cur = null;
    db.touch(from);
  }

  /** MOVE key db: only when the key exists here and not there. */
  #move(db: OverlayDb, dbIndex: number, a: Buffer[]): void {
    const k = a[0]!.toString('latin1');
    const to = int(a[1]);
    const from = db.present(k);
    if (!from || to === dbIndex) return;
    const target = this.#db(to);
    if (target.has(k)) return;
    const s = target.slot(k);
    s.cur = from.cur;
    target.touch(s);
    from.cur = null;
    db.touch(from);
  }

  /** COPY source destination [DB n] [REPLACE] */
  #copy(db: OverlayDb, dbIndex: number, a: Buffer[]): void {
    const src = a[0]!.toString('latin1');
    const dst = a[1]!.toString('latin1');
    let to = dbIndex;
    let replace = false;
    for (let i = 2; i < a.length; i++) {
      const o = upper(a[i]);
      if (o === 'REPLACE') replace = true;
      else if (o === 'DB') to = int(a[++i]);
      else throw new Unhandled(`COPY option ${o}`);
    }
    const from = db.present(src);
    if (!from) return;
    if (to === dbIndex && src === dst) return;
    const target = this.#db(to);
    if (target.has(dst) && !replace) return;
    const s = target.slot(dst);
    s.cur = copyOf(from.cur!);
    target.touch(s);
  }

  /**
   * What changed since the last call, row by row (see the file comment). With `keep`, the overlay
   * then goes on as a cache for the next batches (the target is the tables' only writer): keys whose
   * value was decoded stay, as written, since they are the ones read-modify-write commands reuse;
   * the others are dropped (a SET's value is a view into a socket chunk, not worth pinning).
   */
  changes(options: { keep?: boolean } = {}): RowChanges {
    const out: RowChanges = { upserts: [], deletes: [], expiries: [] };
    for (const s of this.#dirty) {
      s.touched = false;
      const cur = s.cur;
      let row: RowValue | null = null;
      if (!cur) {
        if (s.orig !== null) out.deletes.push({ db: s.db, key: s.key });
      } else {
        if ('row' in cur) {
          row = cur.row;
        } else {
          const w = (this.#scratch ??= new ByteWriter(4096));
          w.reset();
          encodeEntry(w, cur.entry);
          const same = s.orig && s.orig.type === cur.entry.type && s.orig.value.equals(w.view());
          row = { type: cur.entry.type, value: same ? s.orig!.value : w.copy(), expiresAt: cur.entry.expiresAt };
        }
        const o = s.orig;
        if (o && o.type === row.type && (o.value === row.value || o.value.equals(row.value))) {
          if (o.expiresAt !== row.expiresAt) out.expiries.push({ db: s.db, key: s.key, expiresAt: row.expiresAt });
        } else {
          out.upserts.push({ db: s.db, key: s.key, ...row });
        }
      }
      if (!options.keep) continue;
      const db = this.#ds.dbs.get(s.db) as OverlayDb;
      if (cur && 'entry' in cur) {
        s.orig = row;
        s.key = Buffer.from(s.key);
      } else {
        db.slots.delete(s.key.toString('latin1'));
      }
    }
    this.#dirty.length = 0;
    this.commands = 0;
    return out;
  }

  /** Forgets every key held (after the tables changed behind the overlay's back: FLUSHDB, a full sync). */
  clear(): void {
    for (const db of this.#ds.dbs.values()) (db as OverlayDb).slots.clear();
    this.#dirty.length = 0;
    this.commands = 0;
  }
}
