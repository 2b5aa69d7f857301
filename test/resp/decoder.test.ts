import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RespDecoder, ReplyError, VerbatimString, ProtocolError, type DecoderOptions, type RespValue } from '../../src/resp/index.js';
import { wire, feedEveryWay, feedWhole, feedChunks, fixedChunks, feedRandomChunks, seededRandom, type MakeSink } from '../support/wire.js';

type Event =
  | { kind: 'reply'; value: RespValue; bytes: number; offset: number }
  | { kind: 'push'; value: RespValue[]; bytes: number; offset: number }
  | { kind: 'attribute'; value: Map<RespValue, RespValue> };

interface Outcome {
  events: Event[];
  offset: number;
  idle: boolean;
}

/** A sink that records every callback, with the decoder's offset at the time of each reply. */
function decoder(opts: Omit<Partial<DecoderOptions>, 'onReply'> & { noPush?: boolean; noAttribute?: boolean } = {}): MakeSink<Outcome> {
  return () => {
    const events: Event[] = [];
    const d: RespDecoder = new RespDecoder({
      ...opts,
      onReply: (value, bytes) => events.push({ kind: 'reply', value, bytes, offset: d.offset }),
      onPush: opts.noPush ? undefined : (value, bytes) => events.push({ kind: 'push', value, bytes, offset: d.offset }),
      onAttribute: opts.noAttribute ? undefined : (value) => events.push({ kind: 'attribute', value }),
    });
    return { write: (c) => d.write(c), result: () => ({ events, offset: d.offset, idle: d.idle }) };
  };
}

/** Values of reply events only. */
function replies(o: Outcome): RespValue[] {
  return o.events.filter((e) => e.kind === 'reply').map((e) => e.value);
}

const err = (s: string) => new ReplyError(s);
const buf = (s: string) => Buffer.from(s);

/**
 * Golden vectors: one reply each. `value` is the string-mode result; `buffers` the returnBuffers
 * result when it differs.
 */
interface Vector {
  name: string;
  bytes: Buffer;
  value: RespValue;
  buffers?: RespValue;
}

