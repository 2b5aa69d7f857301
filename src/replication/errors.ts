/**
 * The errors of the replication client. Callers branch on `code`:
 *
 *   ERR_REPL_AUTH          the master refused our credentials or the user lacks a permission
 *                          (-NOAUTH, -WRONGPASS, -NOPERM at PING, AUTH or PSYNC); fatal, not retried
 *   ERR_REPL_HANDSHAKE     the master answered a handshake step with something we cannot go on from
 *   ERR_REPL_UNSUPPORTED   the master does not support what the options ask (rdb-only, stream-only)
 *   ERR_REPL_PROTOCOL      the payload framing or the command stream is malformed
 *   ERR_REPL_MASTER_ABORTED the master sent an error instead of the snapshot (e.g. its BGSAVE failed)
 *   ERR_REPL_LINK          the connection was lost or could not be made (retried)
 *   ERR_REPL_TIMEOUT       the master sent nothing for `timeoutMs` (retried)
 *   ERR_REPL_SPOOL_FULL    the target fell behind by more than `spool.maxBytes` (the link is dropped and
 *                          the replica resumes once it has caught up; raise `spool.maxBytes`)
 *   ERR_REPL_SNAPSHOT      the snapshot could not be parsed (an RdbError is the cause); fatal, since
 *                          the master would send the same bytes again
 *   ERR_REPL_TARGET        the target threw; fatal (the replica stops with the position it had saved)
 *   ERR_REPL_TARGET_UNAVAILABLE  a target name (--to) that is unknown or not available in this build
 *   ERR_REPL_CLOSED        the replica was closed
 *
 * Errors carry the step, host and port, never credentials or data.
 */
import { RedstackError } from '../errors.js';

export type ReplicationErrorCode =
  | 'ERR_REPL_AUTH'
  | 'ERR_REPL_HANDSHAKE'
  | 'ERR_REPL_UNSUPPORTED'
  | 'ERR_REPL_PROTOCOL'
  | 'ERR_REPL_MASTER_ABORTED'
  | 'ERR_REPL_LINK'
  | 'ERR_REPL_TIMEOUT'
  | 'ERR_REPL_SPOOL_FULL'
  | 'ERR_REPL_SNAPSHOT'
  | 'ERR_REPL_TARGET'
  | 'ERR_REPL_TARGET_UNAVAILABLE'
  | 'ERR_REPL_CLOSED';

export class ReplicationError extends RedstackError {
  declare readonly code: ReplicationErrorCode;
  /** The handshake step or phase where it happened ('auth', 'psync', 'payload', 'stream', ...). */
  readonly step: string | undefined;
  host: string | undefined;
  port: number | undefined;

  constructor(code: ReplicationErrorCode, message: string, fields: { step?: string; cause?: unknown } = {}) {
    super(code, message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.step = fields.step;
  }

  /** Errors after which reconnecting cannot help. */
  get fatal(): boolean {
    return this.code === 'ERR_REPL_AUTH' || this.code === 'ERR_REPL_UNSUPPORTED' || this.code === 'ERR_REPL_TARGET' ||
      this.code === 'ERR_REPL_SNAPSHOT' || this.code === 'ERR_REPL_CLOSED';
  }
}
