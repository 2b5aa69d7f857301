/**
 * PostgresTarget: a replica's data in PostgreSQL (node-postgres), one row per key, kept current by
 * the replication stream; what `redstack replicate --to postgres://...` writes.
 *
 *   const target = new PostgresTarget({ connectionString: 'postgres://u@host/db', schema: 'mirror' });
 *   const replica = createReplica({ url, target });
 *   await target.get('user:1')     // { type: 'string', value: <Buffer>, expiresAt } | null
 *
 * Tables and the value format: sql/schema.ts and sql/codec.ts (keys bytea, values bytea, expires_at
 * bigint ms). The tables belong to the target: nothing else should write to them.
 *
 *   - A key's row is found and kept unique by UNIQUE INDEX <p>keys_id ON (db, key_id(key)), not by
 *     a primary key on (db, key): a btree entry must fit in a third of a page (~2.7 KB) and Redis
 *     keys may be 512 MB. key_id (keyId() below, an expression, not a function in the schema) is
 *     0x00 || key for keys of up to 512 bytes and 0x01 || sha256(key) for longer ones: the tag keeps
 *     a short key from ever equalling a long key's digest, and short keys, nearly all of them, cost
 *     no hashing (sha256() is ~1 us a row in PostgreSQL: +1.2-2.5 s on a 2M-key index build, and
 *     two calls per upsert). Every statement spells the same expression (WHERE key_id(k.key) =
 *     key_id($n), ON CONFLICT (db, key_id(key))) so that the planner uses the index. An expression
 *     index rather than a stored column: the load writes no more bytes per row, and updates that
 *     leave the key alone stay HOT. Two long keys with one SHA-256 would be one row (no collision of
 *     SHA-256 is known).
 *
 *   - A full sync is one transaction on one connection: CREATE TABLE <p>keys_loading, then one
 *     COPY ... FROM STDIN (FORMAT binary, FREEZE) that lasts the whole snapshot (rows are streamed as
 *     they are parsed, and written frozen: no vacuum pass is owed on them afterwards; sql/pg-copy.ts
 *     speaks the CopyIn protocol, pg-copy-streams is not needed), then the
 *     key index is built in one sorted pass, the old table dropped, the new one renamed and the
 *     position stored, and COMMIT. An abort is a CopyFail and a ROLLBACK: the old data was never
 *     touched, and readers of the old table are not blocked until the swap.
 *   - Commands are applied in memory on the rows they touch (read with one SELECT per batch, none
 *     when a batch only SETs or DELs) and written by one statement that deletes, upserts, updates
 *     expiries (unnest() arrays, data-modifying CTEs) and stores the position, atomically. Writes
 *     are group commits (option `pipeline`, on by default): one is in flight at a time, and the
 *     batches that arrive meanwhile go into the next one, so a write costs one round trip however
 *     small the replica's batches are, and the target batches more as the rate rises. Batches with
 *     FLUSHDB/FLUSHALL/SWAPDB wait for the pipeline, then run as BEGIN ... COMMIT.
 *   - synchronous_commit = off for the target's session by default: PostgreSQL may lose the last
 *     commits in a crash of its own, but never separates data from its position, so the replica
 *     resumes from an earlier offset (the master resends the rest); `synchronousCommit: true` to wait
 *     for every flush.
 *
 * Table format: <p>meta 'format' = 2 (TABLE_FORMAT: value format 1 of codec.ts, keys indexed by
 * key_id). Format 1, the same rows under PRIMARY KEY (db, key), is migrated by open(), in one
 * transaction: the key_id index is built on the existing rows (writes to the table wait for it,
 * reads only for the last moment, the primary key's drop and the commit), the primary key dropped
 * and the format set to 2; the stored position stays, so
 * the replica still resumes with +CONTINUE. The number changed so that an older redstack refuses
 * format-2 tables with ERR_SQL_TARGET_FORMAT instead of failing at its first upsert (its
 * ON CONFLICT (db, key) has no index to match). Other formats are refused.
 *
 * Limits: keys have none of their own any more (the index holds at most 513 bytes of one). What
 * remains is PostgreSQL's 1 GB cap on one field or one parameter: a key with its encoded value
 * beyond that in a snapshot row, or a batch whose keys (or values) add up to more in one statement,
 * fails.
 */
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type {
  FullSyncInfo, ReplicaStatus, ReplicatedCommand, ReplicationPosition, SnapshotKey, Target, UnhandledCommand,
} from './target.js';
import { decodeValue, type RedisValue } from './sql/codec.js';
import { planBatch, type KeyRef, type Segment } from './sql/command-keys.js';
import { Overlay, type RowChanges, type StoredRow } from './sql/overlay.js';
import { bytesArray, int4Array, int8Array } from './sql/pg-arrays.js';
import { CopyIn, CopyRows } from './sql/pg-copy.js';
import { SnapshotRows } from './sql/snapshot-rows.js';
import { SqlTargetError, VALUE_FORMAT, checkIdentifier, tableNames, type TableNames } from './sql/schema.js';

