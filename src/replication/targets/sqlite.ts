/**
 * SqliteTarget: a replica's data in a SQLite file (better-sqlite3), one row per key, kept current by
 * the replication stream; what `redstack replicate --to sqlite:FILE` writes.
 *
 *   const target = new SqliteTarget({ path: 'mirror.db' });
 *   const replica = createReplica({ url, target });
 *   target.get('user:1')          // { type: 'string', value: <Buffer>, expiresAt } | null
 *
 * Tables and the value format: sql/schema.ts and sql/codec.ts. Everything is synchronous (SQLite is
 * in-process), so the replica never waits a microtask for this target.
 *
 *   - A full sync runs in one transaction: rows go into <p>keys_loading as the snapshot is parsed; at
 *     its end the old table is dropped, the new one renamed, and the position stored, before COMMIT.
 *     An abort is a ROLLBACK: the old data was never touched. A crash mid-sync leaves no trace.
 *   - Commands are planned per batch (sql/command-keys.ts), the rows they need read, the commands
 *     applied on those rows in memory (sql/overlay.ts, the memory mirror's handlers for value
 *     changes), and only changed rows written, with the position. Batches are group-committed: one
 *     transaction takes every batch the replica has ready, up to `commitIntervalMs` (20 ms), so at
 *     a high rate the WAL gets each hot page once per commit, not once per batch, and at a low rate
 *     each batch commits at once.
 *   - WAL journal, synchronous=NORMAL by default: a power loss may lose the last commits, but never
 *     separates data from its position, so the replica simply resumes from an earlier offset.
 *     Checkpoints run in a worker thread (sql/checkpointer.ts), not inside the replica's commits.
 */
import { EventEmitter } from 'node:events';
import Database from 'better-sqlite3';
import type {
  FullSyncInfo, ReplicaStatus, ReplicatedCommand, ReplicationPosition, SnapshotKey, Target, UnhandledCommand,
} from './target.js';
import { decodeValue, type RedisValue } from './sql/codec.js';
import { Checkpointer } from './sql/checkpointer.js';
import { planBatch, type KeyRef } from './sql/command-keys.js';
import { Overlay, type RowChanges, type StoredRow } from './sql/overlay.js';
import { SnapshotRows } from './sql/snapshot-rows.js';
import { SqlTargetError, VALUE_FORMAT, tableNames, type TableNames } from './sql/schema.js';

export interface SqliteTargetOptions {
  /** The database file (created when missing); ':memory:' for a throwaway one. */
  path?: string;
  /** Or an open better-sqlite3 database (the target then does not close it). */
  database?: Database.Database;
  /** Table name prefix (default 'redstack_'). */
  prefix?: string;
  /** PRAGMA synchronous (default 'normal': durable at checkpoints; see the file comment). */
  synchronous?: 'off' | 'normal' | 'full';
  /** Page cache while a snapshot loads, in MiB (default 256): random-order inserts need the B-tree in memory. */
  loadCacheMiB?: number;
  /**
   * Group commit: batches join one open transaction until the replica has no further batch ready
   * (then it commits, before the replica waits for more), or for at most this long (default 20 ms)
   * while batches keep coming. Data and position are committed together, always; the replica's
   * position may run ahead of what is committed by that much, and a crash resumes from the committed
   * position. The 'commit' event tells what is committed. 0: a commit per batch.
   */
  commitIntervalMs?: number;
  /**
   * Checkpoint the WAL from a worker thread (default true for files): see sql/checkpointer.ts. With
   * false, SQLite checkpoints inside commits, on the replica's thread.
   */
  checkpointThread?: boolean;
  /** Wall clock (ms since epoch) for reads that hide expired keys, and relative TTLs. Default Date.now. */
  now?: () => number;
}

export interface SqliteTargetEvents {
  /** Everything up to `position` is committed. */
  commit: [position: ReplicationPosition];
}

/** A key as read back: its value (with type) and expiry. */
export type StoredKey = RedisValue & { db: number; key: Buffer; expiresAt: number | undefined };

interface RawRow {
  db: number;
  key: Buffer;
  type: string;
  value: Buffer;
  expires_at: number | null;
}

type Stmt = Database.Statement<unknown[]>;

/** Snapshot rows per INSERT statement (5 parameters each; SQLite allows 32 766). */
const LOAD_ROWS = 64;

