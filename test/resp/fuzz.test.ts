/**
 * Property tests for the RESP codec:
 * - round trips: random nested values (RESP2 and RESP3 subsets) encoded with encodeReply, streamed
 *   with pushes and attributes, cut at random points, decode back exactly, each with its wire size;
 * - robustness: random bytes and mutated valid encodings give replies or a ProtocolError, never
 *   another exception, never a hang, and the same outcome however the input is chunked.
 *
 * The arbitraries are chosen so that the round trip is exact (see `scalars3` and `scalars2`).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RespDecoder, ProtocolError, ReplyError, VerbatimString, encodeReply, encodePush, type RespValue, type ReplyEncodeOptions } from '../../src/resp/index.js';
import { wire } from '../support/wire.js';

const RUNS = Number(process.env.RESP_FUZZ_RUNS ?? 300);

// ---------------------------------------------------------------------------------------------
// Arbitraries

const text = fc.string({ unit: 'binary', maxLength: 24 });
const bytes = fc.uint8Array({ maxLength: 24 }).map((u) => Buffer.from(u));
const format = fc.stringMatching(/^[a-z]{3}$/);

/**
 * RESP3 scalars. Exact round trips because:
 * - numbers: safe integers go out as ':' and come back as numbers; every other number, -0, NaN and
 *   the infinities go out as ',' doubles in their shortest exact form;
 * - bigints go out as '(' big numbers, which always decode to bigint;
 * - strings (string mode) or Buffers (buffer mode) go out as bulk strings.
 */
function scalars3(str: fc.Arbitrary<string | Buffer>): fc.Arbitrary<RespValue> {
  return fc.oneof(
    str,
    fc.constant(null),
    fc.boolean(),
    fc.maxSafeInteger(),
    fc.double(),
    fc.bigInt(),
    text.map((m) => new ReplyError(m)),
    fc.tuple(format, str).map(([f, t]) => new VerbatimString(f, t)),
  );
}

/**
 * RESP2 scalars: no doubles, booleans, maps or sets in RESP2, and ':' integers decode to numbers when
 * safe, bigint otherwise; so numbers are safe integers and bigints are unsafe 64-bit ones. Error text
 * has no CR/LF (RESP2 has no bulk errors).
 */
const scalars2: fc.Arbitrary<RespValue> = fc.oneof(
  text,
  fc.constant(null),
  fc.maxSafeInteger(),
  fc.oneof(fc.bigInt(-(2n ** 63n), -(2n ** 53n)), fc.bigInt(2n ** 53n, 2n ** 64n - 1n)),
  text.filter((m) => !/[\r\n]/.test(m)).map((m) => new ReplyError(m)),
);

/** Map keys: scalars whose identity survives a round trip (primitives). */
const keys = (str: fc.Arbitrary<string | Buffer>) => fc.oneof(str, fc.maxSafeInteger(), fc.boolean(), fc.bigInt(), fc.constant(null));

function values3(str: fc.Arbitrary<string | Buffer>): fc.Arbitrary<RespValue> {
  const { value } = fc.letrec<{ value: RespValue; array: RespValue[]; map: Map<RespValue, RespValue>; set: Set<RespValue> }>((tie) => ({
    value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalars3(str), tie('array'), tie('map'), tie('set')),
    array: fc.array(tie('value'), { maxLength: 5 }),
    map: fc.array(fc.tuple(keys(str), tie('value')), { maxLength: 4 }).map((pairs) => new Map(pairs)),
    set: fc.array(scalars3(str), { maxLength: 4 }).map((xs) => new Set(xs)),
  }));
  return value;
}

const values2: fc.Arbitrary<RespValue> = fc.letrec<{ value: RespValue; array: RespValue[] }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalars2, tie('array'), fc.constant([] as RespValue[])),
  array: fc.array(tie('value'), { maxLength: 5 }),
})).value;

type Frame = { kind: 'reply'; value: RespValue; attribute?: Map<RespValue, RespValue> } | { kind: 'push'; value: RespValue[] };

