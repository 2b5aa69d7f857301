/**
 * The mirror's Keyspace (packed snapshot keys in a PackedStore, other snapshot keys in one Map, keys
 * added later or taken out of the store in a ByteKeyMap) behaves as one Map through a load, the seal,
 * and any mix of gets, sets, deletes and clears afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Dataset, Keyspace, stringEntry, type Entry } from '../../src/replication/targets/memory/dataset.js';

// Some with an expiry: those stay PackedEntry objects where the others are kept as bare strings.
const entry = (n: number): Entry => stringEntry(Buffer.from(String(n)), n % 3 === 0 ? 1e12 + n : undefined);
const text = (e: Entry | undefined) => (e?.value as Buffer | undefined)?.toString();
const key = fc.string({ maxLength: 4 });
const op = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant('set' as const), key, v: fc.integer() }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('delete' as const), key }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('get' as const), key }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('clear' as const) }) },
);

test('loaded keys, then live sets / deletes / clears: same contents as a Map', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(key, fc.integer()), { maxLength: 50 }), fc.array(op, { maxLength: 200 }), (loaded, ops) => {
      const model = new Map<string, number>();
      const ks = new Keyspace(true);
      for (const [k, v] of loaded) {
        model.set(k, v);
        ks.set(k, entry(v));
      }
      ks.seal();
      for (const o of ops) {
        if (o.k === 'set') {
          model.set(o.key, o.v);
          ks.set(o.key, entry(o.v));
        } else if (o.k === 'delete') {
          assert.equal(ks.delete(o.key), model.delete(o.key));
        } else if (o.k === 'get') {
          // A packed snapshot key is taken out of the store here: the same entry must come back after.
          const e = ks.get(o.key);
          assert.equal(text(e), model.has(o.key) ? String(model.get(o.key)) : undefined);
          if (e) assert.equal(ks.get(o.key), e);
        } else {
          model.clear();
          ks.clear();
        }
        assert.equal(ks.size, model.size);
      }
      const seen = new Map([...ks]);
      assert.equal(seen.size, model.size, 'no key twice in the iteration');
      for (const [k, v] of model) {
        assert.equal(text(seen.get(k)), String(v));
        assert.equal(text(ks.get(k)), String(v));
        assert.ok(ks.has(k));
      }
    }),
    { numRuns: 300 },
  );
});

test('a dataset seals every database it holds, and new ones start sealed', () => {
  const ds = new Dataset(true);
  const a = ds.db(0);
  a.set('x', entry(1));
  ds.seal();
  a.set('y', entry(2));
  const b = ds.db(5);
  b.set('z', entry(3));
  assert.deepEqual([...a].map(([k]) => k).sort(), ['x', 'y']);
  assert.equal(ds.size, 3);
});

test('a string kept compact comes back as an entry that keeps what is done to it', () => {
  const ks = new Keyspace();
  ks.set('k', stringEntry(Buffer.from('hello'), undefined));
  const e = ks.get('k')!;
  assert.equal(e.type, 'string');
  assert.equal((e.value as Buffer).toString(), 'hello');
  e.expiresAt = 1234;
  assert.equal(ks.get('k'), e, 'the entry made on first touch is the one kept');
  assert.equal(ks.get('k')!.expiresAt, 1234);
  ks.set('t', stringEntry(Buffer.from('x'), 99));
  assert.equal(ks.get('t')!.expiresAt, 99, 'an expiry keeps the entry');
  const [[, iterated]] = [...ks].filter(([k]) => k === 'k');
  assert.equal((iterated!.value as Buffer).toString(), 'hello');
});

test('many keys added after the load stay readable, deletable and iterable', () => {
  const ks = new Keyspace();
  const n = 70_000;
  for (let i = 0; i < n; i++) ks.set(`k${i}`, stringEntry(Buffer.from(String(i)), undefined));
  assert.equal(ks.size, n);
  assert.equal((ks.get('k65000')!.value as Buffer).toString(), '65000');
  assert.ok(ks.delete('k3'));
  assert.equal(ks.get('k3'), undefined);
  assert.equal([...ks].length, n - 1);
});
