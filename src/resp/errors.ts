import { RedstackError } from '../errors.js';

/**
 * The byte stream is not valid RESP (or breaks a configured limit). The connection that produced it
 * cannot be trusted any more: callers close it. `offset` counts bytes from the start of the stream.
 */
export class ProtocolError extends RedstackError {
  readonly offset: number;
  /** The limit option to raise, when a limit was hit. */
  readonly option: string | undefined;

  constructor(message: string, offset: number, option?: string) {
    super('ERR_RESP_PROTOCOL', `${message} at byte ${offset}`);
    this.offset = offset;
    this.option = option;
  }
}

/**
 * An error reply from Redis (`-ERR ...`, `-WRONGTYPE ...`, `-MOVED 3999 host:port`). It rejects only
 * the command it answers. `prefix` is the first word (ERR, WRONGTYPE, MOVED, ASK, LOADING, NOAUTH...),
 * what callers branch on.
 */
export class ReplyError extends RedstackError {
  readonly prefix: string;
  /** Name of the command this replied to, when known (never its arguments). */
  command: string | undefined;

  constructor(text: string) {
    super('ERR_REPLY', text);
    const sp = text.indexOf(' ');
    this.prefix = sp === -1 ? text : text.slice(0, sp);
  }
}