/**
 * What <p>meta 'format' holds in PostgreSQL: the value format and the table layout together (see the
 * file comment). 1: value format 1, PRIMARY KEY (db, key). 2: value format 1, UNIQUE (db, key_id(key)).
 * A new value format takes the next number here.
 */
const TABLE_FORMAT = 2;
const LEGACY_FORMAT = 1;
// Both formats hold value format 1: another one must not pass for them (this fails to compile).
VALUE_FORMAT satisfies 1;

/** Keys up to this many bytes are indexed as themselves, longer ones by their SHA-256. Part of format 2. */
const KEY_INLINE_MAX = 512;

/**
 * The key's identity in the index, of a bytea column or parameter (see the file comment). The index,
 * ON CONFLICT and every lookup must spell it alike: the planner matches expressions, not meanings.
 */
function keyId(col: string): string {
  return `(CASE WHEN octet_length(${col}) <= ${KEY_INLINE_MAX} THEN '\\x00'::bytea || ${col} ELSE '\\x01'::bytea || sha256(${col}) END)`;
}

export interface PostgresTargetOptions {
  /** postgres://user:password@host:port/database */
  connectionString?: string;
  /** Or pg's client configuration (host, port, user, password, database, ssl...). */
  client?: pg.ClientConfig;
  /** Schema for the tables (default 'public'; created when missing). */
  schema?: string;
  /** Table name prefix (default 'redstack_'). */
  prefix?: string;
  /** Wait for WAL flush on every commit (default false: see the file comment). */
  synchronousCommit?: boolean;
  /**
   * Group commit (default true): applyCommands returns once its commands are applied in memory and
   * the write is started; one write is in flight at a time, and batches that arrive meanwhile go
   * into the next one. Data and position are still written together, so what PostgreSQL holds is
   * always consistent, but the replica's position (and its ACKs to the master) may run ahead of what
   * is committed by up to `maxPendingCommands`; a crash resumes from the committed position. The
   * 'commit' event tells what is committed. false: every call waits for its own commit.
   */
  pipeline?: boolean;
  /** With `pipeline`: commands held in memory before applyCommands waits for the write in flight (default 50 000). */
  maxPendingCommands?: number;
  /** Rows kept decoded between batches for read-modify-write commands (default 100 000; then it starts over). */
  cacheKeys?: number;
  /** COPY data sent per message during a full sync (default 256 KiB). */
  copyChunkBytes?: number;
  /** Wall clock (ms since epoch) for reads that hide expired keys, and relative TTLs. Default Date.now. */
  now?: () => number;
}

/** A key as read back: its value (with type) and expiry. */
export type StoredKey = RedisValue & { db: number; key: Buffer; expiresAt: number | undefined };

