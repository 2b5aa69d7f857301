/**
 * Hash-field expiry (Redis 7.4) in the mirror: field TTLs from the snapshot (both RDB encodings,
 * loaded packed or decoded) and from the commands a 7.4 master propagates (HPEXPIREAT, HPERSIST,
 * HDEL); reads hide fields whose TTL has passed. No 7.4 server here: the files are librdb's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryMirror, type ReplicatedCommand } from '../../src/replication/index.js';
import { RdbParser, type RdbKeyEvent } from '../../src/rdb/index.js';
import { fixture } from '../rdb/helpers.js';

const POS = { replid: 'b'.repeat(40), offset: 1 };

function mirrorAt(clock: { now: number }, file?: string, encoded = false): MemoryMirror {
  const m = new MemoryMirror({ sweepIntervalMs: 0, now: () => clock.now });
  m.beginFullSync({ replid: POS.replid, offset: 1, transfer: 'disk', bytes: 0 });
  if (file) {
    const keys: RdbKeyEvent[] = [];
    const p = new RdbParser({ onEvent: (e) => void (e.kind === 'key' && keys.push(e)), encoded });
    p.write(fixture(file));
    p.end();
    m.applyKeys(keys);
  }
  m.endFullSync(POS);
  return m;
}

const fields = (m: MemoryMirror, key: string) => m.hgetall(key).map(([f, v]) => `${f}=${v}`).sort();

for (const file of ['redis-librdb/hash_with_expire_v12.rdb', 'redis-librdb/hash_lp_with_hexpire_v12.rdb']) {
  for (const encoded of [false, true]) {
    test(`field TTLs from ${file}${encoded ? ' (kept packed)' : ''}: kept, and expired fields hidden`, () => {
      const clock = { now: 0 };
      const m = mirrorAt(clock, file, encoded);
      assert.deepEqual(fields(m, 'myhash'), ['field1=value1', 'field2=value2', 'field3=value3']);
      assert.equal(m.hpttl('myhash', 'field3'), -1);
      assert.ok(m.hpttl('myhash', 'field1') > 7e13);
      // Past the earlier of the two TTLs (librdb's files: field2's, by a margin either way).
      const ttl1 = m.hpttl('myhash', 'field1');
      const ttl2 = m.hpttl('myhash', 'field2');
      clock.now = Math.min(ttl1, ttl2) + 1;
      const gone = ttl1 < ttl2 ? 'field1' : 'field2';
      assert.equal(m.hget('myhash', gone), null);
      assert.equal(m.hpttl('myhash', gone), -2);
      assert.equal(fields(m, 'myhash').length, 2);
      assert.equal(m.hget('myhash', 'field3')!.toString(), 'value3');
    });
  }
}

test('HPEXPIREAT (NX/XX/GT/LT), HPERSIST, HSET drops a TTL, HINCRBY keeps it, HDEL, COPY carries TTLs', () => {
  const clock = { now: 1000 };
  const m = mirrorAt(clock);
  let offset = 1;
  const apply = (...cmds: string[][]) => {
    const list: ReplicatedCommand[] = cmds.map(([name, ...args]) => ({ db: 0, name: name!, args: args.map((x) => Buffer.from(x)), offset: ++offset }));
    assert.equal(m.applyCommands(list, { ...POS, offset }), undefined);
  };
  apply(['HSET', 'h', 'a', '1', 'b', '2', 'c', '3', 'n', '5']);
  apply(['HPEXPIREAT', 'h', '5000', 'FIELDS', '3', 'a', 'b', 'missing']);
  assert.equal(m.hpttl('h', 'a'), 4000);
  assert.equal(m.hpttl('h', 'c'), -1);
  assert.equal(m.hpttl('h', 'missing'), -2);
  apply(['HPEXPIREAT', 'h', '9000', 'NX', 'FIELDS', '2', 'a', 'c']); // a has one: unchanged; c gets it
  assert.equal(m.hpttl('h', 'a'), 4000);
  assert.equal(m.hpttl('h', 'c'), 8000);
  apply(['HPEXPIREAT', 'h', '3000', 'GT', 'FIELDS', '1', 'a'], ['HPEXPIREAT', 'h', '3000', 'LT', 'FIELDS', '1', 'b']);
  assert.equal(m.hpttl('h', 'a'), 4000);
  assert.equal(m.hpttl('h', 'b'), 2000);
  apply(['HPEXPIREAT', 'h', '7000', 'XX', 'FIELDS', '2', 'n', 'a']);
  assert.equal(m.hpttl('h', 'n'), -1);
  assert.equal(m.hpttl('h', 'a'), 6000);
  apply(['HPEXPIREAT', 'h', '6000', 'FIELDS', '1', 'n'], ['HINCRBY', 'h', 'n', '2']);
  assert.equal(m.hget('h', 'n')!.toString(), '7');
  assert.equal(m.hpttl('h', 'n'), 5000);
  apply(['HSET', 'h', 'a', 'new'], ['HPERSIST', 'h', 'FIELDS', '1', 'c'], ['COPY', 'h', 'h2']);
  assert.equal(m.hpttl('h', 'a'), -1);
  assert.equal(m.hpttl('h', 'c'), -1);
  assert.equal(m.hpttl('h2', 'b'), 2000);
  clock.now = 3500; // b's TTL passed; the master's HDEL has not arrived yet
  assert.deepEqual(fields(m, 'h'), ['a=new', 'c=3', 'n=7']);
  apply(['HDEL', 'h', 'b']);
  assert.equal(m.hpttl('h', 'b'), -2);
  assert.deepEqual(fields(m, 'h2'), ['a=new', 'c=3', 'n=7']);
  const bad = m.applyCommands([{ db: 0, name: 'HPEXPIREAT', args: ['h', '1', 'FIELDS', '3', 'a'].map((x) => Buffer.from(x)), offset: ++offset }], { ...POS, offset });
  assert.equal(bad?.length, 1);
});
