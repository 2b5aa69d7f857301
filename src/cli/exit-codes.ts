/**
 * Exit codes of the `redstack` command, derived from error codes so that scripts can branch on them.
 * Follows the BSD sysexits meanings where one fits.
 */
import { RedstackError } from '../errors.js';

export const EXIT = {
  OK: 0,
  /** Anything not classified below. */
  FAILURE: 1,
  /** Bad flags or arguments (sysexits EX_USAGE is 64; 2 is what shells and most CLIs use). */
  USAGE: 2,
  /** The input data was malformed: a corrupt RDB file, bad config (EX_DATAERR). */
  DATA: 65,
  /** An input file does not exist or cannot be read (EX_NOINPUT). */
  NO_INPUT: 66,
  /** Redis (or another service) unreachable, refused auth, or went away (EX_UNAVAILABLE). */
  UNAVAILABLE: 69,
  /** Interrupted by SIGINT. */
  INTERRUPTED: 130,
} as const;

/** Picks the exit code for an error by its stable `code` prefix, never by message text. */
export function exitCodeFor(err: unknown): number {
  if (!(err instanceof RedstackError)) {
    const code = (err as { code?: string } | null)?.code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') return EXIT.NO_INPUT;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH') return EXIT.UNAVAILABLE;
    return EXIT.FAILURE;
  }
  const code = err.code;
  if (code === 'ERR_USAGE') return EXIT.USAGE;
  if (code.startsWith('ERR_RDB_') || code === 'ERR_RESP_PROTOCOL' || code === 'ERR_CONFIG') return EXIT.DATA;
  // The replica: a snapshot or stream that cannot be parsed is bad input; a master that is gone,
  // silent or refuses us is unavailable.
  if (code === 'ERR_REPL_SNAPSHOT' || code === 'ERR_REPL_PROTOCOL') return EXIT.DATA;
  if (code === 'ERR_REPL_AUTH' || code === 'ERR_REPL_LINK' || code === 'ERR_REPL_TIMEOUT') return EXIT.UNAVAILABLE;
  if (
    code === 'ERR_CONNECTION_CLOSED' ||
    code === 'ERR_CONNECT' ||
    code === 'ERR_AUTH' ||
    code === 'ERR_TIMEOUT' ||
    code === 'ERR_NOT_SENT' ||
    code === 'ERR_OUTCOME_UNKNOWN'
  )
    return EXIT.UNAVAILABLE;
  return EXIT.FAILURE;
}