type RawRow = [db: number, key: Buffer, type: string, value: Buffer, expiresAt: number | null];

/** int8 as a JS number (ms timestamps and offsets stay far below 2^53). */
const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;

export interface PostgresTargetEvents {
  /** Everything up to `position` is committed in PostgreSQL (after each write). */
  commit: [position: ReplicationPosition];
}

export class PostgresTarget extends EventEmitter<PostgresTargetEvents> implements Target {
  readonly #o: PostgresTargetOptions;
  readonly #schema: string;
  readonly #t: TableNames;
  /** Schema-qualified, quoted names. */
  readonly #q: TableNames;
  readonly #now: () => number;
  #client: pg.Client | null = null;
  #reader: Promise<pg.Client> | null = null;
  #failure: Error | null = null;
  #copy: CopyIn | null = null;
  #rows: CopyRows | null = null;
  #snapshot: SnapshotRows | null = null;
  #inSnapshotTx = false;
  #replica: ReplicaStatus | undefined;
  #sql!: { apply: string; fetch: string };
  /** Commands applied in memory, not yet handed to PostgreSQL, and a cache of decoded rows. */
  #pending: Overlay | null = null;
  /** The position that goes with what is pending. */
  #pendingPosition: ReplicationPosition | undefined;
  /** The position of the last write started. */
  #written: ReplicationPosition | undefined;
  /** The write in flight, if any. */
  #inflight: Promise<void> | null = null;
  /** applyCommands is reading rows for the pending overlay: it is not complete. */
  #applying = false;
  /** Snapshot keys not stored (module values), over the target's life. */
  unsupportedKeys = 0;
  /** Commands reported unhandled, over the target's life. */
  unhandledCommands = 0;

  constructor(options: PostgresTargetOptions) {
    super();
    this.#o = options;
    this.#schema = checkIdentifier('schema', options.schema ?? 'public');
    this.#t = tableNames(options.prefix ?? 'redstack_');
    const q = (n: string) => `"${this.#schema}"."${n}"`;
    this.#q = { keys: q(this.#t.keys), loading: q(this.#t.loading), live: q(this.#t.live), position: q(this.#t.position), meta: q(this.#t.meta) };
    this.#now = options.now ?? Date.now;
  }

  /**
   * From a URL as `redstack replicate --to` takes it: postgres://user:pass@host:port/db, with
   * optional `schema=` and `prefix=` query parameters (removed before the URL goes to pg).
   */
  static fromUrl(url: string, options: Omit<PostgresTargetOptions, 'connectionString'> = {}): PostgresTarget {
    const u = new URL(url);
    const schema = u.searchParams.get('schema') ?? undefined;
    const prefix = u.searchParams.get('prefix') ?? undefined;
    u.searchParams.delete('schema');
    u.searchParams.delete('prefix');
    return new PostgresTarget({ ...options, connectionString: u.toString(), ...(schema ? { schema } : {}), ...(prefix !== undefined ? { prefix } : {}) });
  }

