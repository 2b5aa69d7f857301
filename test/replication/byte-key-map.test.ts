/**
 * ByteKeyMap behaves as a Map of binary strings for any sequence of sets, deletes and clears (random
 * model check, with keys from a small alphabet so they collide, and long keys), across table rebuilds,
 * slot pages and arena compaction; it refuses keys that are not binary strings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteKeyMap } from '../../src/replication/targets/memory/byte-key-map.js';
import { assertSameAsMap, mapOp, runOps } from '../support/map-model.js';

const binaryKey = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', 'b', '\x00', '\xff', 'é'), maxLength: 5 }),
  fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('latin1')),
);

test('any sequence of set / delete / get / clear leaves the same contents as a Map', () => {
  fc.assert(
    fc.property(fc.array(mapOp(binaryKey), { maxLength: 400 }), (ops) => {
      const model = new Map<string, number>();
      const m = new ByteKeyMap<number>();
      runOps(m, model, ops);
      assertSameAsMap(m, model);
    }),
    { numRuns: 300 },
  );
});

test('many keys: table rebuilds, several slot pages, slots reused after deletes, compaction of the key bytes', () => {
  const m = new ByteKeyMap<number>();
  const model = new Map<string, number>();
  const key = (i: number) => `key:${i}:${'x'.repeat(i % 50)}`;
  for (let i = 0; i < 60_000; i++) {
    m.set(key(i), i);
    model.set(key(i), i);
  }
  assertSameAsMap(m, model);
  const before = m.bytes;
  assert.ok(before.chunks >= 2, 'several chunks of key bytes');
  // Delete most of them: the dead bytes outweigh the live ones and the chunks are rewritten.
  for (let i = 0; i < 60_000; i++) {
    if (i % 10 === 0) continue;
    assert.ok(m.delete(key(i)));
    model.delete(key(i));
  }
  assertSameAsMap(m, model);
  assert.ok(m.bytes.live < before.live / 5);
  assert.ok(m.bytes.dead < m.bytes.live + 4 * (1 << 20) + 1, `compacted: ${JSON.stringify(m.bytes)}`);
  // Freed slots are used again, and the map still agrees.
  for (let i = 0; i < 20_000; i++) {
    m.set(`again:${i}`, -i);
    model.set(`again:${i}`, -i);
  }
  assertSameAsMap(m, model);
});

test('keys of any length, big ones in buffers of their own; deleting during a walk', () => {
  const m = new ByteKeyMap<string>();
  const big = Buffer.alloc(3 << 20, 0xab).toString('latin1');
  m.set(big, 'big');
  m.set('', 'empty');
  m.set('small', 'small');
  assert.equal(m.get(big), 'big');
  assert.equal(m.get(big.slice(1)), undefined);
  assert.equal(m.get(''), 'empty');
  for (const [k] of m) if (k !== 'small') m.delete(k);
  assert.deepEqual([...m], [['small', 'small']]);
});

test('a key with a character above 255 is refused, and the map is unchanged', () => {
  const m = new ByteKeyMap<number>();
  m.set('a', 1);
  assert.throws(() => m.set('€', 2), RangeError);
  assert.equal(m.get('€'), undefined);
  assert.equal(m.has('€'), false);
  assert.equal(m.delete('€'), false);
  assert.deepEqual([...m], [['a', 1]]);
});

test('replace gives the value a key had, take removes a key and gives its value', () => {
  const m = new ByteKeyMap<number>();
  assert.equal(m.replace('a', 1), undefined);
  assert.equal(m.replace('a', 2), 1);
  assert.equal(m.take('a'), 2);
  assert.equal(m.take('a'), undefined);
  assert.equal(m.size, 0);
  assert.deepEqual([...m], []);
});
