/**
 * The parser's contract, on synthetic files: versions and magics no fixture has, encodings of keys
 * and lengths, options (filters, values: false, parts, copies), flow control (pause/resume), the end
 * of the payload in a stream, errors, and parseRdb's async iteration with backpressure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { RdbParser, RdbError, parseRdb, type RdbEvent, type RdbKeyEvent, type StreamValue } from '../../src/rdb/index.js';
import { fixture, keys, parseBuffer, text } from './helpers.js';
import { bytes, f64le, i64le, len, rdbFile, str } from './rdb-builder.js';

const SELECT0 = [0xfe, 0x00];

function only(file: Buffer, opts = {}): RdbKeyEvent {
  const r = parseBuffer(file, opts);
  if (r.error) throw r.error;
  const ks = keys(r.events);
  assert.equal(ks.length, 1);
  return ks[0]!;
}

test('RDB version 1 (no checksum, EXPIRETIME in seconds) and version 5 (first with a CRC)', () => {
  const v1 = rdbFile(1, [SELECT0, [0xfd], i64le(1_300_000_000).subarray(0, 4), [0x00], str('k'), str('v')]);
  const k = only(v1);
  assert.deepEqual([text(k.key), text(k.value as Buffer), k.expiresAt], ['k', 'v', 1_300_000_000_000]);
  const r = parseBuffer(v1);
  assert.deepEqual(r.events.at(-1), { kind: 'end', checksum: null, checksumStatus: 'absent', bytes: v1.length });
  const v5 = rdbFile(5, [SELECT0, [0x00], str('k'), str('v')]);
  assert.equal((parseBuffer(v5).events.at(-1) as { checksumStatus: string }).checksumStatus, 'ok');
  const zero = rdbFile(5, [SELECT0, [0x00], str('k'), str('v')], { checksum: 'zero' });
  assert.equal((parseBuffer(zero).events.at(-1) as { checksumStatus: string }).checksumStatus, 'disabled');
});

test('versions: 12 is the newest known; 13 needs allowNewerVersion; 0 never', () => {
  assert.equal(parseBuffer(rdbFile(12, [])).error, undefined);
  assert.equal(parseBuffer(rdbFile(13, [])).error?.code, 'ERR_RDB_UNSUPPORTED_VERSION');
  assert.equal(parseBuffer(rdbFile(13, []), { allowNewerVersion: true }).error, undefined);
  assert.equal(parseBuffer(rdbFile(0, [])).error?.code, 'ERR_RDB_UNSUPPORTED_VERSION');
  assert.equal(parseBuffer(Buffer.from('REDIS00x1')).error?.code, 'ERR_RDB_WRONG_SIGNATURE');
  // A wrong signature is reported as soon as the first bytes disagree, not at end().
  const p = new RdbParser();
  assert.throws(() => p.write(Buffer.from('GET')), (e: RdbError) => e.code === 'ERR_RDB_WRONG_SIGNATURE' && e.offset === 0);
});

test('Valkey: the VALKEY080 magic and type 22 as HASH_2 (i64 absolute expiry per field, -1 = none)', () => {
  const file = rdbFile(80, [SELECT0, [22], str('h'), len(2), str('f1'), str('v1'), i64le(-1), str('f2'), str('v2'), i64le(4102444800000)], { magic: 'VALKEY' });
  const r = parseBuffer(file);
  assert.equal(r.error, undefined, r.error?.message);
  assert.deepEqual(r.events[0], { kind: 'header', magic: 'VALKEY', version: 80 });
  const k = keys(r.events)[0]!;
  assert.equal(k.type, 'hash');
  assert.deepEqual((k.value as [Buffer, Buffer, number?][]).map((e) => e.map((x) => (Buffer.isBuffer(x) ? text(x) : x))), [['f1', 'v1'], ['f2', 'v2', 4102444800000]]);
  assert.equal(parseBuffer(rdbFile(79, [], { magic: 'VALKEY' })).error?.code, 'ERR_RDB_UNSUPPORTED_VERSION');
  // Types 23-25 mean something else (or nothing) to Valkey: refused, not misread.
  assert.equal(parseBuffer(rdbFile(80, [SELECT0, [25], str('h')], { magic: 'VALKEY' })).error?.code, 'ERR_RDB_UNKNOWN_TYPE');
});

test('keys and values: LZF keys, integer-encoded keys, 32- and 64-bit lengths, every int width', () => {
  // LZF: literal 'a', then a back reference of 9 bytes at distance 1 -> 'a' x 10.
  const lzfKey = bytes([0xc3], len(5), len(10), [0x00, 0x61, 0xe0, 0x00, 0x00]);
  assert.equal(text(only(rdbFile(9, [SELECT0, [0x00], lzfKey, str('v')])).key), 'a'.repeat(10));
  assert.equal(text(only(rdbFile(9, [SELECT0, [0x00], [0xc1, 0x39, 0x30], str('v')])).key), '12345');
  assert.equal(text(only(rdbFile(9, [SELECT0, [0x00], [0xc0, 0x80], [0xc2, 0x00, 0x00, 0x00, 0x80]])).value as Buffer), '-2147483648');
  const k32 = only(rdbFile(9, [SELECT0, [0x00], bytes(len(3, 32), 'abc'), bytes(len(2, 64), 'xy')]));
  assert.deepEqual([text(k32.key), text(k32.value as Buffer)], ['abc', 'xy']);
  // 16-bit and 32-bit lengths for a long value
  const long = 'x'.repeat(20000);
  assert.equal((only(rdbFile(9, [SELECT0, [0x00], str('k'), str(long)])).value as Buffer).length, 20000);
});

test('type 3 zset scores: text, NaN/inf markers; type 5 binary doubles', () => {
  const z = only(rdbFile(6, [SELECT0, [3], str('z'), len(4), str('a'), [3], '1.5', str('b'), [253], str('c'), [254], str('d'), [255]]));
  const scores = (z.value as [Buffer, number][]).map(([m, s]) => [text(m), s]);
  assert.deepEqual(scores.slice(0, 1), [['a', 1.5]]);
  assert.ok(Number.isNaN(scores[1]![1]));
  assert.deepEqual(scores.slice(2), [['c', Infinity], ['d', -Infinity]]);
  const z2 = only(rdbFile(9, [SELECT0, [5], str('z'), len(1), str('m'), f64le(-0.1)]));
  assert.deepEqual((z2.value as [Buffer, number][]).map(([m, s]) => [text(m), s]), [['m', -0.1]]);
});

test('module values: type 7 walked and handed over raw; type 6 refused; unknown module opcode refused', () => {
  // id for 'test__rdb' encver 0 (module.rdb), then UINT 7, STRING 'x', FLOAT, DOUBLE, EOF
  const id = Buffer.from('81b5eb2dfffadd6c00', 'hex');
  const body = bytes([0x02], len(7), [0x05], str('x'), [0x03], [0, 0, 0x80, 0x3f], [0x04], f64le(2), [0x00]);
  const k = only(rdbFile(9, [SELECT0, [7], str('m'), id, body]));
  assert.equal(k.type, 'module');
  const v = k.value as { module: string; encver: number; raw: Buffer };
  assert.equal(v.module, 'test__rdb');
  assert.deepEqual(v.raw, Buffer.concat([id, body]));
  assert.equal(parseBuffer(rdbFile(9, [SELECT0, [6], str('m'), id, body])).error?.code, 'ERR_RDB_UNKNOWN_TYPE');
  const bad = parseBuffer(rdbFile(9, [SELECT0, [7], str('m'), id, [0x09]]));
  assert.equal(bad.error?.code, 'ERR_RDB_UNKNOWN_TYPE');
  assert.equal((bad.error as RdbError).key, 'm');
  assert.equal(parseBuffer(rdbFile(9, [SELECT0, [8], str('m')])).error?.code, 'ERR_RDB_UNKNOWN_TYPE');
});

test('filters: db, key pattern and type skip values without decoding them', () => {
  const file = fixture('generated-redis-7.0.15/gen_types_v10.rdb');
  const names = (opts: object): string[] => keys(parseBuffer(file, opts).events).map((k) => text(k.key)).sort();
  assert.deepEqual(names({ filter: { db: 2 } }), ['db2:key']);
  assert.deepEqual(names({ filter: { db: [0, 2], type: 'stream' } }), ['stream:1']);
  assert.deepEqual(names({ filter: { key: /^zset:/ } }), ['zset:big', 'zset:lp']);
  assert.deepEqual(names({ filter: { type: ['list', 'set'], key: /big|lp/ } }), ['list:lp', 'set:big']);
  assert.deepEqual(names({ skipExpired: 4102444800001 }), names({}).filter((n) => n !== 'str:plain'));
  // values: false still reports every key with its size, and the same sizes
  const full = keys(parseBuffer(file).events);
  const bare = keys(parseBuffer(file, { values: false }).events);
  assert.deepEqual(bare.map((k) => [text(k.key), k.bytes, k.value]), full.map((k) => [text(k.key), k.bytes, undefined]));
});

test('partItems: big collections arrive in additive parts, in every chunking', () => {
  const file = fixture('generated-redis-7.0.15/gen_types_v10.rdb');
  for (const chunking of ['whole', 'bytes'] as const) {
    const r = parseBuffer(file, { partItems: 64 }, chunking);
    const whole = keys(parseBuffer(file).events);
    const parts = keys(r.events);
    for (const name of ['hash:big', 'zset:big', 'set:big']) {
      const ps = parts.filter((k) => text(k.key) === name);
      assert.ok(ps.length > 1, name);
      assert.deepEqual(ps.map((p) => p.part), ps.map((_, i) => i));
      assert.deepEqual(ps.map((p) => p.more), ps.map((_, i) => i < ps.length - 1));
      assert.ok(ps.every((p) => (p.value as unknown[]).length <= 64));
      const joined = ps.flatMap((p) => p.value as unknown[]);
      assert.deepEqual(joined, whole.find((k) => text(k.key) === name)!.value);
      assert.equal(ps.reduce((n, p) => n + p.bytes, 0), whole.find((k) => text(k.key) === name)!.bytes);
    }
  }
  // Streams: entries in parts, metadata and groups with the last part.
  const s = keys(parseBuffer(fixture('redis-replicator/dumpV11.rdb'), { partItems: 2 }).events).filter((k) => k.type === 'stream');
  assert.ok(s.length >= 4);
  const last = s.at(-1)!.value as StreamValue;
  assert.equal(last.groups.length, 6);
  assert.equal(s.flatMap((p) => (p.value as StreamValue).entries).length, 9);
});

test('pause and resume: no events while paused, writes buffered, onDrain after resume', () => {
  const data = fixture('redis-librdb/multiple_lists_strings.rdb');
  const events: RdbEvent[] = [];
  let drained = 0;
  const p = new RdbParser({
    onEvent(ev) {
      events.push(ev);
      if (ev.kind === 'key') p.pause();
    },
    onDrain: () => drained++,
  });
  assert.equal(p.write(data.subarray(0, 100)), true);
  assert.equal(p.write(data.subarray(100)), false);
  let n = keys(events).length;
  assert.equal(n, 1);
  p.end(); // deferred while paused
  while (p.paused) {
    p.resume();
    assert.equal(keys(events).length, ++n > 6 ? 6 : n);
  }
  assert.equal(keys(events).length, 6);
  assert.equal(events.at(-1)!.kind, 'end');
  assert.equal(drained, 1);
});

test('after the end: extra bytes are counted, not parsed; bytesConsumed is the RDB length', () => {
  const rdb = fixture('redis-librdb/single_key.rdb');
  const mark = Buffer.from('0123456789012345678901234567890123456789');
  const events: RdbEvent[] = [];
  const p = new RdbParser({ onEvent: (e) => void events.push(e) });
  p.write(Buffer.concat([rdb, mark.subarray(0, 10)]));
  assert.equal(p.finished, true);
  assert.equal(p.bytesConsumed, rdb.length);
  assert.deepEqual(p.remainder(), mark.subarray(0, 10));
  p.write(mark.subarray(10));
  p.write(Buffer.from('*1\r\n$4\r\nping\r\n'));
  p.end();
  assert.equal(p.trailingBytes, 40 + 14);
  assert.equal(events.filter((e) => e.kind === 'end').length, 1);
});

test('errors: truncation names the element and key; the parser stays failed; consumer errors pass through', () => {
  const data = fixture('redis-librdb/100_lists.rdb');
  const cut = data.subarray(0, 5000);
  const p = new RdbParser();
  p.write(cut);
  assert.throws(() => p.end(), (e: RdbError) => e.code === 'ERR_RDB_TRUNCATED' && e.offset === 5000 && e.element === 'value' && typeof e.key === 'string');
  assert.throws(() => p.write(Buffer.alloc(1)), (e: RdbError) => e.code === 'ERR_RDB_TRUNCATED');
  const boom = new Error('consumer failed');
  const q = new RdbParser({ onEvent(ev) { if (ev.kind === 'key') throw boom; } });
  assert.throws(() => q.write(data), (e) => e === boom);
  assert.throws(() => q.write(data), (e) => e === boom);
});

test('copyBuffers: values do not share memory with the input', () => {
  const data = Buffer.from(fixture('redis-librdb/single_key.rdb'));
  const k = only(data, { copyBuffers: true });
  data.fill(0);
  assert.deepEqual([text(k.key), text(k.value as Buffer)], ['xxx', '111']);
});

test('parseRdb: async iteration over a Readable, with backpressure and early exit', async () => {
  const data = fixture('redis-replicator/dumpV8.rdb');
  let pulled = 0;
  const source = Readable.from((function* () {
    for (let i = 0; i < data.length; i += 65536) {
      pulled++;
      yield data.subarray(i, i + 65536);
    }
  })(), { objectMode: true, highWaterMark: 1 });
  let n = 0;
  for await (const ev of parseRdb(source, { values: false })) {
    if (ev.kind === 'key' && ++n === 1000) break;
  }
  assert.equal(n, 1000);
  assert.ok(pulled < 10, `read ${pulled} chunks for 1000 keys`);
  assert.ok(source.destroyed, 'breaking out of the loop closes the source');
  const all = [];
  for await (const ev of parseRdb(Readable.from([data]))) all.push(ev);
  assert.equal(keys(all).length, 92499);
  // Events before an error are delivered, then the error.
  const got: RdbEvent[] = [];
  await assert.rejects(async () => {
    for await (const ev of parseRdb(Readable.from([fixture('redis-librdb/invalid_chksum_v8.rdb')]))) got.push(ev);
  }, (e: RdbError) => e.code === 'ERR_RDB_CHECKSUM');
  assert.equal(keys(got).length, 3);
});
