/**
 * redstack/replication: the "nsync" replication client and its targets.
 *
 *   const replica = createReplica({ url: 'redis://:pass@master:6379', target: new MemoryMirror() });
 *   replica.on('command', (c) => ...);  // also load, loaded, unhandled, closed, error
 *
 * See replica.ts for the design, targets/target.ts for the Target contract.
 */
export { createReplica, Replica, type ReplicaOptions } from './replica.js';
export { ReplicationError, type ReplicationErrorCode } from './errors.js';
export type { ReplicaEvents, LoadedEvent, ClosedEvent, ProgressEvent, ContinueEvent } from './events.js';
export { globToRegExp, type ReplicaFilter } from './filter.js';
export { Handshake, type HandshakeOutcome, type HandshakeOptions, type HandshakeStep } from './handshake.js';
export { PayloadReader, EOF_MARK_LENGTH } from './payload.js';
export { CommandStream, type StreamBatch } from './stream.js';
export { Spool, type SpoolOptions } from './spool.js';
export type {
  Target, ReplicationPosition, FullSyncInfo, SnapshotKey, ReplicatedCommand, UnhandledCommand, ReplicaState, ReplicaStatus,
} from './targets/target.js';
export { MemoryMirror, MirrorError, type MirrorState, type MemoryMirrorOptions, type MirrorEvents } from './targets/memory.js';
export { JsonlTarget, type JsonlTargetOptions } from './targets/jsonl.js';
export { createTarget } from './targets/factory.js';
