/** ShardedMap behaves as a Map for any sequence of sets and deletes (random model check). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ShardedMap } from '../../src/discovery/sharded-map.js';

test('any sequence of set / delete / clear leaves the same contents as a Map', () => {
  const op = fc.oneof(
    fc.record({ k: fc.constant('set' as const), key: fc.string({ maxLength: 6 }), v: fc.integer() }),
    fc.record({ k: fc.constant('delete' as const), key: fc.string({ maxLength: 6 }) }),
    fc.record({ k: fc.constant('clear' as const) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const model = new Map<string, number>();
      const m = new ShardedMap<number>(16);
      for (const o of ops) {
        if (o.k === 'set') {
          model.set(o.key, o.v);
          m.set(o.key, o.v);
        } else if (o.k === 'delete') {
          assert.equal(m.delete(o.key), model.delete(o.key));
        } else {
          model.clear();
          m.clear();
        }
        assert.equal(m.size, model.size);
      }
      const byKey = (a: [string, number], b: [string, number]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
      assert.deepEqual([...m].sort(byKey), [...model].sort(byKey));
      for (const [key, v] of model) {
        assert.equal(m.get(key), v);
        assert.ok(m.has(key));
      }
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
