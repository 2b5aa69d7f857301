import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeReply, encodePush, RespDecoder, ReplyError, VerbatimString, type RespValue, type ReplyEncodeOptions } from '../../src/resp/index.js';
import { wire } from '../support/wire.js';

const R3: ReplyEncodeOptions = { resp3: true };
const err = (s: string) => new ReplyError(s);

function decode(bytes: Buffer, returnBuffers = false): { replies: RespValue[]; pushes: RespValue[][] } {
  const replies: RespValue[] = [];
  const pushes: RespValue[][] = [];
  const d = new RespDecoder({ returnBuffers, onReply: (v) => replies.push(v), onPush: (v) => pushes.push(v) });
  d.write(bytes);
  assert.equal(d.idle, true, 'the encoding is one complete reply');
  return { replies, pushes };
}

interface Case {
  name: string;
  value: RespValue;
  resp2: Buffer;
  resp3: Buffer;
  /** What the RESP2 bytes decode to, when not the value itself. */
  back2?: RespValue;
  /** What the RESP3 bytes decode to, when not the value itself. */
  back3?: RespValue;
}

const cases: Case[] = [
  { name: 'null', value: null, resp2: wire.nullBulk(), resp3: wire.null() },
  { name: 'string', value: 'hello', resp2: wire.bulk('hello'), resp3: wire.bulk('hello') },
  { name: 'empty string', value: '', resp2: wire.bulk(''), resp3: wire.bulk('') },
  { name: 'multibyte string', value: 'é😀', resp2: wire.bulk('é😀'), resp3: wire.bulk('é😀') },
  { name: 'string with CRLF', value: 'a\r\nb', resp2: wire.bulk('a\r\nb'), resp3: wire.bulk('a\r\nb') },
  { name: 'Buffer', value: Buffer.from([0, 0xff, 0x0d]), resp2: wire.bulk(Buffer.from([0, 0xff, 0x0d])), resp3: wire.bulk(Buffer.from([0, 0xff, 0x0d])), back2: Buffer.from([0, 0xff, 0x0d]).toString(), back3: Buffer.from([0, 0xff, 0x0d]).toString() },
  { name: 'integer', value: 42, resp2: wire.int(42), resp3: wire.int(42) },
  { name: 'negative integer', value: -7, resp2: wire.int(-7), resp3: wire.int(-7) },
  { name: 'max safe integer', value: 2 ** 53 - 1, resp2: wire.int('9007199254740991'), resp3: wire.int('9007199254740991') },
  // An unsafe integral number has no exact integer text in String(); RESP3 sends it as a double.
  { name: '2^60 as a number', value: 2 ** 60, resp2: wire.int('1152921504606846976'), resp3: wire.double('1152921504606847000'), back2: 2n ** 60n },
  { name: '1e21 as a number', value: 1e21, resp2: wire.bulk('1e+21'), resp3: wire.double('1e+21'), back2: '1e+21' },
  { name: 'double', value: 1.5, resp2: wire.bulk('1.5'), resp3: wire.double('1.5'), back2: '1.5' },
  { name: 'tiny double', value: 5e-324, resp2: wire.bulk('5e-324'), resp3: wire.double('5e-324'), back2: '5e-324' },
  { name: 'inf', value: Infinity, resp2: wire.bulk('Infinity'), resp3: wire.double('inf'), back2: 'Infinity' },
  { name: '-inf', value: -Infinity, resp2: wire.bulk('-Infinity'), resp3: wire.double('-inf'), back2: '-Infinity' },
  { name: 'nan', value: NaN, resp2: wire.bulk('NaN'), resp3: wire.double('nan'), back2: 'NaN' },
  { name: '-0', value: -0, resp2: wire.int(0), resp3: wire.double('-0'), back2: 0 },
  { name: 'bigint', value: 2n ** 64n - 1n, resp2: wire.int('18446744073709551615'), resp3: wire.bigNumber('18446744073709551615') },
  { name: 'small bigint', value: 5n, resp2: wire.int(5), resp3: wire.bigNumber('5'), back2: 5 },
  { name: 'true', value: true, resp2: wire.int(1), resp3: wire.bool(true), back2: 1 },
  { name: 'false', value: false, resp2: wire.int(0), resp3: wire.bool(false), back2: 0 },
  { name: 'error', value: err('ERR bad'), resp2: wire.error('ERR bad'), resp3: wire.error('ERR bad') },
  { name: 'MOVED error', value: err('MOVED 12182 127.0.0.1:7002'), resp2: wire.error('MOVED 12182 127.0.0.1:7002'), resp3: wire.error('MOVED 12182 127.0.0.1:7002') },
  // RESP2 has no bulk errors: CR/LF become spaces, as Redis does.
  { name: 'error with CRLF', value: err('ERR a\r\nb'), resp2: wire.error('ERR a  b'), resp3: wire.bulkError('ERR a\r\nb'), back2: err('ERR a  b') },
  { name: 'verbatim', value: new VerbatimString('txt', 'Some string'), resp2: wire.bulk('Some string'), resp3: wire.verbatim('txt', 'Some string'), back2: 'Some string' },
  { name: 'empty array', value: [], resp2: wire.array([]), resp3: wire.array([]) },
  {
    name: 'nested array',
    value: [1, ['a', null], []],
    resp2: wire.array([wire.int(1), wire.array([wire.bulk('a'), wire.nullBulk()]), wire.array([])]),
    resp3: wire.array([wire.int(1), wire.array([wire.bulk('a'), wire.null()]), wire.array([])]),
  },
  {
    name: 'map',
    value: new Map<RespValue, RespValue>([
      ['a', 1],
      ['b', [true]],
    ]),
    resp2: wire.array([wire.bulk('a'), wire.int(1), wire.bulk('b'), wire.array([wire.int(1)])]),
    resp3: wire.map([
      [wire.bulk('a'), wire.int(1)],
      [wire.bulk('b'), wire.array([wire.bool(true)])],
    ]),
    back2: ['a', 1, 'b', [1]],
  },
  { name: 'empty map', value: new Map(), resp2: wire.array([]), resp3: wire.map([]), back2: [] },
  { name: 'set', value: new Set<RespValue>(['x', 2]), resp2: wire.array([wire.bulk('x'), wire.int(2)]), resp3: wire.set([wire.bulk('x'), wire.int(2)]), back2: ['x', 2] },
];

