/**
 * Incremental RESP2/RESP3 decoder: Buffer chunks in, complete replies out.
 *
 * Chunks may split anywhere. The decoder keeps one buffer and an offset, plus an explicit stack of
 * open aggregates, so an array of 100 000 elements that arrives in 200 chunks is never re-parsed from
 * its start: finished elements are attached to their frame as soon as they are complete, and only the
 * bytes of the one unfinished scalar are carried over to the next chunk. A bulk string that spans
 * chunks is collected as a list of chunks and joined once (a 100 MB value costs one copy, not one per
 * chunk). Bulk strings that lie inside one chunk are returned as views of it when Buffers are asked for.
 *
 * Every limit is checked before anything is allocated, so a corrupt or hostile length fails with a
 * ProtocolError naming the option to raise rather than exhausting memory.
 *
 * Each reply is reported with the number of bytes it occupied on the wire: the replication client
 * counts its offset with it.
 */
import { CR, DEFAULT_LIMITS, LF, RESP } from './constants.js';
import { ProtocolError, ReplyError } from './errors.js';
import { VerbatimString, type RespValue } from './types.js';

export interface DecoderLimits {
  maxBulkLength: number;
  maxAggregateLength: number;
  maxDepth: number;
  maxLineLength: number;
}

export interface DecoderOptions extends Partial<DecoderLimits> {
  /** Bulk strings as Buffer (true) or UTF-8 string (false, the default). */
  returnBuffers?: boolean;
  /** A complete top-level reply and its size in bytes. */
  onReply: (value: RespValue, bytes: number) => void;
  /**
   * A RESP3 push frame (pub/sub messages, invalidations). Pushes are routed by their type byte, never
   * by their content: an ordinary reply that happens to start with "message" is still a reply.
   */
  onPush?: (value: RespValue[], bytes: number) => void;
  /** RESP3 attributes that preceded a reply. Ignored when not given. */
  onAttribute?: (attributes: Map<RespValue, RespValue>) => void;
}

const enum Kind {
  Array,
  Set,
  Map,
  Push,
  Attribute,
}

interface Frame {
  kind: Kind;
  items: RespValue[];
  /** Elements in `items` so far. */
  filled: number;
  /** Elements still to come (a map counts keys and values). */
  remaining: number;
}

interface PendingBulk {
  /** The type byte that opened it: '$', '!' or '='. */
  type: number;
  /** Payload length without the trailing CRLF. */
  length: number;
  /**
   * Payload and CRLF, allocated once when the header arrives and filled in place (up to
   * GATHER_IN_PLACE bytes; a reader may even read into it directly, see bulkTail()). null for
   * larger payloads, which are collected as `parts` and joined once, so that a hostile length
   * allocates nothing the peer has not sent.
   */
  target: Buffer | null;
  parts: Buffer[] | null;
  have: number;
  /** Stream offset of the header, for errors found once the payload is complete. */
  header: number;
}

/** Returned by a parse step that needs more bytes. */
const INCOMPLETE = Symbol('incomplete');
/** Returned by a parse step that opened an aggregate (its elements follow). */
const OPENED = Symbol('opened');
/** Returned when a bulk string's payload continues in later chunks. */
const PENDING = Symbol('pending');
type Step = RespValue | typeof INCOMPLETE | typeof OPENED | typeof PENDING;

const EMPTY = Buffer.alloc(0);
/** Lines up to this long are scanned for their CR in JS; longer ones with Buffer#indexOf. */
const SHORT_LINE = 32;
/** Bulk strings up to this length are decoded in JS when ASCII: a native toString call costs more. */
const SHORT_BULK = 8;
/** Bulk strings (with CRLF) up to this size that span chunks are gathered into one preallocated Buffer. */
const GATHER_IN_PLACE = 16 * 1024 * 1024;
/** Aggregates of up to this many elements get their array at full size when their header arrives. */
const PRESIZE_MAX = 1024;

export class RespDecoder {
  readonly #returnBuffers: boolean;
  readonly #limits: DecoderLimits;
  readonly #onReply: DecoderOptions['onReply'];
  readonly #onPush: DecoderOptions['onPush'];
  readonly #onAttribute: DecoderOptions['onAttribute'];

