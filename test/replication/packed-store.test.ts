/**
 * PackedStore gives back every snapshot value as it was added (type, expiry, one packed string or a
 * list of blobs, and its unpack function) for any sequence of adds, takes, deletes and clears
 * (random model check), across record pages, reused records and compaction of the payload bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PackedStore, type Packed } from '../../src/replication/targets/memory/packed-store.js';
import type { Entry } from '../../src/replication/targets/memory/dataset.js';

const unpackA = (p: string | string[]): Entry['value'] => Buffer.from(String(p), 'latin1');
const unpackB = (p: string | string[]): Entry['value'] => new Set(typeof p === 'string' ? [p] : p);

const latin1 = fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.from(b).toString('latin1'));
const packed: fc.Arbitrary<Packed> = fc.record({
  type: fc.constantFrom('string' as const, 'list' as const, 'set' as const, 'hash' as const, 'zset' as const),
  expiresAt: fc.option(fc.integer({ min: 0, max: 2 ** 45 }), { nil: undefined }),
  // A list of blobs may be empty, or hold empty blobs: both must come back as a list.
  packed: fc.oneof(latin1, fc.array(latin1, { maxLength: 5 })),
  unpack: fc.constantFrom(unpackA, unpackB),
}).map((v) => ({ ...v })); // a plain object, as the store gives back
const key = fc.string({ unit: fc.constantFrom('a', 'b', '\x00', '\xff'), maxLength: 4 });
type Op = { k: 'add'; key: string; v: Packed } | { k: 'take' | 'delete' | 'has'; key: string } | { k: 'clear' };
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant('add' as const), key, v: packed }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constantFrom('take' as const, 'delete' as const, 'has' as const), key }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('clear' as const) }) },
);

function assertSame(store: PackedStore, model: Map<string, Packed>): void {
  assert.equal(store.size, model.size);
  const seen = new Map([...store]);
  assert.equal(seen.size, model.size, 'no key twice in the iteration');
  for (const [k, v] of model) assert.deepEqual(seen.get(k), v);
}

test('any sequence of add / take / delete / has / clear gives back what a Map would', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const store = new PackedStore();
      const model = new Map<string, Packed>();
      for (const o of ops) {
        if (o.k === 'add') {
          store.add(o.key, o.v);
          model.set(o.key, o.v);
        } else if (o.k === 'take') {
          assert.deepEqual(store.take(o.key), model.get(o.key));
          model.delete(o.key);
        } else if (o.k === 'delete') {
          assert.equal(store.delete(o.key), model.delete(o.key));
        } else if (o.k === 'has') {
          assert.equal(store.has(o.key), model.has(o.key));
        } else {
          store.clear();
          model.clear();
        }
      }
      assertSame(store, model);
    }),
    { numRuns: 300 },
  );
});

test('many records: several pages, records reused, payload bytes compacted; big payloads in buffers of their own', () => {
  const store = new PackedStore();
  const model = new Map<string, Packed>();
  const value = (i: number): Packed =>
    i % 3 === 0
      ? { type: 'list', expiresAt: i, packed: [`a${i}`, 'b'.repeat(i % 40)], unpack: unpackB }
      : { type: 'string', expiresAt: undefined, packed: `value:${i}:${'v'.repeat(i % 60)}`, unpack: unpackA };
  for (let i = 0; i < 50_000; i++) {
    store.add(`k${i}`, value(i));
    model.set(`k${i}`, value(i));
  }
  const big: Packed = { type: 'string', expiresAt: undefined, packed: Buffer.alloc(3 << 20, 0xfe).toString('latin1'), unpack: unpackA };
  store.add('big', big);
  model.set('big', big);
  assertSame(store, model);
  const before = store.bytes;
  // Take most of them out, as commands touching the keys would: the bytes left behind get rewritten.
  for (let i = 0; i < 50_000; i++) {
    if (i % 10 === 0) continue;
    assert.deepEqual(store.take(`k${i}`), model.get(`k${i}`));
    model.delete(`k${i}`);
  }
  assertSame(store, model);
  assert.ok(store.bytes.live < before.live, JSON.stringify(store.bytes));
  assert.ok(store.bytes.dead < store.bytes.live + 4 * (1 << 20) + 1, `compacted: ${JSON.stringify(store.bytes)}`);
  for (let i = 0; i < 10_000; i++) {
    store.add(`again${i}`, value(i));
    model.set(`again${i}`, value(i));
  }
  assertSame(store, model);
});
