/**
 * Command encoding: arrays of bulk strings, the only form Redis accepts from clients.
 *
 * A write batch accumulates every command issued in one tick as bytes, written straight into one
 * scratch Buffer: keys and small values char by char (no intermediate strings, nothing for the
 * garbage collector), long strings with one native copy, numbers digit by digit. Buffer arguments
 * of LARGE_BUFFER bytes or more are never copied: they cut the batch into parts and are written as
 * they are (one writev).
 *
 * The scratch memory is reused from batch to batch. takeBytes() lends it to the socket; release()
 * says the socket is done with it (the write went to the kernel at once, the usual case). Until
 * then the next batch writes into new memory, so bytes still queued in the socket are never
 * overwritten.
 */
import type { Command, CommandArg } from './types.js';

/** Buffers at least this big are written as their own part instead of being joined with neighbours. */
const LARGE_BUFFER = 64 * 1024;

/** Strings up to this length are copied char by char in JS: cheaper than a native call on keys. */
const SHORT_STRING = 64;

/** First scratch size; it doubles as needed. */
const INITIAL_SCRATCH = 2048;

/** Scratch memory above this size is not kept after a batch (one huge pipeline must not pin it). */
const MAX_KEPT_SCRATCH = 1024 * 1024;

const CR = 0x0d;
const LF = 0x0a;
const EMPTY = Buffer.alloc(0);

export class WriteBatch {
  #buf: Buffer = EMPTY;
  /** Bytes written into #buf. */
  #len = 0;
  /** Where the current part starts in #buf (after the last large Buffer). */
  #segStart = 0;
  /** Finished parts: slices of scratch memory and large Buffers, in order. */
  #parts: Buffer[] = [];
  /** #buf was handed out by takeBytes() and the socket may still hold it. */
  #lent = false;
  #commands = 0;
  #ascii = true;
  #hasBuffers = false;

  get commands(): number {
    return this.#commands;
  }

  /** True while every string added since the last take is ASCII. */
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
    const n = args.length;
    for (let i = 0; i < n; i++) {
      const a = args[i];
      if (typeof a !== 'string' && typeof a !== 'number' && !Buffer.isBuffer(a)) {
        throw new TypeError(`command argument ${i} must be a string, Buffer or number, got ${a === null ? 'null' : typeof a}`);
      }
    }
    if (this.#lent) this.#replaceScratch(this.#buf.length);
    this.#reserve(16);
    let buf = this.#buf;
    let pos = this.#len;
    buf[pos++] = 0x2a; // '*'
    pos = writeUint(buf, pos, n);
    buf[pos++] = CR;
    buf[pos++] = LF;
    for (let i = 0; i < n; i++) {
      const a = args[i]!;
      if (typeof a === 'string') {
        const chars = a.length;
        if (chars <= SHORT_STRING) {
          this.#len = pos;
          this.#reserve(chars + 24);
          buf = this.#buf;
          pos = this.#len;
          const body = pos + (chars < 10 ? 4 : 5);
          let j = 0;
          for (; j < chars; j++) {
            const c = a.charCodeAt(j);
            if (c > 0x7f) break;
            buf[body + j] = c;
          }
          if (j === chars) {
            buf[pos++] = 0x24; // '$'
            pos = writeUint(buf, pos, chars);
            buf[pos++] = CR;
            buf[pos++] = LF;
            pos += chars;
            buf[pos++] = CR;
            buf[pos++] = LF;
            continue;
          }
        }
        const bytes = Buffer.byteLength(a);
        if (bytes !== chars) this.#ascii = false;
        this.#len = pos;
        this.#reserve(bytes + 24);
        buf = this.#buf;
        pos = this.#len;
        buf[pos++] = 0x24;
        pos = writeUint(buf, pos, bytes);
        buf[pos++] = CR;
        buf[pos++] = LF;
        pos += buf.write(a, pos, bytes, bytes === chars ? 'latin1' : 'utf8');
        buf[pos++] = CR;
        buf[pos++] = LF;
      } else if (typeof a === 'number') {
        const t = Number.isSafeInteger(a) && a >= 0 ? null : String(a);
        this.#len = pos;
        this.#reserve(48);
        buf = this.#buf;
        pos = this.#len;
        buf[pos++] = 0x24;
        if (t === null) {
          pos = writeUint(buf, pos, digits(a));
          buf[pos++] = CR;
          buf[pos++] = LF;
          pos = writeUint(buf, pos, a);
        } else {
          pos = writeUint(buf, pos, t.length);
          buf[pos++] = CR;
          buf[pos++] = LF;
          pos += buf.write(t, pos, t.length, 'latin1');
        }
        buf[pos++] = CR;
        buf[pos++] = LF;
      } else {
        this.#hasBuffers = true;
        const bytes = a.length;
        this.#len = pos;
        this.#reserve(bytes >= LARGE_BUFFER ? 24 : bytes + 24);
        buf = this.#buf;
        pos = this.#len;
        buf[pos++] = 0x24;
        pos = writeUint(buf, pos, bytes);
        buf[pos++] = CR;
        buf[pos++] = LF;
        if (bytes >= LARGE_BUFFER) {
          // Written as it is: the batch cuts its scratch part here and continues after it.
          this.#parts.push(buf.subarray(this.#segStart, pos), a);
          this.#segStart = pos;
        } else {
          pos += a.copy(buf, pos);
        }
        buf[pos++] = CR;
        buf[pos++] = LF;
      }
    }
    this.#len = pos;
    this.#commands++;
  }

