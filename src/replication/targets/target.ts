/**
 * Target: where a replica puts what it receives from the master. One interface for every store
 * (memory mirror, JSON lines, SQLite, PostgreSQL); each adapter is small because the replica does all
 * the protocol work and calls the target in a fixed order:
 *
 *   open()                                  -> saved position, or undefined
 *   [ beginFullSync(info)                      a snapshot starts (FULLRESYNC)
 *     applyKeys(keys) ...                      its keys, in file order, in batches
 *     endFullSync(position)                    the snapshot is complete: commit data + position
 *     | abortFullSync()                        the snapshot broke off: drop what it loaded ]
 *   applyCommands(commands, position) ...     the live stream, in order, in batches
 *   close()                                   after the last call; nothing is in flight
 *
 * Calls never overlap: the replica awaits each one (when it returns a promise) before the next.
 * A target may return plain values when it works synchronously (memory, SQLite): the replica then
 * does not wait a microtask per call.
 *
 * Atomicity, the one rule that makes restarts correct: a target that persists (SQLite, PostgreSQL,
 * a file) must store `position` in the same transaction as the data of that call, in endFullSync and
 * in applyCommands. open() returns the last stored position; the replica then asks the master for
 * `PSYNC replid offset+1` and, when the master still has that part of its backlog, gets +CONTINUE
 * and no new snapshot. A target that cannot persist returns undefined from open().
 *
 * Batches: applyCommands gets every complete command decoded from one chunk of the stream (often
 * one, up to thousands under load), never half of a MULTI/EXEC: a transaction is always delivered
 * whole inside one batch, MULTI and EXEC included as commands of their own so that a target can keep
 * the boundaries (a SQL target can ignore them, its batch is one transaction anyway). `commands` may
 * be empty: the position still moved (the master's pings, a new replid after a failover) and should
 * be stored.
 *
 * Failures: a target throws (or rejects) only when it cannot go on (disk full, database gone). The
 * replica then stops with ERR_REPL_TARGET; the data and position stored before stay consistent. A
 * command the target does not know how to apply is not an error: it is returned from applyCommands
 * and the replica emits an `unhandled` event for it (the talk's `{error, {unhandled_command, Cmd}}`).
 *
 * Buffers in keys and commands are views into the received chunks; they stay valid after the call,
 * but a small view keeps its whole chunk (up to 64 KiB) alive: copy what you keep in memory.
 */
import type { RdbKeyEvent } from '../../rdb/index.js';

/** Where the replica is in the master's replication stream. */
export interface ReplicationPosition {
  /** The master's replication id (40 hex digits). '?' after a SYNC fallback: no partial resync then. */
  replid: string;
  /**
   * The master offset of the last byte applied. A restarted replica asks for `PSYNC replid offset+1`.
   * Stored as a number: offsets stay far below 2^53.
   */
  offset: number;
}

/** What beginFullSync is told about the snapshot that starts. */
export interface FullSyncInfo {
  /** The new replication id and the offset the snapshot corresponds to (from +FULLRESYNC). */
  replid: string;
  offset: number;
  /** 'disk': `$<len>` payload, total size known; 'diskless': `$EOF:` payload, size known at its end. */
  transfer: 'disk' | 'diskless';
  /** Payload size in bytes when known in advance (disk transfers). */
  bytes: number | undefined;
}

/**
 * One key of the snapshot: the RDB parser's key event (src/rdb RdbKeyEvent), used as is.
 *
 *   db, key (Buffer), type ('string' | 'list' | 'set' | 'zset' | 'hash' | 'stream' | 'module'),
 *   value (string: Buffer; list/set: Buffer[]; zset: [member, score][]; hash: [field, value][];
 *   stream: StreamValue; module: the raw serialized value), expiresAt (ms since epoch, or undefined).
 *
 * Big collections arrive in parts (`part` 0, 1, 2..., `more` true on all but the last): each part
 * holds further items of the same key; apply them in order, adding to what the earlier parts made.
 */