const vectors: Vector[] = [
  // Simple strings and errors
  { name: 'simple string', bytes: wire.simple('hello world'), value: 'hello world' },
  { name: 'simple string OK', bytes: wire.simple('OK'), value: 'OK' },
  { name: 'simple string empty', bytes: wire.simple(''), value: '' },
  { name: 'simple string OKAY (not the OK shortcut)', bytes: wire.simple('OKAY'), value: 'OKAY' },
  { name: 'simple string utf-8', bytes: wire.simple('héllo ✓ 😀'), value: 'héllo ✓ 😀' },
  { name: 'error', bytes: wire.error('ERR this is the error description'), value: err('ERR this is the error description') },
  { name: 'error WRONGTYPE', bytes: wire.error('WRONGTYPE Operation against a key'), value: err('WRONGTYPE Operation against a key') },
  { name: 'error MOVED', bytes: wire.error('MOVED 3999 127.0.0.1:6381'), value: err('MOVED 3999 127.0.0.1:6381') },
  { name: 'error without text', bytes: wire.error('ERR'), value: err('ERR') },
  // Integers
  { name: 'integer 0', bytes: wire.int(0), value: 0 },
  { name: 'integer 1234', bytes: wire.int(1234), value: 1234 },
  { name: 'integer -1234', bytes: wire.int(-1234), value: -1234 },
  { name: 'integer +7 (explicit sign)', bytes: wire.text(':+7\r\n'), value: 7 },
  { name: 'integer -0 is 0', bytes: wire.text(':-0\r\n'), value: 0 },
  { name: 'integer 15 digits', bytes: wire.int(999999999999999), value: 999999999999999 },
  { name: 'integer 16 digits leading zeros', bytes: wire.text(':0000000000000042\r\n'), value: 42 },
  { name: 'integer 2^53-1', bytes: wire.int(2 ** 53 - 1), value: 2 ** 53 - 1 },
  { name: 'integer -(2^53-1)', bytes: wire.int(-(2 ** 53 - 1)), value: -(2 ** 53 - 1) },
  { name: 'integer 2^53 is bigint', bytes: wire.int(2n ** 53n), value: 2n ** 53n },
  { name: 'integer -2^53 is bigint', bytes: wire.int(-(2n ** 53n)), value: -(2n ** 53n) },
  { name: 'integer 2^53+1 is bigint', bytes: wire.int(2n ** 53n + 1n), value: 2n ** 53n + 1n },
  { name: 'integer 2^63-1', bytes: wire.int(2n ** 63n - 1n), value: 2n ** 63n - 1n },
  { name: 'integer -2^63', bytes: wire.int(-(2n ** 63n)), value: -(2n ** 63n) },
  { name: 'integer 2^64-1 (unsigned replies)', bytes: wire.int(2n ** 64n - 1n), value: 2n ** 64n - 1n },
  // Bulk strings
  { name: 'bulk', bytes: wire.bulk('hello world'), value: 'hello world', buffers: buf('hello world') },
  { name: 'bulk empty', bytes: wire.bulk(''), value: '', buffers: Buffer.alloc(0) },
  { name: 'bulk null', bytes: wire.nullBulk(), value: null },
  { name: 'bulk with CRLF inside', bytes: wire.bulk('a\r\nb\r\n'), value: 'a\r\nb\r\n', buffers: buf('a\r\nb\r\n') },
  { name: 'bulk multibyte utf-8', bytes: wire.bulk('日本語😀'), value: '日本語😀', buffers: buf('日本語😀') },
  {
    name: 'bulk binary',
    bytes: wire.bulk(Buffer.from([0, 1, 0xd, 0xa, 0xff, 0xfe])),
    value: Buffer.from([0, 1, 0xd, 0xa, 0xff, 0xfe]).toString('utf8'),
    buffers: Buffer.from([0, 1, 0xd, 0xa, 0xff, 0xfe]),
  },
  // Arrays
  { name: 'array', bytes: wire.text('*3\r\n:1\r\n:2\r\n:3\r\n'), value: [1, 2, 3] },
  { name: 'array empty', bytes: wire.array([]), value: [] },
  { name: 'array null', bytes: wire.nullArray(), value: null },
  {
    name: 'array mixed',
    bytes: wire.array([wire.simple('a'), wire.error('ERR x'), wire.int(5), wire.bulk('b'), wire.nullBulk(), wire.nullArray(), wire.array([])]),
    value: ['a', err('ERR x'), 5, 'b', null, null, []],
    buffers: ['a', err('ERR x'), 5, buf('b'), null, null, []],
  },
  {
    name: 'array nested',
    bytes: wire.array([wire.array([wire.int(1), wire.array([wire.array([wire.bulk('deep')])])]), wire.array([]), wire.int(2)]),
    value: [[1, [['deep']]], [], 2],
    buffers: [[1, [[buf('deep')]]], [], 2],
  },
  {
    name: 'array ending in nested aggregates (frames close together)',
    bytes: wire.array([wire.int(0), wire.array([wire.int(1), wire.array([wire.int(2), wire.array([wire.int(3)])])])]),
    value: [0, [1, [2, [3]]]],
  },
  {
    name: 'EXEC-like array with an error in place',
    bytes: wire.array([wire.simple('OK'), wire.error('WRONGTYPE bad'), wire.int(3)]),
    value: ['OK', err('WRONGTYPE bad'), 3],
  },
  // RESP3 scalars
  { name: 'null', bytes: wire.null(), value: null },
  { name: 'boolean true', bytes: wire.bool(true), value: true },
  { name: 'boolean false', bytes: wire.bool(false), value: false },
  { name: 'double', bytes: wire.double('1.23'), value: 1.23 },
  { name: 'double integral', bytes: wire.double('10'), value: 10 },
  { name: 'double negative', bytes: wire.double('-0.5'), value: -0.5 },
  { name: 'double exponent', bytes: wire.double('1.5e10'), value: 1.5e10 },
  { name: 'double exponent E+', bytes: wire.double('1E+300'), value: 1e300 },
  { name: 'double negative exponent', bytes: wire.double('-2.5e-7'), value: -2.5e-7 },
  { name: 'double inf', bytes: wire.double('inf'), value: Infinity },
  { name: 'double -inf', bytes: wire.double('-inf'), value: -Infinity },
  { name: 'double nan', bytes: wire.double('nan'), value: NaN },
  { name: 'double -nan', bytes: wire.double('-nan'), value: NaN },
  { name: 'double -0', bytes: wire.double('-0'), value: -0 },
  { name: 'double max', bytes: wire.double(String(Number.MAX_VALUE)), value: Number.MAX_VALUE },
  { name: 'big number', bytes: wire.bigNumber('3492890328409238509324850943850943825024385'), value: 3492890328409238509324850943850943825024385n },
  { name: 'big number negative', bytes: wire.bigNumber('-3492890328409238509324850943850943825024385'), value: -3492890328409238509324850943850943825024385n },
  { name: 'big number small is still bigint', bytes: wire.bigNumber('12'), value: 12n },
  { name: 'bulk error', bytes: wire.bulkError('SYNTAX invalid syntax'), value: err('SYNTAX invalid syntax') },
  { name: 'bulk error with CRLF', bytes: wire.bulkError('ERR line1\r\nline2'), value: err('ERR line1\r\nline2') },
  { name: 'verbatim', bytes: wire.verbatim('txt', 'Some string'), value: new VerbatimString('txt', 'Some string'), buffers: new VerbatimString('txt', buf('Some string')) },
  { name: 'verbatim empty text', bytes: wire.verbatim('mkd', ''), value: new VerbatimString('mkd', ''), buffers: new VerbatimString('mkd', Buffer.alloc(0)) },
  // RESP3 aggregates
  {
    name: 'map',
    bytes: wire.text('%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n'),
    value: new Map<RespValue, RespValue>([
      ['first', 1],
      ['second', 2],
    ]),
  },
  { name: 'map empty', bytes: wire.map([]), value: new Map() },
  {
    name: 'map with bulk keys and nested values',
    bytes: wire.map([
      [wire.bulk('k'), wire.array([wire.int(1), wire.map([[wire.bulk('x'), wire.null()]])])],
      [wire.bulk('s'), wire.set([wire.bool(true)])],
    ]),
    value: new Map<RespValue, RespValue>([
      ['k', [1, new Map<RespValue, RespValue>([['x', null]])]],
      ['s', new Set([true])],
    ]),
    buffers: new Map<RespValue, RespValue>([
      [buf('k'), [1, new Map<RespValue, RespValue>([[buf('x'), null]])]],
      [buf('s'), new Set([true])],
    ]),
  },
  {
    name: 'set',
    bytes: wire.text('~5\r\n+orange\r\n+apple\r\n#t\r\n:100\r\n:999\r\n'),
    value: new Set<RespValue>(['orange', 'apple', true, 100, 999]),
  },
  { name: 'set empty', bytes: wire.set([]), value: new Set() },
  // RESP3 specification examples
  { name: 'spec: blob string', bytes: wire.text('$11\r\nhello world\r\n'), value: 'hello world', buffers: buf('hello world') },
  {
    name: 'spec: nested array',
    bytes: wire.text('*2\r\n*3\r\n:1\r\n$5\r\nhello\r\n:2\r\n#f\r\n'),
    value: [[1, 'hello', 2], false],
    buffers: [[1, buf('hello'), 2], false],
  },
  { name: 'spec: verbatim', bytes: wire.text('=15\r\ntxt:Some string\r\n'), value: new VerbatimString('txt', 'Some string'), buffers: new VerbatimString('txt', buf('Some string')) },
  { name: 'spec: blob error', bytes: wire.text('!21\r\nSYNTAX invalid syntax\r\n'), value: err('SYNTAX invalid syntax') },
  {
    name: 'spec: HELLO 3 reply',
    bytes: wire.text(
      '%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.2.0\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:5\r\n' +
        '$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n',
    ),
    value: new Map<RespValue, RespValue>([
      ['server', 'redis'],
      ['version', '7.2.0'],
      ['proto', 3],
      ['id', 5],
      ['mode', 'standalone'],
      ['role', 'master'],
      ['modules', []],
    ]),
    buffers: new Map<RespValue, RespValue>([
      [buf('server'), buf('redis')],
      [buf('version'), buf('7.2.0')],
      [buf('proto'), 3],
      [buf('id'), 5],
      [buf('mode'), buf('standalone')],
      [buf('role'), buf('master')],
      [buf('modules'), []],
    ]),
  },
];