  /**
   * What to write, and starts a new batch: one Buffer, or a list when large Buffers stand alone.
   * The bytes live in the batch's scratch memory: call release() once the socket no longer needs
   * them (until then the next batch writes elsewhere).
   */
  takeBytes(): Buffer | Buffer[] {
    const tail = this.#buf.subarray(this.#segStart, this.#len);
    let out: Buffer | Buffer[] = tail;
    if (this.#parts.length > 0) {
      if (tail.length > 0) this.#parts.push(tail);
      out = this.#parts;
      this.#parts = [];
    }
    this.#lent = true;
    if (this.#buf.length > MAX_KEPT_SCRATCH) this.#buf = EMPTY;
    this.#len = 0;
    this.#segStart = 0;
    this.#commands = 0;
    this.#ascii = true;
    this.#hasBuffers = false;
    return out;
  }

  /** The bytes of the last takeBytes() were consumed (written to the kernel): reuse their memory. */
  release(): void {
    this.#lent = false;
  }

  /**
   * Returns what to write and starts a new batch, as a string when no Buffer argument was added
   * (the string of the bytes: latin1 when all ASCII); otherwise a list of Buffers where small
   * neighbours are joined and large Buffers stand alone. The result is the caller's to keep.
   */
  take(): string | Buffer[] {
    const ascii = this.#ascii;
    const hasBuffers = this.#hasBuffers;
    const out = this.takeBytes(); // never released: the caller keeps the result
    if (hasBuffers) return Array.isArray(out) ? out : [out];
    const b = Array.isArray(out) ? Buffer.concat(out) : out;
    return b.toString(ascii ? 'latin1' : 'utf8');
  }

  /** Makes room for `n` more bytes after #len, moving the current part to new memory if needed. */
  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const part = this.#len - this.#segStart;
    let size = Math.max(INITIAL_SCRATCH, this.#buf.length);
    while (size < part + n) size *= 2;
    this.#replaceScratch(size);
  }

  /** New scratch memory of `size` bytes, holding the current part; the old memory is left to the GC. */
  #replaceScratch(size: number): void {
    const old = this.#buf;
    const part = this.#len - this.#segStart;
    const next = Buffer.allocUnsafeSlow(Math.max(size, part + INITIAL_SCRATCH));
    if (part > 0) old.copy(next, 0, this.#segStart, this.#len);
    this.#buf = next;
    this.#len = part;
    this.#segStart = 0;
    this.#lent = false;
  }
}

/** Writes the decimal digits of a non-negative safe integer; returns the position after them. */
function writeUint(buf: Buffer, pos: number, n: number): number {
  if (n < 10) {
    buf[pos] = 0x30 + n;
    return pos + 1;
  }
  if (n < 100) {
    buf[pos] = 0x30 + ((n / 10) | 0);
    buf[pos + 1] = 0x30 + (n % 10);
    return pos + 2;
  }
  const end = pos + digits(n);
  for (let i = end - 1; i >= pos; i--) {
    buf[i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  return end;
}

/** Number of decimal digits of a non-negative safe integer. */
function digits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

/** Encodes one command to the bytes Redis expects. */
export function encodeCommand(args: Command): Buffer {
  const batch = new WriteBatch();
  batch.add(args);
  const out = batch.takeBytes();
  // A copy of its own size: the scratch memory is larger, and the result may be kept.
  return Buffer.concat(Array.isArray(out) ? out : [out]);
}

/** Byte length of one argument as sent. */
export function argLength(a: CommandArg): number {
  return typeof a === 'string' ? Buffer.byteLength(a) : typeof a === 'number' ? String(a).length : a.length;
}
