/**
 * The fan-out: one Redis subscription per channel or pattern however many clients want it,
 * reference-counted, unsubscribed when its last client leaves, resubscribed (by the client library)
 * after Redis reconnects, with a `lagged` notice to every client for the gap.
 *
 * The message handler runs for every message Redis sends and must stay cheap and never wait: it
 * builds the message's JSON once, appends it to the subscription's open Batch and, when the batch is
 * new, pushes that one Batch object onto each subscriber's queue. At the end of the event-loop turn
 * (setImmediate) the open batches are sealed and every session that got something writes once.
 * Because the handler never awaits a client, the subscriber connection is read as fast as Redis
 * writes, and Redis's client-output-buffer-limit for pub/sub is never reached on our account.
 *
 * Batches are runs: a message starts a new batch whenever the previous message the hub handled
 * belonged to another subscription. So a client subscribed to several channels receives messages in
 * exactly the order Redis sent them, and no batch is ever queued twice for one client.
 */
import { Batch } from './batch.js';
import { GatewayError } from './errors.js';
import { laggedJson, messageJson } from './protocol.js';
import { compareIds, parseEnvelope, type HistoryReader } from './history.js';
import type { CloseReason, Session, SessionHost } from './session.js';
import type { TransportKind } from './batch.js';
import { systemClock, type Clock } from '../clock.js';

export type MessageHandler = (message: string | Buffer, channel: string, pattern?: string) => void;

/** The part of the redstack client the hub uses (a Client, or a fake in unit tests). */
export interface Subscriber {
  subscribe(channels: string[], handler: MessageHandler): Promise<void>;
  psubscribe(patterns: string[], handler: MessageHandler): Promise<void>;
  unsubscribe(channels: string[], handler: MessageHandler): Promise<void>;
  punsubscribe(patterns: string[], handler: MessageHandler): Promise<void>;
  on(event: 'ready' | 'close', listener: () => void): unknown;
  off(event: 'ready' | 'close', listener: () => void): unknown;
}

export type SubscriptionKind = 'channel' | 'pattern';

interface Resume {
  session: Session;
  /** Live messages that arrived while history was being read. */
  held: Batch;
}

class Subscription {
  readonly kind: SubscriptionKind;
  readonly name: string;
  /** JSON.stringify(name), computed once. */
  readonly json: string;
  /** An array, not a Set: iterated for every new batch, changed only on (un)subscribe. */
  readonly sessions: Session[] = [];
  /** The batch that the next message of this subscription joins, if it is still open. */
  current: Batch | null = null;
  /** Settles when Redis has confirmed the subscription. */
  ready: Promise<void> = Promise.resolve();
  resuming: Resume[] | null = null;

  constructor(kind: SubscriptionKind, name: string) {
    this.kind = kind;
    this.name = name;
    this.json = JSON.stringify(name);
  }

  get idle(): boolean {
    return this.sessions.length === 0 && this.resuming === null;
  }
}

export interface HubCounters {
  messagesIn: number;
  messagesOut: Record<TransportKind, number>;
  dropped: number;
  redisReconnects: number;
  disconnects: Partial<Record<CloseReason, number>>;
}

export interface HubOptions {
  history?: HistoryReader;
  clock?: Clock;
  /** Most history entries replayed for one `since` request (default 1000). */
  maxReplay?: number;
  /** Told when a session closes (after its subscriptions are released). */
  onSessionClosed?: (session: Session, reason: CloseReason) => void;
}

export class Hub implements SessionHost {
  readonly counters: HubCounters = { messagesIn: 0, messagesOut: { ws: 0, sse: 0 }, dropped: 0, redisReconnects: 0, disconnects: {} };
  readonly #redis: Subscriber;
  readonly #clock: Clock;
  readonly #history: HistoryReader | undefined;
  readonly #maxReplay: number;
  readonly #onSessionClosed: HubOptions['onSessionClosed'];
  readonly #channels = new Map<string, Subscription>();
  readonly #patterns = new Map<string, Subscription>();
  /** Subscriptions whose `current` batch is open this turn. */
  #open: Subscription[] = [];
  #last: Batch | null = null;
  #dirty: Session[] = [];
  #spare: Session[] = [];
  #flushQueued = false;
  #down = false;
  #closed = false;

