/**
 * The tables both SQL targets keep (names prefixed, `redstack_` by default):
 *
 *   <p>keys       db, key, type, value, expires_at    unique on (db, key): in PostgreSQL by a
 *                 unique index on db and the key, or its SHA-256 when long (btree entries are
 *                 capped at ~2.7 KB, keys are not: postgres.ts); in SQLite a rowid table with a
 *                 unique index (cheaper to build after a load)
 *                 type: 'string' | 'list' | 'set' | 'hash' | 'zset' | 'stream'
 *                 value: value format 1 (codec.ts); expires_at: ms since epoch, NULL without a TTL
 *   <p>live       a view of <p>keys without the rows whose expires_at has passed
 *   <p>position   one row: replid, repl_offset (the master offset of the last byte applied)
 *   <p>meta       name, value: 'format' = the value format's version (PostgreSQL: its own table
 *                 format number, which also covers the key index: postgres.ts TABLE_FORMAT)
 *
 * Data and position change in the same transaction, always, so that what a restart finds is a
 * consistent pair: the replica resumes with `PSYNC replid repl_offset+1` and the master answers
 * +CONTINUE when its backlog still holds that offset.
 *
 * Expired rows: a master deletes an expired key itself and replicates a DEL, so expires_at is for
 * readers, who should read <p>live (or the targets' get()) to hide keys that have expired but whose
 * DEL has not arrived (yet, or ever if the link is down).
 *
 * A full sync loads into <p>keys_loading and swaps it in at its end, with the new position, in one
 * transaction; readers keep the old dataset until then, and a sync that breaks off leaves it as it was.
 */
import { RedstackError } from '../../../errors.js';

/** Version of the value encoding stored in <p>meta; a target refuses tables of another version. */
export const VALUE_FORMAT = 1;

export interface TableNames {
  keys: string;
  loading: string;
  live: string;
  position: string;
  meta: string;
}

/** Errors of the SQL targets. */
export class SqlTargetError extends RedstackError {
  constructor(code: 'ERR_SQL_TARGET_FORMAT' | 'ERR_SQL_TARGET_OPTION' | 'ERR_SQL_TARGET_STATE' | 'ERR_SQL_TARGET_UNREACHABLE', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Checks a prefix or schema name (they are spliced into SQL, so only plain identifiers are allowed). */
export function checkIdentifier(what: string, name: string, allowEmpty = false): string {
  if ((allowEmpty && name === '') || IDENT.test(name)) return name;
  throw new SqlTargetError('ERR_SQL_TARGET_OPTION', `${what} must be a plain SQL identifier (letters, digits, _)`);
}

export function tableNames(prefix: string): TableNames {
  checkIdentifier('prefix', prefix, true);
  return {
    keys: `${prefix}keys`,
    loading: `${prefix}keys_loading`,
    live: `${prefix}live`,
    position: `${prefix}position`,
    meta: `${prefix}meta`,
  };
}