export class SqliteTarget extends EventEmitter<SqliteTargetEvents> implements Target {
  readonly #o: SqliteTargetOptions;
  readonly #t: TableNames;
  readonly #now: () => number;
  #db: Database.Database | null = null;
  #owned = false;
  #s: Record<'fetch' | 'upsert' | 'delete' | 'expire' | 'position' | 'load' | 'begin' | 'commit' | 'savepoint' | 'release', Stmt> | null = null;
  #loading: SnapshotRows | null = null;
  #loadMany: Stmt | undefined;
  readonly #loadArgs: unknown[] = [];
  #replica: ReplicaStatus | undefined;
  /** A stream transaction is open (group commit), with this position stored in it. */
  #txOpen = false;
  #txPosition: ReplicationPosition | undefined;
  #txStart = 0;
  #immediate: NodeJS.Immediate | undefined;
  #failure: Error | undefined;
  #checkpointer: Checkpointer | undefined;
  /** Snapshot keys not stored (module values), over the target's life. */
  unsupportedKeys = 0;
  /** Commands reported unhandled, over the target's life. */
  unhandledCommands = 0;

  constructor(options: SqliteTargetOptions) {
    super();
    if (!options.path && !options.database) throw new SqlTargetError('ERR_SQL_TARGET_OPTION', 'SqliteTarget needs a path or a database');
    this.#o = options;
    this.#t = tableNames(options.prefix ?? 'redstack_');
    this.#now = options.now ?? Date.now;
  }