  constructor(redis: Subscriber, opts: HubOptions = {}) {
    this.#redis = redis;
    this.#clock = opts.clock ?? systemClock;
    this.#history = opts.history;
    this.#maxReplay = opts.maxReplay ?? 1000;
    this.#onSessionClosed = opts.onSessionClosed;
    redis.on('close', this.#onRedisClose);
    redis.on('ready', this.#onRedisReady);
  }

  get channelCount(): number {
    return this.#channels.size;
  }

  get patternCount(): number {
    return this.#patterns.size;
  }

  /** False while the subscriber connection is down (messages published now are lost to clients). */
  get redisUp(): boolean {
    return !this.#down;
  }

  /** Clients of one channel or pattern (for tests and metrics). */
  clientsOf(kind: SubscriptionKind, name: string): number {
    const s = (kind === 'channel' ? this.#channels : this.#patterns).get(name);
    return s ? s.sessions.length + (s.resuming?.length ?? 0) : 0;
  }

  // ---- the hot path ----------------------------------------------------------------------------

  readonly #onMessage: MessageHandler = (message, channel, pattern) => {
    const sub = pattern === undefined ? this.#channels.get(channel) : this.#patterns.get(pattern);
    if (sub === undefined) return; // unsubscribed a moment ago; Redis has not caught up
    this.counters.messagesIn++;
    let data = typeof message === 'string' ? message : message.toString('utf8');
    let id: string | undefined;
    if (data.charCodeAt(0) === 0x1e) {
      const env = parseEnvelope(data);
      if (env !== undefined) {
        id = env.id;
        data = env.data;
      }
    }
    const json = pattern === undefined ? messageJson(sub.json, data, undefined, id) : messageJson(JSON.stringify(channel), data, sub.json, id);
    if (sub.resuming !== null) for (const r of sub.resuming) r.held.add(json, id);
    let b = sub.current;
    if (b === null || b !== this.#last) {
      b = new Batch();
      sub.current = b;
      this.#open.push(sub);
      const ss = sub.sessions;
      for (let i = 0; i < ss.length; i++) ss[i]!.push(b);
    }
    b.add(json, id);
    this.#last = b;
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      setImmediate(this.#flush);
    }
  };

  /** End of turn: seal the open batches, then let every session that got something write once. */
  readonly #flush = (): void => {
    this.#flushQueued = false;
    const open = this.#open;
    for (let i = 0; i < open.length; i++) open[i]!.current = null;
    open.length = 0;
    this.#last = null;
    const dirty = this.#dirty;
    this.#dirty = this.#spare;
    this.#spare = dirty;
    for (let i = 0; i < dirty.length; i++) dirty[i]!.flush();
    dirty.length = 0;
  };

  // ---- SessionHost ------------------------------------------------------------------------------

  schedule(session: Session): void {
    session.dirty = true;
    this.#dirty.push(session);
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      setImmediate(this.#flush);
    }
  }

  now(): number {
    return this.#clock.now();
  }

  sent(kind: TransportKind, n: number): void {
    this.counters.messagesOut[kind] += n;
  }

  dropped(n: number): void {
    this.counters.dropped += n;
  }

  closed(session: Session, reason: CloseReason): void {
    this.counters.disconnects[reason] = (this.counters.disconnects[reason] ?? 0) + 1;
    this.release(session);
    this.#onSessionClosed?.(session, reason);
  }

  // ---- subscribing ------------------------------------------------------------------------------

  /**
   * Adds the session to each channel or pattern, subscribing in Redis where it is the first client,
   * and resolves once Redis has confirmed them all; then calls `confirmed` (where the caller queues
   * its ack) and, with `since`, replays history after that id before live messages (channels only;
   * the caller checks that they have history). Rejects with GatewayError `unavailable` (and leaves
   * nothing subscribed) when Redis does not confirm.
   */
  async subscribe(session: Session, kind: SubscriptionKind, names: readonly string[], opts: { since?: string; confirmed?: () => void } = {}): Promise<void> {
    if (this.#closed) throw new GatewayError('unavailable', 'the gateway is closing');
    const map = kind === 'channel' ? this.#channels : this.#patterns;
    const prefix = kind === 'channel' ? 'c:' : 'p:';
    const waits: Promise<void>[] = [];
    const resumes: [Subscription, Resume][] = [];
    const added: string[] = [];
    for (const name of names) {
      if (session.subscriptions.has(prefix + name)) continue;
      let sub = map.get(name);
      if (sub === undefined) {
        sub = new Subscription(kind, name);
        map.set(name, sub);
        sub.ready = this.#redisSubscribe(sub);
      }
      // Seal the open batch: the new client must be in the next one, not half of this one.
      sub.current = null;
      session.subscriptions.set(prefix + name, { kind, name });
      added.push(name);
      if (opts.since !== undefined && kind === 'channel') {
        const r: Resume = { session, held: new Batch() };
        (sub.resuming ??= []).push(r);
        resumes.push([sub, r]);
      } else sub.sessions.push(session);
      waits.push(sub.ready);
    }
    try {
      await Promise.all(waits);
    } catch (err) {
      this.unsubscribe(session, kind, added);
      throw new GatewayError('unavailable', `Redis did not confirm the ${kind === 'channel' ? 'subscription' : 'pattern subscription'}`, { cause: err });
    }
    opts.confirmed?.();
    for (const [sub, r] of resumes) await this.#replay(sub, r, opts.since!);
  }

  /** Removes the session from the names; returns those it was not subscribed to. */
  unsubscribe(session: Session, kind: SubscriptionKind, names: readonly string[]): string[] {
    const map = kind === 'channel' ? this.#channels : this.#patterns;
    const prefix = kind === 'channel' ? 'c:' : 'p:';
    const missing: string[] = [];
    for (const name of names) {
      if (!session.subscriptions.delete(prefix + name)) {
        missing.push(name);
        continue;
      }
      const sub = map.get(name);
      if (sub === undefined) continue;
      const i = sub.sessions.indexOf(session);
      if (i >= 0) {
        sub.sessions[i] = sub.sessions[sub.sessions.length - 1]!;
        sub.sessions.pop();
      }
      if (sub.resuming !== null) {
        sub.resuming = sub.resuming.filter((r) => r.session !== session);
        if (sub.resuming.length === 0) sub.resuming = null;
      }
      if (sub.idle) {
        map.delete(name);
        if (sub.current !== null) sub.current = null;
        this.#redisUnsubscribe(sub);
      }
    }
    return missing;
  }

  /** Releases every subscription of a session (it closed). */
  release(session: Session): void {
    const channels: string[] = [];
    const patterns: string[] = [];
    for (const s of session.subscriptions.values()) (s.kind === 'channel' ? channels : patterns).push(s.name);
    if (channels.length) this.unsubscribe(session, 'channel', channels);
    if (patterns.length) this.unsubscribe(session, 'pattern', patterns);
  }

  /** Every session should already be closed; this drops the Redis listeners. */
  close(): void {
    this.#closed = true;
    this.#redis.off('close', this.#onRedisClose);
    this.#redis.off('ready', this.#onRedisReady);
  }

  #redisSubscribe(sub: Subscription): Promise<void> {
    const p = sub.kind === 'channel' ? this.#redis.subscribe([sub.name], this.#onMessage) : this.#redis.psubscribe([sub.name], this.#onMessage);
    return p.catch((err: unknown) => {
      // Forget the failed subscription so the next client tries again, and tell the client library
      // to drop our handler (it keeps it for resubscription otherwise).
      const map = sub.kind === 'channel' ? this.#channels : this.#patterns;
      if (map.get(sub.name) === sub) map.delete(sub.name);
      this.#redisUnsubscribe(sub);
      throw err;
    });
  }

  #redisUnsubscribe(sub: Subscription): void {
    const p = sub.kind === 'channel' ? this.#redis.unsubscribe([sub.name], this.#onMessage) : this.#redis.punsubscribe([sub.name], this.#onMessage);
    // Failing to unsubscribe leaves a subscription nobody reads; the handler drops its messages.
    p.catch(() => undefined);
  }

