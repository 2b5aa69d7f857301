/**
 * Sends commands to the node that serves their slot and follows the cluster's redirections, one
 * command at a time:
 *
 *   -MOVED slot host:port     the slot lives there now: patch that slot in the map, ask for a background
 *                             refresh, and send this command (only this one) there.
 *   -ASK slot host:port       the key is being migrated: send ASKING plus the command, once, in one
 *                             write, to that node. The map is not changed.
 *   -TRYAGAIN, -CLUSTERDOWN   a multi-key command during a migration, or a cluster without a master for
 *                             some slot (failover in progress): wait a little (doubling from
 *                             clusterRetryDelayMs) and route again, at most clusterRetries times.
 *   NotSentError client-closed the node left the map and its client was closed with the command still
 *                             queued: it was never written, so it is routed again.
 *
 * Pipelines are grouped per node when they are written (one socket write per node, all nodes at once)
 * and their replies put back in order; a redirected command is retried on its own, never the whole
 * pipeline (ioredis #1693, #2075, #1734). Errors that are the outcome of one command (a ReplyError,
 * OutcomeUnknownError when a node died after the write, CrossSlotError) take that command's place.
 */
import type { Command, RespValue } from '../../resp/types.js';
import { ReplyError } from '../../resp/errors.js';
import type { Client } from '../client.js';
import { NotSentError } from '../errors.js';
import type { CommandKeys } from './command-keys.js';
import { ClusterError, ClusterLimitError } from './errors.js';
import { formatAddress } from './slot-map.js';

export interface Redirect {
  kind: 'MOVED' | 'ASK';
  slot: number;
  /** "host:port" */
  addr: string;
}

/** Parses `MOVED 3999 127.0.0.1:6381` / `ASK 3999 127.0.0.1:6381`; an empty host means the one asked. */
export function parseRedirect(err: ReplyError, askedHost?: string): Redirect | undefined {
  if (err.prefix !== 'MOVED' && err.prefix !== 'ASK') return undefined;
  const parts = err.message.split(' ');
  if (parts.length < 3) return undefined;
  const addr = parts[2]!;
  const i = addr.lastIndexOf(':');
  if (i === -1) return undefined;
  const host = addr.slice(0, i) || askedHost || '127.0.0.1';
  return { kind: err.prefix, slot: Number(parts[1]), addr: formatAddress(host, Number(addr.slice(i + 1))) };
}

const RETRY_PREFIXES = new Set(['TRYAGAIN', 'CLUSTERDOWN']);

/** What the router needs from the cluster client. */
export interface RouterHost {
  /** The client of a node, created on first use. */
  node(addr: string): Client;
  /** Master serving the slot; undefined when uncovered. -1 (keyless): any master. */
  master(slot: number): string | undefined;
  /** Where a read-only command on the slot may go (a replica when scaleReads is 'replica'). */
  reader(slot: number): string | undefined;
  /** MOVED: the slot's master changed. */
  moved(slot: number, addr: string): void;
  /** Ask for a background refresh of the slot map (rate-limited, single-flight). */
  requestRefresh(): void;
  /** Resolves after the refresh in flight (or a new one); never rejects. */
  refreshed(): Promise<void>;
  closed(): boolean;
  sleep(ms: number): Promise<void>;
}

export interface RouterOptions {
  maxRedirections: number;
  clusterRetries: number;
  clusterRetryDelayMs: number;
  scaleReads: 'master' | 'replica';
}

class Attempts {
  redirections = 0;
  retries = 0;
}

const UNCOVERED = Symbol('uncovered');

export class Router {
  readonly #host: RouterHost;
  readonly #keys: CommandKeys;
  readonly #o: RouterOptions;

  constructor(host: RouterHost, keys: CommandKeys, options: RouterOptions) {
    this.#host = host;
    this.#keys = keys;
    this.#o = options;
  }

