import type { ReplyError } from './errors.js';

/** RESP3 verbatim string (`=`): text with a three-letter format such as 'txt' or 'mkd'. */
export class VerbatimString {
  constructor(
    readonly format: string,
    readonly value: string | Buffer,
  ) {}

  toString(): string {
    return String(this.value);
  }
}

/**
 * A decoded reply.
 * - simple strings are `string`; bulk strings `string` or `Buffer` (decoder option);
 * - integers `number`, or `bigint` beyond 2^53; RESP3 big numbers `bigint`; doubles `number` (incl. inf/nan);
 * - RESP2 null bulk / null array and RESP3 null: `null`;
 * - arrays `RespValue[]`; RESP3 maps `Map`; sets `Set`;
 * - error replies are ReplyError values (in place, inside arrays too, e.g. EXEC).
 */
export type RespValue =
  | string
  | Buffer
  | number
  | bigint
  | boolean
  | null
  | ReplyError
  | VerbatimString
  | RespValue[]
  | Map<RespValue, RespValue>
  | Set<RespValue>;

/** A command: name and arguments. Numbers are sent as their decimal text. */
export type CommandArg = string | Buffer | number;
export type Command = readonly CommandArg[];