  async #replay(sub: Subscription, r: Resume, since: string): Promise<void> {
    const session = r.session;
    let entries: { id: string; data: string }[] = [];
    let gap: 'history_trimmed' | 'history_limit' | undefined;
    try {
      if (this.#history === undefined) throw new Error('no history');
      const res = await this.#history.since(sub.name, since, this.#maxReplay);
      entries = res.entries;
      if (res.trimmed) gap = 'history_trimmed';
      else if (entries.length >= this.#maxReplay) gap = 'history_limit';
    } catch {
      gap = 'history_trimmed';
    }
    if (sub.resuming === null || !sub.resuming.includes(r)) return; // unsubscribed or closed meanwhile
    if (gap !== undefined) session.control(laggedJson(gap, { channels: [sub.name] }));
    const b = new Batch();
    let last = since;
    for (const e of entries) {
      b.add(messageJson(sub.json, e.data, undefined, e.id), e.id);
      last = e.id;
    }
    // Live messages that arrived during the read: skip what the history already gave.
    const held = r.held;
    for (let i = 0; i < held.parts.length; i++) {
      const id = held.ids?.[i];
      if (id === undefined || compareIds(id, last) > 0) b.add(held.parts[i]!, id);
    }
    if (b.count > 0) session.push(b);
    sub.resuming = sub.resuming.filter((x) => x !== r);
    if (sub.resuming.length === 0) sub.resuming = null;
    sub.sessions.push(session);
    sub.current = null;
  }

  // ---- Redis reconnects -------------------------------------------------------------------------

  readonly #onRedisClose = (): void => {
    this.#down = true;
  };

  /** Resubscribed (the client library does it on 'ready'): tell every client its gap. */
  readonly #onRedisReady = (): void => {
    if (!this.#down) return;
    this.#down = false;
    this.counters.redisReconnects++;
    const gaps = new Map<Session, { channels: string[]; patterns: string[] }>();
    for (const map of [this.#channels, this.#patterns]) {
      for (const sub of map.values()) {
        for (const s of sub.sessions) {
          let g = gaps.get(s);
          if (!g) gaps.set(s, (g = { channels: [], patterns: [] }));
          (sub.kind === 'channel' ? g.channels : g.patterns).push(sub.name);
        }
      }
    }
    for (const [s, g] of gaps) {
      const info: { channels?: string[]; patterns?: string[] } = {};
      if (g.channels.length) info.channels = g.channels;
      if (g.patterns.length) info.patterns = g.patterns;
      s.control(laggedJson('redis_reconnect', info));
    }
    // A new batch after the notice, so the notice sits before any post-gap message.
    for (const map of [this.#channels, this.#patterns]) for (const sub of map.values()) sub.current = null;
  };
}