  /** The open database (after open()), for readers that want SQL. */
  get database(): Database.Database {
    if (!this.#db) throw new SqlTargetError('ERR_SQL_TARGET_STATE', 'the SQLite target is not open');
    return this.#db;
  }

  get tables(): TableNames {
    return { ...this.#t };
  }

  // ---------------------------------------------------------------------------------------------
  // Target

  open(): ReplicationPosition | undefined {
    if (!this.#db) {
      this.#owned = !this.#o.database;
      this.#db = this.#o.database ?? new Database(this.#o.path!);
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma(`synchronous = ${(this.#o.synchronous ?? 'normal').toUpperCase()}`);
      const file = this.#db.name;
      if (this.#o.checkpointThread !== false && file !== '' && file !== ':memory:' && !this.#db.memory) {
        this.#db.pragma('wal_autocheckpoint = 0');
        this.#checkpointer = new Checkpointer(file);
      }
    }
    const db = this.#db;
    const t = this.#t;
    // Only write when something is missing: a second handle on a file in use (a reader) must not
    // need the write lock.
    const have = new Set(db.prepare(`SELECT name FROM sqlite_master`).pluck().all() as string[]);
    const complete = [t.meta, t.position, t.keys, `${t.keys}_db_key`, t.live].every((n) => have.has(n)) && !have.has(t.loading);
    if (!complete) {
      db.exec(`
        CREATE TABLE IF NOT EXISTS ${t.meta} (name TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS ${t.position} (
          id INTEGER PRIMARY KEY CHECK (id = 1), replid TEXT NOT NULL, repl_offset INTEGER NOT NULL);
      `);
      db.exec(this.#keysTable(t.keys));
      db.exec(`CREATE UNIQUE INDEX IF NOT EXISTS ${t.keys}_db_key ON ${t.keys} (db, key)`);
      db.exec(this.#liveView());
      // A loading table can only be left by a process that died mid-sync outside a transaction
      // (never by this code); drop it anyway.
      db.exec(`DROP TABLE IF EXISTS ${t.loading}`);
    }
    const format = db.prepare(`SELECT value FROM ${t.meta} WHERE name = 'format'`).get() as { value: string } | undefined;
    if (format && Number(format.value) !== VALUE_FORMAT) {
      throw new SqlTargetError('ERR_SQL_TARGET_FORMAT', `the tables hold value format ${format.value}; this version reads format ${VALUE_FORMAT} (use another prefix or file)`);
    }
    if (!format) db.prepare(`INSERT INTO ${t.meta} (name, value) VALUES ('format', ?)`).run(String(VALUE_FORMAT));
    this.#prepare();
    const pos = db.prepare(`SELECT replid, repl_offset FROM ${t.position} WHERE id = 1`).get() as { replid: string; repl_offset: number } | undefined;
    return pos ? { replid: pos.replid, offset: Number(pos.repl_offset) } : undefined;
  }

  beginFullSync(_info: FullSyncInfo): void {
    const db = this.database;
    this.#check();
    this.#commit();
    if (db.inTransaction) db.exec('ROLLBACK');
    db.pragma(`cache_size = ${-1024 * (this.#o.loadCacheMiB ?? 256)}`);
    db.exec('BEGIN IMMEDIATE');
    db.exec(`DROP TABLE IF EXISTS ${this.#t.loading}`);
    db.exec(this.#keysTable(this.#t.loading));
    this.#s!.load = db.prepare(`INSERT INTO ${this.#t.loading} (db, key, type, value, expires_at) VALUES (?, ?, ?, ?, ?)`);
    this.#loadMany = db.prepare(`INSERT INTO ${this.#t.loading} (db, key, type, value, expires_at) VALUES ${Array(LOAD_ROWS).fill('(?, ?, ?, ?, ?)').join(', ')}`);
    this.#loadArgs.length = 0;
    this.#loading = new SnapshotRows();
  }

  applyKeys(keys: readonly SnapshotKey[]): void {
    const rows = this.#loading;
    if (!rows) throw new SqlTargetError('ERR_SQL_TARGET_STATE', 'applyKeys outside a full sync');
    // Rows go in LOAD_ROWS at a time through one statement (a third less time than one by one). The
    // encoded value is a view into a reused buffer: the ones waiting for their statement are copied.
    const args = this.#loadArgs;
    const many = this.#loadMany!;
    const sink = (db: number, key: Buffer, type: string, value: Buffer, expiresAt: number | undefined) => {
      args.push(db, key, type, Buffer.from(value), expiresAt ?? null);
      if (args.length === LOAD_ROWS * 5) {
        many.run(args);
        args.length = 0;
      }
    };
    for (const k of keys) rows.add(k, sink);
  }

  /** Inserts the rows still waiting for a full statement. */
  #flushLoad(): void {
    const args = this.#loadArgs;
    const one = this.#s!.load;
    for (let i = 0; i < args.length; i += 5) one.run(args[i], args[i + 1], args[i + 2], args[i + 3], args[i + 4]);
    args.length = 0;
  }

  endFullSync(position: ReplicationPosition): void {
    const db = this.database;
    const t = this.#t;
    if (!this.#loading) throw new SqlTargetError('ERR_SQL_TARGET_STATE', 'endFullSync outside a full sync');
    this.#flushLoad();
    this.unsupportedKeys += this.#loading.unsupportedKeys;
    this.#loading = null;
    // The unique index is built here, in one sorted pass: maintaining it during the load (random
    // key order) costs about twice as much.
    db.exec(`DROP VIEW IF EXISTS ${t.live}; DROP TABLE ${t.keys};
      CREATE UNIQUE INDEX ${t.keys}_db_key ON ${t.loading} (db, key);
      ALTER TABLE ${t.loading} RENAME TO ${t.keys};`);
    db.exec(this.#liveView());
    this.#prepare();
    this.#s!.position.run(position.replid, position.offset);
    db.exec('COMMIT');
    db.pragma('cache_size = -2000');
  }

  abortFullSync(): void {
    this.#loading = null;
    this.#loadArgs.length = 0;
    const db = this.#db;
    if (db?.inTransaction) db.exec('ROLLBACK');
    db?.pragma('cache_size = -2000');
  }

  applyCommands(commands: readonly ReplicatedCommand[], position: ReplicationPosition): UnhandledCommand[] | undefined {
    const db = this.database;
    const s = this.#s!;
    let unhandled: UnhandledCommand[] | undefined;
    this.#check();
    // One transaction spans the batches of a commit interval (group commit); each batch is a
    // savepoint in it, so that a batch that fails leaves the earlier ones to be committed.
    if (!this.#txOpen) {
      s.begin.run();
      this.#txOpen = true;
      this.#txStart = performance.now();
    }
    s.savepoint.run();
    try {
      if (commands.length > 0) {
        const now = this.#now();
        for (const seg of planBatch(commands)) {
          if (seg.kind === 'barrier') {
            const why = this.#barrier(seg.command);
            if (why !== undefined) (unhandled ??= []).push({ command: seg.command, reason: why });
            continue;
          }
          const overlay = new Overlay(seg.fetch, this.#fetch(seg.fetch), now);
          for (const c of seg.commands) {
            const extra = overlay.extraKeys(c);
            if (extra.length > 0) overlay.load(extra, this.#fetch(extra));
            const why = overlay.apply(c);
            if (why !== undefined) (unhandled ??= []).push({ command: c, reason: why });
          }
          this.#write(overlay.changes());
        }
      }
      s.position.run(position.replid, position.offset);
      s.release.run();
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK TO batch; RELEASE batch');
      throw err;
    }
    this.#txPosition = position;
    this.#maybeCommit();
    if (unhandled) this.unhandledCommands += unhandled.length;
    return unhandled;
  }

  /**
   * Group commit: commits as soon as the replica has no further batch ready (an immediate, which
   * runs once the replica yields to I/O), or at once when the transaction has been open for
   * `commitIntervalMs` (the replica may go on for a while without yielding under load).
   */
  #maybeCommit(): void {
    const every = this.#o.commitIntervalMs ?? 20;
    if (every <= 0 || performance.now() - this.#txStart >= every) {
      this.#commit();
      return;
    }
    this.#immediate ??= setImmediate(() => {
      this.#immediate = undefined;
      try {
        this.#commit();
      } catch (err) {
        this.#failure ??= err as Error;
      }
    });
  }

  /** Commits the open stream transaction, if any. */
  #commit(): void {
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#immediate = undefined;
    if (!this.#txOpen) return;
    this.#s!.commit.run();
    this.#txOpen = false;
    const p = this.#txPosition;
    if (p && this.listenerCount('commit') > 0) this.emit('commit', { ...p });
  }

  #check(): void {
    if (this.#failure) throw this.#failure;
  }

  status(status: ReplicaStatus): void {
    this.#replica = status;
  }

  /**
   * Commits what is pending (not a snapshot in progress: that is rolled back), then closes; with a
   * checkpoint thread, resolves once that thread's connection has closed too (the files are final).
   */
  close(): Promise<void> | void {
    const db = this.#db;
    if (!db) return;
    if (this.#loading) this.abortFullSync();
    else if (!this.#failure) this.#commit();
    if (this.#immediate) clearImmediate(this.#immediate);
    if (db.inTransaction) db.exec('ROLLBACK');
    this.#loading = null;
    this.#s = null;
    this.#db = null;
    const checkpointer = this.#checkpointer;
    this.#checkpointer = undefined;
    if (this.#owned) db.close();
    else db.pragma('wal_autocheckpoint = 1000');
    return checkpointer?.stop();
  }

  // ---------------------------------------------------------------------------------------------
  // Reads (expired keys hidden; `db` defaults to 0)

  /** How far behind the master the target is, as the replica last reported. */
  get lag(): { bytes: number; ms: number } {
    return { bytes: this.#replica?.lagBytes ?? 0, ms: this.#replica?.lagMs ?? 0 };
  }

  /** The stored position (what a restart resumes from). */
  storedPosition(): ReplicationPosition | undefined {
    const r = this.database.prepare(`SELECT replid, repl_offset FROM ${this.#t.position} WHERE id = 1`).get() as { replid: string; repl_offset: number } | undefined;
    return r ? { replid: r.replid, offset: Number(r.repl_offset) } : undefined;
  }

  /** A key's value and expiry, or null when missing or expired. */
  get(key: string | Buffer, db = 0): StoredKey | null {
    const k = typeof key === 'string' ? Buffer.from(key) : key;
    const r = this.database.prepare(`SELECT db, key, type, value, expires_at FROM ${this.#t.keys} WHERE db = ? AND key = ?`).get(db, k) as RawRow | undefined;
    return r && !this.#expired(r) ? toStored(r) : null;
  }

  /** Every live key of a database (or of all databases), decoded. */
  *scan(db?: number): Generator<StoredKey> {
    const sql = `SELECT db, key, type, value, expires_at FROM ${this.#t.keys}${db === undefined ? '' : ' WHERE db = ?'}`;
    const stmt = this.database.prepare(sql);
    const it = (db === undefined ? stmt.iterate() : stmt.iterate(db)) as IterableIterator<RawRow>;
    for (const r of it) if (!this.#expired(r)) yield toStored(r);
  }

  /** Rows in a database, expired ones included until their DEL arrives (as Redis's DBSIZE). */
  dbsize(db = 0): number {
    return (this.database.prepare(`SELECT count(*) AS n FROM ${this.#t.keys} WHERE db = ?`).get(db) as { n: number }).n;
  }

  // ---------------------------------------------------------------------------------------------

  #expired(r: RawRow): boolean {
    return r.expires_at !== null && r.expires_at <= this.#now();
  }

  #keysTable(name: string): string {
    // A rowid table with a unique index on (db, key) rather than a WITHOUT ROWID table keyed on it:
    // a snapshot then appends rows and sorts the index once (see endFullSync).
    return `CREATE TABLE IF NOT EXISTS ${name} (
      db INTEGER NOT NULL, key BLOB NOT NULL, type TEXT NOT NULL, value BLOB NOT NULL, expires_at INTEGER)`;
  }

  #liveView(): string {
    // julianday() rather than unixepoch('subsec'): readable by SQLite versions before 3.42 too.
    return `CREATE VIEW IF NOT EXISTS ${this.#t.live} AS SELECT db, key, type, value, expires_at FROM ${this.#t.keys}
      WHERE expires_at IS NULL OR expires_at > CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)`;
  }

  #prepare(): void {
    const db = this.database;
    const t = this.#t;
    this.#s = {
      fetch: db.prepare(`SELECT type, value, expires_at FROM ${t.keys} WHERE db = ? AND key = ?`),
      upsert: db.prepare(`INSERT INTO ${t.keys} (db, key, type, value, expires_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (db, key) DO UPDATE SET type = excluded.type, value = excluded.value, expires_at = excluded.expires_at`),
      delete: db.prepare(`DELETE FROM ${t.keys} WHERE db = ? AND key = ?`),
      expire: db.prepare(`UPDATE ${t.keys} SET expires_at = ? WHERE db = ? AND key = ?`),
      position: db.prepare(`INSERT INTO ${t.position} (id, replid, repl_offset) VALUES (1, ?, ?)
        ON CONFLICT (id) DO UPDATE SET replid = excluded.replid, repl_offset = excluded.repl_offset`),
      load: this.#s?.load ?? db.prepare('SELECT 1'),
      // Prepared once: exec() would parse them for every batch.
      begin: db.prepare('BEGIN'),
      commit: db.prepare('COMMIT'),
      savepoint: db.prepare('SAVEPOINT batch'),
      release: db.prepare('RELEASE batch'),
    };
  }

  #fetch(refs: readonly KeyRef[]): StoredRow[] {
    const rows: StoredRow[] = [];
    const fetch = this.#s!.fetch;
    for (const f of refs) {
      const r = fetch.get(f.db, f.key) as RawRow | undefined;
      if (r) rows.push({ db: f.db, key: f.key, type: r.type as StoredRow['type'], value: r.value, expiresAt: r.expires_at ?? undefined });
    }
    return rows;
  }

  #write(ch: RowChanges): void {
    const s = this.#s!;
    for (const d of ch.deletes) s.delete.run(d.db, d.key);
    for (const u of ch.upserts) s.upsert.run(u.db, u.key, u.type, u.value, u.expiresAt ?? null);
    for (const e of ch.expiries) s.expire.run(e.expiresAt ?? null, e.db, e.key);
  }

  /** FLUSHDB, FLUSHALL, SWAPDB: whole databases, in SQL. Returns why not, when not applied. */
  #barrier(c: ReplicatedCommand): string | undefined {
    const db = this.database;
    const t = this.#t;
    if (c.name === 'FLUSHALL') {
      db.prepare(`DELETE FROM ${t.keys}`).run();
    } else if (c.name === 'FLUSHDB') {
      db.prepare(`DELETE FROM ${t.keys} WHERE db = ?`).run(c.db);
    } else {
      const a = Number(c.args[0]?.toString('latin1'));
      const b = Number(c.args[1]?.toString('latin1'));
      if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0) return 'SWAPDB with a database that is not a number';
      if (a === b) return undefined;
      // Through a db number Redis never uses: the primary key is checked row by row.
      const move = db.prepare(`UPDATE ${t.keys} SET db = ? WHERE db = ?`);
      move.run(-1, a);
      move.run(a, b);
      move.run(b, -1);
    }
    return undefined;
  }
}

function toStored(r: RawRow): StoredKey {
  return { db: r.db, key: r.key, expiresAt: r.expires_at ?? undefined, ...decodeValue(r.type, r.value) } as StoredKey;
}
