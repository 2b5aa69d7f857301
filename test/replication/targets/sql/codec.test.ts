/**
 * Value format 1 (src/replication/targets/sql/codec.ts): every type round-trips binary-safe through
 * encodeEntry/decodeEntry and decodeValue (fast-check), snapshot keys in parts give the same bytes as
 * whole ones, and malformed values are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteWriter } from '../../../../src/replication/targets/sql/bytes.js';
import { decodeEntry, decodeValue, encodeEntry, ValueFormatError } from '../../../../src/replication/targets/sql/codec.js';
import { SnapshotRows } from '../../../../src/replication/targets/sql/snapshot-rows.js';
import type { Entry } from '../../../../src/replication/targets/memory/dataset.js';
import { StreamData } from '../../../../src/replication/targets/memory/stream-data.js';
import { ZSet } from '../../../../src/replication/targets/memory/zset.js';
import type { SnapshotKey } from '../../../../src/replication/index.js';

const bin = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a).toString('latin1'));
const score = fc.oneof(fc.double({ noNaN: true }), fc.constantFrom(Infinity, -Infinity, 0, -0, 1e-300));
const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const id = fc.record({ ms: u64, seq: u64 });
const expires = fc.option(fc.integer({ min: 0, max: 2 ** 52 }), { nil: undefined });

const stream = fc
  .record({
    entries: fc.array(fc.record({ id, fields: fc.array(bin, { maxLength: 6 }).map((f) => (f.length % 2 ? f.slice(1) : f)) }), { maxLength: 5 }),
    lastId: id,
    maxDeletedId: id,
    entriesAdded: fc.nat(),
    groups: fc.array(
      fc.record({
        name: bin,
        lastId: id,
        entriesRead: fc.integer({ min: -1, max: 1e9 }),
        consumers: fc.array(fc.record({ name: bin, seenTime: fc.nat(), activeTime: fc.integer({ min: -1, max: 2 ** 45 }) }), { maxLength: 3 }),
        pending: fc.array(fc.record({ id, deliveryTime: fc.nat(), deliveryCount: fc.nat() }), { maxLength: 4 }),
      }),
      { maxLength: 3 },
    ),
  })
  .map((v) => {
    const s = new StreamData();
    s.entries = v.entries;
    s.lastId = v.lastId;
    s.maxDeletedId = v.maxDeletedId;
    s.entriesAdded = v.entriesAdded;
    for (const g of v.groups) {
      const consumers = new Map(g.consumers.map((c) => [c.name, { seenTime: c.seenTime, activeTime: c.activeTime, pending: new Set<string>() }]));
      const names = [...consumers.keys()];
      const pending = new Map<string, { consumer: string; deliveryTime: number; deliveryCount: number }>();
      g.pending.forEach((p, i) => {
        const consumer = names.length ? names[i % names.length]! : '';
        const key = `${p.id.ms}-${p.id.seq}`;
        pending.set(key, { consumer, deliveryTime: p.deliveryTime, deliveryCount: p.deliveryCount });
      });
      for (const [key, p] of pending) consumers.get(p.consumer)?.pending.add(key);
      s.groups.set(g.name, { lastId: g.lastId, entriesRead: g.entriesRead, pending, consumers });
    }
    return s;
  });

const entry: fc.Arbitrary<Entry> = fc.oneof(
  fc.record({ type: fc.constant('string' as const), value: fc.uint8Array({ maxLength: 100 }).map((a) => Buffer.from(a)), expiresAt: expires }),
  fc.record({ type: fc.constant('list' as const), value: fc.array(bin, { maxLength: 20 }), expiresAt: expires }),
  fc.record({ type: fc.constant('set' as const), value: fc.uniqueArray(bin, { maxLength: 20 }).map((a) => new Set(a)), expiresAt: expires }),
  fc.record({ type: fc.constant('hash' as const), value: fc.array(fc.tuple(bin, bin), { maxLength: 20 }).map((a) => new Map(a)), expiresAt: expires }),
  fc.record({
    type: fc.constant('zset' as const),
    value: fc.array(fc.tuple(bin, score), { maxLength: 20 }).map((a) => {
      const z = new ZSet();
      for (const [m, s] of a) z.set(m, s);
      return z;
    }),
    expiresAt: expires,
  }),
  fc.record({ type: fc.constant('stream' as const), value: stream, expiresAt: expires }),
);

/** A comparable, canonical form of an entry. */
function canon(e: Entry): unknown {
  switch (e.type) {
    case 'string':
      return ['string', e.value.toString('hex'), e.expiresAt];
    case 'list':
      return ['list', e.value, e.expiresAt];
    case 'set':
      return ['set', [...e.value].sort(), e.expiresAt];
    case 'hash':
      return ['hash', [...e.value].sort(), e.expiresAt];
    case 'zset':
      return ['zset', [...e.value.scores].sort(), e.expiresAt];
    default: {
      const s = e.value;
      const t = (x: { ms: bigint; seq: bigint }) => `${x.ms}-${x.seq}`;
      return [
        'stream', s.entries.map((x) => [t(x.id), x.fields]), t(s.lastId), t(s.maxDeletedId), s.entriesAdded,
        [...s.groups].map(([n, g]) => [n, t(g.lastId), g.entriesRead, [...g.pending].map(([k, p]) => [k, { ...p }]), [...g.consumers].map(([cn, c]) => [cn, c.seenTime, c.activeTime, [...c.pending].sort()])]),
        e.expiresAt,
      ];
    }
  }
}

