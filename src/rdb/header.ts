/**
 * The 9-byte header: "REDIS" + 4 digits (RDB 1..12), or "VALKEY" + 3 digits (Valkey's own
 * versions). Anything else fails as soon as the bytes seen cannot start one, so that a wrong file
 * is reported at once rather than waited on.
 */
import { RDB_MAGIC_REDIS, RDB_MAGIC_VALKEY, RDB_VALKEY_VERSIONS, RDB_VERSION } from './constants.js';
import type { ByteReader } from './reader.js';

export interface RdbHeader {
  magic: string;
  version: number;
  valkey: boolean;
}

/** Reads the header at the read position; throws NEED_MORE, or an RdbError naming the version. */
export function readHeader(r: ByteReader, allowNewer: boolean): RdbHeader {
  if (r.buf.length - r.pos < 9) {
    const seen = r.buf.toString('latin1', r.pos);
    if (!RDB_MAGIC_REDIS.startsWith(seen.slice(0, 5)) && !RDB_MAGIC_VALKEY.startsWith(seen.slice(0, 6))) badSignature(r);
  }
  const head = r.take(9).toString('latin1');
  const valkey = head.startsWith(RDB_MAGIC_VALKEY);
  if (!valkey && !head.startsWith(RDB_MAGIC_REDIS)) badSignature(r);
  const digits = head.slice(valkey ? 6 : 5);
  if (!/^\d+$/.test(digits)) badSignature(r);
  const version = Number(digits);
  const newest = valkey ? RDB_VALKEY_VERSIONS[RDB_VALKEY_VERSIONS.length - 1]! : RDB_VERSION;
  const known = valkey ? RDB_VALKEY_VERSIONS.includes(version) : version >= 1 && version <= RDB_VERSION;
  if (!known && !(allowNewer && version > newest)) {
    r.fail('ERR_RDB_UNSUPPORTED_VERSION', `RDB version ${version} (${head}) is not supported (newest known: ${newest}; see allowNewerVersion)`, r.pos - 9);
  }
  return { magic: valkey ? RDB_MAGIC_VALKEY : RDB_MAGIC_REDIS, version, valkey };
}

function badSignature(r: ByteReader): never {
  return r.fail('ERR_RDB_WRONG_SIGNATURE', 'not an RDB file: it does not start with REDIS or VALKEY and a version', r.mark);
}
