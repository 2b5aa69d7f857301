/**
 * RESP type bytes. RESP2 has the first five; RESP3 (Redis 6+, after HELLO 3) adds the rest.
 * These are wire constants: they never change.
 */
export const RESP = {
  SIMPLE_STRING: 0x2b, // '+'
  ERROR: 0x2d, // '-'
  INTEGER: 0x3a, // ':'
  BULK_STRING: 0x24, // '$'
  ARRAY: 0x2a, // '*'
  // RESP3
  NULL: 0x5f, // '_'
  BOOLEAN: 0x23, // '#'
  DOUBLE: 0x2c, // ','
  BIG_NUMBER: 0x28, // '('
  BULK_ERROR: 0x21, // '!'
  VERBATIM_STRING: 0x3d, // '='
  MAP: 0x25, // '%'
  SET: 0x7e, // '~'
  ATTRIBUTE: 0x7c, // '|'
  PUSH: 0x3e, // '>'
} as const;

export const CR = 0x0d;
export const LF = 0x0a;

/**
 * Default limits, checked before allocating. Redis's own proto-max-bulk-len defaults to 512 MB; a
 * reply cannot legitimately be longer than what the server was allowed to store.
 */
export const DEFAULT_LIMITS = {
  maxBulkLength: 512 * 1024 * 1024,
  /** Elements in one aggregate; a corrupt `*9999999999` must not allocate. */
  maxAggregateLength: 2 ** 32,
  /** Nesting depth; real replies nest a few levels (XINFO FULL, CLUSTER SHARDS). */
  maxDepth: 128,
  /** Bytes before CRLF in a simple string, error, integer or length line. */
  maxLineLength: 64 * 1024,
} as const;