function encode(e: Entry): Buffer {
  const w = new ByteWriter(16);
  encodeEntry(w, e);
  return w.copy();
}

test('every type round-trips through value format 1 (binary-safe, scores exact, streams with groups)', () => {
  fc.assert(
    fc.property(entry, (e) => {
      const bytes = encode(e);
      const back = decodeEntry(e.type, bytes, e.expiresAt);
      assert.deepEqual(canon(back), canon(e));
      // Encoding what was decoded gives the same bytes (the SQL targets skip writes on that).
      assert.ok(encode(back).equals(bytes));
    }),
    { numRuns: 400 },
  );
});

test('decodeValue gives readers Buffers, zset members in Redis order, stream ids as text', () => {
  fc.assert(
    fc.property(entry, (e) => {
      const v = decodeValue(e.type, encode(e));
      const b = (s: string) => Buffer.from(s, 'latin1').toString('hex');
      switch (e.type) {
        case 'string':
          assert.equal((v.value as Buffer).toString('hex'), e.value.toString('hex'));
          break;
        case 'list':
          assert.deepEqual((v.value as Buffer[]).map((x) => x.toString('hex')), e.value.map(b));
          break;
        case 'set':
          assert.deepEqual((v.value as Buffer[]).map((x) => x.toString('hex')).sort(), [...e.value].map(b).sort());
          break;
        case 'hash':
          assert.deepEqual((v.value as [Buffer, Buffer][]).map(([f, x]) => `${f.toString('hex')}=${x.toString('hex')}`).sort(), [...e.value].map(([f, x]) => `${b(f)}=${b(x)}`).sort());
          break;
        case 'zset':
          assert.deepEqual((v.value as [Buffer, number][]).map(([m, s]) => [m.toString('latin1'), s]), e.value.sorted().map(([m, s]) => [m, s]));
          break;
        default: {
          const s = v.value as { entries: { id: string }[]; lastId: string; groups: unknown[] };
          assert.deepEqual(s.entries.map((x) => x.id), e.value.entries.map((x) => `${x.id.ms}-${x.id.seq}`));
          assert.equal(s.lastId, `${e.value.lastId.ms}-${e.value.lastId.seq}`);
          assert.equal(s.groups.length, e.value.groups.size);
        }
      }
    }),
    { numRuns: 300 },
  );
});