describe('RespDecoder golden vectors', () => {
  for (const v of vectors) {
    test(v.name, () => {
      for (const returnBuffers of [false, true]) {
        const expected = returnBuffers && 'buffers' in v ? v.buffers! : v.value;
        const out = feedEveryWay(v.bytes, decoder({ returnBuffers }));
        assert.deepStrictEqual(out.events, [{ kind: 'reply', value: expected, bytes: v.bytes.length, offset: v.bytes.length }]);
        assert.equal(out.offset, v.bytes.length);
        assert.equal(out.idle, true);
      }
    });
  }

  test('all vectors back to back: one reply each, in order, with its own size', () => {
    const stream = Buffer.concat(vectors.map((v) => v.bytes));
    const out = feedEveryWay(stream, decoder());
    assert.deepStrictEqual(
      out.events.map((e) => (e.kind === 'reply' ? e.value : e.kind)),
      vectors.map((v) => v.value),
    );
    let end = 0;
    out.events.forEach((e, i) => {
      assert.equal(e.kind, 'reply');
      if (e.kind !== 'reply') return;
      end += vectors[i]!.bytes.length;
      assert.equal(e.bytes, vectors[i]!.bytes.length, vectors[i]!.name);
      assert.equal(e.offset, end, `offset after ${vectors[i]!.name}`);
    });
    assert.equal(out.offset, stream.length);
  });

  test('random chunkings of the whole stream give the same replies', () => {
    const stream = Buffer.concat(vectors.map((v) => v.bytes));
    feedRandomChunks(stream, decoder({ returnBuffers: true }), seededRandom(42), { rounds: 50, maxChunk: 17 });
  });

  test('types that hold strings: simple strings and errors stay strings with returnBuffers', () => {
    const out = feedWhole(wire.concat(wire.simple('x'), wire.error('ERR y'), wire.bulk('z')), decoder({ returnBuffers: true }));
    assert.deepStrictEqual(replies(out), ['x', err('ERR y'), buf('z')]);
  });

  test('ReplyError carries the prefix and the stable code', () => {
    const out = feedWhole(wire.concat(wire.error('MOVED 3999 127.0.0.1:6381'), wire.error('ERR'), wire.bulkError('LOADING x')), decoder());
    const [moved, bare, loading] = replies(out) as ReplyError[];
    assert.ok(moved instanceof ReplyError);
    assert.equal(moved.prefix, 'MOVED');
    assert.equal(moved.code, 'ERR_REPLY');
    assert.equal(bare!.prefix, 'ERR');
    assert.equal(loading!.prefix, 'LOADING');
  });

  test('integers near 2^53 are numbers exactly when safe', () => {
    const out = feedWhole(
      wire.concat(wire.int('9007199254740991'), wire.int('9007199254740992'), wire.int('-9007199254740991'), wire.int('-9007199254740992')),
      decoder(),
    );
    const [a, b, c, d] = replies(out);
    assert.equal(typeof a, 'number');
    assert.equal(typeof b, 'bigint');
    assert.equal(typeof c, 'number');
    assert.equal(typeof d, 'bigint');
  });
});

