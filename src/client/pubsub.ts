/**
 * Subscriptions and their handlers, and resubscription after every reconnect.
 *
 * Under RESP2 a subscribed connection accepts only pub/sub commands and PING, so subscriptions live
 * on a dedicated connection in subscriber mode, where every reply is a pub/sub frame. Under RESP3
 * messages arrive as push frames, which are told apart from replies by their type byte, so the
 * client's main connection carries them. Either way, frames are routed by kind, never guessed from
 * the content of an ordinary reply (node-redis #459).
 */
import type { Connection } from './connection.js';
import type { RespValue } from '../resp/types.js';
import { ReplyError } from '../resp/errors.js';
import { NotSentError } from './errors.js';

export type MessageHandler = (message: string | Buffer, channel: string, pattern?: string) => void;

type Kind = 'channel' | 'pattern' | 'shard';

const COMMANDS: Record<Kind, { sub: string; unsub: string; subKind: string; unsubKind: string }> = {
  channel: { sub: 'SUBSCRIBE', unsub: 'UNSUBSCRIBE', subKind: 'subscribe', unsubKind: 'unsubscribe' },
  pattern: { sub: 'PSUBSCRIBE', unsub: 'PUNSUBSCRIBE', subKind: 'psubscribe', unsubKind: 'punsubscribe' },
  shard: { sub: 'SSUBSCRIBE', unsub: 'SUNSUBSCRIBE', subKind: 'ssubscribe', unsubKind: 'sunsubscribe' },
};

