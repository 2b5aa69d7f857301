/**
 * The gateway's wire protocol (docs/gateway-protocol.md): client frames parsed and validated here,
 * server frames built here. Pure functions, no I/O, so the parser can be fuzzed: whatever bytes
 * arrive, parseClientFrame returns a typed frame or throws a GatewayError, never anything else.
 *
 * Server -> client text frames carry one or more JSON objects separated by "\n" (JSON.stringify
 * never emits a raw newline), as Centrifugo's JSON protocol does: under load the gateway packs
 * every message a client is owed into one frame, one write.
 */
import { GatewayError, type WireCode } from './errors.js';

export type RequestId = string | number;

export type ClientFrame =
  | { type: 'subscribe'; id?: RequestId; channels: string[]; since?: string }
  | { type: 'psubscribe'; id?: RequestId; patterns: string[] }
  | { type: 'unsubscribe'; id?: RequestId; channels: string[] }
  | { type: 'punsubscribe'; id?: RequestId; patterns: string[] }
  | { type: 'publish'; id?: RequestId; channel: string; data: string }
  | { type: 'ping'; id?: RequestId }
  | { type: 'auth'; id?: RequestId; token: string };

export type ClientFrameType = ClientFrame['type'];

export interface FrameLimits {
  /** Largest client frame in bytes (default 64 KiB). Over it: `too_large`, the connection survives. */
  maxFrameBytes: number;
  /** Most channels or patterns in one frame (default 100). */
  maxNamesPerFrame: number;
  /** Longest channel name or pattern in characters (default 256). */
  maxChannelLength: number;
}

export const DEFAULT_FRAME_LIMITS: FrameLimits = {
  maxFrameBytes: 64 * 1024,
  maxNamesPerFrame: 100,
  maxChannelLength: 256,
};

const TYPES = new Set<string>(['subscribe', 'psubscribe', 'unsubscribe', 'punsubscribe', 'publish', 'ping', 'auth']);
const MAX_ID_LENGTH = 64;
/** Stream ids (ms-seq), or "$"/"0"-style shorthands are not accepted: resume points are exact ids. */
const STREAM_ID = /^\d{1,20}-\d{1,20}$/;
// Control characters (C0, DEL) are refused in names: they have no place in a channel name and make
// logs and the page ambiguous. Everything else, including any Unicode, is allowed as Redis allows it.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Parses one client text frame. Throws GatewayError with a wire code (bad_json, bad_frame,
 * unknown_type, too_large, bad_channel) and, when the frame had a readable id, that id.
 */
export function parseClientFrame(input: string | Buffer, limits: FrameLimits = DEFAULT_FRAME_LIMITS): ClientFrame {
  const bytes = typeof input === 'string' ? (input.length * 3 <= limits.maxFrameBytes ? 0 : Buffer.byteLength(input)) : input.length;
  if (bytes > limits.maxFrameBytes) {
    throw new GatewayError('too_large', `frame of ${bytes} bytes is over the limit of ${limits.maxFrameBytes}`, { option: 'maxFrameBytes' });
  }
  const text = typeof input === 'string' ? input : input.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new GatewayError('bad_json', 'frame is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GatewayError('bad_frame', 'frame must be a JSON object');
  }
  const obj = value as Record<string, unknown>;
  const id = readId(obj);
  const type = own(obj, 'type');
  if (typeof type !== 'string') throw new GatewayError('bad_frame', 'frame has no string "type"', { requestId: id });
  if (!TYPES.has(type)) throw new GatewayError('unknown_type', 'unknown frame type', { requestId: id });
  const base = id === undefined ? {} : { id };
  switch (type as ClientFrameType) {
    case 'subscribe': {
      const channels = readNames(obj, 'channels', 'channel', limits, id);
      const since = own(obj, 'since');
      if (since === undefined) return { type: 'subscribe', ...base, channels };
      if (typeof since !== 'string' || !STREAM_ID.test(since)) {
        throw new GatewayError('bad_frame', '"since" must be a message id such as "1700000000000-0"', { requestId: id });
      }
      return { type: 'subscribe', ...base, channels, since };
    }
    case 'unsubscribe':
      return { type: 'unsubscribe', ...base, channels: readNames(obj, 'channels', 'channel', limits, id) };
    case 'psubscribe':
      return { type: 'psubscribe', ...base, patterns: readNames(obj, 'patterns', 'pattern', limits, id) };
    case 'punsubscribe':
      return { type: 'punsubscribe', ...base, patterns: readNames(obj, 'patterns', 'pattern', limits, id) };
    case 'publish': {
      const channel = own(obj, 'channel');
      checkName(channel, limits, id);
      const data = own(obj, 'data');
      if (data === undefined) throw new GatewayError('bad_frame', 'publish needs "data"', { requestId: id });
      // Any JSON value may be published; non-strings travel through Redis as their JSON text.
      return { type: 'publish', ...base, channel: channel as string, data: typeof data === 'string' ? data : JSON.stringify(data) };
    }
    case 'ping':
      return { type: 'ping', ...base };
    case 'auth': {
      const token = own(obj, 'token');
      if (typeof token !== 'string' || token.length === 0 || token.length > 8192) {
        throw new GatewayError('bad_frame', 'auth needs a "token" string', { requestId: id });
      }
      return { type: 'auth', ...base, token };
    }
  }
}

