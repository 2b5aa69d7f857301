/**
 * Encodes reply values the way a server would: for test servers, fake masters and tools that speak
 * RESP back to clients. The inverse of RespDecoder for every type it produces.
 */
import { ReplyError } from './errors.js';
import { VerbatimString, type RespValue } from './types.js';

export interface ReplyEncodeOptions {
  /** Encode with RESP3 types (maps, sets, doubles, booleans, nulls); RESP2 flattens them. */
  resp3?: boolean;
  /** Encode strings as simple strings (+) instead of bulk strings ($) when they have no CR/LF. */
  simple?: boolean;
}

export function encodeReply(value: RespValue, options: ReplyEncodeOptions = {}): Buffer {
  const parts: Buffer[] = [];
  write(value, options, parts);
  return Buffer.concat(parts);
}

/** Encodes a RESP3 push frame (`>`); under RESP2 pushes are plain arrays. */
export function encodePush(items: RespValue[], options: ReplyEncodeOptions = {}): Buffer {
  const parts: Buffer[] = [Buffer.from(`${options.resp3 ? '>' : '*'}${items.length}\r\n`)];
  for (const item of items) write(item, options, parts);
  return Buffer.concat(parts);
}

/** RESP3 double text: 'inf', '-inf', 'nan', '-0' (String(-0) is '0'), or the shortest exact decimal. */
function doubleText(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  return Object.is(v, -0) ? '-0' : String(v);
}

function line(parts: Buffer[], s: string): void {
  parts.push(Buffer.from(s + '\r\n'));
}

function write(v: RespValue, o: ReplyEncodeOptions, parts: Buffer[]): void {
  const resp3 = o.resp3 ?? false;
  if (v === null) return line(parts, resp3 ? '_' : '$-1');
  if (typeof v === 'string') {
    if (o.simple && !/[\r\n]/.test(v)) return line(parts, '+' + v);
    const b = Buffer.from(v);
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
    return;
  }
  if (Buffer.isBuffer(v)) {
    parts.push(Buffer.from(`$${v.length}\r\n`), v, Buffer.from('\r\n'));
    return;
  }
  if (typeof v === 'number') {
    // Only safe integers are written as RESP integers: String(2 ** 60) is not the integer's digits
    // and String(1e21) is '1e+21', which no integer parser accepts. Under RESP3 everything else
    // (incl. -0) is a double, which round-trips exactly; RESP2 has no doubles, so an unsafe integer
    // within 64 bits is sent as its exact digits and other numbers as text, as Redis does.
    if (Number.isSafeInteger(v) && !(resp3 && Object.is(v, -0))) return line(parts, ':' + v);
    if (resp3) return line(parts, ',' + doubleText(v));
    if (Number.isInteger(v) && Math.abs(v) < 2 ** 63) return line(parts, ':' + BigInt(v).toString());
    return write(String(v), o, parts);
  }
  if (typeof v === 'bigint') return line(parts, (resp3 ? '(' : ':') + v.toString());
  if (typeof v === 'boolean') return line(parts, resp3 ? (v ? '#t' : '#f') : v ? ':1' : ':0');
  if (v instanceof ReplyError) {
    if (/[\r\n]/.test(v.message)) {
      // RESP2 has no bulk errors: Redis itself replaces CR and LF in error text with spaces.
      if (!resp3) return line(parts, '-' + v.message.replace(/[\r\n]/g, ' '));
      const b = Buffer.from(v.message);
      parts.push(Buffer.from(`!${b.length}\r\n`), b, Buffer.from('\r\n'));
      return;
    }
    return line(parts, '-' + v.message);
  }
  if (v instanceof VerbatimString) {
    if (!resp3) return write(v.value, o, parts);
    const b = Buffer.concat([Buffer.from(v.format + ':'), Buffer.from(v.value)]);
    parts.push(Buffer.from(`=${b.length}\r\n`), b, Buffer.from('\r\n'));
    return;
  }
  if (Array.isArray(v)) {
    line(parts, '*' + v.length);
    for (const item of v) write(item, o, parts);
    return;
  }
  if (v instanceof Map) {
    line(parts, resp3 ? '%' + v.size : '*' + v.size * 2);
    for (const [k, val] of v) {
      write(k, o, parts);
      write(val, o, parts);
    }
    return;
  }
  if (v instanceof Set) {
    line(parts, (resp3 ? '~' : '*') + v.size);
    for (const item of v) write(item, o, parts);
    return;
  }
  throw new TypeError(`cannot encode ${typeof v} as RESP`);
}
