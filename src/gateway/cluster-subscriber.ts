/**
 * The hub's view of a Redis Cluster: channels through sharded pub/sub (SSUBSCRIBE on the master of
 * each channel's slot; the cluster client follows slot moves and failovers), patterns through
 * classic PSUBSCRIBE (sharded pub/sub has no patterns, so they see PUBLISH traffic only).
 *
 * The cluster client does not report its subscriber connections' losses, so on a cluster no
 * `redis_reconnect` notice follows a node's reconnect (docs/gateway-protocol.md says so).
 */
import type { ClusterClient } from '../client/index.js';
import type { Subscriber } from './hub.js';

export interface OwnedSubscriber extends Subscriber {
  readonly status: string;
  quit(): Promise<void>;
  disconnect(): void;
}

export function clusterSubscriber(c: ClusterClient): OwnedSubscriber {
  return {
    subscribe: (names, h) => c.ssubscribe(names, h),
    unsubscribe: (names, h) => c.sunsubscribe(names, h),
    psubscribe: (names, h) => c.psubscribe(names, h),
    punsubscribe: (names, h) => c.punsubscribe(names, h),
    on: () => undefined,
    off: () => undefined,
    get status() {
      return c.status;
    },
    // The cluster client belongs to the caller. The gateway's own subscriptions are gone by the time
    // it closes (every session is closed first, and the last to leave unsubscribes).
    quit: async () => undefined,
    disconnect: () => undefined,
  };
}
