/**
 * Events the RDB parser emits, one discriminated union on `kind`, in file order:
 *
 *   header, then any of aux / module-aux / function / db / resize / slot-info / key, then end.
 *
 * Byte values are Buffers. Unless `copyBuffers` is set they are views into the chunks that were
 * written (no copy), so keeping a small one alive keeps its chunk alive: copy what you keep long-term.
 */
import type { RdbDataType } from './constants.js';

export type { RdbDataType };

export interface RdbHeaderEvent {
  kind: 'header';
  /** 'REDIS' or 'VALKEY'. */
  magic: string;
  version: number;
}

export interface RdbAuxEvent {
  kind: 'aux';
  /** e.g. 'redis-ver', 'ctime', 'repl-id', 'lua'. */
  name: string;
  /** Integers Redis stores encoded come back as their decimal text. */
  value: Buffer;
}

export interface RdbDbEvent {
  kind: 'db';
  db: number;
}

export interface RdbResizeEvent {
  kind: 'resize';
  db: number;
  /** Hints written by RESIZEDB: keys in the db and keys with an expiry. */
  keys: number;
  expires: number;
}

export interface RdbSlotInfoEvent {
  kind: 'slot-info';
  slot: number;
  size: number;
  expiresSize: number;
}

export interface RdbFunctionEvent {
  kind: 'function';
  /** The library source (FUNCTION LOAD takes it as is). */
  code: Buffer;
  /** Library name from the source's shebang, or for the 7.0-RC format, its name field. */
  name: string | undefined;
  engine: string | undefined;
  /** Only the 7.0-RC format (RDB_OPCODE_FUNCTION_PRE_GA) has one. */
  description?: Buffer;
  /** True for RDB_OPCODE_FUNCTION_PRE_GA, which Redis 7.0 GA and later refuse to load. */
  preGA: boolean;
}

export interface RdbModuleAuxEvent {
  kind: 'module-aux';
  module: string;
  encver: number;
  /** 1 = before keys (REDISMODULE_AUX_BEFORE_RDB), 2 = after keys. */
  when: number;
  /** The module's serialized opcode stream, from the first opcode through the EOF opcode. */
  raw: Buffer;
}

export interface RdbEndEvent {
  kind: 'end';
  /** The stored trailer as 16 hex digits (most significant first), or null before RDB 5. */
  checksum: string | null;
  /** 'ok' verified; 'disabled' the file has a zero trailer (rdbchecksum no); 'skipped' by option; 'absent' before RDB 5. */
  checksumStatus: 'ok' | 'disabled' | 'skipped' | 'absent';
  /** Length of the RDB in bytes, trailer included: in diskless replication, where the payload ends. */
  bytes: number;
}

/** A stream id, 'ms-seq' in decimal, exact over the full 64-bit range. */
export type StreamId = string;

export interface StreamEntry {
  id: StreamId;
  fields: [Buffer, Buffer][];
}

export interface StreamPendingEntry {
  id: StreamId;
  /** ms since epoch of the last delivery. */
  deliveryTime: number;
  deliveryCount: number;
}

export interface StreamConsumer {
  name: Buffer;
  seenTime: number;
  /** RDB_TYPE_STREAM_LISTPACKS_3 only. */
  activeTime?: number;
  pending: StreamId[];
}

export interface StreamGroup {
  name: Buffer;
  lastId: StreamId;
  /** RDB_TYPE_STREAM_LISTPACKS_2 and later. */
  entriesRead?: number;
  pending: StreamPendingEntry[];
  consumers: StreamConsumer[];
}

export interface StreamValue {
  entries: StreamEntry[];
  length: number;
  lastId: StreamId;
  /** RDB_TYPE_STREAM_LISTPACKS_2 and later. */
  firstId?: StreamId;
  maxDeletedId?: StreamId;
  entriesAdded?: number;
  groups: StreamGroup[];
}

export interface ModuleValue {
  module: string;
  encver: number;
  /**
   * The value as serialized after the type byte: the 64-bit module id then the module's opcode
   * stream through its EOF opcode (what RESTORE needs after the type byte).
   */
  raw: Buffer;
}

/** A hash field; `expiresAt` (ms since epoch) only for fields with a TTL (RDB 12 types 22-25, Valkey 22). */
export type HashEntry = [field: Buffer, value: Buffer, expiresAt?: number];
export type ZsetEntry = [member: Buffer, score: number];

export type RdbValue = Buffer | Buffer[] | ZsetEntry[] | HashEntry[] | StreamValue | ModuleValue;

