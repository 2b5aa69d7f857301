/**
 * MemoryMirror: an in-process copy of a Redis master (Heroku's "Hermes cache"), kept current by a
 * replica, with Redis-like read methods.
 *
 *   const mirror = new MemoryMirror();
 *   const replica = createReplica({ url, target: mirror });
 *   mirror.get('user:1')             // Buffer | null, answered locally
 *
 * Why a mirror at all: a Redis replica answers -LOADING while it reloads a full resync, and every
 * network hiccup that outlives the master's backlog causes one. The mirror never stops answering:
 * during a full resync the new snapshot is loaded beside the current dataset and replaces it in one
 * assignment when it is complete; a resync that breaks off leaves the current dataset in place.
 *
 * Writes follow Redis replica rules: commands apply to keys whatever their TTL (the master decides
 * when a key expires and sends DEL); reads hide keys whose TTL has passed, by the mirror's clock.
 * Keys expired for longer than `expireGraceMs` are also swept from memory, for the case where the
 * master's DEL cannot arrive (link down).
 *
 * Values are binary-safe: keys may be given as strings (UTF-8) or Buffers; values come back as
 * Buffers. Reads on a key of another type throw ERR_MIRROR_WRONGTYPE, as Redis would.
 *
 * Coverage: every write a Redis 7 master propagates, in the forms it propagates them (memory/*.ts, one
 * file per type family), HyperLogLogs byte for byte (assuming hll-sparse-max-bytes 3000), SORT ...
 * STORE, and GEOSEARCHSTORE / GEORADIUS ... STORE | STOREDIST, which the master sends verbatim: the
 * mirror runs Redis 7.0's geohash search, quirks included (STOREDIST distances may differ from the
 * master's in the last bits, as they do between Redis builds on different CPUs: apply-geo.ts).
 * Reported as unhandled instead: forms a Redis 7 master never sends (XADD *, approximate trims, raw
 * SPOP/INCRBYFLOAT/HINCRBYFLOAT). Hash-field TTLs (Redis 7.4) are kept, from the snapshot and from
 * HPEXPIREAT/HPERSIST (hget/hgetall hide expired fields, hpttl reads them). Not kept: module values
 * (counted in unsupportedKeys).
 *
 * A full sync keeps values as the snapshot had them (string values as binary strings, small
 * collections as their listpack/ziplist/intset blobs) and decodes each on first use: see
 * memory/dataset.ts's PackedEntry.
 *
 * Lex ranges over sets with mixed scores follow Redis's listpack behaviour; Redis's
 * own result then depends on its encoding (notes on apply-zsets.ts).
 */
import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from '../../clock.js';
import { RedstackError } from '../../errors.js';
import { globToRegExp } from '../filter.js';
import { applyCommand } from './memory/commands.js';
import { Unhandled } from './memory/context.js';
import { Dataset, bytes, keyOf, type Entry, type EntryType, type HashValue } from './memory/dataset.js';
import { loadKey } from './memory/load.js';
import { idString, parseId } from './memory/stream-data.js';
import type {
  FullSyncInfo, ReplicaState, ReplicaStatus, ReplicatedCommand, ReplicationPosition, SnapshotKey, Target, UnhandledCommand,
} from './target.js';

export type MirrorState =
  /** Nothing loaded yet. */
  | 'empty'
  /** The first snapshot is loading; reads see the empty dataset until it completes. */
  | 'loading'
  /** A new snapshot is loading; reads keep answering from the previous dataset. */
  | 'resyncing'
  /** Serving a complete dataset. */
  | 'ready'
  | 'closed';

export interface MemoryMirrorOptions {
  /** Wall clock (ms since epoch) for TTLs; default Date.now. */
  now?: () => number;
  /** Timer source for the sweep (default the system clock). */
  clock?: Clock;
  /** How often expired keys are swept (default 10 000 ms; 0 disables). */
  sweepIntervalMs?: number;
  /** How long past its TTL a key waits for the master's DEL before the sweep removes it (default 60 000 ms). */
  expireGraceMs?: number;
}

export interface MirrorEvents {
  state: [state: MirrorState];
  /** A full resync's dataset has replaced the previous one. */
  swap: [info: { keys: number; position: ReplicationPosition }];
}

export class MirrorError extends RedstackError {
  constructor(code: 'ERR_MIRROR_WRONGTYPE', message: string) {
    super(code, message);
  }
}

export class MemoryMirror extends EventEmitter<MirrorEvents> implements Target {
  readonly #now: () => number;
  readonly #grace: number;
  #live = new Dataset();
  #next: Dataset | null = null;
  #state: MirrorState = 'empty';
  #replica: ReplicaStatus | undefined;
  #position: ReplicationPosition | undefined;
  #stopSweep: (() => void) | undefined;
  /** Small collections arrive in their RDB encoding and are decoded on first use (memory/dataset.ts). */
  readonly takesEncoded = true;
  /** Snapshot keys the mirror could not hold (module values). */
  unsupportedKeys = 0;
  /** Commands the mirror could not apply, since it was created. */
  unhandledCommands = 0;