export class PubSub {
  readonly #conn: Connection;
  readonly #subs: Record<Kind, Map<string, Set<MessageHandler>>> = {
    channel: new Map(),
    pattern: new Map(),
    shard: new Map(),
  };
  /** Called for every message, after the handlers, e.g. to emit a 'message' event. */
  onMessage: ((message: string | Buffer, channel: string, pattern?: string) => void) | undefined;
  /**
   * A handler threw. Handlers run inside the socket's data callback: an exception escaping there
   * would leave the reply decoder mid-stream, so it is caught and handed here instead.
   */
  onHandlerError: ((err: unknown) => void) | undefined;
  /** subscribe() calls whose SUBSCRIBE was lost with a connection, waiting for the resubscription. */
  #waiting: { resolve: () => void; reject: (err: Error) => void }[] = [];

  constructor(conn: Connection) {
    this.#conn = conn;
    // 'ready' fires after each handshake and before queued commands are written: the subscriptions
    // are back before anything the caller queued while disconnected.
    conn.on('ready', () => this.#resubscribe());
    conn.on('end', () => {
      for (const w of this.#waiting.splice(0)) w.reject(new NotSentError('client-closed', 'SUBSCRIBE', `connection to ${conn.where} closed before the subscription was confirmed`));
    });
  }

  get size(): number {
    return this.#subs.channel.size + this.#subs.pattern.size + this.#subs.shard.size;
  }

  channels(kind: Kind = 'channel'): string[] {
    return [...this.#subs[kind].keys()];
  }

  /** Routes one pub/sub frame (push under RESP3, array in RESP2 subscriber mode). */
  dispatch(frame: RespValue[]): void {
    const kind = String(frame[0]);
    if (kind === 'message' || kind === 'smessage') {
      const channel = String(frame[1]);
      const message = frame[2] as string | Buffer;
      this.#deliver(this.#subs[kind === 'message' ? 'channel' : 'shard'].get(channel), message, channel, undefined);
    } else if (kind === 'pmessage') {
      const pattern = String(frame[1]);
      const channel = String(frame[2]);
      const message = frame[3] as string | Buffer;
      this.#deliver(this.#subs.pattern.get(pattern), message, channel, pattern);
    } else if (kind === 'sunsubscribe' && frame[1] !== null) {
      // A cluster sends an unsolicited sunsubscribe when the slot moves; the subscription is gone on
      // this node. Resubscribing is the cluster client's job; here the state just follows the server.
    }
  }

  #deliver(handlers: Set<MessageHandler> | undefined, message: string | Buffer, channel: string, pattern: string | undefined): void {
    if (handlers) {
      for (const h of handlers) {
        try {
          h(message, channel, pattern);
        } catch (err) {
          this.#handlerError(err);
        }
      }
    }
    try {
      this.onMessage?.(message, channel, pattern);
    } catch (err) {
      this.#handlerError(err);
    }
  }

  #handlerError(err: unknown): void {
    if (this.onHandlerError) this.onHandlerError(err);
    else
      process.nextTick(() => {
        throw err;
      });
  }

  async subscribe(kind: Kind, names: string[], handler: MessageHandler): Promise<void> {
    const fresh: string[] = [];
    for (const name of names) {
      let set = this.#subs[kind].get(name);
      if (!set) {
        set = new Set();
        this.#subs[kind].set(name, set);
        fresh.push(name);
      }
      set.add(handler);
    }
    if (fresh.length === 0) return;
    const c = COMMANDS[kind];
    try {
      await this.#conn.send([c.sub, ...fresh], { noTimeout: true, pushKind: c.subKind, pushConfirms: fresh.length });
    } catch (err) {
      if (err instanceof ReplyError || this.#conn.state === 'closed') {
        // Refused (NOPERM...) or closed for good: not subscribed, and not resubscribed later either.
        for (const name of fresh) {
          const set = this.#subs[kind].get(name);
          set?.delete(handler);
          if (set?.size === 0) this.#subs[kind].delete(name);
        }
        throw err;
      }
      // Lost with the connection (outcome unknown, not sent, offline timeout): the subscription is
      // intent that outlives connections, so it stays and is confirmed by the resubscription after
      // the next handshake; the caller's promise settles then, or rejects if the client closes.
      await new Promise<void>((resolve, reject) => {
        this.#waiting.push({ resolve, reject });
        if (this.#conn.state === 'ready') this.#resubscribe();
      });
    }
  }

  /** Removes `handler` (or all handlers) from the names; unsubscribes names left without handlers. */
  async unsubscribe(kind: Kind, names: string[] | undefined, handler?: MessageHandler): Promise<void> {
    const gone = removeHandlers(this.#subs[kind], names, handler);
    if (gone.length === 0) return;
    const c = COMMANDS[kind];
    try {
      await this.#conn.send([c.unsub, ...gone], { noTimeout: true, pushKind: c.unsubKind, pushConfirms: gone.length });
    } catch (err) {
      // A connection lost (or closed) takes its subscriptions with it, and these names are no longer
      // resubscribed: the caller's goal is reached either way. A refusal is still an error.
      if (err instanceof ReplyError) throw err;
    }
  }

  #resubscribe(): void {
    const sent: Promise<unknown>[] = [];
    for (const kind of ['channel', 'pattern', 'shard'] as const) {
      const names = [...this.#subs[kind].keys()];
      if (names.length === 0) continue;
      const c = COMMANDS[kind];
      sent.push(this.#conn.send([c.sub, ...names], { noTimeout: true, pushKind: c.subKind, pushConfirms: names.length }));
    }
    const waiting = this.#waiting.splice(0);
    Promise.all(sent).then(
      () => {
        for (const w of waiting) w.resolve();
      },
      () => {
        // The link dropped again (or a name was refused): the next 'ready' retries them.
        this.#waiting.unshift(...waiting);
      },
    );
  }
}

/**
 * Removes `handler` (or every handler) from the names (or from all names); returns the names left
 * without a handler, which the caller unsubscribes.
 */
export function removeHandlers(map: Map<string, Set<MessageHandler>>, names: string[] | undefined, handler?: MessageHandler): string[] {
  const gone: string[] = [];
  for (const name of names ?? [...map.keys()]) {
    const set = map.get(name);
    if (!set) continue;
    if (handler) set.delete(handler);
    if (!handler || set.size === 0) {
      map.delete(name);
      gone.push(name);
    }
  }
  return gone;
}