describe('RespDecoder push frames', () => {
  const push = wire.text('>4\r\n+pubsub\r\n+message\r\n+somechannel\r\n+this is the message\r\n');
  const lookalike = wire.array([wire.bulk('message'), wire.bulk('ch'), wire.bulk('payload')]);

  test('spec example: a push goes to onPush, never onReply', () => {
    const out = feedEveryWay(push, decoder());
    assert.deepStrictEqual(out.events, [
      { kind: 'push', value: ['pubsub', 'message', 'somechannel', 'this is the message'], bytes: push.length, offset: push.length },
    ]);
  });

  test('an ordinary array starting with "message" is a reply, not a push', () => {
    const out = feedEveryWay(wire.concat(lookalike, push, lookalike), decoder());
    assert.deepStrictEqual(
      out.events.map((e) => e.kind),
      ['reply', 'push', 'reply'],
    );
    assert.deepStrictEqual(out.events[0], { kind: 'reply', value: ['message', 'ch', 'payload'], bytes: lookalike.length, offset: lookalike.length });
  });

  test('pushes interleave with replies (spec: SET while subscribed to invalidations)', () => {
    const stream = wire.concat(
      wire.simple('OK'),
      wire.push([wire.bulk('invalidate'), wire.array([wire.bulk('foo')])]),
      wire.bulk('bar'),
      wire.push([]),
      wire.push([wire.bulk('invalidate'), wire.null()]),
    );
    const out = feedEveryWay(stream, decoder({ returnBuffers: true }));
    assert.deepStrictEqual(
      out.events.map((e) => [e.kind, e.kind === 'attribute' ? null : e.value]),
      [
        ['reply', 'OK'],
        ['push', [buf('invalidate'), [buf('foo')]]],
        ['reply', buf('bar')],
        ['push', []],
        ['push', [buf('invalidate'), null]],
      ],
    );
    const sizes = out.events.map((e) => (e.kind === 'attribute' ? 0 : e.bytes));
    assert.equal(sizes.reduce((a, b) => a + b, 0), stream.length);
  });

  test('without onPush, pushes are delivered as replies', () => {
    const out = feedEveryWay(wire.concat(push, wire.push([])), decoder({ noPush: true }));
    assert.deepStrictEqual(replies(out), [['pubsub', 'message', 'somechannel', 'this is the message'], []]);
  });

  test('a push nested inside an array is just an element', () => {
    const out = feedEveryWay(wire.array([wire.push([wire.int(1)])]), decoder());
    assert.deepStrictEqual(out.events.map((e) => e.kind), ['reply']);
    assert.deepStrictEqual(replies(out), [[[1]]]);
  });
});

describe('RespDecoder attributes', () => {
  const attrSpec = wire.text('|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n');
  const replySpec = wire.text('*2\r\n:2039123\r\n:9543892\r\n');
  const popularity = new Map<RespValue, RespValue>([
    [
      'key-popularity',
      new Map<RespValue, RespValue>([
        ['a', 0.1923],
        ['b', 0.0012],
      ]),
    ],
  ]);

  test('spec example: a top-level attribute is reported, then the reply it describes', () => {
    const bytes = wire.concat(attrSpec, replySpec);
    const out = feedEveryWay(bytes, decoder());
    assert.deepStrictEqual(out.events, [
      { kind: 'attribute', value: popularity },
      // The attribute's bytes belong to the reply it precedes: sizes add up to the stream.
      { kind: 'reply', value: [2039123, 9543892], bytes: bytes.length, offset: bytes.length },
    ]);
  });

  test('spec example: a nested attribute is not an element', () => {
    const bytes = wire.text('*3\r\n:1\r\n:2\r\n|1\r\n+ttl\r\n:3600\r\n:3\r\n');
    const out = feedEveryWay(bytes, decoder());
    assert.deepStrictEqual(out.events, [
      { kind: 'attribute', value: new Map<RespValue, RespValue>([['ttl', 3600]]) },
      { kind: 'reply', value: [1, 2, 3], bytes: bytes.length, offset: bytes.length },
    ]);
  });

  test('attributes inside maps and sets, empty attributes, attribute before a push', () => {
    const bytes = wire.concat(
      wire.text('%1\r\n|1\r\n+a\r\n:1\r\n+k\r\n|0\r\n:1\r\n'),
      wire.text('~1\r\n|1\r\n+x\r\n#t\r\n:7\r\n'),
      wire.attribute([]),
      wire.simple('after empty'),
      wire.attribute([[wire.simple('p'), wire.int(1)]]),
      wire.push([wire.bulk('message'), wire.bulk('c'), wire.bulk('m')]),
    );
    const out = feedEveryWay(bytes, decoder());
    assert.deepStrictEqual(
      out.events.map((e) => [e.kind, e.value]),
      [
        ['attribute', new Map<RespValue, RespValue>([['a', 1]])],
        ['attribute', new Map()],
        ['reply', new Map<RespValue, RespValue>([['k', 1]])],
        ['attribute', new Map<RespValue, RespValue>([['x', true]])],
        ['reply', new Set([7])],
        ['attribute', new Map()],
        ['reply', 'after empty'],
        ['attribute', new Map<RespValue, RespValue>([['p', 1]])],
        ['push', ['message', 'c', 'm']],
      ],
    );
    const sizes = out.events.map((e) => (e.kind === 'attribute' ? 0 : e.bytes));
    assert.equal(sizes.reduce((a, b) => a + b, 0), bytes.length);
  });

  test('without onAttribute, attributes are skipped silently', () => {
    const bytes = wire.concat(attrSpec, replySpec);
    const out = feedEveryWay(bytes, decoder({ noAttribute: true }));
    assert.deepStrictEqual(out.events, [{ kind: 'reply', value: [2039123, 9543892], bytes: bytes.length, offset: bytes.length }]);
  });

  test('a decoder that has seen only an attribute is not idle', () => {
    const d = new RespDecoder({ onReply: () => {} });
    d.write(attrSpec);
    assert.equal(d.idle, false);
    d.write(replySpec);
    assert.equal(d.idle, true);
  });
});

