/**
 * The two queues of one connection (after node-redis's commands-queue design):
 *
 *   offline: [ p0 p1 p2 ... ]   commands not yet written. Kept across reconnects (bounded), written
 *                               in order once the handshake is done. Abortable: they can still fail
 *                               with NotSentError.
 *   awaiting: [ head ... tail ] commands written (or in this tick's write batch), each waiting for its
 *             ^                 reply. Left only by a reply, or by connection loss / timeout, which fail
 *             #head             them as "outcome unknown". A written command must consume its reply.
 *
 * One Pending may stand for several commands (a pipeline or a MULTI block): `left` counts the replies
 * it still expects, so a 100 000-command pipeline is one queue entry, not 100 000.
 */
import type { Command, RespValue } from '../resp/types.js';

export const Mode = {
  /** One command; resolves with its reply or rejects with its ReplyError. */
  Single: 0,
  /** Several commands; resolves with all replies in order, ReplyErrors in place. */
  Pipeline: 1,
  /** MULTI ... EXEC; resolves with EXEC's reply. */
  Multi: 2,
} as const;
export type Mode = (typeof Mode)[keyof typeof Mode];

export interface Pending {
  resolve: (value: any) => void;
  reject: (err: Error) => void;
  mode: Mode;
  /** Replies still expected. */
  left: number;
  replies: RespValue[] | null;
  /** Coarse time when it was queued or written (connection clock). */
  t: number;
  /** Name of the (first) command, for errors. */
  name: string;
  /** The commands, kept only while not yet written (offline), so they can be written later. */
  commands: readonly Command[] | null;
  /** Blocking commands and subscriptions are exempt from the command timeout. */
  noTimeout: boolean;
  /**
   * RESP3 subscribe-type commands are answered by push frames, not replies: how many confirmations
   * are still expected. 0 for ordinary commands.
   */
  pushConfirms: number;
}

/** Name of a command for errors: its first word upper-cased (never its arguments, which may be secrets). */
export function commandName(command: Command | undefined): string {
  const n = command?.[0];
  return typeof n === 'string' ? n.toUpperCase() : Buffer.isBuffer(n) ? n.toString('latin1', 0, 32).toUpperCase() : String(n);
}

/**
 * The Pending of a caller's command or pipeline. Its name is worked out only when an error asks for
 * it: upper-casing every command's name would cost more than encoding the command. The optional
 * fields are declared up front so that every entry has one shape.
 */
export class CommandEntry implements Pending {
  resolve: (value: any) => void;
  reject: (err: Error) => void;
  mode: Mode;
  left: number;
  replies: RespValue[] | null;
  t: number;
  commands: readonly Command[] | null;
  noTimeout: boolean;
  pushConfirms: number;
  /** RESP3/subscriber: the push kind that confirms this command. */
  pushKind: string | undefined = undefined;
  /** EXEC after WATCH: the connection epoch it is bound to. */
  epoch: number | undefined = undefined;
  #name: string | undefined = undefined;

  constructor(
    resolve: (value: any) => void,
    reject: (err: Error) => void,
    mode: Mode,
    commands: readonly Command[],
    t: number,
    noTimeout: boolean,
    pushConfirms: number,
  ) {
    this.resolve = resolve;
    this.reject = reject;
    this.mode = mode;
    this.left = mode === Mode.Single ? 1 : commands.length;
    this.replies = mode === Mode.Single ? null : [];
    this.t = t;
    this.commands = commands;
    this.noTimeout = noTimeout;
    this.pushConfirms = pushConfirms;
  }

  get name(): string {
    if (this.#name === undefined) {
      const cmds = this.commands;
      this.#name = cmds === null ? 'command' : commandName(this.mode === Mode.Multi ? (cmds[1] ?? cmds[0]) : cmds[0]);
    }
    return this.#name;
  }

  set name(name: string) {
    this.#name = name;
  }
}

/** FIFO with a moving head, compacted now and then, so shift() stays O(1). */
export class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  peek(): T | undefined {
    return this.#items[this.#head];
  }

  /** The most recently pushed item. */
  last(): T | undefined {
    return this.#items.length > this.#head ? this.#items[this.#items.length - 1] : undefined;
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Removes and returns everything, oldest first. */
  drain(): T[] {
    const out = this.#items.slice(this.#head) as T[];
    this.#items = [];
    this.#head = 0;
    return out;
  }

  /** Removes and returns the newest `n` items, oldest first. */
  popNewest(n: number): T[] {
    const start = Math.max(this.#head, this.#items.length - n);
    const out = this.#items.splice(start) as T[];
    if (this.#head >= this.#items.length) {
      this.#items = [];
      this.#head = 0;
    }
    return out;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.#head; i < this.#items.length; i++) yield this.#items[i] as T;
  }
}
