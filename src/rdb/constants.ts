/**
 * Wire constants of the RDB format, named as in redis src/rdb.h so that one grep finds the same
 * thing in both code bases.
 *
 * Stability rule (from rdb.h): every number here is written to disk. Numbers never change meaning
 * once a Redis release has written them; new types and opcodes take new numbers. Valkey reused 22
 * and 243 after it forked (RDB 80+), so the magic decides which meaning applies.
 *
 * Adding a type: add it to RDB_TYPE, RDB_TYPE_NAMES and RDB_DATA_TYPE below, give it a reader in
 * parser.ts's value table, a fixture, and a case in the round-trip test.
 */

/** Highest RDB version this parser knows: Redis 7.4 / 8.x write 12. Valkey 9 writes 80. */
export const RDB_VERSION = 12;
export const RDB_VALKEY_VERSIONS: readonly number[] = [80, 81];

/* Length prefix, from the two top bits of the first byte:
 *
 *   00|XXXXXX                      6-bit length
 *   01|XXXXXX XXXXXXXX             14-bit length, big-endian
 *   10|000000 [u32 big-endian]     RDB_32BITLEN
 *   10|000001 [u64 big-endian]     RDB_64BITLEN (RDB 8+)
 *   11|OBKIND                      a specially encoded string follows (RDB_ENC_*)
 *
 * Any other 10xxxxxx byte is corrupt. */
export const RDB_6BITLEN = 0;
export const RDB_14BITLEN = 1;
export const RDB_32BITLEN = 0x80;
export const RDB_64BITLEN = 0x81;
export const RDB_ENCVAL = 3;

/* Special string encodings (the six low bits after 11|): integers are stored little-endian and
 * read back as their decimal text; LZF is followed by the compressed and the original length. */
export const RDB_ENC_INT8 = 0;
export const RDB_ENC_INT16 = 1;
export const RDB_ENC_INT32 = 2;
export const RDB_ENC_LZF = 3;

/* Object types (the byte before a key). */
export const RDB_TYPE_STRING = 0;
export const RDB_TYPE_LIST = 1;
export const RDB_TYPE_SET = 2;
export const RDB_TYPE_ZSET = 3; // scores as length-prefixed ASCII (253 NaN, 254 +inf, 255 -inf)
export const RDB_TYPE_HASH = 4;
export const RDB_TYPE_ZSET_2 = 5; // RDB 8: scores as binary little-endian doubles
export const RDB_TYPE_MODULE_PRE_GA = 6; // 4.0 RC: not skippable without the module
export const RDB_TYPE_MODULE_2 = 7; // self-describing opcode stream, skippable
/* 8 was never assigned. */
export const RDB_TYPE_HASH_ZIPMAP = 9;
export const RDB_TYPE_LIST_ZIPLIST = 10;
export const RDB_TYPE_SET_INTSET = 11;
export const RDB_TYPE_ZSET_ZIPLIST = 12;
export const RDB_TYPE_HASH_ZIPLIST = 13;
export const RDB_TYPE_LIST_QUICKLIST = 14; // RDB 7
export const RDB_TYPE_STREAM_LISTPACKS = 15; // RDB 9
export const RDB_TYPE_HASH_LISTPACK = 16; // RDB 10
export const RDB_TYPE_ZSET_LISTPACK = 17;
export const RDB_TYPE_LIST_QUICKLIST_2 = 18;
export const RDB_TYPE_STREAM_LISTPACKS_2 = 19;
export const RDB_TYPE_SET_LISTPACK = 20; // RDB 11
export const RDB_TYPE_STREAM_LISTPACKS_3 = 21;
export const RDB_TYPE_HASH_METADATA_PRE_GA = 22; // RDB 12 (7.4 RC): absolute field TTLs
export const RDB_TYPE_HASH_LISTPACK_EX_PRE_GA = 23; // 7.4 RC: listpack triplets, no minExpire
export const RDB_TYPE_HASH_METADATA = 24; // 7.4 GA: minExpire + relative field TTLs
export const RDB_TYPE_HASH_LISTPACK_EX = 25; // 7.4 GA: minExpire + listpack triplets
/** Valkey RDB 80+: 22 means a hash whose entries carry an i64 absolute expiry (-1 = none). */
export const RDB_TYPE_VALKEY_HASH_2 = 22;

