/**
 * Command encoding: arrays of bulk strings, the only form Redis accepts from clients.
 *
 * A write batch accumulates every command issued in one tick. While all arguments are strings and
 * numbers it builds one JS string, which the socket encodes to UTF-8 natively in a single write; a
 * Buffer argument splits the batch into parts so that large binary values are written as they are,
 * never copied into a bigger buffer.
 */
import type { Command, CommandArg } from './types.js';

/** Buffers at least this big are written as their own part instead of being joined with neighbours. */
const LARGE_BUFFER = 64 * 1024;

export class WriteBatch {
  #str = '';
  #parts: (string | Buffer)[] = [];
  #commands = 0;

  get commands(): number {
    return this.#commands;
  }

  get empty(): boolean {
    return this.#commands === 0;
  }

  /**
   * Appends one command. An argument of another type throws a TypeError and leaves the batch as it
   * was: a half-added command would desynchronise every reply after it.
   */
  add(args: Command): void {
    const partsBefore = this.#parts.length;
    let s = this.#str + '*' + args.length + '\r\n';
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (typeof a === 'string') {
        s += '$' + Buffer.byteLength(a) + '\r\n' + a + '\r\n';
      } else if (typeof a === 'number') {
        const t = String(a);
        s += '$' + t.length + '\r\n' + t + '\r\n';
      } else if (Buffer.isBuffer(a)) {
        s += '$' + a.length + '\r\n';
        this.#parts.push(s, a);
        s = '\r\n';
      } else {
        this.#parts.length = partsBefore;
        throw new TypeError(`command argument ${i} must be a string, Buffer or number, got ${a === null ? 'null' : typeof a}`);
      }
    }
    this.#str = s;
    this.#commands++;
  }

  /**
   * Returns what to write and starts a new batch. A string when no Buffer argument was added;
   * otherwise a list of Buffers where small neighbours are joined and large values stand alone.
   */
  take(): string | Buffer[] {
    const parts = this.#parts;
    const tail = this.#str;
    this.#str = '';
    this.#parts = [];
    this.#commands = 0;
    if (parts.length === 0) return tail;
    if (tail) parts.push(tail);
    const out: Buffer[] = [];
    let small: Buffer[] = [];
    let smallBytes = 0;
    const flush = () => {
      if (small.length) out.push(small.length === 1 ? small[0]! : Buffer.concat(small, smallBytes));
      small = [];
      smallBytes = 0;
    };
    for (const p of parts) {
      if (typeof p !== 'string' && p.length >= LARGE_BUFFER) {
        flush();
        out.push(p);
      } else {
        const b = typeof p === 'string' ? Buffer.from(p) : p;
        small.push(b);
        smallBytes += b.length;
      }
    }
    flush();
    return out;
  }
}

/** Encodes one command to the bytes Redis expects. */
export function encodeCommand(args: Command): Buffer {
  const batch = new WriteBatch();
  batch.add(args);
  const out = batch.take();
  return typeof out === 'string' ? Buffer.from(out) : Buffer.concat(out);
}

/** Byte length of one argument as sent. */
export function argLength(a: CommandArg): number {
  return typeof a === 'string' ? Buffer.byteLength(a) : typeof a === 'number' ? String(a).length : a.length;
}
