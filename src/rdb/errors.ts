/**
 * The one error the RDB parser throws. Callers branch on `code`:
 *
 *   ERR_RDB_WRONG_SIGNATURE      the first bytes are not REDIS/VALKEY + digits
 *   ERR_RDB_UNSUPPORTED_VERSION  newer than this parser knows (see `allowNewerVersion`), or < 1
 *   ERR_RDB_UNKNOWN_TYPE         a type byte or opcode this parser does not know, a module value that
 *                                cannot be walked (type 6), or an unknown module opcode
 *   ERR_RDB_BAD_LENGTH           an invalid length prefix, or a length above a configured limit
 *   ERR_RDB_LZF_CORRUPT          an LZF block that does not decompress to its declared length
 *   ERR_RDB_INTEGRITY            an encoded value (ziplist, listpack, intset, zipmap, stream) whose
 *                                inner structure contradicts itself
 *   ERR_RDB_CHECKSUM             the CRC-64 trailer does not match (see `skipChecksum`)
 *   ERR_RDB_TRUNCATED            the input ended before the EOF opcode and its checksum
 *
 * `offset` is the absolute byte offset where the failing element starts (or where the input ended),
 * `element` names what was being read ('header', 'opcode', 'key', 'value', 'listpack', ...), and `key`
 * is a printable preview of the key being read, when there was one.
 */
import { RedstackError } from '../errors.js';

export type RdbErrorCode =
  | 'ERR_RDB_WRONG_SIGNATURE'
  | 'ERR_RDB_UNSUPPORTED_VERSION'
  | 'ERR_RDB_UNKNOWN_TYPE'
  | 'ERR_RDB_BAD_LENGTH'
  | 'ERR_RDB_LZF_CORRUPT'
  | 'ERR_RDB_INTEGRITY'
  | 'ERR_RDB_CHECKSUM'
  | 'ERR_RDB_TRUNCATED';

export class RdbError extends RedstackError {
  declare readonly code: RdbErrorCode;
  /** Absolute byte offset in the RDB stream. */
  offset: number;
  /** What was being read. */
  element: string;
  /** Printable preview of the key being read (at most 64 characters), if any. */
  key: string | undefined;

  constructor(code: RdbErrorCode, message: string, fields: { offset?: number; element?: string; key?: string; cause?: unknown } = {}) {
    super(code, message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.offset = fields.offset ?? -1;
    this.element = fields.element ?? '';
    this.key = fields.key;
  }
}

/**
 * Thrown by the pure decoders in encodings/, which know neither the stream offset nor the key; the
 * parser catches it and rethrows an RdbError with both filled in.
 */
export class EncodingError extends Error {
  constructor(
    readonly code: RdbErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * What the parser reports for an error a parsing step threw: an RdbError gets the element and key
 * filled in; an EncodingError (from the pure decoders) or a stray RangeError (a read past a decoded
 * blob's end that a bounds check missed: still corrupt input, not a crash) becomes an RdbError at
 * `offset`; anything else is returned as is.
 */
export function asRdbError(err: unknown, at: { offset: number; element: string; key: string | undefined; typeName: string }): unknown {
  const { element, key } = at;
  if (err instanceof RdbError) {
    if (!err.element) err.element = element;
    if (err.key === undefined) err.key = key;
    if (key !== undefined && !err.message.includes('key ')) err.message += ` (key ${key})`;
    return err;
  }
  if (err instanceof EncodingError) {
    return new RdbError(err.code, `${err.message} in ${at.typeName} value of key ${key}`, { offset: at.offset, element, key });
  }
  if (err instanceof RangeError) {
    return new RdbError('ERR_RDB_INTEGRITY', `corrupt ${element}: ${err.message}`, { offset: at.offset, element, key, cause: err });
  }
  return err;
}

/** Shortens a key to a printable preview for error messages: keys are data, not secrets. */
export function keyPreview(key: Uint8Array | undefined): string | undefined {
  if (!key) return undefined;
  let out = '';
  const n = Math.min(key.length, 48);
  for (let i = 0; i < n; i++) {
    const c = key[i]!;
    out += c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return key.length > n ? `${out}...(${key.length} bytes)` : out;
}
