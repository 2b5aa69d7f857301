/**
 * Pub/sub on a cluster.
 *
 * - SUBSCRIBE / PSUBSCRIBE: messages are broadcast to every node, so all such subscriptions share one
 *   connection to one node (the "global" node). If that node leaves the map, they move to another.
 * - SSUBSCRIBE: a shard channel lives in the slot of its name, on that slot's master. Each master
 *   that serves some of them gets one subscriber connection. They move when:
 *     the SSUBSCRIBE is answered -MOVED (the map was stale),
 *     the node sends an unsolicited `sunsubscribe` (Redis 7 does when the slot migrates away or the
 *     node turns replica),
 *     a map refresh shows another master for the slot (failover: the old node is gone).
 *
 * Every connection resubscribes its own channels after a reconnect ('ready' fires before anything
 * queued is written). Handlers are kept here, per name, so moving a subscription never loses them.
 */
import type { RespValue } from '../../resp/types.js';
import { ReplyError } from '../../resp/errors.js';
import { Connection, type ConnectionOptions } from '../connection.js';
import { removeHandlers, type MessageHandler } from '../pubsub.js';
import { keySlot } from './crc16.js';
import { ClusterLimitError } from './errors.js';
import { parseRedirect } from './router.js';

export type SubscriptionKind = 'channel' | 'pattern' | 'shard';

const COMMANDS: Record<SubscriptionKind, { sub: string; unsub: string; subKind: string; unsubKind: string }> = {
  channel: { sub: 'SUBSCRIBE', unsub: 'UNSUBSCRIBE', subKind: 'subscribe', unsubKind: 'unsubscribe' },
  pattern: { sub: 'PSUBSCRIBE', unsub: 'PUNSUBSCRIBE', subKind: 'psubscribe', unsubKind: 'punsubscribe' },
  shard: { sub: 'SSUBSCRIBE', unsub: 'SUNSUBSCRIBE', subKind: 'ssubscribe', unsubKind: 'sunsubscribe' },
};

export interface SubscriberHost {
  /** Connection options for a node (auth, TLS, protocol...), host and port filled in. */
  connectionOptions(addr: string): ConnectionOptions;
  master(slot: number): string | undefined;
  /** Whether the current map still names the node. */
  knows(addr: string): boolean;
  moved(slot: number, addr: string): void;
  requestRefresh(): void;
  refreshed(): Promise<void>;
  closed(): boolean;
  readonly maxRedirections: number;
  onMessage(message: string | Buffer, channel: string, pattern: string | undefined, shard: boolean): void;
  onError(err: Error): void;
  /** A message handler threw (it ran inside the socket's data callback, so it was caught). */
  onHandlerError(err: unknown): void;
}

class NodeSubscriber {
  readonly names: Record<SubscriptionKind, Set<string>> = { channel: new Set(), pattern: new Set(), shard: new Set() };
  constructor(
    readonly addr: string,
    readonly conn: Connection,
  ) {}

  get empty(): boolean {
    return this.names.channel.size + this.names.pattern.size + this.names.shard.size === 0;
  }
}

function noop(): void {}

export class ClusterSubscriber {
  readonly #host: SubscriberHost;
  readonly #handlers: Record<SubscriptionKind, Map<string, Set<MessageHandler>>> = { channel: new Map(), pattern: new Map(), shard: new Map() };
  readonly #nodes = new Map<string, NodeSubscriber>();
  /** Carries every SUBSCRIBE and PSUBSCRIBE. */
  #global: string | undefined;

  constructor(host: SubscriberHost) {
    this.#host = host;
  }

  get size(): number {
    return this.#handlers.channel.size + this.#handlers.pattern.size + this.#handlers.shard.size;
  }

