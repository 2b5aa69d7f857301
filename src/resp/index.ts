/**
 * redstack/resp: bytes <-> values for the Redis protocol (RESP2 and RESP3). No sockets here.
 */
export { RespDecoder, type DecoderOptions, type DecoderLimits } from './decoder.js';
export { WriteBatch, encodeCommand, argLength } from './encoder.js';
export { encodeReply, encodePush, type ReplyEncodeOptions } from './reply-encoder.js';
export { ProtocolError, ReplyError } from './errors.js';
export { VerbatimString, type RespValue, type Command, type CommandArg } from './types.js';
export { RESP, DEFAULT_LIMITS } from './constants.js';
