/**
 * Redis Cluster: slot map, routing with MOVED/ASK, per-node pipelines, sharded pub/sub.
 */
export { ClusterClient, ClusterMulti, createCluster, type ClusterOptions, type ClusterNodeAddress } from './cluster-client.js';
export { CrossSlotError, ClusterLimitError, ClusterError } from './errors.js';
export { keySlot, crc16, SLOT_COUNT } from './crc16.js';
export { SlotMap, parseClusterShards, parseClusterSlots, type Shard, type ShardInfo } from './slot-map.js';
export { parseRedirect, type Redirect } from './router.js';
