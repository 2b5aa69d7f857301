/**
 * Test helpers for byte-level protocol parsers.
 *
 * 1. `wire`: builds RESP bytes by hand, one element at a time, independently of src/resp (so the
 *    decoder is never tested against its own encoder only). Aggregates take already-built elements:
 *
 *      wire.array([wire.bulk('GET'), wire.bulk('k')])     // *2\r\n$3\r\nGET\r\n$1\r\nk\r\n
 *      wire.map([[wire.simple('a'), wire.int(1)]])        // %1\r\n+a\r\n:1\r\n
 *      wire.text('*1\r\n:1\r\n')                          // literal bytes
 *
 * 2. Chunkers, which cut bytes into the chunk lists a socket might deliver: `splitsEverywhere`
 *    (every single cut point, both halves, including the empty ones), `byteByByte`, `randomChunks`.
 *
 * 3. Feeders, generic over any parser with a `write(chunk)` method (RESP decoder, RDB parser, syslog
 *    framers): a `make()` factory returns a fresh `Sink` whose `result()` is whatever the test wants to
 *    compare (usually the list of emitted events). `feedSplitEverywhere`, `feedByteByByte` and
 *    `feedRandomChunks` feed the same bytes many ways, assert every way gives the same result as one
 *    whole write, and return that result.
 *
 * Every chunk handed to a sink is a fresh copy, as a socket would deliver, so a parser that keeps a
 * view of an old chunk sees the bytes it was given and nothing else.
 */
import assert from 'node:assert/strict';

// ---------------------------------------------------------------------------------------------
// Wire builder

type Bytes = Buffer | string;

const CRLF = '\r\n';

function b(x: Bytes): Buffer {
  return typeof x === 'string' ? Buffer.from(x, 'utf8') : x;
}

function lineOf(type: string, body: string): Buffer {
  return Buffer.from(type + body + CRLF, 'utf8');
}

function blob(type: string, payload: Bytes): Buffer {
  const p = b(payload);
  return Buffer.concat([Buffer.from(`${type}${p.length}${CRLF}`), p, Buffer.from(CRLF)]);
}

function aggregate(type: string, items: readonly Buffer[] | null, count = items?.length): Buffer {
  if (items === null) return Buffer.from(`${type}-1${CRLF}`);
  return Buffer.concat([Buffer.from(`${type}${count}${CRLF}`), ...items]);
}

export const wire = {
  /** Literal bytes; a string is taken as UTF-8 (write `\r\n` yourself). */
  text: (s: string): Buffer => Buffer.from(s, 'utf8'),
  /** Literal bytes from hex, spaces ignored: `wire.hex('2b 4f 4b 0d 0a')`. */
  hex: (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex'),
  concat: (...parts: Buffer[]): Buffer => Buffer.concat(parts),

  /** `+text` */
  simple: (s: string): Buffer => lineOf('+', s),
  /** `-text` */
  error: (s: string): Buffer => lineOf('-', s),
  /** `:n` */
  int: (n: number | bigint | string): Buffer => lineOf(':', String(n)),
  /** `$len payload`, or `$-1` for null. */
  bulk: (payload: Bytes | null): Buffer => (payload === null ? Buffer.from(`$-1${CRLF}`) : blob('$', payload)),
  nullBulk: (): Buffer => Buffer.from(`$-1${CRLF}`),
  /** `*n` followed by the items, or `*-1` for null. */
  array: (items: readonly Buffer[] | null): Buffer => aggregate('*', items),
  nullArray: (): Buffer => Buffer.from(`*-1${CRLF}`),

  // RESP3
  /** `_` */
  null: (): Buffer => Buffer.from(`_${CRLF}`),
  /** `#t` / `#f` */
  bool: (v: boolean): Buffer => lineOf('#', v ? 't' : 'f'),
  /** `,text`: pass a string to control the exact text ('inf', '-inf', 'nan', '1.5e3'). */
  double: (v: number | string): Buffer =>
    lineOf(',', typeof v === 'string' ? v : Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : String(v)),
  /** `(digits` */
  bigNumber: (v: bigint | string): Buffer => lineOf('(', String(v)),
  /** `!len payload` */
  bulkError: (s: Bytes): Buffer => blob('!', s),
  /** `=len fmt:text` */
  verbatim: (format: string, text: Bytes): Buffer => blob('=', Buffer.concat([Buffer.from(format + ':'), b(text)])),
  /** `%n` followed by n key/value pairs. */
  map: (pairs: readonly (readonly [Buffer, Buffer])[]): Buffer => aggregate('%', pairs.flat(), pairs.length),
  /** `~n` */
  set: (items: readonly Buffer[]): Buffer => aggregate('~', items),
  /** `>n` */
  push: (items: readonly Buffer[]): Buffer => aggregate('>', items),
  /** `|n` followed by n key/value pairs; put it right before the element it describes. */
  attribute: (pairs: readonly (readonly [Buffer, Buffer])[]): Buffer => aggregate('|', pairs.flat(), pairs.length),

  /** A client command: an array of bulk strings. */
  command: (...args: Bytes[]): Buffer => aggregate('*', args.map((a) => blob('$', a))),
};

// ---------------------------------------------------------------------------------------------
// Chunkers

/** A small seeded PRNG (mulberry32): returns floats in [0, 1). Same seed, same sequence. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cuts `bytes` at the given offsets (ascending), copying each piece. */
export function splitAt(bytes: Buffer, ...offsets: number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const o of offsets) {
    out.push(Buffer.from(bytes.subarray(prev, o)));
    prev = o;
  }
  out.push(Buffer.from(bytes.subarray(prev)));
  return out;
}