describe('RespDecoder state', () => {
  test('offset counts bytes consumed; idle and buffered follow partial input', () => {
    const got: RespValue[] = [];
    const d = new RespDecoder({ onReply: (v) => got.push(v), returnBuffers: true });
    assert.equal(d.offset, 0);
    assert.equal(d.idle, true);
    d.write(wire.text('+OK\r\n:1'));
    assert.equal(d.offset, 5);
    assert.equal(d.idle, false);
    assert.equal(d.buffered, 2);
    d.write(wire.text('2\r\n$5\r\nhel'));
    assert.deepStrictEqual(got, ['OK', 12]);
    assert.equal(d.idle, false);
    assert.equal(d.buffered, 3);
    d.write(wire.text('lo\r\n'));
    assert.deepStrictEqual(got, ['OK', 12, buf('hello')]);
    assert.equal(d.offset, 5 + 5 + 11);
    assert.equal(d.idle, true);
    assert.equal(d.buffered, 0);
  });

  test('empty chunks are harmless anywhere', () => {
    const out = feedChunks(
      [Buffer.alloc(0), wire.text('*2\r\n'), Buffer.alloc(0), wire.text('$3\r\nab'), Buffer.alloc(0), wire.text('c\r\n:1\r\n'), Buffer.alloc(0)],
      decoder(),
    );
    assert.deepStrictEqual(replies(out), [['abc', 1]]);
  });

  test('reset() drops partial state and restarts offsets', () => {
    const got: RespValue[] = [];
    const d = new RespDecoder({ onReply: (v) => got.push(v) });
    d.write(wire.text('*3\r\n:1\r\n$10\r\nabc'));
    d.reset();
    assert.equal(d.idle, true);
    assert.equal(d.offset, 0);
    d.write(wire.text('+fresh\r\n'));
    assert.deepStrictEqual(got, ['fresh']);
    assert.equal(d.offset, 8);
  });

  test('bulk strings inside one chunk are views of it with returnBuffers; spanning ones are joined', () => {
    const got: RespValue[] = [];
    const d = new RespDecoder({ onReply: (v) => got.push(v), returnBuffers: true });
    const chunk = wire.concat(wire.bulk('view'), wire.text('$7\r\nspa'));
    d.write(chunk);
    d.write(wire.text('nned\r\n'));
    const [view, joined] = got as Buffer[];
    assert.equal(view!.buffer, chunk.buffer, 'in-chunk bulk shares memory with the chunk');
    assert.deepStrictEqual(joined, buf('spanned'));
  });

  test('a reply callback may throw without corrupting the decoder', () => {
    const got: RespValue[] = [];
    let fail = true;
    const d = new RespDecoder({
      onReply: (v) => {
        if (fail) {
          fail = false;
          throw new Error('listener bug');
        }
        got.push(v);
      },
    });
    assert.throws(() => d.write(wire.simple('a')), /listener bug/);
    d.write(wire.simple('b'));
    assert.deepStrictEqual(got, ['b']);
  });
});

describe('RespDecoder big inputs', () => {
  /** Counts bytes copied by Buffer.concat while `fn` runs: the decoder's only way to copy input. */
  function countConcat(fn: () => void): number {
    const original = Buffer.concat;
    let copied = 0;
    Buffer.concat = function (list: readonly Uint8Array[], total?: number) {
      const out = original.call(Buffer, list, total);
      copied += out.length;
      return out;
    } as typeof Buffer.concat;
    try {
      fn();
    } finally {
      Buffer.concat = original;
    }
    return copied;
  }

  test('a 100 000-element array in 200 chunks is parsed once, in linear work', () => {
    const n = 100_000;
    const items: Buffer[] = [];
    for (let i = 0; i < n; i++) items.push(i % 2 ? wire.bulk(`value:${i}`) : wire.int(i));
    const bytes = wire.array(items);
    const chunks = fixedChunks(bytes, Math.ceil(bytes.length / 200));
    assert.equal(chunks.length, 200);
    let reply: RespValue[] | undefined;
    let maxBuffered = 0;
    const d = new RespDecoder({ onReply: (v) => (reply = v as RespValue[]) });
    const t0 = performance.now();
    const copied = countConcat(() => {
      for (const c of chunks) {
        d.write(c);
        maxBuffered = Math.max(maxBuffered, d.buffered);
      }
    });
    const ms = performance.now() - t0;
    assert.equal(reply!.length, n);
    assert.equal(reply![99_999], 'value:99999');
    assert.equal(reply![50_000], 50_000);
    // Only the one unfinished element is carried between chunks: never the array's start.
    assert.ok(maxBuffered < 32, `buffered up to ${maxBuffered} bytes`);
    // Each chunk is copied at most once (joined with a few carried bytes): linear, not quadratic.
    assert.ok(copied <= bytes.length + 200 * 32, `copied ${copied} bytes for ${bytes.length}`);
    assert.ok(ms < 5000, `took ${ms} ms`);
  });

  test('a 20 MB bulk string in 64 KiB chunks is joined once', () => {
    const size = 20 * 1024 * 1024;
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) payload[i] = i & 0xff;
    payload[size - 1] = 0x7a;
    const bytes = wire.bulk(payload);
    const got: { v: RespValue; bytes: number }[] = [];
    const d = new RespDecoder({ onReply: (v, n) => got.push({ v, bytes: n }), returnBuffers: true });
    const t0 = performance.now();
    const copied = countConcat(() => {
      for (const c of fixedChunks(bytes, 64 * 1024)) d.write(c);
    });
    const ms = performance.now() - t0;
    assert.equal(got.length, 1);
    const v = got[0]!.v as Buffer;
    assert.equal(v.length, size);
    assert.ok(v.equals(payload));
    assert.equal(got[0]!.bytes, bytes.length);
    assert.ok(copied <= size + 2 * 64 * 1024, `copied ${copied} bytes for a ${size}-byte value`);
    assert.ok(ms < 5000, `took ${ms} ms`);
  });

  test('a 20 MB bulk string as text', () => {
    const bytes = wire.bulk('x'.repeat(20 * 1024 * 1024));
    const out = feedChunks(fixedChunks(bytes, 64 * 1024), decoder());
    assert.equal((replies(out)[0] as string).length, 20 * 1024 * 1024);
  });
});

