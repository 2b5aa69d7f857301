/**
 * Errors of the cluster client. Each has a stable `code`; none carries argument values.
 *
 *   CrossSlotError     ERR_CROSSSLOT               keys of one command (or transaction) hash to different
 *                                                  slots; refused before anything is sent
 *   ClusterLimitError  ERR_CLUSTER_REDIRECTIONS    more MOVED/ASK hops than maxRedirections
 *                      ERR_CLUSTER_RETRIES         TRYAGAIN/CLUSTERDOWN (or a node that left the cluster)
 *                                                  more often than clusterRetries; `cause` holds the last
 *                                                  error
 *   ClusterError       ERR_CLUSTER_UNAVAILABLE     no node answered CLUSTER SHARDS / CLUSTER SLOTS
 *                      ERR_CLUSTER_SLOT_UNCOVERED  no master serves the slot
 */
import { RedstackError } from '../../errors.js';

export class CrossSlotError extends RedstackError {
  /** Never sent: retrying cannot apply it twice (though it will fail the same way). */
  readonly safeToRetry = true;
  readonly command: string | undefined;
  /** Two of the slots the keys hash to. */
  readonly slots: [number, number];

  constructor(command: string | undefined, a: number, b: number) {
    super('ERR_CROSSSLOT', `${command ? command + ': ' : ''}keys hash to different slots (${a} and ${b}); not sent (use a {hash tag} to keep them in one slot)`);
    this.command = command;
    this.slots = [a, b];
  }
}

export class ClusterLimitError extends RedstackError {
  readonly command: string | undefined;
  readonly slot: number | undefined;
  /** The option to raise. */
  readonly option: 'maxRedirections' | 'clusterRetries';

  constructor(option: 'maxRedirections' | 'clusterRetries', limit: number, command: string | undefined, slot: number | undefined, cause: unknown) {
    super(
      option === 'maxRedirections' ? 'ERR_CLUSTER_REDIRECTIONS' : 'ERR_CLUSTER_RETRIES',
      `${command ? command + ': ' : ''}${option === 'maxRedirections' ? 'redirected' : 'retried'} more than ${limit} times${slot !== undefined && slot >= 0 ? ` (slot ${slot})` : ''} (raise ${option})`,
      { cause },
    );
    this.command = command;
    this.slot = slot;
    this.option = option;
  }
}

export class ClusterError extends RedstackError {
  readonly slot: number | undefined;

  constructor(code: 'ERR_CLUSTER_UNAVAILABLE' | 'ERR_CLUSTER_SLOT_UNCOVERED', message: string, slot?: number, options?: { cause?: unknown }) {
    super(code, message, options);
    this.slot = slot;
  }
}
