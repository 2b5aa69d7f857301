/**
 * The `encoded` option: compact encodings handed over undecoded, and decodeEncoded() giving back
 * exactly what a decoding parse delivers, for every fixture and chunking.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEncoded, RdbError, type RdbEvent, type RdbKeyEvent } from '../../src/rdb/index.js';
import { allFixtures, fixture, keys, logicalDataset, parseBuffer, text } from './helpers.js';

/** Key events with `encoded` turned back into `value`. */
function decoded(events: RdbEvent[]): RdbEvent[] {
  return events.map((ev) => {
    if (ev.kind !== 'key' || !ev.encoded) return ev;
    return { ...ev, value: decodeEncoded(ev.encoded, ev), encoded: undefined } as RdbKeyEvent;
  });
}

// Fixtures whose corruption sits inside a blob are checked below; the others fail the same way.
const BLOB_CORRUPT = new Set(['redis/corrupt_ziplist.rdb']);

for (const name of allFixtures()) {
  if (BLOB_CORRUPT.has(name)) continue;
  test(`encoded ${name}: decodeEncoded() equals the decoding parse, whole and in random chunks`, () => {
    const data = fixture(name);
    const plain = parseBuffer(data);
    const expected = logicalDataset(plain.events);
    for (const chunking of ['whole', { seed: 7, max: 13 }, { seed: 8, max: 4000 }] as const) {
      const got = parseBuffer(data, { encoded: true }, chunking);
      assert.equal(got.error?.code, plain.error?.code);
      assert.deepEqual(logicalDataset(decoded(got.events)), expected, `chunking ${JSON.stringify(chunking)}`);
      for (const k of keys(got.events)) {
        // Encoded events carry no decoded value; every other key is as before.
        if (k.encoded) assert.equal(k.value, undefined);
      }
    }
  });
}

test('encoded: which types stay encoded (listpacks, intsets, quicklist nodes) and which are decoded', () => {
  const events = keys(parseBuffer(fixture('generated-redis-7.0.15/gen_types_v10.rdb'), { encoded: true }).events);
  const byType = new Map<string, boolean>();
  for (const k of events) byType.set(`${k.type}:${k.rdbType}`, k.encoded !== undefined);
  for (const [t, enc] of byType) {
    const rdbType = Number(t.split(':')[1]);
    // 0 string, 2 set (hashtable), 3/5 zset skiplist, 4 hash (hashtable), 15/19/21 streams: decoded.
    const expectEncoded = ![0, 1, 2, 3, 4, 5, 15, 19, 21, 7].includes(rdbType);
    assert.equal(enc, expectEncoded, t);
  }
  assert.ok([...byType.values()].some((x) => x), 'some keys stay encoded');
});

test('encoded: quicklists in parts by node count, each part decodes to its share of the items', () => {
  const file = fixture('generated-redis-7.0.15/gen_types_v10.rdb');
  const whole = keys(parseBuffer(file).events);
  for (const chunking of ['whole', 'bytes'] as const) {
    const parts = keys(parseBuffer(file, { encoded: true, partItems: 1 }, chunking).events);
    const lists = new Set(parts.filter((k) => k.type === 'list' && k.more).map((k) => text(k.key)));
    assert.ok(lists.size > 0, 'a list of several nodes');
    for (const name of lists) {
      const ps = parts.filter((k) => text(k.key) === name);
      assert.ok(ps.every((p) => p.encoded!.blobs.length <= 1));
      const joined = ps.flatMap((p) => decodeEncoded(p.encoded!) as Buffer[]);
      assert.deepEqual(joined, whole.find((k) => text(k.key) === name)!.value);
    }
  }
});

test('encoded: a corrupt blob is an RdbError at decode time, naming the key', () => {
  const got = parseBuffer(fixture('redis/corrupt_ziplist.rdb'), { encoded: true });
  let failures = 0;
  for (const k of keys(got.events)) {
    if (!k.encoded) continue;
    try {
      decodeEncoded(k.encoded, k);
    } catch (err) {
      failures++;
      assert.ok(err instanceof RdbError);
      assert.equal((err as RdbError).code, 'ERR_RDB_INTEGRITY');
      assert.match((err as Error).message, new RegExp(text(k.key).replace(/[^\w]/g, '.')));
    }
  }
  assert.equal(failures, 1);
  assert.throws(() => decodeEncoded({ rdbType: 18, blobs: [Buffer.from('x')], containers: [9] }), (e: RdbError) => e.code === 'ERR_RDB_INTEGRITY');
  assert.throws(() => decodeEncoded({ rdbType: 0, blobs: [] }), (e: RdbError) => e.code === 'ERR_RDB_INTEGRITY');
});
