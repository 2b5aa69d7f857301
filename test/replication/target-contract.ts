/**
 * The Target contract, driven directly (no server): any Target (memory, jsonl, and SQLite/PostgreSQL
 * too; their suite against a real master is target-conformance.ts): the call order the
 * replica uses, positions stored atomically with data and found again by open(), a broken-off full
 * sync leaving the previous data, parts of big collections, MULTI/EXEC in batches, empty batches,
 * unknown commands reported (not thrown).
 *
 * A target plugs in with `targetContract({ name, open, persistent, dump })` in a *.test.ts file:
 *   - open(where): a target over storage `where` (a temp dir made per test); the same `where` again
 *     must see the same data and position (for persistent targets);
 *   - dump(target): optional, the target's data in the normalized form below, to check contents.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReplicatedCommand, ReplicationPosition, SnapshotKey, Target } from '../../src/replication/index.js';

/** `${db}/${key}` -> the key's type, value and expiry. Values: string; list: items; set: sorted members;
 * hash: sorted [field, value]; zset: [member, score] in rank order. */
export type Dump = Record<string, { type: string; value: unknown; expiresAt: number | null }>;

export interface TargetUnderTest<T extends Target> {
  name: string;
  open(where: string): T | Promise<T>;
  persistent: boolean;
  dump?(target: T): Dump | Promise<Dump>;
}

const R1 = 'a'.repeat(40);
const R2 = 'b'.repeat(40);

function key(db: number, k: string, type: SnapshotKey['type'], value: unknown, extra: Partial<SnapshotKey> = {}): SnapshotKey {
  return { kind: 'key', db, key: Buffer.from(k), rdbType: 0, type, value, expiresAt: undefined, idle: undefined, freq: undefined, offset: 0, bytes: 0, part: 0, more: false, ...extra } as SnapshotKey;
}

const b = (s: string) => Buffer.from(s);
/** An absolute expiry an hour ahead, on a 10-second boundary (dumps may report TTLs in 10 s buckets). */
const FUTURE = Math.round((Date.now() + 3_600_000) / 10_000) * 10_000;

/** A small snapshot: every core type, an expiry, a list in three parts, a second database. */
export function snapshotKeys(): SnapshotKey[] {
  return [
    key(0, 'str', 'string', b('hello')),
    key(0, 'ttl', 'string', b('soon'), { expiresAt: FUTURE }),
    key(0, 'list', 'list', [b('a'), b('b')], { part: 0, more: true }),
    key(0, 'list', 'list', [b('c')], { part: 1, more: true }),
    key(0, 'list', 'list', [b('d')], { part: 2, more: false }),
    key(0, 'hash', 'hash', [[b('f1'), b('v1')], [b('f2'), b('v2')]]),
    key(0, 'set', 'set', [b('x'), b('y')]),
    key(0, 'zset', 'zset', [[b('low'), -Infinity], [b('mid'), 1.5], [b('top'), Infinity]]),
    key(2, 'other', 'string', b('db2')),
  ];
}

export const SNAPSHOT_DUMP: Dump = {
  '0/str': { type: 'string', value: 'hello', expiresAt: null },
  '0/ttl': { type: 'string', value: 'soon', expiresAt: FUTURE },
  '0/list': { type: 'list', value: ['a', 'b', 'c', 'd'], expiresAt: null },
  '0/hash': { type: 'hash', value: [['f1', 'v1'], ['f2', 'v2']], expiresAt: null },
  '0/set': { type: 'set', value: ['x', 'y'], expiresAt: null },
  '0/zset': { type: 'zset', value: [['low', -Infinity], ['mid', 1.5], ['top', Infinity]], expiresAt: null },
  '2/other': { type: 'string', value: 'db2', expiresAt: null },
};

let offset = 1000;
function cmd(db: number, name: string, ...args: string[]): ReplicatedCommand {
  offset += 20;
  return { db, name, args: args.map(b), offset };
}

/** The core commands every target applies, and what the snapshot becomes after them. */
export function coreCommands(): ReplicatedCommand[] {
  return [
    cmd(0, 'SET', 'str', 'world'),
    cmd(0, 'SET', 'new', 'n', 'PXAT', String(FUTURE)),
    cmd(0, 'DEL', 'ttl'),
    cmd(0, 'MULTI'),
    cmd(0, 'RPUSH', 'list', 'e'),
    cmd(0, 'LPUSH', 'list', 'z'),
    cmd(0, 'HSET', 'hash', 'f2', 'V2', 'f3', 'v3'),
    cmd(0, 'EXEC'),
    cmd(0, 'HDEL', 'hash', 'f1'),
    cmd(0, 'SADD', 'set', 'w'),
    cmd(0, 'SREM', 'set', 'x'),
    cmd(0, 'ZADD', 'zset', '2', 'mid'),
    cmd(0, 'ZREM', 'zset', 'low'),
    cmd(0, 'INCR', 'counter'),
    cmd(0, 'PEXPIREAT', 'hash', String(FUTURE)),
    cmd(2, 'DEL', 'other'),
    cmd(2, 'SET', 'x2', 'y'),
  ];
}

export const AFTER_COMMANDS: Dump = {
  '0/str': { type: 'string', value: 'world', expiresAt: null },
  '0/new': { type: 'string', value: 'n', expiresAt: FUTURE },
  '0/list': { type: 'list', value: ['z', 'a', 'b', 'c', 'd', 'e'], expiresAt: null },
  '0/hash': { type: 'hash', value: [['f2', 'V2'], ['f3', 'v3']], expiresAt: FUTURE },
  '0/set': { type: 'set', value: ['w', 'y'], expiresAt: null },
  '0/zset': { type: 'zset', value: [['mid', 2], ['top', Infinity]], expiresAt: null },
  '0/counter': { type: 'string', value: '1', expiresAt: null },
  '2/x2': { type: 'string', value: 'y', expiresAt: null },
};

