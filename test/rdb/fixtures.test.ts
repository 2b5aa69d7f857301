/**
 * Every fixture in ../shared/rdb-fixtures parses the same way whole, byte by byte (small files) and
 * in random chunks; negative fixtures fail with the right code at the same offset in every mode.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allFixtures, fixture, normalize, parseBuffer, keys } from './helpers.js';

/** Fixtures that must fail, with the code (and for some, the offset) of the failure. */
const NEGATIVE: Record<string, { code: string; offset?: number; keysBefore?: number }> = {
  'node-rdb-tools/error_reporting.rdb': { code: 'ERR_RDB_BAD_LENGTH', offset: 49 },
  'redis/corrupt_ziplist.rdb': { code: 'ERR_RDB_INTEGRITY', keysBefore: 15 },
  'redis-librdb/invalid_chksum_v8.rdb': { code: 'ERR_RDB_CHECKSUM', offset: 201, keysBefore: 3 },
  'redis-librdb/future_v19.rdb': { code: 'ERR_RDB_UNSUPPORTED_VERSION', offset: 0 },
  'redis-librdb/redis_ent_opcode_ram_lru.rdb': { code: 'ERR_RDB_UNKNOWN_TYPE', offset: 280 },
  'redis-replicator/module.rdb': { code: 'ERR_RDB_UNKNOWN_TYPE', offset: 1262, keysBefore: 17 },
};

const files = allFixtures();

test('the fixture set is present', () => {
  assert.ok(files.length >= 75, `expected the shared fixtures next to the checkout, found ${files.length}`);
});

for (const name of files) {
  test(`fixture ${name}: same events whole, byte by byte and in random chunks`, () => {
    const data = fixture(name);
    const whole = parseBuffer(data);
    const neg = NEGATIVE[name];
    if (neg) {
      assert.ok(whole.error, `${name} should fail`);
      assert.equal(whole.error.code, neg.code, whole.error.message);
      assert.equal(whole.error.name, 'RdbError');
      assert.ok(typeof whole.error.offset === 'number' && whole.error.offset >= 0);
      if (neg.offset !== undefined) assert.equal(whole.error.offset, neg.offset);
      if (neg.keysBefore !== undefined) assert.equal(keys(whole.events).length, neg.keysBefore);
    } else {
      assert.equal(whole.error, undefined, whole.error?.message);
      assert.equal(whole.events.at(-1)?.kind, 'end');
      assert.equal(whole.events[0]?.kind, 'header');
    }
    const expected = normalize(whole.events);
    // The large chunkings exercise the reader's bridges (a short tail joined with the start of a big chunk).
    const modes = [{ seed: 1, max: 7 }, { seed: 2, max: 300 }, { seed: 3, max: 5000 }, { seed: 4, max: 40_000 }, { seed: 5, max: 300_000 }] as const;
    for (const mode of data.length <= 64 * 1024 ? ['bytes' as const, ...modes] : modes) {
      const got = parseBuffer(data, {}, mode);
      assert.deepEqual(normalize(got.events), expected, `events differ with chunking ${JSON.stringify(mode)}`);
      assert.equal(got.error?.code, whole.error?.code);
      if (neg?.code !== 'ERR_RDB_CHECKSUM') assert.equal(got.error?.offset, whole.error?.offset);
    }
  });
}
