/**
 * The events a replica emits: the five of the talk's nsync callback structure, typed, plus a few for
 * progress and diagnostics.
 *
 *   nsync                              redstack
 *   {load, Key, Value}                 'load'       one snapshot key (db, key, type, value, expiresAt)
 *   {load, eof}                        'loaded'     the snapshot's end
 *   {cmd, Cmd, Args}                   'command'    one replicated command (db, name, args, offset)
 *   {error, {unhandled_command, Cmd}}  'unhandled'  a command the target could not apply
 *   {error, closed}                    'closed'     the link closed (willReconnect tells whether for good)
 *                                      'error'      a ReplicationError (emitted only when listened to)
 *
 * 'load' and 'command' carry the same objects the target receives; they are emitted just before the
 * target applies them. MULTI/EXEC boundaries are kept: a transaction's commands are emitted together,
 * MULTI and EXEC included, once its EXEC has arrived.
 *
 * Everything is emitted in stream order: a lost link's 'error' and 'closed' come after the events of
 * everything received before the loss (a replica behind its master reports the loss once it has
 * caught up to it), and before the events of the next link.
 */
import type { ReplicationError } from './errors.js';
import type {
  FullSyncInfo, ReplicaState, ReplicatedCommand, ReplicationPosition, SnapshotKey, UnhandledCommand,
} from './targets/target.js';

export interface LoadedEvent {
  replid: string;
  offset: number;
  /** Keys applied (after filters). */
  keys: number;
  /** Payload bytes. */
  bytes: number;
  /** From FULLRESYNC to the end of the payload having been applied. */
  durationMs: number;
}

export interface ClosedEvent {
  /** Why: 'link lost', 'timeout', 'closed by caller', 'rdb-only snapshot complete', an error message... */
  reason: string;
  /** False when the replica is done for good (close() or a fatal error). */
  willReconnect: boolean;
  error?: ReplicationError;
}

export interface ProgressEvent {
  phase: 'snapshot' | 'stream';
  /** Payload bytes received so far (snapshot phase). */
  bytes: number;
  /** Payload size when known (disk transfers). */
  totalBytes: number | undefined;
  /** Keys applied so far (snapshot phase). */
  keys: number;
  /** Key count announced by the RDB's RESIZEDB hints, summed over databases, when present. */
  totalKeys: number | undefined;
}

export interface ContinueEvent {
  replid: string;
  offset: number;
  /** True when the master announced a new replid (after a failover). */
  replidChanged: boolean;
}

export interface ReplicaEvents {
  load: [key: SnapshotKey];
  loaded: [info: LoadedEvent];
  command: [command: ReplicatedCommand];
  unhandled: [what: UnhandledCommand];
  closed: [info: ClosedEvent];
  error: [error: ReplicationError];
  /** The state changed. */
  state: [state: ReplicaState];
  /** FULLRESYNC: a snapshot is coming. */
  fullsync: [info: FullSyncInfo];
  /** +CONTINUE: the master resumed the stream where we left it. */
  continue: [info: ContinueEvent];
  /** At most every 100 ms while loading. */
  progress: [progress: ProgressEvent];
  /** The applied position moved (at most once per batch). */
  position: [position: ReplicationPosition];
}