  #buf: Buffer = EMPTY;
  #pos = 0;
  /** Stream offset of #buf[0]. */
  #base = 0;
  /** Stream offset where the current top-level reply began. */
  #replyStart = 0;
  /**
   * A top-level attribute has been read and the reply it describes has not ended yet. The
   * attribute's bytes belong to that reply's size, so that sizes add up to the stream (replication
   * offsets are counted from them).
   */
  #attributed = false;
  #stack: Frame[] = [];
  #bulk: PendingBulk | null = null;
  /** The CR found by #fastCount (a second return value, without allocating). */
  #cr = 0;
  /** limits.maxLineLength, at hand for the fast paths (which must not accept what the slow path refuses). */
  readonly #maxLine: number;
  #failed: ProtocolError | null = null;

  constructor(options: DecoderOptions) {
    this.#returnBuffers = options.returnBuffers ?? false;
    this.#limits = {
      maxBulkLength: options.maxBulkLength ?? DEFAULT_LIMITS.maxBulkLength,
      maxAggregateLength: options.maxAggregateLength ?? DEFAULT_LIMITS.maxAggregateLength,
      maxDepth: options.maxDepth ?? DEFAULT_LIMITS.maxDepth,
      maxLineLength: options.maxLineLength ?? DEFAULT_LIMITS.maxLineLength,
    };
    this.#maxLine = this.#limits.maxLineLength;
    this.#onReply = options.onReply;
    this.#onPush = options.onPush;
    this.#onAttribute = options.onAttribute;
  }

  /** Total bytes consumed into complete or in-progress elements since the start. */
  get offset(): number {
    return this.#base + this.#pos;
  }

  /** True when no reply is partly received. */
  get idle(): boolean {
    return this.#stack.length === 0 && this.#bulk === null && !this.#attributed && this.#pos >= this.#buf.length;
  }

  /** Bytes buffered for an unfinished element. */
  get buffered(): number {
    return this.#buf.length - this.#pos + (this.#bulk?.have ?? 0);
  }

  /**
   * Makes the decoder independent of the memory of the chunks it was given, so that a reader may
   * reuse that memory for its next read: the unparsed rest of the last chunk (a partial line, a
   * few bytes) is copied. Returns false when that is not possible: bulk strings returned as views
   * (returnBuffers), or a bulk string over GATHER_IN_PLACE being collected as views.
   */
  detach(): boolean {
    if (this.#returnBuffers || (this.#bulk !== null && this.#bulk.parts !== null)) return false;
    if (this.#pos < this.#buf.length) {
      this.#base += this.#pos;
      this.#buf = Buffer.from(this.#buf.subarray(this.#pos));
    } else {
      this.#base += this.#buf.length;
      this.#buf = EMPTY;
    }
    this.#pos = 0;
    return true;
  }

  /**
   * The unfilled rest of a bulk string being gathered in place, or null. A reader may read the next
   * bytes of the stream straight into it and pass that view (or a prefix of it) to write(), which
   * then copies nothing: a large value crosses from the kernel into its final Buffer once.
   */
  bulkTail(): Buffer | null {
    const bulk = this.#bulk;
    return bulk !== null && bulk.target !== null ? bulk.target.subarray(bulk.have) : null;
  }

  /** Drops any partial state, e.g. after the connection it belonged to was reset. */
  reset(): void {
    this.#buf = EMPTY;
    this.#pos = 0;
    this.#base = 0;
    this.#stack = [];
    this.#bulk = null;
    this.#attributed = false;
    this.#failed = null;
  }

  /**
   * Feeds one chunk; calls onReply/onPush for each reply it completes.
   * @throws ProtocolError on malformed input; the decoder then refuses further input until reset().
   */
  write(chunk: Buffer): void {
    if (this.#failed) throw this.#failed;
    if (this.#bulk) {
      const rest = this.#feedBulk(chunk);
      if (rest === null) return;
      chunk = rest;
    }
    if (this.#pos < this.#buf.length) {
      this.#base += this.#pos;
      this.#buf = Buffer.concat([this.#buf.subarray(this.#pos), chunk]);
    } else {
      this.#base += this.#buf.length;
      this.#buf = chunk;
    }
    this.#pos = 0;
    try {
      this.#run();
    } catch (err) {
      if (err instanceof ProtocolError) this.#failed = err;
      throw err;
    }
  }

  #run(): void {
    const buf = this.#buf;
    while (this.#pos < buf.length) {
      const start = this.#pos;
      if (this.#stack.length === 0 && !this.#attributed) this.#replyStart = this.#base + start;
      const v = this.#step(buf, start);
      if (v === INCOMPLETE) {
        this.#pos = start;
        return;
      }
      if (v === PENDING) return;
      if (v === OPENED) continue;
      this.#complete(v);
    }
  }

  /** Parses one element at `pos`: a scalar, or the header of an aggregate. Advances #pos on success. */
  #step(buf: Buffer, pos: number): Step {
    switch (buf[pos]) {
      case RESP.BULK_STRING:
        return this.#bulkString(buf, pos);
      case RESP.SIMPLE_STRING:
        return this.#simpleString(buf, pos);
      case RESP.INTEGER:
        return this.#integer(buf, pos);
      case RESP.ARRAY:
        return this.#aggregate(buf, pos, Kind.Array);
      case RESP.ERROR:
        return this.#error(buf, pos);
      case RESP.MAP:
        return this.#aggregate(buf, pos, Kind.Map);
      case RESP.SET:
        return this.#aggregate(buf, pos, Kind.Set);
      case RESP.PUSH:
        return this.#aggregate(buf, pos, Kind.Push);
      case RESP.ATTRIBUTE:
        return this.#aggregate(buf, pos, Kind.Attribute);
      case RESP.NULL:
        return this.#null(buf, pos);
      case RESP.BOOLEAN:
        return this.#boolean(buf, pos);
      case RESP.DOUBLE:
        return this.#double(buf, pos);
      case RESP.BIG_NUMBER:
        return this.#bigNumber(buf, pos);
      case RESP.BULK_ERROR:
      case RESP.VERBATIM_STRING:
        return this.#bulkString(buf, pos);
      default:
        throw new ProtocolError(`unknown RESP type byte 0x${buf[pos]!.toString(16).padStart(2, '0')}`, this.#base + pos);
    }
  }

  /** Index of the CR that ends the line starting at `pos`, or -1 when the line is not complete yet. */
  #lineEnd(buf: Buffer, pos: number): number {
    // Most lines are a few bytes long: a JS loop finds their CR faster than a native indexOf call.
    const len = buf.length;
    const near = pos + SHORT_LINE < len ? pos + SHORT_LINE : len;
    let cr = -1;
    for (let i = pos + 1; i < near; i++) {
      if (buf[i] === CR) {
        cr = i;
        break;
      }
    }
    if (cr === -1 && near < len) cr = buf.indexOf(CR, near);
    if (cr === -1) {
      if (buf.length - pos > this.#limits.maxLineLength) {
        throw new ProtocolError('line longer than maxLineLength', this.#base + pos, 'maxLineLength');
      }
      return -1;
    }
    if (cr - pos > this.#limits.maxLineLength) {
      throw new ProtocolError('line longer than maxLineLength', this.#base + pos, 'maxLineLength');
    }
    if (cr + 1 >= buf.length) return -1;
    if (buf[cr + 1] !== LF) throw new ProtocolError('expected LF after CR', this.#base + cr + 1);
    return cr;
  }

  /** Parses a length or count: digits, or -1 where `allowNull`. Returns -1 for null. */
  #length(buf: Buffer, from: number, to: number, allowNull: boolean): number {
    if (to === from) throw new ProtocolError('empty length', this.#base + from);
    if (buf[from] === 0x2d) {
      if (allowNull && to === from + 2 && buf[from + 1] === 0x31) return -1;
      throw new ProtocolError('negative length', this.#base + from);
    }
    if (to - from > 15) throw new ProtocolError('length too large', this.#base + from);
    let n = 0;
    for (let i = from; i < to; i++) {
      const d = buf[i]! - 0x30;
      if (d < 0 || d > 9) throw new ProtocolError('bad length digit', this.#base + i);
      n = n * 10 + d;
    }
    return n;
  }

  /**
   * Fast path for the header of a bulk string or aggregate: 1 to 15 digits and CRLF, all in `buf`.
   * Returns the count and leaves the CR's index in #cr; returns -1 for anything else (incomplete,
   * null, malformed, too long), which the caller then parses on the slow path with full checks.
   */
  #fastCount(buf: Buffer, pos: number): number {
    const len = buf.length;
    let i = pos + 1;
    let n = 0;
    for (; i < len; i++) {
      const d = buf[i]! - 0x30;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
    }
    if (i + 1 < len && buf[i] === CR && buf[i + 1] === LF && i > pos + 1 && i - pos <= 16 && i - pos <= this.#maxLine) {
      this.#cr = i;
      return n;
    }
    return -1;
  }

  #simpleString(buf: Buffer, pos: number): Step {
    const cr = this.#lineEnd(buf, pos);
    if (cr === -1) return INCOMPLETE;
    this.#pos = cr + 2;
    // +OK is most of all simple replies: no decoding for it.
    if (cr - pos === 3 && buf[pos + 1] === 0x4f && buf[pos + 2] === 0x4b) return 'OK';
    return buf.toString('utf8', pos + 1, cr);
  }

  #error(buf: Buffer, pos: number): Step {
    const cr = this.#lineEnd(buf, pos);
    if (cr === -1) return INCOMPLETE;
    this.#pos = cr + 2;
    return new ReplyError(buf.toString('utf8', pos + 1, cr));
  }

  #integer(buf: Buffer, pos: number): Step {
    // Fast path: an optional '-', 1 to 15 digits, CRLF, all in this buffer (nearly every integer).
    const len = buf.length;
    let j = pos + 1;
    const minus = buf[j] === 0x2d;
    if (minus) j++;
    const first = j;
    let v = 0;
    for (; j < len; j++) {
      const d = buf[j]! - 0x30;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
    }
    if (j + 1 < len && buf[j] === CR && buf[j + 1] === LF && j > first && j - first <= 15 && j - pos <= this.#maxLine) {
      this.#pos = j + 2;
      // `0 - v`, not `-v`: `:-0` is the integer 0, never the double -0.
      return minus ? 0 - v : v;
    }
    return this.#integerLine(buf, pos);
  }

  /** Every other integer line: incomplete, signed with '+', beyond 15 digits, or malformed. */
  #integerLine(buf: Buffer, pos: number): Step {
    const cr = this.#lineEnd(buf, pos);
    if (cr === -1) return INCOMPLETE;
    this.#pos = cr + 2;
    let i = pos + 1;
    const negative = buf[i] === 0x2d;
    if (negative || buf[i] === 0x2b) i++;
    if (i === cr) throw new ProtocolError('empty integer', this.#base + pos);
    // Up to 15 digits fit a double exactly; longer ones go through BigInt (a 64-bit reply such as
    // INCRBY near 2^63 must not silently lose precision).
    if (cr - i > 15) return this.#bigInteger(buf, pos, i, cr, negative);
    let n = 0;
    for (; i < cr; i++) {
      const d = buf[i]! - 0x30;
      if (d < 0 || d > 9) throw new ProtocolError('bad integer digit', this.#base + i);
      n = n * 10 + d;
    }
    // `0 - n`, not `-n`: `:-0` is the integer 0, never the double -0.
    return negative ? 0 - n : n;
  }

  #bigInteger(buf: Buffer, pos: number, from: number, to: number, negative: boolean): Step {
    for (let i = from; i < to; i++) {
      const d = buf[i]! - 0x30;
      if (d < 0 || d > 9) throw new ProtocolError('bad integer digit', this.#base + i);
    }
    if (to - from > 20) throw new ProtocolError('integer out of 64-bit range', this.#base + pos);
    const big = BigInt(buf.toString('latin1', from, to));
    const v = negative ? -big : big;
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  #bulkString(buf: Buffer, pos: number): Step {
    const type = buf[pos]!;
    let length = this.#fastCount(buf, pos);
    let cr = this.#cr;
    if (length === -1) {
      cr = this.#lineEnd(buf, pos);
      if (cr === -1) return INCOMPLETE;
      length = this.#length(buf, pos + 1, cr, type === RESP.BULK_STRING);
    }
    if (length === -1) {
      this.#pos = cr + 2;
      return null;
    }
    if (length > this.#limits.maxBulkLength) {
      throw new ProtocolError(`bulk length ${length} over maxBulkLength`, this.#base + pos, 'maxBulkLength');
    }
    const start = cr + 2;
    const end = start + length;
    if (end + 2 <= buf.length) {
      if (buf[end] !== CR || buf[end + 1] !== LF) throw new ProtocolError('bulk string not followed by CRLF', this.#base + end);
      this.#pos = end + 2;
      return this.#bulkValue(type, buf, start, end, this.#base + pos);
    }
    // The payload continues in later chunks: gather it in place, or collect the chunks and join once.
    const have = buf.length - start;
    if (length + 2 <= GATHER_IN_PLACE) {
      const target = Buffer.allocUnsafe(length + 2);
      buf.copy(target, 0, start);
      this.#bulk = { type, length, target, parts: null, have, header: this.#base + pos };
    } else {
      this.#bulk = { type, length, target: null, parts: [buf.subarray(start)], have, header: this.#base + pos };
    }
    this.#base += buf.length;
    this.#buf = EMPTY;
    this.#pos = 0;
    return PENDING;
  }

  /** Adds a chunk to the pending bulk string; returns the bytes after it, or null if it is still short. */
  #feedBulk(chunk: Buffer): Buffer | null {
    const bulk = this.#bulk!;
    const total = bulk.length + 2;
    const need = total - bulk.have;
    const n = chunk.length < need ? chunk.length : need;
    const target = bulk.target;
    if (target !== null) {
      // Bytes a reader put straight into bulkTail() are in place already.
      if (chunk.buffer !== target.buffer || chunk.byteOffset !== target.byteOffset + bulk.have) chunk.copy(target, bulk.have, 0, n);
    } else {
      bulk.parts!.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    }
    bulk.have += n;
    this.#base += n;
    if (n < need) return null;
    const parts = bulk.parts;
    const whole = target ?? (parts!.length === 1 ? parts![0]! : Buffer.concat(parts!, total));
    this.#bulk = null;
    if (whole[bulk.length] !== CR || whole[bulk.length + 1] !== LF) {
      this.#failed = new ProtocolError('bulk string not followed by CRLF', this.#base - 2);
      throw this.#failed;
    }
    try {
      this.#complete(this.#bulkValue(bulk.type, whole, 0, bulk.length, bulk.header));
    } catch (err) {
      if (err instanceof ProtocolError) this.#failed = err;
      throw err;
    }
    return chunk.subarray(need);
  }

  /** The value of a complete bulk payload `buf[start, end)`; `header` is the header's stream offset. */
  #bulkValue(type: number, buf: Buffer, start: number, end: number, header: number): RespValue {
    if (type === RESP.BULK_STRING) {
      if (this.#returnBuffers) return buf.subarray(start, end);
      if (end - start <= SHORT_BULK) {
        const s = shortAscii(buf, start, end);
        if (s !== null) return s;
      }
      return buf.toString('utf8', start, end);
    }
    if (type === RESP.BULK_ERROR) return new ReplyError(buf.toString('utf8', start, end));
    // Verbatim: three-letter format, ':', then the text.
    if (end - start < 4 || buf[start + 3] !== 0x3a) {
      throw new ProtocolError('verbatim string without a format prefix', header);
    }
    const format = buf.toString('latin1', start, start + 3);
    const text = this.#returnBuffers ? buf.subarray(start + 4, end) : buf.toString('utf8', start + 4, end);
    return new VerbatimString(format, text);
  }

  #aggregate(buf: Buffer, pos: number, kind: Kind): Step {
    let count = this.#fastCount(buf, pos);
    let cr = this.#cr;
    if (count === -1) {
      cr = this.#lineEnd(buf, pos);
      if (cr === -1) return INCOMPLETE;
      count = this.#length(buf, pos + 1, cr, kind === Kind.Array);
    }
    this.#pos = cr + 2;
    if (count === -1) return null;
    if (count > this.#limits.maxAggregateLength) {
      throw new ProtocolError(`aggregate length ${count} over maxAggregateLength`, this.#base + pos, 'maxAggregateLength');
    }
    if (kind === Kind.Map || kind === Kind.Attribute) count *= 2;
    if (count === 0) {
      if (kind === Kind.Attribute) {
        if (this.#stack.length === 0) this.#attributed = true;
        this.#onAttribute?.(new Map());
        return OPENED;
      }
      if (kind === Kind.Push && this.#stack.length === 0 && this.#onPush) {
        this.#attributed = false;
        this.#onPush([], this.#base + this.#pos - this.#replyStart);
        return OPENED;
      }
      return emptyAggregate(kind);
    }
    if (this.#stack.length >= this.#limits.maxDepth) {
      throw new ProtocolError('nesting deeper than maxDepth', this.#base + pos, 'maxDepth');
    }
    // Sized up front when small: an array grown by push reserves room for 17 elements at once,
    // several times what a 3-argument command needs, and a decoder allocates one per reply.
    // Big counts grow as items arrive, so a hostile length cannot reserve memory it never fills.
    this.#stack.push({ kind, items: count <= PRESIZE_MAX ? new Array(count) : [], filled: 0, remaining: count });
    return OPENED;
  }

  #null(buf: Buffer, pos: number): Step {
    const cr = this.#lineEnd(buf, pos);
    if (cr === -1) return INCOMPLETE;
    if (cr !== pos + 1) throw new ProtocolError('bytes after null', this.#base + pos + 1);
    this.#pos = cr + 2;
    return null;
  }

  #boolean(buf: Buffer, pos: number): Step {
    const cr = this.#lineEnd(buf, pos);
    if (cr === -1) return INCOMPLETE;
    const c = buf[pos + 1];
    if (cr !== pos + 2 || (c !== 0x74 && c !== 0x66)) throw new ProtocolError('boolean must be #t or #f', this.#base + pos);
    this.#pos = cr + 2;
    return c === 0x74;
  }

  #double(buf: Buffer, pos: number): Step {
    const cr = this.#lineEnd(buf, pos);
    if (cr === -1) return INCOMPLETE;
    const text = buf.toString('latin1', pos + 1, cr);
    this.#pos = cr + 2;
    switch (text) {
      case 'inf':
        return Infinity;
      case '-inf':
        return -Infinity;
      case 'nan':
      case '-nan':
        return NaN;
    }
    const n = Number(text);
    if (text === '' || Number.isNaN(n) || !/^[-+]?[0-9.eE+-]+$/.test(text)) {
      throw new ProtocolError('bad double', this.#base + pos);
    }
    return n;
  }

  #bigNumber(buf: Buffer, pos: number): Step {
    const cr = this.#lineEnd(buf, pos);
    if (cr === -1) return INCOMPLETE;
    const text = buf.toString('latin1', pos + 1, cr);
    if (!/^[-+]?[0-9]+$/.test(text)) throw new ProtocolError('bad big number', this.#base + pos);
    this.#pos = cr + 2;
    return BigInt(text);
  }

  /** Attaches a finished element to its frame, closing frames that become full; emits top-level replies. */
  #complete(value: RespValue): void {
    let v = value;
    const stack = this.#stack;
    for (;;) {
      // Test the length first: reading stack[-1] of an empty array is a slow property lookup.
      if (stack.length === 0) {
        this.#attributed = false;
        this.#onReply(v, this.#base + this.#pos - this.#replyStart);
        return;
      }
      const top = stack[stack.length - 1]!;
      top.items[top.filled++] = v;
      if (--top.remaining > 0) return;
      stack.pop();
      if (top.kind === Kind.Attribute) {
        // Attributes describe the element that follows; they are not an element themselves.
        if (stack.length === 0) this.#attributed = true;
        this.#onAttribute?.(pairsToMap(top.items));
        return;
      }
      if (top.kind === Kind.Push && stack.length === 0) {
        this.#attributed = false;
        const bytes = this.#base + this.#pos - this.#replyStart;
        if (this.#onPush) this.#onPush(top.items, bytes);
        else this.#onReply(top.items, bytes);
        return;
      }
      v = finishFrame(top);
    }
  }
}

/** `buf[start, end)` as a string when it is all ASCII, else null (then decoded as UTF-8 natively). */
function shortAscii(buf: Buffer, start: number, end: number): string | null {
  let s = '';
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c > 0x7f) return null;
    s += String.fromCharCode(c);
  }
  return s;
}

function emptyAggregate(kind: Kind): RespValue {
  switch (kind) {
    case Kind.Map:
    case Kind.Attribute:
      return new Map();
    case Kind.Set:
      return new Set();
    default:
      return [];
  }
}

function finishFrame(frame: Frame): RespValue {
  switch (frame.kind) {
    case Kind.Map:
      return pairsToMap(frame.items);
    case Kind.Set:
      return new Set(frame.items);
    default:
      return frame.items;
  }
}

function pairsToMap(items: RespValue[]): Map<RespValue, RespValue> {
  const m = new Map<RespValue, RespValue>();
  for (let i = 0; i < items.length; i += 2) m.set(items[i]!, items[i + 1]!);
  return m;
}