/** A stream of frames: replies, RESP3 pushes, and replies preceded by attributes. */
function frames3(str: fc.Arbitrary<string | Buffer>): fc.Arbitrary<Frame[]> {
  const v = values3(str);
  return fc.array(
    fc.oneof(
      { weight: 4, arbitrary: v.map((value): Frame => ({ kind: 'reply', value })) },
      { weight: 1, arbitrary: fc.array(v, { maxLength: 4 }).map((value): Frame => ({ kind: 'push', value })) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.array(fc.tuple(str, v), { maxLength: 3 }), v)
          .map(([pairs, value]): Frame => ({ kind: 'reply', value, attribute: new Map<RespValue, RespValue>(pairs) })),
      },
    ),
    { minLength: 1, maxLength: 8 },
  );
}

function encodeFrame(f: Frame, o: ReplyEncodeOptions): Buffer {
  if (f.kind === 'push') return encodePush(f.value, o);
  const body = encodeReply(f.value, o);
  if (!f.attribute) return body;
  const attr = [...f.attribute].map(([k, val]) => Buffer.concat([encodeReply(k, o), encodeReply(val, o)]));
  return Buffer.concat([Buffer.from(`|${f.attribute.size}\r\n`), ...attr, body]);
}

/** Random cut points for `length` bytes, ascending and distinct. */
const cuts = fc.array(fc.nat(), { maxLength: 12 });
function cutAt(buf: Buffer, raw: number[]): Buffer[] {
  const offsets = [...new Set(raw.map((n) => (buf.length ? n % (buf.length + 1) : 0)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const o of offsets) {
    out.push(Buffer.from(buf.subarray(prev, o)));
    prev = o;
  }
  out.push(Buffer.from(buf.subarray(prev)));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding harness

type Event =
  | { kind: 'reply'; value: RespValue; bytes: number }
  | { kind: 'push'; value: RespValue[]; bytes: number }
  | { kind: 'attribute'; value: Map<RespValue, RespValue> };

interface Outcome {
  events: Event[];
  error?: { message: string; offset: number; option: string | undefined };
}

/** Feeds chunks; returns events and the ProtocolError, if any. Any other exception fails the test. */
function run(chunks: readonly Buffer[], returnBuffers: boolean): Outcome {
  const events: Event[] = [];
  const d = new RespDecoder({
    returnBuffers,
    onReply: (value, n) => events.push({ kind: 'reply', value, bytes: n }),
    onPush: (value, n) => events.push({ kind: 'push', value, bytes: n }),
    onAttribute: (value) => events.push({ kind: 'attribute', value }),
  });
  for (const c of chunks) {
    try {
      d.write(c);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw new Error(`not a ProtocolError: ${String(e)}`, { cause: e });
      assert.equal(e.code, 'ERR_RESP_PROTOCOL');
      assert.ok(Number.isInteger(e.offset) && e.offset >= 0, `offset ${e.offset}`);
      return { events, error: { message: e.message, offset: e.offset, option: e.option } };
    }
  }
  return { events };
}

function expected(fs: Frame[], o: ReplyEncodeOptions): Event[] {
  const out: Event[] = [];
  for (const f of fs) {
    const n = encodeFrame(f, o).length;
    if (f.kind === 'push') out.push({ kind: 'push', value: f.value, bytes: n });
    else {
      if (f.attribute) out.push({ kind: 'attribute', value: f.attribute });
      out.push({ kind: 'reply', value: f.value, bytes: n });
    }
  }
  return out;
}

describe('round trips', () => {
  test('RESP3, strings: replies, pushes and attributes cut anywhere decode back exactly', () => {
    fc.assert(
      fc.property(frames3(text), cuts, (fs, c) => {
        const stream = Buffer.concat(fs.map((f) => encodeFrame(f, { resp3: true })));
        assert.deepStrictEqual(run(cutAt(stream, c), false), { events: expected(fs, { resp3: true }) });
      }),
      { numRuns: RUNS },
    );
  });

  test('RESP3, Buffers: bulk strings come back as Buffers', () => {
    fc.assert(
      fc.property(frames3(bytes), cuts, (fs, c) => {
        const stream = Buffer.concat(fs.map((f) => encodeFrame(f, { resp3: true })));
        assert.deepStrictEqual(run(cutAt(stream, c), true), { events: expected(fs, { resp3: true }) });
      }),
      { numRuns: RUNS },
    );
  });

  test('RESP3 with simple strings', () => {
    const o = { resp3: true, simple: true };
    fc.assert(
      fc.property(fc.array(values3(text), { minLength: 1, maxLength: 6 }), cuts, (vs, c) => {
        const fs = vs.map((value): Frame => ({ kind: 'reply', value }));
        const stream = Buffer.concat(fs.map((f) => encodeFrame(f, o)));
        assert.deepStrictEqual(run(cutAt(stream, c), false), { events: expected(fs, o) });
      }),
      { numRuns: RUNS },
    );
  });

  test('RESP2: nested arrays of strings, integers, nulls and errors', () => {
    fc.assert(
      fc.property(fc.array(values2, { minLength: 1, maxLength: 8 }), cuts, fc.boolean(), (vs, c, simple) => {
        const fs = vs.map((value): Frame => ({ kind: 'reply', value }));
        const stream = Buffer.concat(fs.map((f) => encodeFrame(f, { simple })));
        assert.deepStrictEqual(run(cutAt(stream, c), false), { events: expected(fs, { simple }) });
      }),
      { numRuns: RUNS },
    );
  });

  test('one value byte by byte', () => {
    fc.assert(
      fc.property(values3(bytes), (v) => {
        const b = encodeReply(v, { resp3: true });
        assert.deepStrictEqual(run([...b].map((x) => Buffer.from([x])), true), { events: [{ kind: 'reply', value: v, bytes: b.length }] });
      }),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Robustness

/**
 * Lines drawn from RESP's own vocabulary (a type byte, a plausible body, mostly CRLF), so that random
 * input gets past the first byte and into aggregates, bulk payloads and the error paths behind them.
 */
const respLine = fc
  .tuple(
    fc.constantFrom(...'+-:$*_#,(!=%~|>'.split(''), '', 'x'),
    fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: 0, max: 6 }).map(String) },
      fc.constantFrom('', '-1', '-2', 't', 'f', 'inf', '-inf', 'nan', '1.5', '1e3', 'txt:ab', 'OK', 'ab', '99999999999999999999', '007', ' 1'),
    ),
    fc.oneof({ weight: 8, arbitrary: fc.constant('\r\n') }, fc.constantFrom('', '\r', '\n', '\n\r', '\r\r\n')),
  )
  .map(([t, body, end]) => t + body + end);
const respish = fc.array(respLine, { maxLength: 24 }).map((lines) => Buffer.from(lines.join(''), 'latin1'));

type Mutation = { at: number; kind: 'flip' | 'delete' | 'insert' | 'duplicate' | 'truncate'; byte: number; len: number };
const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('flip', 'delete', 'insert', 'duplicate', 'truncate'),
  byte: fc.integer({ min: 0, max: 255 }),
  len: fc.integer({ min: 1, max: 8 }),
});

function mutate(buf: Buffer, ms: Mutation[]): Buffer {
  let b = Buffer.from(buf);
  for (const m of ms) {
    const at = b.length ? m.at % b.length : 0;
    switch (m.kind) {
      case 'flip':
        if (b.length) b[at] = m.byte;
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), Buffer.alloc(m.len, m.byte), b.subarray(at)]);
        break;
      case 'duplicate':
        b = Buffer.concat([b.subarray(0, at + m.len), b.subarray(at)]);
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
    }
  }
  return b;
}