/** Own enumerable property only: a frame's "__proto__" or "constructor" keys are data, not lookups. */
function own(obj: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

function readId(obj: Record<string, unknown>): RequestId | undefined {
  const id = own(obj, 'id');
  if (id === undefined) return undefined;
  if (typeof id === 'number' && Number.isSafeInteger(id)) return id;
  if (typeof id === 'string' && id.length <= MAX_ID_LENGTH && !CONTROL.test(id)) return id;
  throw new GatewayError('bad_frame', `"id" must be an integer or a string of at most ${MAX_ID_LENGTH} characters`);
}

function readNames(obj: Record<string, unknown>, plural: string, singular: string, limits: FrameLimits, id: RequestId | undefined): string[] {
  let names = own(obj, plural);
  if (names === undefined) {
    const one = own(obj, singular);
    if (one !== undefined) names = [one];
  }
  if (!Array.isArray(names) || names.length === 0) {
    throw new GatewayError('bad_frame', `"${plural}" must be a non-empty array of strings`, { requestId: id });
  }
  if (names.length > limits.maxNamesPerFrame) {
    throw new GatewayError('bad_frame', `at most ${limits.maxNamesPerFrame} ${plural} per frame`, { requestId: id, option: 'maxNamesPerFrame' });
  }
  for (const n of names) checkName(n, limits, id);
  return [...new Set(names as string[])];
}

function checkName(name: unknown, limits: FrameLimits, id: RequestId | undefined): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new GatewayError('bad_channel', 'channel names and patterns must be non-empty strings', { requestId: id });
  }
  if (name.length > limits.maxChannelLength) {
    throw new GatewayError('bad_channel', `channel names are limited to ${limits.maxChannelLength} characters`, { requestId: id, option: 'maxChannelLength' });
  }
  if (CONTROL.test(name)) throw new GatewayError('bad_channel', 'channel names may not hold control characters', { requestId: id });
}

// ---- server frames ---------------------------------------------------------------------------------
// Built as strings by hand on the hot path (message); with JSON.stringify elsewhere.

/**
 * One delivered message as JSON text. `channelJson` and `patternJson` are already JSON strings
 * (computed once per subscription, not per message).
 */
export function messageJson(channelJson: string, data: string, patternJson?: string, id?: string): string {
  let s = '{"type":"message","channel":' + channelJson;
  if (patternJson !== undefined) s += ',"pattern":' + patternJson;
  if (id !== undefined) s += ',"id":"' + id + '"';
  return s + ',"data":' + JSON.stringify(data) + '}';
}

export interface ServerHello {
  type: 'hello';
  version: 1;
  session: string;
  limits: { maxFrameBytes: number; maxSubscriptions: number; sendBufferBytes: number };
  /** Whether a token authenticated this connection, and until when (ms since epoch). */
  auth: { token: boolean; expiresAt?: number };
}

export function ackJson(id: RequestId | undefined, extra: Record<string, unknown> = {}): string {
  return JSON.stringify(id === undefined ? { type: 'ack', ...extra } : { type: 'ack', id, ...extra });
}

export function errorJson(code: WireCode, message: string, id?: RequestId, extra: Record<string, unknown> = {}): string {
  return JSON.stringify(id === undefined ? { type: 'error', code, message, ...extra } : { type: 'error', id, code, message, ...extra });
}

export function pongJson(id: RequestId | undefined): string {
  return id === undefined ? '{"type":"pong"}' : JSON.stringify({ type: 'pong', id });
}

export type LaggedReason = 'slow_consumer' | 'redis_reconnect' | 'history_trimmed' | 'history_limit';

/**
 * The client missed messages. `dropped` is a count when the gateway knows it (its own buffer), and
 * absent when it cannot (Redis was unreachable); `channels`/`patterns` name what the gap affects.
 */
export function laggedJson(reason: LaggedReason, info: { dropped?: number; channels?: string[]; patterns?: string[] } = {}): string {
  return JSON.stringify({ type: 'lagged', reason, ...info });
}