  get tables(): TableNames {
    return { ...this.#q };
  }

  // ---------------------------------------------------------------------------------------------
  // Target

  async open(): Promise<ReplicationPosition | undefined> {
    const c = await this.#connect();
    this.#client = c;
    if (!this.#o.synchronousCommit) await c.query('SET synchronous_commit = off');
    // Every statement here looks rows up by primary key: a generic plan is right, and planning the
    // apply statement for each batch would cost more than running it.
    await c.query('SET plan_cache_mode = force_generic_plan');
    const q = this.#q;
    if (this.#schema !== 'public') await c.query(`CREATE SCHEMA IF NOT EXISTS "${this.#schema}"`);
    // The format first: tables of an unknown format are left exactly as they are.
    await c.query(`CREATE TABLE IF NOT EXISTS ${q.meta} (name text PRIMARY KEY, value text NOT NULL)`);
    const row = (await c.query<{ value: string }>(`SELECT value FROM ${q.meta} WHERE name = 'format'`)).rows[0];
    const format = row ? Number(row.value) : undefined;
    if (format !== undefined && format !== TABLE_FORMAT && format !== LEGACY_FORMAT) {
      throw new SqlTargetError('ERR_SQL_TARGET_FORMAT', `the tables hold format ${row!.value}; this version reads format ${TABLE_FORMAT} and migrates format ${LEGACY_FORMAT} (use another schema or prefix)`);
    }
    await c.query(`
      CREATE TABLE IF NOT EXISTS ${q.position} (
        id int PRIMARY KEY CHECK (id = 1), replid text NOT NULL, repl_offset bigint NOT NULL);
      DROP TABLE IF EXISTS ${q.loading};`);
    // New tables, or format 1 migrated. Not on every open: CREATE INDEX IF NOT EXISTS takes a lock
    // that waits for the writes of another handle on the same tables.
    if (format !== TABLE_FORMAT) await this.#createKeys(c);
    await c.query(this.#liveView());
    this.#sql = {
      fetch: `SELECT k.db, k.key, k.type, k.value, k.expires_at FROM ${q.keys} k
        JOIN unnest($1::int[], $2::bytea[]) AS f(db, key) ON k.db = f.db AND ${keyId('k.key')} = ${keyId('f.key')}`,
      apply: `WITH d AS (
          DELETE FROM ${q.keys} k USING unnest($1::int[], $2::bytea[]) AS x(db, key) WHERE k.db = x.db AND ${keyId('k.key')} = ${keyId('x.key')}
        ), u AS (
          INSERT INTO ${q.keys} (db, key, type, value, expires_at)
          SELECT * FROM unnest($3::int[], $4::bytea[], $5::text[], $6::bytea[], $7::bigint[])
          ON CONFLICT (db, ${keyId('key')}) DO UPDATE SET type = EXCLUDED.type, value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
        ), e AS (
          UPDATE ${q.keys} k SET expires_at = x.at FROM unnest($8::int[], $9::bytea[], $10::bigint[]) AS x(db, key, at)
          WHERE k.db = x.db AND ${keyId('k.key')} = ${keyId('x.key')}
        )
        INSERT INTO ${q.position} (id, replid, repl_offset) VALUES (1, $11, $12)
        ON CONFLICT (id) DO UPDATE SET replid = EXCLUDED.replid, repl_offset = EXCLUDED.repl_offset`,
    };
    const pos = await c.query<{ replid: string; repl_offset: number }>(`SELECT replid, repl_offset FROM ${q.position} WHERE id = 1`);
    const p = pos.rows[0];
    return p ? { replid: p.replid, offset: Number(p.repl_offset) } : undefined;
  }

  async beginFullSync(_info: FullSyncInfo): Promise<void> {
    const c = this.#live();
    await this.#drain();
    this.#pending = null;
    if (this.#inSnapshotTx) await this.abortFullSync();
    const q = this.#q;
    await c.query('BEGIN');
    this.#inSnapshotTx = true;
    // For the primary key built at the end, in one sort.
    await c.query(`SET LOCAL maintenance_work_mem = '256MB'`);
    await c.query(`DROP TABLE IF EXISTS ${q.loading};
      CREATE TABLE ${q.loading} (db int NOT NULL, key bytea NOT NULL, type text NOT NULL, value bytea NOT NULL, expires_at bigint)`);
    this.#copy = await CopyIn.start(c, `COPY ${q.loading} (db, key, type, value, expires_at) FROM STDIN (FORMAT binary, FREEZE)`);
    this.#rows = new CopyRows();
    this.#snapshot = new SnapshotRows();
  }

  applyKeys(keys: readonly SnapshotKey[]): Promise<void> | void {
    const rows = this.#rows;
    const snap = this.#snapshot;
    if (!rows || !snap || !this.#copy) throw new SqlTargetError('ERR_SQL_TARGET_STATE', 'applyKeys outside a full sync');
    this.#check();
    const sink = (db: number, key: Buffer, type: string, value: Buffer, expiresAt: number | undefined) => rows.add(db, key, type, value, expiresAt);
    for (const k of keys) snap.add(k, sink);
    if (rows.size < (this.#o.copyChunkBytes ?? 256 * 1024)) return undefined;
    return this.#copy.write(rows.take());
  }

  async endFullSync(position: ReplicationPosition): Promise<void> {
    const c = this.#live();
    const copy = this.#copy;
    const rows = this.#rows;
    if (!copy || !rows || !this.#snapshot) throw new SqlTargetError('ERR_SQL_TARGET_STATE', 'endFullSync outside a full sync');
    this.unsupportedKeys += this.#snapshot.unsupportedKeys;
    rows.finish();
    await copy.write(rows.take());
    await copy.end();
    this.#copy = null;
    this.#rows = null;
    this.#snapshot = null;
    const q = this.#q;
    const t = this.#t;
    const s = `"${this.#schema}"`;
    // The key index is built before the old table goes, under a temporary name: readers of the old
    // table are blocked only from the DROP to the COMMIT.
    await c.query(`CREATE UNIQUE INDEX "${t.loading}_id" ON ${q.loading} (db, ${keyId('key')})`);
    // Statistics now, not when autovacuum gets to it: the planner must know the table is big.
    await c.query(`ANALYZE ${q.loading}`);
    await c.query(`DROP VIEW IF EXISTS ${q.live};
      DROP TABLE ${q.keys};
      ALTER TABLE ${q.loading} RENAME TO "${t.keys}";
      ALTER INDEX ${s}."${t.loading}_id" RENAME TO "${t.keys}_id";`);
    await c.query(this.#liveView());
    await this.#storePosition(c, position);
    await c.query('COMMIT');
    this.#inSnapshotTx = false;
    this.#written = position;
    this.#committed(position);
  }

  async abortFullSync(): Promise<void> {
    const c = this.#client;
    const copy = this.#copy;
    this.#copy = null;
    this.#rows = null;
    this.#snapshot = null;
    if (!c || this.#failure) return;
    if (copy) await copy.fail('the snapshot broke off');
    if (this.#inSnapshotTx) {
      this.#inSnapshotTx = false;
      await c.query('ROLLBACK');
    }
  }

  async applyCommands(commands: readonly ReplicatedCommand[], position: ReplicationPosition): Promise<UnhandledCommand[] | undefined> {
    const c = this.#live();
    const segments = commands.length > 0 ? planBatch(commands) : [];
    let unhandled: UnhandledCommand[] | undefined;
    if (segments.some((seg) => seg.kind === 'barrier')) {
      // Whole-database commands: after everything pending, the batch as one transaction of its own
      // (which changes rows behind the overlay's back: it starts over).
      await this.#drain();
      this.#pending = null;
      unhandled = await this.#applyInTransaction(c, segments, position);
      this.#committed(position);
    } else {
      const seg = segments[0];
      if (seg && seg.kind === 'apply') {
        const ov = (this.#pending ??= new Overlay([], [], 0));
        ov.now = this.#now();
        // Read what the overlay does not hold yet. The query queues behind the write in flight on
        // the same connection, so it sees that write's rows. Meanwhile that write may complete: the
        // overlay must not be taken for the next write before this batch is in it (#applying).
        this.#applying = true;
        try {
          const need = ov.unknown(seg.fetch);
          if (need.length > 0) ov.load(need, await this.#fetch(c, need));
          for (const cmd of seg.commands) {
            const extra = ov.extraKeys(cmd);
            if (extra.length > 0) ov.load(extra, await this.#fetch(c, extra));
            const why = ov.apply(cmd);
            if (why !== undefined) (unhandled ??= []).push({ command: cmd, reason: why });
          }
        } finally {
          this.#applying = false;
        }
      }
      this.#pendingPosition = position;
      this.#flush();
      const held = this.#pending?.commands ?? 0;
      if (this.#o.pipeline === false || held >= (this.#o.maxPendingCommands ?? 50_000)) await this.#drain();
    }
    if (unhandled) this.unhandledCommands += unhandled.length;
    return unhandled;
  }

  /** Starts writing what is pending (one write in flight at a time; what comes meanwhile waits for the next). */
  #flush(): void {
    if (this.#inflight || this.#failure || this.#applying) return;
    const ov = this.#pending;
    const position = this.#pendingPosition;
    if (!ov?.dirty && (!position || position === this.#written)) return;
    this.#written = position;
    const changes = ov ? ov.changes({ keep: true }) : { upserts: [], deletes: [], expiries: [] };
    // The overlay stays as a cache of the rows it decoded (hot keys of read-modify-write commands
    // need no SELECT next time), within bounds.
    if (ov && ov.size > (this.#o.cacheKeys ?? 100_000)) this.#pending = null;
    this.#inflight = this.#write(this.#client!, changes, position!).then(
      () => {
        this.#inflight = null;
        this.#committed(position!);
        this.#flush();
      },
      (err: Error) => {
        this.#inflight = null;
        this.#failure ??= err;
      },
    );
  }

  /** Waits until everything applied so far is committed. Throws the write's error if one failed. */
  async #drain(): Promise<void> {
    for (;;) {
      this.#flush();
      const w = this.#inflight;
      if (!w) break;
      await w;
    }
    this.#check();
  }

  #committed(position: ReplicationPosition): void {
    if (this.listenerCount('commit') > 0) this.emit('commit', { ...position });
  }

  async #applyInTransaction(c: pg.Client, segments: Segment[], position: ReplicationPosition): Promise<UnhandledCommand[] | undefined> {
    let unhandled: UnhandledCommand[] | undefined;
    await c.query('BEGIN');
    try {
      for (const seg of segments) {
        if (seg.kind === 'barrier') {
          const why = await this.#barrier(c, seg.command);
          if (why !== undefined) (unhandled ??= []).push({ command: seg.command, reason: why });
          continue;
        }
        const overlay = new Overlay(seg.fetch, await this.#fetch(c, seg.fetch), this.#now());
        for (const cmd of seg.commands) {
          const extra = overlay.extraKeys(cmd);
          if (extra.length > 0) overlay.load(extra, await this.#fetch(c, extra));
          const why = overlay.apply(cmd);
          if (why !== undefined) (unhandled ??= []).push({ command: cmd, reason: why });
        }
        await this.#write(c, overlay.changes(), position);
      }
      await this.#storePosition(c, position);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    }
    this.#written = position;
    return unhandled;
  }

  status(status: ReplicaStatus): void {
    this.#replica = status;
  }

  /** Commits what is pending, then closes the connections. Throws if the last writes failed. */
  async close(): Promise<void> {
    const c = this.#client;
    let error: unknown;
    if (c) {
      if (this.#inSnapshotTx) await this.abortFullSync().catch(() => {});
      else await this.#drain().catch((err: unknown) => void (error = err));
    }
    this.#client = null;
    this.#pending = null;
    const reader = this.#reader;
    this.#reader = null;
    await c?.end().catch(() => {});
    if (reader) await (await reader.catch(() => null))?.end().catch(() => {});
    if (error) throw error;
  }

  // ---------------------------------------------------------------------------------------------
  // Reads (on a connection of their own; expired keys hidden; `db` defaults to 0)

  /** How far behind the master the target is, as the replica last reported. */
  get lag(): { bytes: number; ms: number } {
    return { bytes: this.#replica?.lagBytes ?? 0, ms: this.#replica?.lagMs ?? 0 };
  }

  /** The stored position (what a restart resumes from). */
  async storedPosition(): Promise<ReplicationPosition | undefined> {
    const r = await (await this.#read()).query<{ replid: string; repl_offset: number }>(`SELECT replid, repl_offset FROM ${this.#q.position} WHERE id = 1`);
    const p = r.rows[0];
    return p ? { replid: p.replid, offset: Number(p.repl_offset) } : undefined;
  }

  /** A key's value and expiry, or null when missing or expired. */
  async get(key: string | Buffer, db = 0): Promise<StoredKey | null> {
    const k = typeof key === 'string' ? Buffer.from(key) : key;
    const r = await (await this.#read()).query<RawRow>({
      text: `SELECT db, key, type, value, expires_at FROM ${this.#q.keys} WHERE db = $1 AND ${keyId('key')} = ${keyId('$2::bytea')}`,
      values: [db, k],
      rowMode: 'array',
    });
    const row = r.rows[0];
    return row && !this.#expired(row) ? toStored(row) : null;
  }

  /** Every live key of a database (or of all databases), decoded. Reads the whole result at once. */
  async scan(db?: number): Promise<StoredKey[]> {
    const r = await (await this.#read()).query<RawRow>({
      text: `SELECT db, key, type, value, expires_at FROM ${this.#q.keys}${db === undefined ? '' : ' WHERE db = $1'}`,
      values: db === undefined ? [] : [db],
      rowMode: 'array',
    });
    return r.rows.filter((row) => !this.#expired(row)).map(toStored);
  }

  /** Rows in a database, expired ones included until their DEL arrives (as Redis's DBSIZE). */
  async dbsize(db = 0): Promise<number> {
    const r = await (await this.#read()).query<{ n: number }>(`SELECT count(*)::int AS n FROM ${this.#q.keys} WHERE db = $1`, [db]);
    return r.rows[0]!.n;
  }

  // ---------------------------------------------------------------------------------------------

  async #connect(): Promise<pg.Client> {
    const config: pg.ClientConfig = { ...(this.#o.client ?? {}), types: TYPES };
    if (this.#o.connectionString) config.connectionString = this.#o.connectionString;
    const c = new pg.Client(config);
    c.on('error', (err) => {
      this.#failure ??= err;
    });
    try {
      await c.connect();
    } catch (err) {
      const where = `${c.host ?? '?'}:${c.port ?? '?'}`;
      throw new SqlTargetError('ERR_SQL_TARGET_UNREACHABLE', `PostgreSQL at ${where} could not be reached: ${(err as Error).message}`, { cause: err });
    }
    return c;
  }

  #read(): Promise<pg.Client> {
    this.#reader ??= this.#connect();
    return this.#reader;
  }

  #check(): void {
    if (this.#failure) throw this.#failure;
  }

  #live(): pg.Client {
    this.#check();
    if (!this.#client) throw new SqlTargetError('ERR_SQL_TARGET_STATE', 'the PostgreSQL target is not open');
    return this.#client;
  }

  #expired(r: RawRow): boolean {
    return r[4] !== null && r[4] <= this.#now();
  }

  #liveView(): string {
    return `CREATE OR REPLACE VIEW ${this.#q.live} AS SELECT db, key, type, value, expires_at FROM ${this.#q.keys}
      WHERE expires_at IS NULL OR expires_at > (extract(epoch from clock_timestamp()) * 1000)::bigint`;
  }

  async #fetch(c: pg.Client, refs: readonly KeyRef[]): Promise<StoredRow[]> {
    if (refs.length === 0) return [];
    const r = await c.query<RawRow>({ name: `redstack_fetch_${this.#schema}_${this.#t.keys}`, text: this.#sql.fetch, values: [int4Array(refs.map((f) => f.db)), bytesArray(refs.map((f) => f.key))], rowMode: 'array' });
    return r.rows.map(([db, key, type, value, expiresAt]) => ({ db, key, type: type as StoredRow['type'], value, expiresAt: expiresAt ?? undefined }));
  }

  async #write(c: pg.Client, ch: RowChanges, position: ReplicationPosition): Promise<void> {
    const u = ch.upserts;
    const e = ch.expiries;
    await c.query({
      name: `redstack_apply_${this.#schema}_${this.#t.keys}`,
      text: this.#sql.apply,
      values: [
        int4Array(ch.deletes.map((d) => d.db)), bytesArray(ch.deletes.map((d) => d.key)),
        int4Array(u.map((r) => r.db)), bytesArray(u.map((r) => r.key)), bytesArray(u.map((r) => r.type), 'text'),
        bytesArray(u.map((r) => r.value)), int8Array(u.map((r) => r.expiresAt)),
        int4Array(e.map((r) => r.db)), bytesArray(e.map((r) => r.key)), int8Array(e.map((r) => r.expiresAt)),
        position.replid, position.offset,
      ],
    });
  }

  /**
   * <p>keys with its key_id index, as new tables or from format 1 (see the file comment), and the
   * format that says so, in one transaction: a migration that breaks off leaves format 1 as it was.
   */
  async #createKeys(c: pg.Client): Promise<void> {
    const q = this.#q;
    const t = this.#t;
    await c.query('BEGIN');
    try {
      await c.query(`SET LOCAL maintenance_work_mem = '256MB'`);
      await c.query(`
        CREATE TABLE IF NOT EXISTS ${q.keys} (
          db int NOT NULL, key bytea NOT NULL, type text NOT NULL, value bytea NOT NULL, expires_at bigint);
        CREATE UNIQUE INDEX IF NOT EXISTS "${t.keys}_id" ON ${q.keys} (db, ${keyId('key')});`);
      // Format 1's primary key, whatever it is called now: it refuses long keys.
      const pk = await c.query<{ name: string }>(
        `SELECT conname AS name FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`, [q.keys]);
      for (const { name } of pk.rows) await c.query(`ALTER TABLE ${q.keys} DROP CONSTRAINT "${name.replaceAll('"', '""')}"`);
      await c.query(`INSERT INTO ${q.meta} (name, value) VALUES ('format', $1)
        ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value`, [String(TABLE_FORMAT)]);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    }
  }

  async #storePosition(c: pg.Client, p: ReplicationPosition): Promise<void> {
    await c.query(`INSERT INTO ${this.#q.position} (id, replid, repl_offset) VALUES (1, $1, $2)
      ON CONFLICT (id) DO UPDATE SET replid = EXCLUDED.replid, repl_offset = EXCLUDED.repl_offset`, [p.replid, p.offset]);
  }

  /** FLUSHDB, FLUSHALL, SWAPDB: whole databases, in SQL, inside the batch's transaction. */
  async #barrier(c: pg.Client, cmd: ReplicatedCommand): Promise<string | undefined> {
    const k = this.#q.keys;
    if (cmd.name === 'FLUSHALL') {
      await c.query(`DELETE FROM ${k}`);
    } else if (cmd.name === 'FLUSHDB') {
      await c.query(`DELETE FROM ${k} WHERE db = $1`, [cmd.db]);
    } else {
      const a = Number(cmd.args[0]?.toString('latin1'));
      const b = Number(cmd.args[1]?.toString('latin1'));
      if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0) return 'SWAPDB with a database that is not a number';
      if (a === b) return undefined;
      // Through a db number Redis never uses: the key index is checked row by row.
      // (a and b are checked integers: safe to splice.)
      await c.query(`UPDATE ${k} SET db = -1 WHERE db = ${a}; UPDATE ${k} SET db = ${a} WHERE db = ${b}; UPDATE ${k} SET db = ${b} WHERE db = -1`);
    }
    return undefined;
  }
}

function toStored(r: RawRow): StoredKey {
  return { db: r[0], key: r[1], expiresAt: r[4] ?? undefined, ...decodeValue(r[2], r[3]) } as StoredKey;
}