describe('encodeReply', () => {
  for (const c of cases) {
    test(c.name, () => {
      assert.deepStrictEqual(encodeReply(c.value), c.resp2, 'RESP2 bytes');
      assert.deepStrictEqual(encodeReply(c.value, R3), c.resp3, 'RESP3 bytes');
      assert.deepStrictEqual(decode(c.resp2).replies, ['back2' in c ? c.back2 : c.value], 'RESP2 decodes back');
      assert.deepStrictEqual(decode(c.resp3).replies, ['back3' in c ? c.back3 : c.value], 'RESP3 decodes back');
    });
  }

  test('simple: strings without CR/LF as simple strings', () => {
    assert.deepStrictEqual(encodeReply('OK', { simple: true }), wire.simple('OK'));
    assert.deepStrictEqual(encodeReply('', { simple: true }), wire.simple(''));
    assert.deepStrictEqual(encodeReply('a\nb', { simple: true }), wire.bulk('a\nb'));
    assert.deepStrictEqual(encodeReply(['QUEUED', 'x\r'], { simple: true, resp3: true }), wire.array([wire.simple('QUEUED'), wire.bulk('x\r')]));
    assert.deepStrictEqual(encodeReply(Buffer.from('OK'), { simple: true }), wire.bulk('OK'));
  });

  test('Buffers decode back as Buffers with returnBuffers', () => {
    const v = [Buffer.from([1, 2, 3]), new Map<RespValue, RespValue>([[Buffer.from('k'), Buffer.alloc(0)]])];
    assert.deepStrictEqual(decode(encodeReply(v, R3), true).replies, [v]);
  });

  test('unsupported values throw a TypeError', () => {
    for (const bad of [undefined, {}, () => 1, Symbol('x')]) {
      assert.throws(() => encodeReply(bad as unknown as RespValue), TypeError);
      assert.throws(() => encodeReply([1, bad] as unknown as RespValue, R3), TypeError);
    }
  });
});

describe('encodePush', () => {
  test('RESP3: a push frame that the decoder routes to onPush', () => {
    const bytes = encodePush(['message', 'ch', Buffer.from('payload')], R3);
    assert.deepStrictEqual(bytes, wire.push([wire.bulk('message'), wire.bulk('ch'), wire.bulk('payload')]));
    assert.deepStrictEqual(decode(bytes), { replies: [], pushes: [['message', 'ch', 'payload']] });
  });

  test('RESP2: a plain array, as Redis sends pub/sub messages', () => {
    const bytes = encodePush(['message', 'ch', 'payload']);
    assert.deepStrictEqual(bytes, wire.array([wire.bulk('message'), wire.bulk('ch'), wire.bulk('payload')]));
    assert.deepStrictEqual(decode(bytes), { replies: [['message', 'ch', 'payload']], pushes: [] });
  });

  test('empty push', () => {
    assert.deepStrictEqual(encodePush([], R3), wire.push([]));
    assert.deepStrictEqual(decode(encodePush([], R3)).pushes, [[]]);
  });
});