  /** Node addresses with a subscriber connection, for tests and diagnostics. */
  nodesOf(kind: SubscriptionKind, name: string): string[] {
    return [...this.#nodes.values()].filter((n) => n.names[kind].has(name)).map((n) => n.addr);
  }

  async subscribe(kind: SubscriptionKind, names: string[], handler: MessageHandler, anyNode: () => string | undefined): Promise<void> {
    const fresh: string[] = [];
    for (const name of names) {
      let set = this.#handlers[kind].get(name);
      if (!set) {
        this.#handlers[kind].set(name, (set = new Set()));
        fresh.push(name);
      }
      set.add(handler);
    }
    if (fresh.length === 0) return;
    try {
      if (kind !== 'shard') {
        this.#global ??= anyNode();
        if (this.#global === undefined) throw new Error('no cluster node known');
        await this.#send(this.#node(this.#global), kind, fresh);
        return;
      }
      // SSUBSCRIBE takes channels of one slot only: one command per slot.
      const bySlot = new Map<number, string[]>();
      for (const n of fresh) {
        const s = keySlot(n);
        let l = bySlot.get(s);
        if (!l) bySlot.set(s, (l = []));
        l.push(n);
      }
      await Promise.all([...bySlot].map(([slot, list]) => this.#shardSubscribe(slot, list)));
    } catch (err) {
      if (err instanceof ReplyError || err instanceof ClusterLimitError) for (const n of fresh) this.#handlers[kind].delete(n);
      throw err;
    }
  }

  async unsubscribe(kind: SubscriptionKind, names: string[] | undefined, handler?: MessageHandler): Promise<void> {
    const gone = removeHandlers(this.#handlers[kind], names, handler);
    const sends: Promise<void>[] = [];
    for (const ns of this.#nodes.values()) {
      const here = gone.filter((n) => ns.names[kind].delete(n));
      if (here.length > 0) sends.push(this.#unsend(ns, kind, here));
    }
    await Promise.all(sends);
    this.#dropIdle();
  }

  /** After a map refresh: move what the map says is elsewhere. */
  reconcile(anyNode: () => string | undefined): void {
    if (this.#host.closed()) return;
    if (this.#global !== undefined && !this.#host.knows(this.#global)) {
      const old = this.#nodes.get(this.#global);
      this.#global = anyNode();
      if (old) {
        const channels = [...old.names.channel];
        const patterns = [...old.names.pattern];
        old.names.channel.clear();
        old.names.pattern.clear();
        if (this.#global !== undefined) {
          const ns = this.#node(this.#global);
          if (channels.length) this.#send(ns, 'channel', channels).catch(noop);
          if (patterns.length) this.#send(ns, 'pattern', patterns).catch(noop);
        }
      }
    }
    for (const ns of [...this.#nodes.values()]) {
      const moving = new Map<number, string[]>();
      for (const name of ns.names.shard) {
        const slot = keySlot(name);
        const owner = this.#host.master(slot);
        if (owner === undefined || owner === ns.addr) continue;
        let l = moving.get(slot);
        if (!l) moving.set(slot, (l = []));
        l.push(name);
      }
      for (const [slot, names] of moving) {
        for (const n of names) ns.names.shard.delete(n);
        if (ns.conn.state === 'ready') this.#unsend(ns, 'shard', names).catch(noop);
        this.#shardSubscribe(slot, names).catch((err) => this.#host.onError(err));
      }
    }
    this.#dropIdle();
  }

  close(): void {
    for (const ns of this.#nodes.values()) ns.conn.disconnect();
    this.#nodes.clear();
  }

  async quit(): Promise<void> {
    const all = [...this.#nodes.values()];
    this.#nodes.clear();
    await Promise.all(all.map((ns) => ns.conn.quit().catch(noop)));
  }

  // ---- internals ---------------------------------------------------------------------------------

  #node(addr: string): NodeSubscriber {
    let ns = this.#nodes.get(addr);
    if (ns) return ns;
    const conn = new Connection({
      ...this.#host.connectionOptions(addr),
      commandTimeoutMs: 0,
      subscriber: true,
      onPush: (frame) => this.#onPush(ns!, frame),
    });
    ns = new NodeSubscriber(addr, conn);
    this.#nodes.set(addr, ns);
    // The first handshake writes what #send queued; later ones must restore everything.
    conn.on('ready', () => conn.epoch > 1 && this.#resubscribe(ns!));
    conn.on('reconnecting', () => this.#host.requestRefresh());
    conn.on('error', (err: Error) => this.#host.onError(err));
    return ns;
  }

  #send(ns: NodeSubscriber, kind: SubscriptionKind, names: string[]): Promise<void> {
    for (const n of names) ns.names[kind].add(n);
    const c = COMMANDS[kind];
    return ns.conn.send([c.sub, ...names], { noTimeout: true, pushKind: c.subKind, pushConfirms: names.length }).then(noop);
  }

  #unsend(ns: NodeSubscriber, kind: SubscriptionKind, names: string[]): Promise<void> {
    const c = COMMANDS[kind];
    return ns.conn.send([c.unsub, ...names], { noTimeout: true, pushKind: c.unsubKind, pushConfirms: names.length }).then(noop, noop);
  }

  /** SSUBSCRIBE on the slot's master, following MOVED. */
  async #shardSubscribe(slot: number, names: string[]): Promise<void> {
    for (let hops = 0; ; hops++) {
      names = names.filter((n) => this.#handlers.shard.has(n));
      if (names.length === 0 || this.#host.closed()) return;
      let addr = this.#host.master(slot);
      if (addr === undefined) {
        this.#host.requestRefresh();
        await this.#host.refreshed();
        addr = this.#host.master(slot);
      }
      if (addr === undefined || hops > this.#host.maxRedirections) {
        throw new ClusterLimitError('maxRedirections', this.#host.maxRedirections, 'SSUBSCRIBE', slot, undefined);
      }
      const ns = this.#node(addr);
      try {
        await this.#send(ns, 'shard', names);
        return;
      } catch (err) {
        for (const n of names) ns.names.shard.delete(n);
        const r = err instanceof ReplyError ? parseRedirect(err) : undefined;
        if (!r) throw err;
        if (r.kind === 'MOVED') this.#host.moved(r.slot, r.addr);
        this.#host.requestRefresh();
        if (r.kind === 'ASK') await this.#host.refreshed();
      }
    }
  }

  #resubscribe(ns: NodeSubscriber): void {
    for (const kind of ['channel', 'pattern'] as const) {
      const names = [...ns.names[kind]];
      if (names.length) this.#send(ns, kind, names).catch(noop); // dropped again: the next 'ready' retries
    }
    const shard = [...ns.names.shard];
    if (shard.length === 0) return;
    const c = COMMANDS.shard;
    const bySlot = new Map<number, string[]>();
    for (const n of shard) {
      const s = keySlot(n);
      let l = bySlot.get(s);
      if (!l) bySlot.set(s, (l = []));
      l.push(n);
    }
    for (const [slot, names] of bySlot) {
      ns.conn.send([c.sub, ...names], { noTimeout: true, pushKind: c.subKind, pushConfirms: names.length }).catch((err: unknown) => {
        // The node no longer serves the slot (it came back as a replica, or the slot moved meanwhile).
        if (err instanceof ReplyError && parseRedirect(err)) {
          for (const n of names) ns.names.shard.delete(n);
          this.#shardSubscribe(slot, names).catch((e) => this.#host.onError(e));
        }
      });
    }
  }

  #onPush(ns: NodeSubscriber, frame: RespValue[]): void {
    const kind = String(frame[0]);
    if (kind === 'message' || kind === 'smessage') {
      const channel = String(frame[1]);
      this.#deliver(this.#handlers[kind === 'message' ? 'channel' : 'shard'].get(channel), frame[2] as string | Buffer, channel, undefined, kind === 'smessage');
    } else if (kind === 'pmessage') {
      const pattern = String(frame[1]);
      this.#deliver(this.#handlers.pattern.get(pattern), frame[3] as string | Buffer, String(frame[2]), pattern, false);
    } else if (kind === 'sunsubscribe' && frame[1] !== null && frame[1] !== undefined) {
      // Names we unsubscribe ourselves leave ns.names before the command is sent, so a name still
      // there was dropped by the server: its slot moved away (or the node became a replica).
      const channel = String(frame[1]);
      if (!ns.names.shard.delete(channel) || !this.#handlers.shard.has(channel)) return;
      this.#host.requestRefresh();
      void this.#host.refreshed().then(() => this.#shardSubscribe(keySlot(channel), [channel]).catch((err) => this.#host.onError(err)));
    }
  }

  /**
   * Handlers run inside the socket's data callback: an exception escaping there would leave the reply
   * decoder mid-stream, so each is caught and reported.
   */
  #deliver(handlers: Set<MessageHandler> | undefined, message: string | Buffer, channel: string, pattern: string | undefined, shard: boolean): void {
    if (handlers) {
      for (const h of handlers) {
        try {
          h(message, channel, pattern);
        } catch (err) {
          this.#host.onHandlerError(err);
        }
      }
    }
    try {
      this.#host.onMessage(message, channel, pattern, shard);
    } catch (err) {
      this.#host.onHandlerError(err);
    }
  }

  #dropIdle(): void {
    for (const [addr, ns] of this.#nodes) {
      if (ns.empty && addr !== this.#global) {
        this.#nodes.delete(addr);
        ns.conn.quit().catch(noop);
      } else if (ns.empty && addr === this.#global && this.#handlers.channel.size + this.#handlers.pattern.size === 0) {
        this.#nodes.delete(addr);
        this.#global = undefined;
        ns.conn.quit().catch(noop);
      }
    }
  }
}