async function settle<T>(v: T | Promise<T>): Promise<T> {
  return v;
}

export function targetContract<T extends Target>(t: TargetUnderTest<T>): void {
  describe(`Target contract: ${t.name}`, () => {
    const where = () => mkdtempSync(join(tmpdir(), 'redstack-target-'));
    const reopen = async (dir: string, old: T): Promise<{ target: T; position: ReplicationPosition | undefined }> => {
      await settle(old.close());
      const target = await t.open(dir);
      return { target, position: (await settle(target.open())) ?? undefined };
    };

    test('new storage opens without a position', async () => {
      const dir = where();
      const target = await t.open(dir);
      assert.equal(await settle(target.open()), undefined);
      await settle(target.close());
      rmSync(dir, { recursive: true, force: true });
    });

    test('a full sync, then commands: data as expected, position stored with it', async () => {
      const dir = where();
      let target = await t.open(dir);
      await settle(target.open());
      await settle(target.beginFullSync({ replid: R1, offset: 1000, transfer: 'disk', bytes: 123 }));
      await settle(target.applyKeys(snapshotKeys()));
      await settle(target.endFullSync({ replid: R1, offset: 1000 }));
      if (t.dump) assert.deepEqual(await t.dump(target), SNAPSHOT_DUMP);
      const cmds = coreCommands();
      const unhandled = await settle(target.applyCommands(cmds, { replid: R1, offset: cmds.at(-1)!.offset }));
      assert.deepEqual(unhandled ?? [], []);
      if (t.dump) assert.deepEqual(await t.dump(target), AFTER_COMMANDS);
      if (t.persistent) {
        const again = await reopen(dir, target);
        target = again.target;
        assert.deepEqual(again.position, { replid: R1, offset: cmds.at(-1)!.offset });
        if (t.dump) assert.deepEqual(await t.dump(target), AFTER_COMMANDS);
      }
      await settle(target.close());
      rmSync(dir, { recursive: true, force: true });
    });

    test('an empty batch still moves the position; a new replid is stored', async () => {
      const dir = where();
      let target = await t.open(dir);
      await settle(target.open());
      await settle(target.beginFullSync({ replid: R1, offset: 10, transfer: 'diskless', bytes: undefined }));
      await settle(target.endFullSync({ replid: R1, offset: 10 }));
      await settle(target.applyCommands([], { replid: R1, offset: 24 }));
      await settle(target.applyCommands([], { replid: R2, offset: 24 }));
      if (t.persistent) {
        const again = await reopen(dir, target);
        target = again.target;
        assert.deepEqual(again.position, { replid: R2, offset: 24 });
      }
      await settle(target.close());
      rmSync(dir, { recursive: true, force: true });
    });

    test('a full sync that breaks off leaves the previous data and position', async () => {
      const dir = where();
      let target = await t.open(dir);
      await settle(target.open());
      await settle(target.beginFullSync({ replid: R1, offset: 1000, transfer: 'disk', bytes: 1 }));
      await settle(target.applyKeys(snapshotKeys()));
      await settle(target.endFullSync({ replid: R1, offset: 1000 }));
      await settle(target.beginFullSync({ replid: R2, offset: 5000, transfer: 'disk', bytes: 1 }));
      await settle(target.applyKeys([key(0, 'partial', 'string', b('half'))]));
      await settle(target.abortFullSync());
      if (t.dump) assert.deepEqual(await t.dump(target), SNAPSHOT_DUMP);
      if (t.persistent) {
        const again = await reopen(dir, target);
        target = again.target;
        assert.deepEqual(again.position, { replid: R1, offset: 1000 });
        if (t.dump) assert.deepEqual(await t.dump(target), SNAPSHOT_DUMP);
      }
      await settle(target.close());
      rmSync(dir, { recursive: true, force: true });
    });

    test('a new full sync replaces the whole dataset', async () => {
      const dir = where();
      const target = await t.open(dir);
      await settle(target.open());
      await settle(target.beginFullSync({ replid: R1, offset: 1000, transfer: 'disk', bytes: 1 }));
      await settle(target.applyKeys(snapshotKeys()));
      await settle(target.endFullSync({ replid: R1, offset: 1000 }));
      await settle(target.beginFullSync({ replid: R2, offset: 7, transfer: 'disk', bytes: 1 }));
      await settle(target.applyKeys([key(1, 'only', 'string', b('one'))]));
      await settle(target.endFullSync({ replid: R2, offset: 7 }));
      if (t.dump) assert.deepEqual(await t.dump(target), { '1/only': { type: 'string', value: 'one', expiresAt: null } });
      await settle(target.close());
      rmSync(dir, { recursive: true, force: true });
    });

    test('a command it cannot apply is returned as unhandled, and the rest of the batch still applies', async () => {
      const dir = where();
      const target = await t.open(dir);
      await settle(target.open());
      await settle(target.beginFullSync({ replid: R1, offset: 0, transfer: 'disk', bytes: 1 }));
      await settle(target.endFullSync({ replid: R1, offset: 0 }));
      const weird = cmd(0, 'XYZZY', 'k');
      const after = cmd(0, 'SET', 'after', '1');
      const unhandled = (await settle(target.applyCommands([weird, after], { replid: R1, offset: after.offset }))) ?? [];
      // A pass-through target (jsonl) may accept everything; one that interprets must not throw.
      assert.ok(unhandled.length === 0 || (unhandled.length === 1 && unhandled[0]!.command === weird));
      if (t.dump) assert.equal((await t.dump(target))['0/after']?.value, '1');
      await settle(target.close());
      rmSync(dir, { recursive: true, force: true });
    });
  });
}