export type SnapshotKey = RdbKeyEvent;

/** One command of the replication stream. */
export interface ReplicatedCommand {
  /** The database it runs in (the stream's SELECTs are folded into this field, never delivered). */
  db: number;
  /**
   * The command name in upper case: 'SET', 'PEXPIREAT', 'MULTI', 'EXEC', ... Names arrive in the
   * client's case (`set`) or Redis's (`SET`); the replica normalises them.
   */
  name: string;
  /** The arguments after the name, binary-safe. */
  args: Buffer[];
  /** The master offset just after this command (within a transaction: after its own bytes). */
  offset: number;
}

/** A command a target could not apply, and why (shown to people; not parsed). */
export interface UnhandledCommand {
  command: ReplicatedCommand;
  reason: string;
}

/** The replica's states, in the order a healthy replica goes through them. */
export type ReplicaState =
  | 'connecting'
  | 'handshake'
  /** FULLRESYNC accepted; the master is producing its snapshot (keep-alive newlines meanwhile). */
  | 'waiting-snapshot'
  /** Receiving and applying the snapshot. */
  | 'loading'
  /** Following the command stream. */
  | 'streaming'
  /** The link is down; a reconnect is scheduled. */
  | 'reconnecting'
  | 'closed';

/** What a replica reports to its target (and in its `status` getter) as things change. */
export interface ReplicaStatus {
  state: ReplicaState;
  /** Bytes received from the master and not yet applied to the target (snapshot and stream). */
  lagBytes: number;
  /** How long ago the oldest received-but-unapplied byte arrived; 0 when caught up. */
  lagMs: number;
  /** The position applied so far (undefined before the first snapshot). */
  position: ReplicationPosition | undefined;
  /** Bytes spooled to disk because the target is slower than the master. */
  spooledBytes: number;
}

/** See the file comment for the order and atomicity rules. */
export interface Target {
  /**
   * Prepares storage (creates tables, opens files). Returns the position saved by an earlier run, so
   * that the replica resumes with PSYNC; undefined to start with a full sync.
   */
  open(): Promise<ReplicationPosition | undefined> | ReplicationPosition | undefined;

  /**
   * A snapshot starts. The target prepares to replace its whole dataset (only the databases the
   * replica's filter lets through), but keeps serving or keeping the old one until endFullSync: a
   * snapshot can break off (abortFullSync), and the old data must then still be there.
   */
  beginFullSync(info: FullSyncInfo): Promise<void> | void;

  /**
   * Optional: true when the target takes small collections still encoded (SnapshotKey.encoded, the
   * RDB parser's `encoded` option) and decodes them itself, later or never; the replica then skips
   * decoding them. Without it every key arrives with its value decoded.
   */
  readonly takesEncoded?: boolean;

  /** Keys of the snapshot, in file order. */
  applyKeys(keys: readonly SnapshotKey[]): Promise<void> | void;

  /**
   * The snapshot is complete. Atomically: the new dataset replaces the old one, and `position`
   * (the snapshot's replid and offset) is stored with it.
   */
  endFullSync(position: ReplicationPosition): Promise<void> | void;

  /** The snapshot broke off (link lost, parse error, close): drop what it loaded, keep the old data. */
  abortFullSync(): Promise<void> | void;

  /**
   * Commands of the stream, in order. Atomically: apply them and store `position` (the offset after
   * the last one; `commands` may be empty). Returns the commands it could not apply, if any.
   */
  applyCommands(
    commands: readonly ReplicatedCommand[],
    position: ReplicationPosition,
  ): Promise<readonly UnhandledCommand[] | void> | readonly UnhandledCommand[] | void;

  /** Optional: told the replica's state and lag when they change (and about once a second). */
  status?(status: ReplicaStatus): void;

  /** Flushes and releases storage. Called once, after the last other call has settled. */
  close(): Promise<void> | void;
}
