/**
 * Errors of the gateway. Each has a stable RedstackError `code` for code that embeds the gateway, and
 * a short `wire` code that goes to browsers in `{"type":"error","code":...}` frames and is listed in
 * docs/gateway-protocol.md. Messages never repeat frame contents or tokens: they may be secrets.
 */
import { RedstackError } from '../errors.js';

/** Codes sent to clients in error frames. Stable: clients branch on them. */
export const WIRE_CODES = [
  'bad_json', // the text frame is not JSON
  'bad_frame', // JSON, but not an object of a known shape (missing or wrong field)
  'unknown_type', // `type` is not one the server knows
  'too_large', // the frame is over maxFrameBytes (the connection survives)
  'binary_unsupported', // binary frames are not part of the protocol
  'bad_channel', // empty, too long, or holds control characters
  'unauthorized', // the token is missing, malformed, badly signed or expired
  'forbidden', // the token (or anonymous access) does not grant this channel
  'too_many_subscriptions', // over maxSubscriptionsPerClient
  'history_unavailable', // `since` asked for history on a channel without it
  'unavailable', // Redis did not answer (down or reconnecting)
  'rate_limited', // too many frames per second from this client
] as const;

export type WireCode = (typeof WIRE_CODES)[number];

/** A client frame or request was refused. `wire` goes to the client; `id` echoes the request id. */
export class GatewayError extends RedstackError {
  readonly wire: WireCode;
  /** The request id of the frame, when it could be read; echoed so the client can match the error. */
  readonly requestId: string | number | undefined;
  /** The option to raise when a limit was hit. */
  readonly option: string | undefined;

  constructor(wire: WireCode, message: string, opts: { requestId?: string | number; option?: string; cause?: unknown } = {}) {
    super(`ERR_GATEWAY_${wire.toUpperCase()}`, message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.wire = wire;
    this.requestId = opts.requestId;
    this.option = opts.option;
  }
}

/** A token could not be verified: ERR_GATEWAY_UNAUTHORIZED, with `reason` saying why. */
export class TokenError extends GatewayError {
  readonly reason: 'malformed' | 'signature' | 'expired' | 'not_yet_valid';

  constructor(reason: TokenError['reason'], message: string) {
    super('unauthorized', message);
    this.reason = reason;
  }
}