/** Every way to cut `bytes` in two: offsets 0..length, so the first and last include an empty chunk. */
export function* splitsEverywhere(bytes: Buffer): Generator<Buffer[]> {
  for (let i = 0; i <= bytes.length; i++) yield splitAt(bytes, i);
}

/** One chunk per byte. */
export function byteByByte(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i++) out.push(Buffer.from(bytes.subarray(i, i + 1)));
  return out;
}

/** Random chunk sizes in 1..maxChunk (default: up to a quarter of the input, at least 1). */
export function randomChunks(bytes: Buffer, rng: () => number, maxChunk?: number): Buffer[] {
  const max = Math.max(1, maxChunk ?? Math.ceil(bytes.length / 4));
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; ) {
    const n = 1 + Math.floor(rng() * max);
    out.push(Buffer.from(bytes.subarray(i, i + n)));
    i += n;
  }
  return out;
}

/** Fixed-size chunks (the last may be shorter); views, not copies, for big inputs. */
export function fixedChunks(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Feeders

/** Anything that takes chunks. `result()` is read after the last chunk. */
export interface Sink<R> {
  write(chunk: Buffer): void;
  result(): R;
}

export type MakeSink<R> = () => Sink<R>;

/** Feeds the chunks to a fresh sink and returns its result. Exceptions propagate. */
export function feedChunks<R>(chunks: readonly Buffer[], make: MakeSink<R>): R {
  const sink = make();
  for (const c of chunks) sink.write(c);
  return sink.result();
}

/** One write of all bytes. */
export function feedWhole<R>(bytes: Buffer, make: MakeSink<R>): R {
  return feedChunks([Buffer.from(bytes)], make);
}

function same<R>(actual: R, expected: R, how: string): void {
  assert.deepStrictEqual(actual, expected, `result differs when fed ${how}`);
}

/**
 * Feeds `bytes` whole, then cut in two at every offset; asserts each gives the whole-write result,
 * which it returns.
 */
export function feedSplitEverywhere<R>(bytes: Buffer, make: MakeSink<R>): R {
  const whole = feedWhole(bytes, make);
  for (let i = 0; i <= bytes.length; i++) same(feedChunks(splitAt(bytes, i), make), whole, `split at byte ${i}`);
  return whole;
}

/** Feeds `bytes` one byte per write; asserts it equals the whole-write result, which it returns. */
export function feedByteByByte<R>(bytes: Buffer, make: MakeSink<R>): R {
  const whole = feedWhole(bytes, make);
  same(feedChunks(byteByByte(bytes), make), whole, 'byte by byte');
  return whole;
}

/**
 * Feeds `bytes` in `rounds` random chunkings drawn from `rng`; asserts each equals the whole-write
 * result, which it returns.
 */
export function feedRandomChunks<R>(
  bytes: Buffer,
  make: MakeSink<R>,
  rng: () => number = seededRandom(1),
  opts: { rounds?: number; maxChunk?: number } = {},
): R {
  const whole = feedWhole(bytes, make);
  const rounds = opts.rounds ?? 20;
  for (let r = 0; r < rounds; r++) {
    same(feedChunks(randomChunks(bytes, rng, opts.maxChunk), make), whole, `in random chunks (round ${r})`);
  }
  return whole;
}

/** All three ways at once: whole, split at every offset, byte by byte. Returns the whole-write result. */
export function feedEveryWay<R>(bytes: Buffer, make: MakeSink<R>): R {
  const whole = feedSplitEverywhere(bytes, make);
  same(feedChunks(byteByByte(bytes), make), whole, 'byte by byte');
  return whole;
}