  constructor(options: MemoryMirrorOptions = {}) {
    super();
    this.#now = options.now ?? Date.now;
    this.#grace = options.expireGraceMs ?? 60_000;
    const every = options.sweepIntervalMs ?? 10_000;
    if (every > 0) this.#stopSweep = (options.clock ?? systemClock).every(every, () => this.sweepExpired());
  }

  // ---------------------------------------------------------------------------------------------
  // Target

  open(): undefined {
    return undefined; // nothing survives a restart: always start with a full sync
  }

  beginFullSync(_info: FullSyncInfo): void {
    this.#next = new Dataset(true);
    this.#setState(this.#state === 'ready' || this.#state === 'resyncing' ? 'resyncing' : 'loading');
  }

  applyKeys(keys: readonly SnapshotKey[]): void {
    const ds = this.#next ?? this.#live;
    for (const k of keys) if (!loadKey(ds, k)) this.unsupportedKeys++;
  }

  endFullSync(position: ReplicationPosition): void {
    if (this.#next) {
      this.#next.seal();
      this.#live = this.#next;
    }
    this.#next = null;
    this.#position = position;
    this.#setState('ready');
    this.emit('swap', { keys: this.#live.size, position });
  }

  abortFullSync(): void {
    this.#next = null;
    this.#setState(this.#state === 'resyncing' ? 'ready' : 'empty');
  }

  applyCommands(commands: readonly ReplicatedCommand[], position: ReplicationPosition): UnhandledCommand[] | undefined {
    let unhandled: UnhandledCommand[] | undefined;
    const now = this.#now();
    for (const c of commands) {
      try {
        applyCommand(this.#live, c.db, c.name, c.args, now);
      } catch (err) {
        if (!(err instanceof Unhandled)) throw err;
        this.unhandledCommands++;
        (unhandled ??= []).push({ command: c, reason: err.message });
      }
    }
    this.#position = position;
    if (this.#state === 'empty') this.#setState('ready'); // stream-only replicas never load a snapshot
    return unhandled;
  }

  status(status: ReplicaStatus): void {
    this.#replica = status;
  }

  close(): void {
    this.#stopSweep?.();
    this.#next = null;
    this.#setState('closed');
  }

  // ---------------------------------------------------------------------------------------------
  // State

  get state(): MirrorState {
    return this.#state;
  }

  /** The replica's own state, as last reported. */
  get replicaState(): ReplicaState | undefined {
    return this.#replica?.state;
  }

  /** How far behind the master the mirror is: bytes received but not applied, and for how long. */
  get lag(): { bytes: number; ms: number } {
    return { bytes: this.#replica?.lagBytes ?? 0, ms: this.#replica?.lagMs ?? 0 };
  }

  /** The master position the served data corresponds to. */
  get position(): ReplicationPosition | undefined {
    return this.#position ? { ...this.#position } : undefined;
  }

  /** Removes keys whose TTL passed more than `expireGraceMs` ago. */
  sweepExpired(): number {
    const limit = this.#now() - this.#grace;
    let n = 0;
    for (const db of this.#live.dbs.values()) {
      for (const [k, e] of db) {
        if (e.expiresAt !== undefined && e.expiresAt <= limit) {
          db.delete(k);
          n++;
        }
      }
    }
    return n;
  }

  // ---------------------------------------------------------------------------------------------
  // Reads (Redis semantics; `db` defaults to 0)

  #entry(key: string | Buffer, db: number): Entry | undefined {
    const e = this.#live.dbs.get(db)?.get(keyOf(key));
    if (!e || (e.expiresAt !== undefined && e.expiresAt <= this.#now())) return undefined;
    return e;
  }

  #typed<T extends EntryType>(key: string | Buffer, db: number, type: T): Extract<Entry, { type: T }> | undefined {
    const e = this.#entry(key, db);
    if (e && e.type !== type) throw new MirrorError('ERR_MIRROR_WRONGTYPE', `WRONGTYPE the key holds a ${e.type}, not a ${type}`);
    return e as Extract<Entry, { type: T }> | undefined;
  }

  /** 'string' | 'list' | 'set' | 'zset' | 'hash' | 'stream', or 'none'. */
  type(key: string | Buffer, db = 0): EntryType | 'none' {
    return this.#entry(key, db)?.type ?? 'none';
  }

  exists(key: string | Buffer, db = 0): boolean {
    return this.#entry(key, db) !== undefined;
  }

  /** Milliseconds to live; -1 without an expiry, -2 when missing (PTTL). */
  pttl(key: string | Buffer, db = 0): number {
    const e = this.#entry(key, db);
    if (!e) return -2;
    return e.expiresAt === undefined ? -1 : Math.max(0, e.expiresAt - this.#now());
  }

  /** Seconds to live, rounded as Redis's TTL does; -1 without an expiry, -2 when missing. */
  ttl(key: string | Buffer, db = 0): number {
    const ms = this.pttl(key, db);
    return ms < 0 ? ms : Math.floor((ms + 500) / 1000);
  }

  /** Keys matching a glob pattern (Redis KEYS), in no particular order. */
  keys(pattern = '*', db = 0): Buffer[] {
    const re = globToRegExp(keyOf(pattern));
    const now = this.#now();
    const out: Buffer[] = [];
    for (const [k, e] of this.#live.dbs.get(db) ?? []) {
      if (e.expiresAt !== undefined && e.expiresAt <= now) continue;
      if (re.test(k)) out.push(bytes(k));
    }
    return out;
  }

  /** Keys in the database (expired ones included until deleted, as Redis's DBSIZE). */
  dbsize(db = 0): number {
    return this.#live.dbs.get(db)?.size ?? 0;
  }

  get(key: string | Buffer, db = 0): Buffer | null {
    return this.#typed(key, db, 'string')?.value ?? null;
  }

  /** A hash field's value (fields whose own TTL has passed read as missing). */
  hget(key: string | Buffer, field: string | Buffer, db = 0): Buffer | null {
    const h = this.#typed(key, db, 'hash')?.value;
    const f = keyOf(field);
    const v = h?.get(f);
    if (v === undefined || this.#fieldExpired(h!, f)) return null;
    return bytes(v);
  }

  /** All [field, value] pairs (without fields whose own TTL has passed). */
  hgetall(key: string | Buffer, db = 0): [Buffer, Buffer][] {
    const h = this.#typed(key, db, 'hash')?.value;
    if (!h) return [];
    const out: [Buffer, Buffer][] = [];
    for (const [f, v] of h) if (!this.#fieldExpired(h, f)) out.push([bytes(f), bytes(v)]);
    return out;
  }

  /** Milliseconds a hash field has to live: -1 without a TTL, -2 when the field or key is missing (HPTTL). */
  hpttl(key: string | Buffer, field: string | Buffer, db = 0): number {
    const h = this.#typed(key, db, 'hash')?.value;
    const f = keyOf(field);
    if (!h?.has(f) || this.#fieldExpired(h, f)) return -2;
    const at = h.fieldExpiresAt?.get(f);
    return at === undefined ? -1 : Math.max(0, at - this.#now());
  }

  #fieldExpired(h: HashValue, f: string): boolean {
    const at = h.fieldExpiresAt?.get(f);
    return at !== undefined && at <= this.#now();
  }

  smembers(key: string | Buffer, db = 0): Buffer[] {
    return [...(this.#typed(key, db, 'set')?.value ?? [])].map(bytes);
  }

  sismember(key: string | Buffer, member: string | Buffer, db = 0): boolean {
    return this.#typed(key, db, 'set')?.value.has(keyOf(member)) ?? false;
  }

  /** Items by index, both inclusive, negative from the end (LRANGE). */
  lrange(key: string | Buffer, start: number, stop: number, db = 0): Buffer[] {
    const list = this.#typed(key, db, 'list')?.value ?? [];
    const len = list.length;
    let s = start < 0 ? Math.max(0, start + len) : start;
    const e = stop < 0 ? stop + len : Math.min(stop, len - 1);
    if (s > e) return [];
    s = Math.min(s, len);
    return list.slice(s, e + 1).map(bytes);
  }

  llen(key: string | Buffer, db = 0): number {
    return this.#typed(key, db, 'list')?.value.length ?? 0;
  }

  /** [member, score] pairs by rank, both inclusive, negative from the end (ZRANGE ... WITHSCORES). */
  zrange(key: string | Buffer, start: number, stop: number, db = 0): [Buffer, number][] {
    const sorted = this.#typed(key, db, 'zset')?.value.sorted() ?? [];
    const len = sorted.length;
    const s = start < 0 ? Math.max(0, start + len) : start;
    const e = stop < 0 ? stop + len : Math.min(stop, len - 1);
    if (s > e) return [];
    return sorted.slice(s, e + 1).map(([m, sc]) => [bytes(m), sc]);
  }

  zscore(key: string | Buffer, member: string | Buffer, db = 0): number | null {
    return this.#typed(key, db, 'zset')?.value.score(keyOf(member)) ?? null;
  }

  /** Entries with start <= id <= end ('-' and '+' allowed): [id, [field, value, ...]]. */
  xrange(key: string | Buffer, start = '-', end = '+', db = 0): [string, Buffer[]][] {
    const s = this.#typed(key, db, 'stream')?.value;
    const from = parseId(start, 0n);
    const to = parseId(end, 18446744073709551615n);
    if (!s || !from || !to) return [];
    return s.range(from, to).map((e) => [idString(e.id), e.fields.map(bytes)]);
  }

  /** Consumer groups of a stream: name, last delivered id, pending count, consumers. */
  xgroups(key: string | Buffer, db = 0): { name: Buffer; lastId: string; pending: number; consumers: Buffer[] }[] {
    const s = this.#typed(key, db, 'stream')?.value;
    return [...(s?.groups ?? [])].map(([name, g]) => ({ name: bytes(name), lastId: idString(g.lastId), pending: g.pending.size, consumers: [...g.consumers.keys()].map(bytes) }));
  }

  #setState(s: MirrorState): void {
    if (this.#state === s) return;
    this.#state = s;
    this.emit('state', s);
  }
}
