/**
 * Errors of the client. Every command settles exactly once: with its reply, a ReplyError, or one of
 * the errors below. Each carries `safeToRetry`:
 *   - NotSentError (ERR_NOT_SENT): the command never reached Redis; retrying cannot apply it twice.
 *   - OutcomeUnknownError (ERR_OUTCOME_UNKNOWN): it was written and the connection was lost before its
 *     reply; Redis may or may not have applied it. Never re-sent by the client.
 *   - TimeoutError (ERR_TIMEOUT): no reply within commandTimeoutMs. When it had been written its outcome
 *     is unknown too (safeToRetry false), and the connection is reset so a late reply can never be
 *     matched to another caller.
 * Errors carry the command name, never its arguments (they may hold secrets).
 */
import { RedstackError } from '../errors.js';
export { ReplyError, ProtocolError } from '../resp/errors.js';

export type NotSentReason =
  | 'client-closed'
  | 'offline-queue-full'
  | 'offline-queue-disabled'
  | 'offline-timeout'
  | 'reconnect-gave-up'
  | 'handshake-refused'
  | 'watch-lost';

export class NotSentError extends RedstackError {
  readonly safeToRetry = true;
  readonly reason: NotSentReason;
  readonly command: string | undefined;

  constructor(reason: NotSentReason, command: string | undefined, message: string, options?: { cause?: unknown }) {
    super('ERR_NOT_SENT', `${command ? command + ': ' : ''}not sent (${reason}): ${message}`, options);
    this.reason = reason;
    this.command = command;
  }
}

export class OutcomeUnknownError extends RedstackError {
  readonly safeToRetry = false;
  readonly command: string | undefined;

  constructor(command: string | undefined, message: string, options?: { cause?: unknown }) {
    super('ERR_OUTCOME_UNKNOWN', `${command ? command + ': ' : ''}outcome unknown: ${message}`, options);
    this.command = command;
  }
}

export class TimeoutError extends RedstackError {
  readonly safeToRetry: boolean;
  readonly command: string | undefined;
  /** Which timeout fired: 'command' (commandTimeoutMs) or 'connect' (connectTimeoutMs). */
  readonly timeout: 'command' | 'connect';

  constructor(timeout: 'command' | 'connect', command: string | undefined, written: boolean, ms: number) {
    super(
      'ERR_TIMEOUT',
      timeout === 'connect'
        ? `connection not established within ${ms} ms (raise connectTimeoutMs)`
        : `${command ?? 'command'}: no reply within ${ms} ms (raise commandTimeoutMs)${written ? '; outcome unknown' : '; not sent'}`,
    );
    this.timeout = timeout;
    this.command = command;
    this.safeToRetry = !written;
  }
}

/** The connection could not be established or its handshake was refused (host, port; cause attached). */
export class ConnectionError extends RedstackError {
  readonly host: string | undefined;
  readonly port: number | undefined;

  constructor(code: 'ERR_CONNECT' | 'ERR_AUTH' | 'ERR_CONNECTION_CLOSED', message: string, where: { host?: string; port?: number }, options?: { cause?: unknown }) {
    super(code, message, options);
    this.host = where.host;
    this.port = where.port;
  }
}
