/**
 * Framing of the snapshot payload that follows +FULLRESYNC (or SYNC), in both forms Redis sends
 * (replication.c readSyncBulkPayload):
 *
 *   disk-based:  "\n"* "$<len>\r\n" <len bytes of RDB>                 (no CRLF after the RDB)
 *   diskless:    "\n"* "$EOF:<40-byte mark>\r\n" <RDB> <the same 40-byte mark>
 *
 * The newlines are keep-alives, one a second while the master's BGSAVE runs (or while it waits
 * `repl-diskless-sync-delay` for more replicas). A line starting with '-' instead of '$' means the
 * master gave up (its BGSAVE failed).
 *
 * In the diskless form the payload's size is unknown until the mark arrives, so the last 40 bytes
 * seen are held back (a rolling tail) and never forwarded until more bytes prove they are not the
 * mark. The mark is a random 40-character string: like Redis, we take its appearance as the end (and
 * the replica cross-checks that the RDB parser ended at exactly that byte).
 *
 * One PayloadReader per payload; it holds its own state. RDB bytes go to `onData` in order, as views
 * of the input chunks; feed() returns the bytes that followed the payload once it is complete.
 */
import { ReplicationError } from './errors.js';

export const EOF_MARK_LENGTH = 40;
/** `$EOF:` + mark is 45 bytes; a `$<len>` line is shorter; anything longer than this is garbage. */
const MAX_HEADER_LINE = 256;

type PayloadState = 'preamble' | 'bulk' | 'eof-marked' | 'done';

export interface PayloadReaderOptions {
  /** The header was read: the snapshot starts (called before the first onData). */
  onStart?(transfer: 'disk' | 'diskless', total: number | undefined): void;
  /** RDB bytes, in order. */
  onData(chunk: Buffer): void;
}

export class PayloadReader {
  readonly #onData: (chunk: Buffer) => void;
  readonly #onStart: PayloadReaderOptions['onStart'];
  #state: PayloadState = 'preamble';
  #line: Buffer = Buffer.alloc(0);
  /** disk-based: bytes still to come. */
  #remaining = 0;
  /** diskless: the mark, and the held-back tail (at most 40 bytes, not yet forwarded). */
  #mark: Buffer | undefined;
  #tail: Buffer = Buffer.alloc(0);
  #total: number | undefined;
  #received = 0;
  #keepAlives = 0;

  constructor(options: PayloadReaderOptions) {
    this.#onData = options.onData;
    this.#onStart = options.onStart;
  }

  get transfer(): 'disk' | 'diskless' | undefined {
    return this.#state === 'preamble' ? undefined : this.#mark ? 'diskless' : 'disk';
  }

  /** Payload size when known: from `$<len>` at once, for diskless at the end. */
  get total(): number | undefined {
    return this.#total;
  }

  /** RDB bytes forwarded so far. */
  get received(): number {
    return this.#received;
  }

  /** Keep-alive newlines seen before the payload header. */
  get keepAlives(): number {
    return this.#keepAlives;
  }

  /** True once the header line was read (the master started sending the snapshot). */
  get started(): boolean {
    return this.#state !== 'preamble';
  }

  get done(): boolean {
    return this.#state === 'done';
  }

  /**
   * Feeds bytes. Returns the bytes after the payload once it is complete (possibly empty), undefined
   * while more payload is expected. Throws ReplicationError on a malformed header or a master error.
   */
  feed(chunk: Buffer): Buffer | undefined {
    switch (this.#state) {
      case 'preamble':
        return this.#preamble(chunk);
      case 'bulk':
        return this.#bulk(chunk);
      case 'eof-marked':
        return this.#eofMarked(chunk);
      default:
        return chunk;
    }
  }