/* Opcodes: special "types" counting down from 255. */
export const RDB_OPCODE_KEY_META = 243; // Redis 8.6 (RDB 13); Valkey: SLOT_IMPORT. Not supported.
export const RDB_OPCODE_SLOT_INFO = 244; // slot id, slot size, expires size (cluster)
export const RDB_OPCODE_FUNCTION2 = 245; // one string: the library source
export const RDB_OPCODE_FUNCTION_PRE_GA = 246; // 7.0 RC: name, engine, [desc], code
export const RDB_OPCODE_MODULE_AUX = 247;
export const RDB_OPCODE_IDLE = 248; // LRU idle seconds (a length)
export const RDB_OPCODE_FREQ = 249; // LFU counter (one byte)
export const RDB_OPCODE_AUX = 250; // two strings
export const RDB_OPCODE_RESIZEDB = 251; // two lengths
export const RDB_OPCODE_EXPIRETIME_MS = 252; // i64 little-endian ms
export const RDB_OPCODE_EXPIRETIME = 253; // i32 little-endian seconds
export const RDB_OPCODE_SELECTDB = 254; // a length
export const RDB_OPCODE_EOF = 255; // then the CRC-64 (RDB 5+)

/* Module values: an opcode (a length) before each item, until RDB_MODULE_OPCODE_EOF. */
export const RDB_MODULE_OPCODE_EOF = 0;
export const RDB_MODULE_OPCODE_SINT = 1;
export const RDB_MODULE_OPCODE_UINT = 2;
export const RDB_MODULE_OPCODE_FLOAT = 3;
export const RDB_MODULE_OPCODE_DOUBLE = 4;
export const RDB_MODULE_OPCODE_STRING = 5;

/* Type 3 zset scores: a one-byte length, or one of these markers instead of text. */
export const RDB_SCORE_NAN = 253;
export const RDB_SCORE_POS_INF = 254;
export const RDB_SCORE_NEG_INF = 255;

/* Quicklist 2 node containers (a length before each node). */
export const QUICKLIST_NODE_CONTAINER_PLAIN = 1;
export const QUICKLIST_NODE_CONTAINER_PACKED = 2;

/* Stream listpack entry flags (t_stream.c). */
export const STREAM_ITEM_FLAG_DELETED = 1;
export const STREAM_ITEM_FLAG_SAMEFIELDS = 2;

/** Logical data type of each object type; undefined for codes that are not object types. */
export type RdbDataType = 'string' | 'list' | 'set' | 'zset' | 'hash' | 'stream' | 'module';

export const RDB_DATA_TYPE: readonly (RdbDataType | undefined)[] = [
  'string', 'list', 'set', 'zset', 'hash', 'zset', 'module', 'module', undefined, 'hash',
  'list', 'set', 'zset', 'hash', 'list', 'stream', 'hash', 'zset', 'list', 'stream',
  'set', 'stream', 'hash', 'hash', 'hash', 'hash',
];

/** rdb.h names without the RDB_TYPE_ prefix, for messages and reports. */
export const RDB_TYPE_NAMES: readonly (string | undefined)[] = [
  'STRING', 'LIST', 'SET', 'ZSET', 'HASH', 'ZSET_2', 'MODULE_PRE_GA', 'MODULE_2', undefined,
  'HASH_ZIPMAP', 'LIST_ZIPLIST', 'SET_INTSET', 'ZSET_ZIPLIST', 'HASH_ZIPLIST', 'LIST_QUICKLIST',
  'STREAM_LISTPACKS', 'HASH_LISTPACK', 'ZSET_LISTPACK', 'LIST_QUICKLIST_2', 'STREAM_LISTPACKS_2',
  'SET_LISTPACK', 'STREAM_LISTPACKS_3', 'HASH_METADATA_PRE_GA', 'HASH_LISTPACK_EX_PRE_GA',
  'HASH_METADATA', 'HASH_LISTPACK_EX',
];

/** Name of an object type code (`HASH_LISTPACK`), or `type <n>` for unknown codes. */
export function rdbTypeName(type: number): string {
  return RDB_TYPE_NAMES[type] ?? `type ${type}`;
}

/* Sizes and defaults. */
export const RDB_MAGIC_REDIS = 'REDIS';
export const RDB_MAGIC_VALKEY = 'VALKEY';
/** "REDIS0011" and "VALKEY080" are both nine bytes. */
export const RDB_HEADER_LENGTH = 9;
export const RDB_CHECKSUM_LENGTH = 8;
/** proto-max-bulk-len's ceiling: Redis refuses longer strings. */
export const DEFAULT_MAX_STRING_LENGTH = 512 * 1024 * 1024;
/** Redis collections are sized by 32-bit counters in practice (2^32 - 1 elements). */
export const DEFAULT_MAX_COLLECTION_LENGTH = 2 ** 32;
