/**
 * The pure decoders, on hand-built bytes: every ziplist and listpack encoding, intset widths,
 * zipmap, LZF, stream nodes, CRC-64 and score parsing. Corrupt inputs throw EncodingError with the
 * family's code, never a RangeError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Crc64, crc64Hex } from '../../src/rdb/index.js';
import { EncodingError } from '../../src/rdb/errors.js';
import { lzfDecompress } from '../../src/rdb/encodings/lzf.js';
import { ziplistItems } from '../../src/rdb/encodings/ziplist.js';
import { listpackItems } from '../../src/rdb/encodings/listpack.js';
import { intsetItems } from '../../src/rdb/encodings/intset.js';
import { zipmapItems } from '../../src/rdb/encodings/zipmap.js';
import { streamNodeEntries } from '../../src/rdb/encodings/stream.js';
import { decodeModuleId } from '../../src/rdb/encodings/module.js';
import { scoreFromBytes, type Item } from '../../src/rdb/encodings/numbers.js';
import { listpack } from './rdb-builder.js';

const plain = (items: Item[]) => items.map((x) => (Buffer.isBuffer(x) ? x.toString('latin1') : x));

test('crc64: the check value and chunked updates', () => {
  assert.equal(crc64Hex(Buffer.from('123456789')), 'e9c6d914c4b8d9ca');
  const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 31) & 0xff));
  const c = new Crc64();
  for (let i = 0; i < data.length; i += 7) c.update(data, i, Math.min(i + 7, data.length));
  assert.equal(c.hex(), crc64Hex(data));
});

test('lzf: literals, back references (overlapping and not), corrupt blocks', () => {
  assert.equal(lzfDecompress(Buffer.from([0x02, 0x61, 0x62, 0x63]), 0, 4, 3).toString(), 'abc');
  // 'a' then copy 9 from distance 1 (overlapping run)
  assert.equal(lzfDecompress(Buffer.from([0x00, 0x61, 0xe0, 0x00, 0x00]), 0, 5, 10).toString(), 'a'.repeat(10));
  // 20 literal bytes, then copy 20 from distance 20 (non-overlapping block copy)
  const lit = Buffer.from('abcdefghijklmnopqrst');
  const block = Buffer.concat([Buffer.from([19]), lit, Buffer.from([0xe0, 20 - 2 - 7, 19])]);
  assert.equal(lzfDecompress(block, 0, block.length, 40).toString(), lit.toString().repeat(2));
  const bad = (b: number[], n: number) => assert.throws(() => lzfDecompress(Buffer.from(b), 0, b.length, n), (e: EncodingError) => e.code === 'ERR_RDB_LZF_CORRUPT');
  bad([0x02, 0x61], 3); // literal past the input
  bad([0x02, 0x61, 0x62, 0x63], 2); // past the declared length
  bad([0x20, 0x05], 3); // reference before the start
  bad([0x00, 0x61], 5); // short result
});

test('ziplist: every string and integer encoding', () => {
  const entries = [
    [0x00, 0x03, 0x61, 0x62, 0x63], // 6-bit string 'abc'
    [0x05, 0x40, 0x02, 0x78, 0x79], // 14-bit string 'xy'
    [0x05, 0x80, 0, 0, 0, 1, 0x7a], // 32-bit string 'z'
    [0x07, 0xc0, 0x39, 0x30], // i16 12345
    [0x04, 0xd0, 0xff, 0xff, 0xff, 0x7f], // i32 2^31-1
    [0x06, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0x80], // i64 -2^63
    [0x0a, 0xf0, 0xff, 0xff, 0xff], // i24 -1
    [0x05, 0xfe, 0x80], // i8 -128
    [0x03, 0xf1], // immediate 0
    [0x02, 0xfd], // immediate 12
  ].map((e) => Buffer.from(e));
  const body = Buffer.concat(entries);
  const head = Buffer.alloc(10);
  head.writeUInt32LE(10 + body.length + 1, 0);
  head.writeUInt16LE(entries.length, 8);
  const zl = Buffer.concat([head, body, Buffer.from([0xff])]);
  const out: Item[] = [];
  assert.equal(ziplistItems(zl, 0, zl.length, out), 10);
  assert.deepEqual(plain(out), ['abc', 'xy', 'z', 12345, 2147483647, -(2n ** 63n), -1, -128, 0, 12]);
  // A wrong zllen, a missing terminator, a cut entry: integrity errors, not crashes.
  const wrong = Buffer.from(zl);
  wrong.writeUInt16LE(3, 8);
  assert.throws(() => ziplistItems(wrong, 0, wrong.length, []), (e: EncodingError) => e.code === 'ERR_RDB_INTEGRITY');
  assert.throws(() => ziplistItems(zl, 0, zl.length - 3, []), (e: EncodingError) => e.code === 'ERR_RDB_INTEGRITY');
  // zllen 65535 means "count them"
  const many = Buffer.from(zl);
  many.writeUInt16LE(0xffff, 8);
  assert.equal(ziplistItems(many, 0, many.length, []), 10);
  // zset scores at odd positions come as numbers
  const scored: Item[] = [];
  ziplistItems(zl, 0, zl.length, scored, true);
  assert.ok(Number.isNaN(scored[1]), 'a non-numeric score string parses as NaN, as strtod would fail');
  assert.equal(scored[2]!.toString(), 'z');
  assert.equal(scored[3], 12345);
});

test('listpack: every string and integer encoding, with backlens', () => {
  const e = (enc: number[], data: Buffer | number[] = []) => {
    const body = Buffer.concat([Buffer.from(enc), Buffer.from(data)]);
    const l = body.length;
    const back = l <= 127 ? [l] : [l >> 7, (l & 127) | 128];
    return Buffer.concat([body, Buffer.from(back)]);
  };
  const s200 = Buffer.alloc(200, 0x71);
  const entries = [
    e([0x05]), // 7-bit uint 5
    e([0x83], Buffer.from('abc')), // 6-bit string
    e([0xdf, 0xff]), // 13-bit int -1
    e([0xe0, 200], s200), // 12-bit string of 200 (2-byte backlen)
    e([0xf0, 2, 0, 0, 0], Buffer.from('hi')), // 32-bit string
    e([0xf1, 0x00, 0x80]), // i16 -32768
    e([0xf2, 0xff, 0xff, 0x7f]), // i24 2^23-1
    e([0xf3, 0, 0, 0, 0x80]), // i32 -2^31
    e([0xf4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0]), // i64 2^53-1
  ];
  const body = Buffer.concat(entries);
  const head = Buffer.alloc(6);
  head.writeUInt32LE(6 + body.length + 1, 0);
  head.writeUInt16LE(entries.length, 4);
  const lp = Buffer.concat([head, body, Buffer.from([0xff])]);
  const out: Item[] = [];
  assert.equal(listpackItems(lp, 0, lp.length, out), 9);
  assert.deepEqual(plain(out), [5, 'abc', -1, 'q'.repeat(200), 'hi', -32768, 8388607, -2147483648, 2 ** 53 - 1]);
  const bad = Buffer.from(lp);
  bad.writeUInt32LE(lp.length + 1, 0);
  assert.throws(() => listpackItems(bad, 0, bad.length, []), (err: EncodingError) => err.code === 'ERR_RDB_INTEGRITY');
  const zs: Item[] = [];
  listpackItems(listpack(['m', '1.5', 'n', '-inf']), 0, listpack(['m', '1.5', 'n', '-inf']).length, zs, true);
  assert.deepEqual(plain(zs), ['m', 1.5, 'n', -Infinity]);
});

test('intset: 16, 32 and 64-bit members; bad encodings', () => {
  const make = (width: number, values: bigint[]) => {
    const b = Buffer.alloc(8 + width * values.length);
    b.writeUInt32LE(width, 0);
    b.writeUInt32LE(values.length, 4);
    values.forEach((v, i) => (width === 2 ? b.writeInt16LE(Number(v), 8 + 2 * i) : width === 4 ? b.writeInt32LE(Number(v), 8 + 4 * i) : b.writeBigInt64LE(v, 8 + 8 * i)));
    return b;
  };
  for (const [w, vals] of [[2, [-32768n, 0n, 32767n]], [4, [-(2n ** 31n), 2n ** 31n - 1n]], [8, [-(2n ** 63n), 2n ** 53n, 2n ** 63n - 1n]]] as const) {
    const out: Item[] = [];
    intsetItems(make(w, [...vals]), 0, 8 + w * vals.length, out);
    assert.deepEqual(out.map((x) => BigInt(x as number)), vals);
  }
  assert.throws(() => intsetItems(make(3, []), 0, 8, []), (e: EncodingError) => e.code === 'ERR_RDB_INTEGRITY');
  assert.throws(() => intsetItems(make(2, [1n]), 0, 9, []), (e: EncodingError) => e.code === 'ERR_RDB_INTEGRITY');
});

test('zipmap: short and long lengths, free bytes', () => {
  const long = Buffer.alloc(300, 0x6c);
  const lenBig = Buffer.alloc(5);
  lenBig[0] = 254;
  lenBig.writeUInt32LE(300, 1);
  const zm = Buffer.concat([Buffer.from([2, 1, 0x61, 2, 1, 0x78, 0x79, 0x00]), Buffer.from([1, 0x62]), lenBig, Buffer.from([0]), long, Buffer.from([0xff])]);
  const out: Item[] = [];
  assert.equal(zipmapItems(zm, 0, zm.length, out), 2);
  assert.deepEqual(plain(out), ['a', 'xy', 'b', 'l'.repeat(300)]);
  assert.throws(() => zipmapItems(zm, 0, zm.length - 1, []), (e: EncodingError) => e.code === 'ERR_RDB_INTEGRITY');
});

test('stream node: deltas from the master id, SAMEFIELDS entries, deleted entries skipped', () => {
  const key = Buffer.alloc(16);
  key.writeBigUInt64BE(1000n, 0);
  key.writeBigUInt64BE(5n, 8);
  // master: count 2, deleted 1, 2 fields (a, b), 0; then entries
  const lp = listpack([
    2, 1, 2, 'a', 'b', 0,
    2, 0, 0, 'x1', 'y1', 4, // SAMEFIELDS, id 1000-5
    3, 1, 0, 'x2', 'y2', 4, // SAMEFIELDS|DELETED, id 1001-5
    0, 2, 1, 1, 'c', 'z', 5, // own fields, id 1002-6
  ]);
  const out: { id: string; fields: [Buffer, Buffer][] }[] = [];
  assert.equal(streamNodeEntries(key, lp, out), 2);
  assert.deepEqual(out.map((e) => [e.id, e.fields.map(([f, v]) => `${f}=${v}`)]), [['1000-5', ['a=x1', 'b=y1']], ['1002-6', ['c=z']]]);
  assert.throws(() => streamNodeEntries(key.subarray(0, 8), lp, []), (e: EncodingError) => e.code === 'ERR_RDB_INTEGRITY');
});

test('scores of 16-17 significant digits (Redis < 7.2 writes %.17g) equal Number(), ties included', () => {
  const same = (t: string): void => assert.ok(Object.is(scoreFromBytes(Buffer.from(t), 0, t.length), Number(t)), t);
  fc.assert(
    fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: 16, max: 17 }), (d, p) => {
      same(d.toPrecision(p));
      same((d / 1e6).toPrecision(p));
    }),
    { numRuns: 5000, seed: 2 },
  );
  // Exact binary midpoints with 17 significant digits (round half to even), their neighbours,
  // leading zeros, and integers beyond 2^53.
  for (const t of ['9007199254740993.0', '9007199254740995.0', '9007199254740993.5', '900719925474099.35', '9007199254740993',
    '18014398509481985', '0.00012345678901234567', '-0.10000000000000001', '1.7976931348623157', '123.45000000000000284']) same(t);
});

test('module ids: name and encoding version', () => {
  assert.deepEqual(decodeModuleId(0xb5eb2dfffadd6c01n), { name: 'test__rdb', encver: 1 });
});

test('scores from bytes equal Number() for any decimal text', () => {
  fc.assert(
    fc.property(fc.double({ noNaN: true }), fc.integer({ min: 0, max: 20 }), (d, digits) => {
      for (const t of [String(d), d.toFixed(Math.min(digits, 20)), d.toPrecision(Math.max(1, digits) > 17 ? 17 : Math.max(1, digits))]) {
        const b = Buffer.from(t);
        const want = t === 'Infinity' ? Infinity : t === '-Infinity' ? -Infinity : Number(t);
        assert.ok(Object.is(scoreFromBytes(b, 0, b.length), want), t);
      }
    }),
    { numRuns: 2000, seed: 1 },
  );
  for (const [t, v] of [['inf', Infinity], ['-inf', -Infinity], ['1.7649999999999999', 1.7649999999999999], ['-0', -0], ['12.50', 12.5]] as const) {
    assert.ok(Object.is(scoreFromBytes(Buffer.from(t), 0, t.length), v), t);
  }
});