  /** Skips keep-alive newlines, then reads the `$...` header line. */
  #preamble(chunk: Buffer): Buffer | undefined {
    let i = 0;
    if (this.#line.length === 0) {
      while (i < chunk.length && (chunk[i] === 0x0a || chunk[i] === 0x0d)) {
        if (chunk[i] === 0x0a) this.#keepAlives++;
        i++;
      }
      if (i === chunk.length) return undefined;
    }
    const nl = chunk.indexOf(0x0a, i);
    if (nl === -1) {
      this.#line = Buffer.concat([this.#line, chunk.subarray(i)]);
      if (this.#line.length > MAX_HEADER_LINE) throw protocol('the payload header line is too long');
      return undefined;
    }
    const raw = Buffer.concat([this.#line, chunk.subarray(i, nl)]);
    this.#line = Buffer.alloc(0);
    const line = raw.toString('latin1').replace(/\r$/, '');
    this.#header(line);
    const rest = chunk.subarray(nl + 1);
    return rest.length > 0 || this.#state === 'done' ? this.feed(rest) : undefined;
  }

  #header(line: string): void {
    if (line[0] === '-') {
      throw new ReplicationError('ERR_REPL_MASTER_ABORTED', `the master aborted the transfer (${line.split(' ')[0]!.slice(1, 33)})`, { step: 'payload' });
    }
    if (line.startsWith('$EOF:')) {
      const mark = line.slice(5);
      if (mark.length !== EOF_MARK_LENGTH) throw protocol(`the $EOF: mark has ${mark.length} bytes, not ${EOF_MARK_LENGTH}`);
      this.#mark = Buffer.from(mark, 'latin1');
      this.#state = 'eof-marked';
      this.#onStart?.('diskless', undefined);
      return;
    }
    if (line[0] === '$' && /^\$\d+$/.test(line)) {
      this.#total = Number(line.slice(1));
      if (!Number.isSafeInteger(this.#total)) throw protocol('the payload length is out of range');
      this.#remaining = this.#total;
      this.#state = this.#remaining === 0 ? 'done' : 'bulk';
      this.#onStart?.('disk', this.#total);
      return;
    }
    throw protocol('expected a $<length> or $EOF:<mark> payload header');
  }

  /** `$<len>`: exactly `len` bytes, then whatever follows is the command stream. */
  #bulk(chunk: Buffer): Buffer | undefined {
    if (chunk.length < this.#remaining) {
      this.#forward(chunk);
      this.#remaining -= chunk.length;
      return undefined;
    }
    this.#forward(chunk.subarray(0, this.#remaining));
    const rest = chunk.subarray(this.#remaining);
    this.#remaining = 0;
    this.#state = 'done';
    return rest;
  }

  /**
   * `$EOF:<mark>`: forward everything but the last 40 bytes seen; end where the mark appears. The
   * mark may straddle chunks, so the held tail and the first 39 bytes of the new chunk are searched
   * together before the chunk itself.
   */
  #eofMarked(chunk: Buffer): Buffer | undefined {
    const mark = this.#mark!;
    const tail = this.#tail;
    if (tail.length > 0) {
      const seam = Buffer.concat([tail, chunk.subarray(0, EOF_MARK_LENGTH - 1)]);
      const at = seam.indexOf(mark);
      if (at !== -1) {
        this.#forward(seam.subarray(0, at));
        this.#tail = Buffer.alloc(0);
        return this.#finish(chunk.subarray(at + EOF_MARK_LENGTH - tail.length));
      }
    }
    const at = chunk.indexOf(mark);
    if (at !== -1) {
      if (tail.length > 0) this.#forward(tail);
      this.#forward(chunk.subarray(0, at));
      this.#tail = Buffer.alloc(0);
      return this.#finish(chunk.subarray(at + EOF_MARK_LENGTH));
    }
    // No mark yet: forward all but the last 40 bytes of (tail + chunk).
    const all = tail.length + chunk.length;
    const keep = Math.min(EOF_MARK_LENGTH, all);
    const send = all - keep;
    if (send > 0) {
      if (send <= tail.length) {
        this.#forward(tail.subarray(0, send));
        this.#tail = Buffer.concat([tail.subarray(send), chunk]);
      } else {
        if (tail.length > 0) this.#forward(tail);
        this.#forward(chunk.subarray(0, send - tail.length));
        this.#tail = Buffer.from(chunk.subarray(send - tail.length));
      }
    } else {
      this.#tail = Buffer.concat([tail, chunk]);
    }
    return undefined;
  }

  #finish(rest: Buffer): Buffer {
    this.#state = 'done';
    this.#total = this.#received;
    return rest;
  }

  #forward(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.#received += bytes.length;
    this.#onData(bytes);
  }
}

function protocol(message: string): ReplicationError {
  return new ReplicationError('ERR_REPL_PROTOCOL', message, { step: 'payload' });
}