/**
 * A collection still in its compact RDB encoding (parser option `encoded`): the listpack, ziplist,
 * intset or zipmap blob of a small hash, set, sorted set or list, or the nodes of a quicklist.
 * `decodeEncoded()` turns it into the value the parser would otherwise have delivered.
 */
export interface EncodedValue {
  /** The numeric RDB type the blobs belong to (the key event's rdbType). */
  rdbType: number;
  /** One blob for blob types; one per node for quicklists (LZF already undone). */
  blobs: Buffer[];
  /** Quicklist 2 only: each node's container, 1 plain (the blob is the item) or 2 packed (a listpack). */
  containers?: number[];
}

interface KeyFields {
  kind: 'key';
  db: number;
  key: Buffer;
  /** The numeric RDB type (encoding), e.g. 16 for RDB_TYPE_HASH_LISTPACK; see rdbTypeName(). */
  rdbType: number;
  /** ms since epoch, from EXPIRETIME_MS or EXPIRETIME (seconds, scaled). */
  expiresAt: number | undefined;
  /** LRU idle seconds (IDLE opcode), when the file has it. */
  idle: number | undefined;
  /** LFU counter (FREQ opcode), when the file has it. */
  freq: number | undefined;
  /** Absolute offset of the key's type byte. */
  offset: number;
  /** Bytes the key and its value occupy in the RDB, from the type byte (of this part). */
  bytes: number;
  /**
   * With the `encoded` option, for small hashes, sets, sorted sets and lists (and quicklist nodes):
   * the value undecoded, in place of `value` (which is then undefined).
   */
  encoded?: EncodedValue;
  /** 0 unless the value is delivered in parts (`partItems`): then 0, 1, 2, ... */
  part: number;
  /**
   * True when more parts of this key follow. Parts are additive: apply each in order. Stream parts
   * carry entries only; the last part carries the remaining entries, the ids, length and groups.
   */
  more: boolean;
}

/**
 * A key with its value. `value` is undefined when values are not decoded (`values: false`).
 * Collections: list and set -> Buffer[]; zset -> [member, score][]; hash -> [field, value, expiresAt?][].
 */
export type RdbKeyEvent =
  | (KeyFields & { type: 'string'; value: Buffer | undefined })
  | (KeyFields & { type: 'list' | 'set'; value: Buffer[] | undefined })
  | (KeyFields & { type: 'zset'; value: ZsetEntry[] | undefined })
  | (KeyFields & { type: 'hash'; value: HashEntry[] | undefined })
  | (KeyFields & { type: 'stream'; value: StreamValue | undefined })
  | (KeyFields & { type: 'module'; value: ModuleValue | undefined });

export type RdbEvent =
  | RdbHeaderEvent
  | RdbAuxEvent
  | RdbDbEvent
  | RdbResizeEvent
  | RdbSlotInfoEvent
  | RdbFunctionEvent
  | RdbModuleAuxEvent
  | RdbKeyEvent
  | RdbEndEvent;

export interface RdbFilter {
  /** Only these databases. */
  db?: number | readonly number[];
  /** Only keys matching (tested on the key as UTF-8 text). */
  key?: RegExp;
  /** Only these data types. */
  type?: RdbDataType | readonly RdbDataType[];
}

export interface RdbParserOptions {
  /** Receives every event, synchronously, in order. Throwing stops the parser and rethrows from write(). */
  onEvent?: (event: RdbEvent) => void;
  /** Called when resume() has parsed everything buffered and the parser is not paused. */
  onDrain?: () => void;
  /** Decode values (default true). With false, key events come without `value` and values are only walked. */
  values?: boolean;
  /** Keys outside the filter produce no event; their values are walked, not decoded. */
  filter?: RdbFilter;
  /** Drop keys whose expiry is before this time (ms since epoch), or before now with `true`. */
  skipExpired?: boolean | number;
  /** Do not compute or verify the CRC-64 trailer. */
  skipChecksum?: boolean;
  /** Accept a version above the highest known (12; Valkey 80/81) instead of failing. */
  allowNewerVersion?: boolean;
  /** Deliver collections of more than this many items in parts of this size (see RdbKeyEvent.more). */
  partItems?: number;
  /**
   * Leave compact encodings undecoded: key events of blob types (listpack, ziplist, intset, zipmap)
   * and quicklists carry `encoded` instead of `value`. For consumers that keep most values unread
   * (a mirror that decodes a key on first use): walking a blob costs a fraction of decoding it.
   */
  encoded?: boolean;
  /** Copy every Buffer handed out instead of giving views into the input chunks. */
  copyBuffers?: boolean;
  /** Longest string accepted, checked before allocating (default 512 MiB). */
  maxStringLength?: number;
  /** Largest collection count accepted (default 2^32). */
  maxCollectionLength?: number;
}