function key(over: Partial<SnapshotKey> & Pick<SnapshotKey, 'type' | 'value'>): SnapshotKey {
  return { kind: 'key', db: 0, key: Buffer.from('k'), rdbType: 0, expiresAt: undefined, idle: undefined, freq: undefined, offset: 0, bytes: 0, part: 0, more: false, ...over } as SnapshotKey;
}

test('a snapshot collection in parts is stored as one row with the same bytes as whole', () => {
  const items = Array.from({ length: 25 }, (_, i) => Buffer.from(`item\0${i}`));
  const pairs = items.map((m, i) => [m, i / 3] as [Buffer, number]);
  for (const [type, value] of [['list', items], ['set', items], ['zset', pairs], ['hash', items.map((m) => [m, m])]] as const) {
    const whole: Buffer[] = [];
    new SnapshotRows().add(key({ type, value, expiresAt: 5 } as never), (_db, _k, _t, v) => void whole.push(Buffer.from(v)));
    const parted: Buffer[] = [];
    const rows = new SnapshotRows();
    const arr = value as unknown[];
    for (let p = 0, i = 0; i < arr.length; p++, i += 10) {
      rows.add(key({ type, value: arr.slice(i, i + 10), part: p, more: i + 10 < arr.length } as never), (_db, _k, t, v, exp) => {
        assert.equal(t, type);
        assert.equal(exp, undefined);
        parted.push(Buffer.from(v));
      });
    }
    assert.equal(parted.length, 1, type);
    assert.ok(parted[0]!.equals(whole[0]!), type);
  }
});

test('a snapshot stream in parts keeps every entry and the last part\'s groups; module values are counted, not stored', () => {
  const e = (i: number) => ({ id: `${i}-0`, fields: [[Buffer.from('f'), Buffer.from(String(i))]] as [Buffer, Buffer][] });
  const rows = new SnapshotRows();
  const out: Buffer[] = [];
  const sink = (_db: number, _k: Buffer, _t: string, v: Buffer) => void out.push(Buffer.from(v));
  rows.add(key({ type: 'stream', value: { entries: [e(1), e(2)], length: 0, lastId: '0-0', groups: [] }, part: 0, more: true }), sink);
  rows.add(key({
    type: 'stream',
    value: { entries: [e(3)], length: 3, lastId: '3-0', entriesAdded: 3, groups: [{ name: Buffer.from('g'), lastId: '2-0', entriesRead: 2, pending: [{ id: '2-0', deliveryTime: 7, deliveryCount: 1 }], consumers: [{ name: Buffer.from('c'), seenTime: 9, pending: ['2-0'] }] }] },
    part: 1,
    more: false,
  }), sink);
  rows.add(key({ type: 'module', value: { module: 'x', encver: 0, raw: Buffer.alloc(0) } }), sink);
  assert.equal(out.length, 1);
  assert.equal(rows.unsupportedKeys, 1);
  const v = decodeValue('stream', out[0]!);
  assert.equal(v.type, 'stream');
  if (v.type !== 'stream') return;
  assert.deepEqual(v.value.entries.map((x) => x.id), ['1-0', '2-0', '3-0']);
  assert.equal(v.value.lastId, '3-0');
  assert.equal(v.value.groups[0]!.consumers[0]!.pending[0], '2-0');
  assert.equal(v.value.groups[0]!.entriesRead, 2);
});

test('malformed values are refused with ValueFormatError', () => {
  assert.throws(() => decodeValue('list', Buffer.from([5, 1, 2])), ValueFormatError);
  assert.throws(() => decodeValue('zset', Buffer.from([1, 0x61, 0, 0])), ValueFormatError);
  assert.throws(() => decodeValue('stream', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), ValueFormatError);
  assert.throws(() => decodeValue('nope', Buffer.alloc(0)), ValueFormatError);
});
