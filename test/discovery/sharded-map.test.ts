/** ShardedMap behaves as a Map for any sequence of sets and deletes (random model check). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ShardedMap } from '../../src/discovery/sharded-map.js';
import { assertSameAsMap, mapOp, runOps } from '../support/map-model.js';

test('any sequence of set / delete / get / clear leaves the same contents as a Map', () => {
  fc.assert(
    fc.property(fc.array(mapOp(fc.string({ maxLength: 6 })), { maxLength: 300 }), (ops) => {
      const model = new Map<string, number>();
      const m = new ShardedMap<number>(16);
      runOps(m, model, ops);
      assertSameAsMap(m, model);
      const values: number[] = [];
      m.forEachValue((v) => values.push(v));
      assert.deepEqual(values.sort(), [...model.values()].sort());
    }),
    { numRuns: 300 },
  );
});

test('ids spread over the shards, so no one table holds the whole grid', () => {
  const m = new ShardedMap<number>(16);
  for (let i = 0; i < 1000; i++) m.set(`host-${i % 7}:${1000 + i}:${(i * 2654435761) % 1e6}`, i);
  const sizes = m.shardSizes();
  assert.equal(sizes.length, 16);
  assert.equal(sizes.reduce((a, b) => a + b, 0), 1000);
  assert.ok(Math.max(...sizes) < 1000 / 8, `largest shard ${Math.max(...sizes)} of 1000`);
});
