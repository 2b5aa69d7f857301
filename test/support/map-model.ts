/**
 * What the map model tests share: random set / delete / get / clear operations, applied to a
 * map-like structure and to a Map side by side, and the check that both hold the same (size, entries
 * in any order, get and has of every key).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';

export interface MapLike<V> extends Iterable<[string, V]> {
  readonly size: number;
  get(key: string): V | undefined;
  has(key: string): boolean;
  set(key: string, value: V): unknown;
  delete(key: string): boolean;
  clear(): void;
}

export type MapOp = { k: 'set'; key: string; v: number } | { k: 'delete'; key: string } | { k: 'get'; key: string } | { k: 'clear' };

/** Sets most often, then deletes, some lookups, a rare clear. */
export function mapOp(key: fc.Arbitrary<string>): fc.Arbitrary<MapOp> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.record({ k: fc.constant('set' as const), key, v: fc.integer() }) },
    { weight: 3, arbitrary: fc.record({ k: fc.constant('delete' as const), key }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('get' as const), key }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('clear' as const) }) },
  );
}

/** Applies `ops` to both, comparing every answer and the size after each. */
export function runOps(m: MapLike<number>, model: Map<string, number>, ops: readonly MapOp[]): void {
  for (const o of ops) {
    if (o.k === 'set') {
      model.set(o.key, o.v);
      m.set(o.key, o.v);
    } else if (o.k === 'delete') {
      assert.equal(m.delete(o.key), model.delete(o.key));
    } else if (o.k === 'get') {
      assert.equal(m.get(o.key), model.get(o.key));
      assert.equal(m.has(o.key), model.has(o.key));
    } else {
      model.clear();
      m.clear();
    }
    assert.equal(m.size, model.size);
  }
}

export function assertSameAsMap<V>(m: Pick<MapLike<V>, 'size' | 'get' | 'has'> & Iterable<[string, V]>, model: Map<string, V>): void {
  assert.equal(m.size, model.size);
  const byKey = (a: [string, V], b: [string, V]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  assert.deepEqual([...m].sort(byKey), [...model].sort(byKey));
  for (const [key, v] of model) {
    assert.equal(m.get(key), v);
    assert.ok(m.has(key));
  }
}
