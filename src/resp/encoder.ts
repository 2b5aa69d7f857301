/**
 * Command encoding: arrays of bulk strings, the only form Redis accepts from clients.
 *
 * A write batch accumulates every command issued in one tick. While all arguments are strings and
 * numbers it builds one JS string, which the socket encodes natively in a single write; a Buffer
 * argument splits the batch into parts so that large binary values are written as they are, never
 * copied into a bigger buffer.
 *
 * The batch tracks whether everything in it is ASCII (it knows each string's UTF-8 length anyway).
 * Such a batch can be written as latin1: the same bytes, but the socket copies them one char to one
 * byte instead of measuring and encoding UTF-8, which is most of the cost of a 100 KB value.
 */
import type { Command, CommandArg } from './types.js';

/** Buffers at least this big are written as their own part instead of being joined with neighbours. */
const LARGE_BUFFER = 64 * 1024;

/** Strings up to this length are measured in JS: a scan for non-ASCII beats a native call on keys. */
const SHORT_STRING = 32;

/** UTF-8 length of `s`; keys and small values are scanned in JS, longer strings natively. */
function utf8Length(s: string): number {
  const n = s.length;
  if (n > SHORT_STRING) return Buffer.byteLength(s);
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s);
  return n;
}

export class WriteBatch {
  #str = '';
  #parts: (string | Buffer)[] = [];
  #commands = 0;
  #ascii = true;

  get commands(): number {
    return this.#commands;
  }

  /**
   * True while every string added since the last take() is ASCII, so that the string take() returns
   * may be written with the 'latin1' encoding (identical bytes, cheaper). Read it before take().
   */
  get ascii(): boolean {
    return this.#ascii;
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
    let ascii = this.#ascii;
    let s = this.#str + '*' + args.length + '\r\n';
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (typeof a === 'string') {
        const bytes = utf8Length(a);
        if (bytes !== a.length) ascii = false;
        s += '$' + bytes + '\r\n' + a + '\r\n';
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
    this.#ascii = ascii;
    this.#commands++;
  }

  /**
   * Returns what to write and starts a new batch. A string when no Buffer argument was added;
   * otherwise a list of Buffers where small neighbours are joined and large values stand alone.
   */
  take(): string | Buffer[] {
    const parts = this.#parts;
    const tail = this.#str;
    const encoding = this.#ascii ? 'latin1' : 'utf8';
    this.#str = '';
    this.#parts = [];
    this.#commands = 0;
    this.#ascii = true;
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
        const b = typeof p === 'string' ? Buffer.from(p, encoding) : p;
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