describe('RespDecoder malformed input', () => {
  interface Bad {
    name: string;
    bytes: Buffer;
    /** Stream offset the error must point at. */
    offset: number;
    /** The limit option it must name, if a limit was hit. */
    option?: string;
    limits?: Partial<DecoderOptions>;
  }

  /** Feeds chunks until the decoder throws; returns the error (fails if none). */
  function failure(chunks: readonly Buffer[], limits: Partial<DecoderOptions> = {}): ProtocolError {
    const d = new RespDecoder({ ...limits, onReply: () => {}, onPush: () => {} });
    for (const c of chunks) {
      try {
        d.write(c);
      } catch (e) {
        assert.ok(e instanceof ProtocolError, `expected a ProtocolError, got ${String(e)}`);
        // The decoder is poisoned: the same error again, until reset().
        assert.throws(() => d.write(wire.simple('OK')), (again) => again === e);
        assert.throws(() => d.write(Buffer.alloc(0)), (again) => again === e);
        d.reset();
        const after: RespValue[] = [];
        const fresh = new RespDecoder({ onReply: (v) => after.push(v) });
        fresh.write(wire.simple('OK'));
        d.write(wire.simple('OK'));
        assert.deepStrictEqual(after, ['OK']);
        return e;
      }
    }
    assert.fail('no ProtocolError was thrown');
  }

  const bad: Bad[] = [
    { name: 'unknown type byte', bytes: wire.text('?x\r\n'), offset: 0 },
    { name: 'unknown type byte after a reply', bytes: wire.text('+OK\r\n@\r\n'), offset: 5 },
    { name: 'unknown type byte inside an array', bytes: wire.text('*2\r\n:1\r\nZ\r\n'), offset: 8 },
    { name: 'inline command text is not a reply', bytes: wire.text('PING\r\n'), offset: 0 },
    { name: 'length with letters', bytes: wire.text('$1a\r\nx\r\n'), offset: 2 },
    { name: 'length all letters', bytes: wire.text('*abc\r\n'), offset: 1 },
    { name: 'length empty (bulk)', bytes: wire.text('$\r\n'), offset: 1 },
    { name: 'length empty (array)', bytes: wire.text('*\r\n'), offset: 1 },
    { name: 'length with a space', bytes: wire.text('$ 1\r\nx\r\n'), offset: 1 },
    { name: 'length with a plus sign', bytes: wire.text('$+1\r\nx\r\n'), offset: 1 },
    { name: 'negative length -2', bytes: wire.text('$-2\r\n'), offset: 1 },
    { name: 'negative length -10', bytes: wire.text('*-10\r\n'), offset: 1 },
    { name: 'negative length -0', bytes: wire.text('$-0\r\n'), offset: 1 },
    { name: 'bare minus length', bytes: wire.text('$-\r\n'), offset: 1 },
    { name: 'null map is not RESP', bytes: wire.text('%-1\r\n'), offset: 1 },
    { name: 'null set is not RESP', bytes: wire.text('~-1\r\n'), offset: 1 },
    { name: 'null push is not RESP', bytes: wire.text('>-1\r\n'), offset: 1 },
    { name: 'null bulk error is not RESP', bytes: wire.text('!-1\r\n'), offset: 1 },
    { name: 'null verbatim is not RESP', bytes: wire.text('=-1\r\n'), offset: 1 },
    { name: 'length with too many digits', bytes: wire.text('$1234567890123456\r\n'), offset: 1 },
    { name: 'streamed string ($?) is not supported', bytes: wire.text('$?\r\n;4\r\nHell\r\n;0\r\n'), offset: 1 },
    { name: 'streamed aggregate (*?) is not supported', bytes: wire.text('*?\r\n:1\r\n.\r\n'), offset: 1 },
    // Limits: named, and checked on the header, before any payload arrives.
    { name: 'bulk over maxBulkLength', bytes: wire.text('$11\r\n'), offset: 0, option: 'maxBulkLength', limits: { maxBulkLength: 10 } },
    { name: 'bulk error over maxBulkLength', bytes: wire.text('*1\r\n!11\r\n'), offset: 4, option: 'maxBulkLength', limits: { maxBulkLength: 10 } },
    { name: 'verbatim over maxBulkLength', bytes: wire.text('=11\r\n'), offset: 0, option: 'maxBulkLength', limits: { maxBulkLength: 10 } },
    { name: 'huge bulk header over the default limit', bytes: wire.text('$999999999999\r\n'), offset: 0, option: 'maxBulkLength' },
    { name: 'array over maxAggregateLength', bytes: wire.text('*11\r\n'), offset: 0, option: 'maxAggregateLength', limits: { maxAggregateLength: 10 } },
    { name: 'map over maxAggregateLength', bytes: wire.text('%6\r\n'), offset: 0, option: 'maxAggregateLength', limits: { maxAggregateLength: 5 } },
    { name: 'nested set over maxAggregateLength', bytes: wire.text('*1\r\n~6\r\n'), offset: 4, option: 'maxAggregateLength', limits: { maxAggregateLength: 5 } },
    { name: 'huge array header over the default limit', bytes: wire.text('*999999999999\r\n'), offset: 0, option: 'maxAggregateLength' },
    {
      name: 'nesting deeper than maxDepth',
      bytes: wire.text('*1\r\n%1\r\n~1\r\n>1\r\n:1\r\n'),
      offset: 12,
      option: 'maxDepth',
      limits: { maxDepth: 3 },
    },
    { name: 'nesting deeper than the default maxDepth', bytes: wire.text('*1\r\n'.repeat(129) + ':1\r\n'), offset: 128 * 4, option: 'maxDepth' },
    { name: 'simple string longer than maxLineLength', bytes: wire.text('*1\r\n+' + 'a'.repeat(200) + '\r\n'), offset: 4, option: 'maxLineLength', limits: { maxLineLength: 100 } },
    { name: 'error line longer than maxLineLength', bytes: wire.text('-' + 'E'.repeat(200) + '\r\n'), offset: 0, option: 'maxLineLength', limits: { maxLineLength: 100 } },
    // Garbage where CRLF must be
    { name: 'CR not followed by LF', bytes: wire.text('+OK\rX\n'), offset: 4 },
    { name: 'CR not followed by LF in a length line', bytes: wire.text('$3\rX\nabc\r\n'), offset: 3 },
    { name: 'CR not followed by LF in an integer', bytes: wire.text(':12\r\r\n'), offset: 4 },
    { name: 'bulk payload longer than announced', bytes: wire.text('$3\r\nfooX\r\n'), offset: 7 },
    { name: 'bulk payload not followed by CRLF', bytes: wire.text('$3\r\nfoo\rX'), offset: 7 },
    { name: 'bulk payload followed by LF CR', bytes: wire.text('$3\r\nfoo\n\r'), offset: 7 },
    { name: 'bulk payload CR then garbage, inside an array', bytes: wire.text('*2\r\n:1\r\n$1\r\nx\rY'), offset: 13 },
    // Bad scalars
    { name: 'empty integer', bytes: wire.text(':\r\n'), offset: 0 },
    { name: 'integer sign only', bytes: wire.text(':-\r\n'), offset: 0 },
    { name: 'integer with a letter', bytes: wire.text(':12a\r\n'), offset: 3 },
    { name: 'integer with a decimal point', bytes: wire.text(':1.5\r\n'), offset: 2 },
    { name: 'long integer with a letter', bytes: wire.text(':1234567890123456x\r\n'), offset: 17 },
    { name: 'integer beyond 64 bits', bytes: wire.text(':123456789012345678901\r\n'), offset: 0 },
    { name: 'boolean other than t/f', bytes: wire.text('#x\r\n'), offset: 0 },
    { name: 'boolean too long', bytes: wire.text('#tt\r\n'), offset: 0 },
    { name: 'boolean empty', bytes: wire.text('#\r\n'), offset: 0 },
    { name: 'null with bytes', bytes: wire.text('_x\r\n'), offset: 1 },
    { name: 'double empty', bytes: wire.text(',\r\n'), offset: 0 },
    { name: 'double letters', bytes: wire.text(',abc\r\n'), offset: 0 },
    { name: 'double two points', bytes: wire.text(',1.2.3\r\n'), offset: 0 },
    { name: 'double hex', bytes: wire.text(',0x10\r\n'), offset: 0 },
    { name: 'double Infinity spelled out', bytes: wire.text(',Infinity\r\n'), offset: 0 },
    { name: 'double with spaces', bytes: wire.text(', 1\r\n'), offset: 0 },
    { name: 'big number empty', bytes: wire.text('(\r\n'), offset: 0 },
    { name: 'big number with a letter', bytes: wire.text('(12a\r\n'), offset: 0 },
    { name: 'verbatim without format', bytes: wire.text('=3\r\nabc\r\n'), offset: 0 },
    { name: 'verbatim without colon', bytes: wire.text('=6\r\ntxtabc\r\n'), offset: 0 },
    { name: 'verbatim without format, after a reply', bytes: wire.text('+OK\r\n*1\r\n=3\r\nabc\r\n'), offset: 9 },
  ];

  for (const c of bad) {
    test(c.name, () => {
      const whole = failure([Buffer.from(c.bytes)], c.limits);
      assert.equal(whole.code, 'ERR_RESP_PROTOCOL');
      assert.equal(whole.name, 'ProtocolError');
      assert.equal(typeof whole.offset, 'number');
      assert.equal(whole.offset, c.offset, `offset (${whole.message})`);
      assert.equal(whole.option, c.option);
      assert.match(whole.message, new RegExp(`at byte ${c.offset}$`));
      if (c.option) assert.match(whole.message, new RegExp(c.option));
      // The same error at the same byte however the input is cut.
      const ways = [...(c.bytes.length <= 64 ? [...Array(c.bytes.length + 1).keys()].map((i) => [c.bytes.subarray(0, i), c.bytes.subarray(i)]) : []), [...c.bytes].map((x) => Buffer.from([x]))];
      for (const chunks of ways) {
        const e = failure(chunks.map((x) => Buffer.from(x)), c.limits);
        assert.equal(e.offset, c.offset, `offset when fed as ${chunks.map((x) => x.length).join('+')}`);
        assert.equal(e.option, c.option);
      }
    });
  }

  test('a line without CRLF never grows past maxLineLength', () => {
    const d = new RespDecoder({ onReply: () => {}, maxLineLength: 1000 });
    d.write(wire.text('+'));
    let thrown: unknown;
    for (let i = 0; i < 10_000 && !thrown; i++) {
      try {
        d.write(Buffer.alloc(7, 0x61));
        assert.ok(d.buffered <= 1000 + 1 + 7, `buffered ${d.buffered}`);
      } catch (e) {
        thrown = e;
      }
    }
    assert.ok(thrown instanceof ProtocolError);
    assert.equal(thrown.option, 'maxLineLength');
    assert.equal(thrown.offset, 0);
  });

  test('a length line without CRLF never grows past maxLineLength (default limit)', () => {
    const d = new RespDecoder({ onReply: () => {} });
    d.write(wire.text('*1\r\n$'));
    let thrown: unknown;
    for (let i = 0; i < 1000 && !thrown; i++) {
      try {
        d.write(Buffer.alloc(1024, 0x31));
      } catch (e) {
        thrown = e;
      }
    }
    assert.ok(thrown instanceof ProtocolError);
    assert.equal(thrown.option, 'maxLineLength');
    assert.equal(thrown.offset, 4);
    assert.ok(d.buffered <= 64 * 1024 + 1024 + 8);
  });

  test('an oversized bulk header fails before its payload is awaited or allocated', () => {
    const before = process.memoryUsage().arrayBuffers;
    const d = new RespDecoder({ onReply: () => {}, maxBulkLength: 4 });
    assert.throws(() => d.write(wire.text('$5\r\n')), (e: unknown) => e instanceof ProtocolError && e.option === 'maxBulkLength');
    const d2 = new RespDecoder({ onReply: () => {} });
    assert.throws(() => d2.write(wire.text('$999999999999\r\n')), (e: unknown) => e instanceof ProtocolError && /maxBulkLength/.test(e.message));
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024);
  });

  test('error messages never include reply bytes', () => {
    const e = failure([wire.text('$3\r\nsecretXY')]);
    assert.doesNotMatch(e.message, /secret/);
  });
});