/**
 * The invariant for any input: replies or a ProtocolError, never another exception (run() rethrows
 * those as failures); a bounded number of events (no loop that emits without consuming); and the
 * same outcome, events and error alike, whether the input arrives whole, cut, or byte by byte.
 */
function robust(input: Buffer, c: number[], returnBuffers: boolean): void {
  const whole = run([Buffer.from(input)], returnBuffers);
  assert.ok(whole.events.length <= input.length / 3, `${whole.events.length} events from ${input.length} bytes`);
  if (whole.error) assert.ok(whole.error.offset <= input.length, `offset ${whole.error.offset} past the input`);
  assert.deepStrictEqual(run(cutAt(input, c), returnBuffers), whole, 'cut');
  if (input.length <= 120) assert.deepStrictEqual(run([...input].map((x) => Buffer.from([x])), returnBuffers), whole, 'byte by byte');
}

describe('robustness', () => {
  test('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), cuts, fc.boolean(), (u, c, rb) => robust(Buffer.from(u), c, rb)),
      { numRuns: RUNS * 3 },
    );
  });

  test('random bytes from the RESP alphabet', () => {
    fc.assert(
      fc.property(respish, cuts, fc.boolean(), (b, c, rb) => robust(b, c, rb)),
      { numRuns: RUNS * 5 },
    );
  });

  test('mutated valid encodings', () => {
    fc.assert(
      fc.property(frames3(text), fc.array(mutation, { minLength: 1, maxLength: 3 }), cuts, fc.boolean(), (fs, ms, c, rb) => {
        const valid = Buffer.concat(fs.map((f) => encodeFrame(f, { resp3: true })));
        robust(mutate(valid, ms), c, rb);
      }),
      { numRuns: RUNS * 3 },
    );
  });

  test('mutated encodings under tight limits', () => {
    fc.assert(
      fc.property(frames3(text), fc.array(mutation, { maxLength: 2 }), cuts, (fs, ms, c) => {
        const input = mutate(Buffer.concat(fs.map((f) => encodeFrame(f, { resp3: true }))), ms);
        const limits = { maxBulkLength: 8, maxAggregateLength: 3, maxDepth: 2, maxLineLength: 16 };
        const outcomes = [[Buffer.from(input)], cutAt(input, c)].map((chunks) => {
          const d = new RespDecoder({ ...limits, onReply: () => {}, onPush: () => {} });
          try {
            for (const ch of chunks) {
              d.write(ch);
              // No unbounded growth: at most one unfinished line (or bulk payload) plus one chunk.
              assert.ok(d.buffered <= input.length, `buffered ${d.buffered}`);
            }
            return 'ok';
          } catch (e) {
            if (!(e instanceof ProtocolError)) throw e;
            return e.option === undefined ? 'protocol' : 'limit';
          }
        });
        // A limit may be noticed at a different byte when input is cut (a long line is seen before
        // its CRLF arrives), but valid-or-not never depends on chunking.
        assert.equal(outcomes[0] === 'ok', outcomes[1] === 'ok');
      }),
      { numRuns: RUNS },
    );
  });

  test('known tricky inputs', () => {
    const cases = [
      wire.text(''),
      wire.text('\r\n'),
      wire.text('*1\r\n'),
      wire.text('*1\r\n*1\r\n*1\r\n'),
      wire.text('|1\r\n'),
      wire.text('|0\r\n|0\r\n'),
      wire.text('>0\r\n'),
      wire.text('$0\r\n\r\n'),
      wire.text('$0\r\n\r'),
      wire.text('$1\r\n\r\n\r\n'),
      wire.text('=4\r\ntxt:\r\n'),
      wire.text(':99999999999999999999\r\n'),
      wire.text(':-99999999999999999999\r\n'),
      wire.text(',1e999\r\n'),
      wire.text(',-1e-999\r\n'),
      wire.text('(-0\r\n'),
      wire.text('%1\r\n*0\r\n*0\r\n'),
      wire.text('~2\r\n_\r\n_\r\n'),
    ];
    for (const input of cases) robust(input, [1, 3, 7], false);
  });
});
