/**
 * redstack/client: the pipelined Redis client ("redo").
 */
export { Client, Multi, Script, createClient, type ScanOptions } from './client.js';
export { Connection, type ConnectionOptions, type ConnectionState, type ReconnectOptions } from './connection.js';
export { parseRedisUrl, resolveOptions, ConfigError, type ClientOptions } from './options.js';
export { isBlocking } from './blocking.js';
export type { MessageHandler } from './pubsub.js';
export { NotSentError, OutcomeUnknownError, TimeoutError, ConnectionError, ReplyError, ProtocolError, type NotSentReason } from './errors.js';
export type { Command, CommandArg, RespValue } from '../resp/types.js';
export { ClusterClient, ClusterMulti, createCluster, CrossSlotError, ClusterLimitError, ClusterError, keySlot, type ClusterOptions, type ClusterNodeAddress } from './cluster/index.js';
export { SentinelClient, SentinelResolver, SentinelError, createSentinelClient, type SentinelOptions, type SentinelAddress, type SentinelErrorCode } from './sentinel.js';