describe('RespDecoder fast paths agree with the full checks', () => {
  test('a tiny maxLineLength applies to headers and integers however they arrive', () => {
    for (const bytes of [wire.text('$123\r\n'), wire.text('*123\r\n'), wire.text(':12345\r\n'), wire.text(':-1234\r\n')]) {
      for (const chunks of [[bytes], [bytes.subarray(0, 3), bytes.subarray(3)]]) {
        const d = new RespDecoder({ onReply: () => {}, maxLineLength: 3, maxBulkLength: 1e6 });
        assert.throws(
          () => chunks.forEach((c) => d.write(Buffer.from(c))),
          (e: unknown) => e instanceof ProtocolError && e.option === 'maxLineLength',
          bytes.toString(),
        );
      }
    }
  });

  test('integers of 15 and 16 digits, signs and leading zeros, in one chunk and cut', () => {
    const lines = [':999999999999999', ':-999999999999999', ':1000000000000000', ':+15', ':-0', ':00', ':-000000000000000', ':9007199254740993'];
    const expected: RespValue[] = [999999999999999, -999999999999999, 1000000000000000, 15, 0, 0, 0, 9007199254740993n];
    const bytes = wire.text(lines.map((l) => l + '\r\n').join(''));
    assert.deepStrictEqual(replies(feedEveryWay(bytes, decoder())), expected);
  });

  test('lines longer than the JS scan window still find their CR', () => {
    const long = 'x'.repeat(31) + 'y'.repeat(40);
    for (const s of ['', 'a', 'x'.repeat(30), 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(33), long]) {
      assert.deepStrictEqual(replies(feedEveryWay(wire.concat(wire.simple(s), wire.error(`E${s}`), wire.simple('z')), decoder())), [s, err(`E${s}`), 'z']);
    }
  });
});