  /** The node for a command with this slot, or UNCOVERED. */
  #target(c: Command, slot: number): string | typeof UNCOVERED {
    if (this.#o.scaleReads === 'replica' && slot >= 0 && this.#keys.readonly(c)) {
      return this.#host.reader(slot) ?? UNCOVERED;
    }
    return this.#host.master(slot) ?? UNCOVERED;
  }

  /** One command: its reply, or a rejection (ReplyError, CrossSlotError, a connection error...). */
  send(c: Command): Promise<RespValue> {
    let slot: number;
    try {
      slot = this.#keys.slot(c);
    } catch (err) {
      return Promise.reject(err);
    }
    const addr = this.#target(c, slot);
    if (addr === UNCOVERED) return this.#recover(c, slot, UNCOVERED, new Attempts());
    return this.#host.node(addr).cmd(c).catch((err: unknown) => this.#recover(c, slot, err, new Attempts()));
  }

  /** Several commands, grouped per node, replies in order with errors in place. */
  async pipeline(commands: readonly Command[]): Promise<(RespValue | Error)[]> {
    const out = new Array<RespValue | Error>(commands.length);
    const slots = new Int32Array(commands.length);
    const groups = new Map<string, number[]>();
    const later: number[] = [];
    for (let i = 0; i < commands.length; i++) {
      const c = commands[i]!;
      let slot: number;
      try {
        slot = this.#keys.slot(c);
      } catch (err) {
        out[i] = err as Error;
        continue;
      }
      slots[i] = slot;
      const addr = this.#target(c, slot);
      if (addr === UNCOVERED) {
        later.push(i);
        continue;
      }
      let g = groups.get(addr);
      if (!g) groups.set(addr, (g = []));
      g.push(i);
    }
    const retries: Promise<void>[] = [];
    const retry = (i: number, err: unknown) => {
      retries.push(
        this.#recover(commands[i]!, slots[i]!, err, new Attempts()).then(
          (v) => void (out[i] = v),
          (e: Error) => void (out[i] = e),
        ),
      );
    };
    // Every node's group is handed to its connection in this tick: one write per node, all at once.
    const sent = [...groups].map(([addr, idx]) => {
      const cmds = idx.length === commands.length ? commands : idx.map((i) => commands[i]!);
      return this.#host
        .node(addr)
        .cmd(cmds)
        .then(
          (replies: RespValue[]) => {
            for (let k = 0; k < idx.length; k++) {
              const r = replies[k]!;
              if (r instanceof ReplyError && this.#redirectable(r)) retry(idx[k]!, r);
              else out[idx[k]!] = r;
            }
          },
          (err: unknown) => {
            for (const i of idx) {
              if (this.#resendable(err)) retry(i, err);
              else out[i] = err as Error;
            }
          },
        );
    });
    for (const i of later) retry(i, UNCOVERED);
    await Promise.all(sent);
    await Promise.all(retries);
    return out;
  }

  /**
   * MULTI ... EXEC on the master of the one slot all keys hash to. A transaction refused because the
   * slot moved (-MOVED on a queued command or on EXEC, which makes EXEC discard it) never ran, so it is
   * sent again where the slot went; -ASK, -TRYAGAIN and -CLUSTERDOWN wait and retry (ASKING does not
   * carry into a transaction). Resolves with EXEC's replies, or null when a WATCHed key changed.
   */
  async transaction(commands: readonly Command[]): Promise<RespValue[] | null> {
    const slot = this.#keys.slotOfAll(commands);
    const block: Command[] = [['MULTI'], ...commands, ['EXEC']];
    const at = new Attempts();
    let addr = this.#host.master(slot);
    for (;;) {
      let refusal: ReplyError | undefined;
      if (addr === undefined) {
        await this.#retryAfter(at, 'MULTI', slot, UNCOVERED);
        addr = this.#host.master(slot);
        continue;
      }
      let replies: RespValue[];
      try {
        replies = await this.#host.node(addr).cmd(block);
      } catch (err) {
        if (!this.#resendable(err)) throw err;
        await this.#retryAfter(at, 'MULTI', slot, err);
        addr = this.#host.master(slot);
        continue;
      }
      for (let i = 1; i < replies.length; i++) {
        const r = replies[i];
        if (r instanceof ReplyError && this.#redirectable(r)) {
          refusal = r;
          break;
        }
      }
      const exec = replies[replies.length - 1];
      if (!refusal) {
        if (exec instanceof ReplyError) {
          exec.command = 'EXEC';
          throw exec;
        }
        return exec as RespValue[] | null;
      }
      const r = parseRedirect(refusal);
      if (r?.kind === 'MOVED') {
        if (++at.redirections > this.#o.maxRedirections) throw new ClusterLimitError('maxRedirections', this.#o.maxRedirections, 'EXEC', slot, refusal);
        this.#host.moved(r.slot, r.addr);
        this.#host.requestRefresh();
        addr = r.addr;
      } else {
        await this.#retryAfter(at, 'EXEC', slot, refusal);
        addr = this.#host.master(slot);
      }
    }
  }

  #redirectable(err: ReplyError): boolean {
    return err.prefix === 'MOVED' || err.prefix === 'ASK' || RETRY_PREFIXES.has(err.prefix);
  }

  /** Never written, and the cluster still open: may be routed again. */
  #resendable(err: unknown): boolean {
    return err instanceof NotSentError && (err.reason === 'client-closed' || err.reason === 'reconnect-gave-up') && !this.#host.closed();
  }

  /** Counts a retry, waits its delay; throws ClusterLimitError once clusterRetries are used up. */
  async #retryAfter(at: Attempts, name: string | undefined, slot: number, err: unknown): Promise<void> {
    if (++at.retries > this.#o.clusterRetries) {
      if (err === UNCOVERED) throw new ClusterError('ERR_CLUSTER_SLOT_UNCOVERED', `no master serves slot ${slot}`, slot);
      throw new ClusterLimitError('clusterRetries', this.#o.clusterRetries, name, slot, err);
    }
    if (err instanceof NotSentError) {
      // The node was dropped after a refresh: the map already points elsewhere.
      return;
    }
    this.#host.requestRefresh();
    const base = this.#o.clusterRetryDelayMs;
    await this.#host.sleep(Math.min(base * 2 ** (at.retries - 1), base * 16));
    if (err === UNCOVERED) await this.#host.refreshed();
  }

  /** Follows redirections and retries for one command until it has a final outcome. */
  async #recover(c: Command, slot: number, err: unknown, at: Attempts): Promise<RespValue> {
    const name = typeof c[0] === 'string' ? c[0].toUpperCase() : String(c[0]);
    for (;;) {
      let next: Promise<RespValue>;
      const redirect = err instanceof ReplyError ? parseRedirect(err) : undefined;
      if (redirect) {
        if (++at.redirections > this.#o.maxRedirections) throw new ClusterLimitError('maxRedirections', this.#o.maxRedirections, name, slot, err);
        if (redirect.kind === 'MOVED') {
          this.#host.moved(redirect.slot, redirect.addr);
          this.#host.requestRefresh();
          next = this.#host.node(redirect.addr).cmd(c);
        } else {
          next = this.#host
            .node(redirect.addr)
            .cmd([['ASKING'], c])
            .then((replies: RespValue[]) => {
              const r = replies[1]!;
              if (r instanceof ReplyError) {
                r.command = name;
                throw r;
              }
              return r;
            });
        }
      } else if ((err instanceof ReplyError && RETRY_PREFIXES.has(err.prefix)) || err === UNCOVERED || this.#resendable(err)) {
        await this.#retryAfter(at, name, slot, err);
        const addr = this.#target(c, slot);
        if (addr === UNCOVERED) {
          err = UNCOVERED;
          continue;
        }
        next = this.#host.node(addr).cmd(c);
      } else {
        throw err;
      }
      try {
        return await next;
      } catch (e) {
        err = e;
      }
    }
  }
}
