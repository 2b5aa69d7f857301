/**
 * PostgresTarget against a real Redis 7 master: the shared target conformance suite, with group
 * commit (the default) and with a commit per batch, each in a schema of its own (random name) on the
 * machine's PostgreSQL, dropped afterwards; and the target factory's postgres:// form. Then keys
 * longer than a btree entry may be (3 KB and 100 KB: such rows are indexed by the key's SHA-256)
 * through the snapshot, the command stream and a restart with +CONTINUE; and tables of the previous
 * format (PRIMARY KEY (db, key)) migrated on open, position kept.
 *
 * PostgreSQL: REDSTACK_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/test (trust auth; CI's
 * .ci/run starts the server when it is installed but not running). When it cannot be reached the
 * suite fails with that message instead of skipping.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { createClient, type Client } from '../../src/client/index.js';
import { createReplica, createTarget, type Replica, type UnhandledCommand } from '../../src/replication/index.js';
import { PostgresTarget } from '../../src/replication/targets/postgres.js';
import { RedisServer } from '../support/redis-server.js';
import { compareWithMaster, runTargetConformance } from './target-conformance.js';
import { masterOffset } from './workload.js';

const url = process.env.REDSTACK_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await c.connect();
  } catch (err) {
    throw new Error(
      `PostgreSQL is not reachable at ${url.replace(/:[^:@/]*@/, ':***@')} (${(err as Error).message}). ` +
        'The PostgreSQL target tests need it: start PostgreSQL (CI\'s .ci/run does) or point REDSTACK_TEST_PG_URL at one.',
    );
  }
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

for (const pipeline of [true, false]) {
  const schema = `redstack_test_${randomBytes(6).toString('hex')}`;
  runTargetConformance({
    name: pipeline ? 'postgres (group commit)' : 'postgres (commit per batch)',
    check: () => admin(async (c) => void (await c.query('SELECT 1'))),
    create: (options) => new PostgresTarget({ connectionString: url, schema, pipeline, ...options }),
    destroy: () => admin(async (c) => void (await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`))).catch(() => {}),
  });
}

test('the target factory makes a PostgresTarget from a URL with ?schema=', async () => {
  const schema = `redstack_test_${randomBytes(6).toString('hex')}`;
  const u = new URL(url);
  u.searchParams.set('schema', schema);
  const target = await createTarget(u.toString());
  assert.ok(target instanceof PostgresTarget);
  try {
    assert.equal(await target.open(), undefined);
    const tables = await admin(async (c) => (await c.query<{ t: string }>('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [schema])).rows.map((r) => r.t));
    assert.deepEqual(tables, ['redstack_keys', 'redstack_live', 'redstack_meta', 'redstack_position']);
  } finally {
    await target.close();
    await admin(async (c) => void (await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)));
  }
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Why a replica gave up (a target's error), for caughtUp's failure. */
const closeErrors = new WeakMap<Replica, string>();

/** Until the master's offset is applied by the replica and committed by the target. */
async function caughtUp(port: number, replica: Replica, target: PostgresTarget, timeoutMs = 20_000): Promise<void> {
  const c = createClient({ port });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const want = await masterOffset(c);
      if ((replica.position?.offset ?? -1) >= want && replica.state === 'streaming' && ((await target.storedPosition())?.offset ?? -1) >= want) return;
      if (replica.state === 'closed' || Date.now() > deadline) {
        const why = closeErrors.get(replica);
        throw new Error(`replica at ${replica.position?.offset} (${replica.state}${why ? `: ${why}` : ''}), stored ${(await target.storedPosition())?.offset}, master at ${want}`);
      }
      await sleep(20);
    }
  } finally {
    c.disconnect();
  }
}

async function syncStats(c: Client): Promise<{ full: number; partialOk: number }> {
  const info = String(await c.cmd(['INFO', 'stats']));
  return { full: Number(/sync_full:(\d+)/.exec(info)![1]), partialOk: Number(/sync_partial_ok:(\d+)/.exec(info)![1]) };
}

/**
 * A key of `n` bytes that starts with `tag:`, the rest bytes that do not compress (PostgreSQL
 * compresses a long index entry before it checks its size: a repetitive 100 KB key would fit).
 */
function longKey(tag: string, n: number): Buffer {
  const b = Buffer.alloc(n);
  const head = b.write(`${tag}:`, 0, 'latin1');
  for (let at = head, i = 0; at < n; i++) at += createHash('sha256').update(`${tag}/${i}`).digest().copy(b, at);
  return b;
}

test('keys of 3 KB and 100 KB: snapshot, SET/HSET/APPEND/EXPIRE/RENAME/DEL in the stream, restart with +CONTINUE', async (t) => {
  await admin(async (c) => void (await c.query('SELECT 1')));
  const schema = `redstack_test_${randomBytes(6).toString('hex')}`;
  const master = await RedisServer.start({ config: { 'repl-diskless-sync': 'yes', 'repl-diskless-sync-delay': 0 } });
  const m = createClient({ port: master.port, returnBuffers: true });
  const unhandled: UnhandledCommand[] = [];
  const make = () => new PostgresTarget({ connectionString: url, schema });
  const follow = (target: PostgresTarget) => {
    const r = createReplica({ port: master.port, target });
    r.on('unhandled', (u) => unhandled.push(u));
    r.on('closed', (c) => void (c.error && closeErrors.set(r, c.error.message)));
    return r;
  };
  const noUnhandled = () => assert.deepEqual(unhandled.map((u) => `${u.command.name}: ${u.reason}`), []);
  const k3s = longKey('s3', 3 * 1024);
  const k3h = longKey('h3', 3 * 1024);
  const k100s = longKey('s100', 100 * 1024);
  const k100h = longKey('h100', 100 * 1024);
  // Long keys that differ only in their last byte: a digest of a prefix would not tell them apart.
  const twinA = Buffer.concat([longKey('twin', 100 * 1024 - 1), Buffer.from('a')]);
  const twinB = Buffer.concat([longKey('twin', 100 * 1024 - 1), Buffer.from('b')]);
  // Short keys that spell a long key's digest, bare and with the long keys' tag byte: rows of their own.
  const digest = createHash('sha256').update(k100s).digest();
  const lookalikes = [digest, Buffer.concat([Buffer.from([1]), digest])];
  // Either side of the length where keys stop being indexed as themselves.
  const edge = [longKey('edge512', 512), longKey('edge513', 513)];
  let target: PostgresTarget | undefined;
  let replica: Replica | undefined;
  try {
    await m.cmd([
      ['SET', k3s, 'three'],
      ['HSET', k3h, 'f', 'v', longKey('field', 4096), 'long field'],
      ['SET', k100s, Buffer.alloc(5000, 7), 'EX', '100000'],
      ['HSET', k100h, 'a', '1', 'b', '2'],
      ['SET', twinA, 'A'],
      ['SET', twinB, 'B'],
      ['SET', 'short', 'to be renamed'],
      ...lookalikes.map((k) => ['SET', k, 'lookalike']),
      ...edge.map((k) => ['SET', k, `edge ${k.length}`]),
    ]);

    await t.test('through the snapshot', async () => {
      target = make();
      replica = follow(target);
      await caughtUp(master.port, replica, target);
      assert.equal(await compareWithMaster(master.port, target, [0]), 11);
      assert.deepEqual((await target.get(k100h))?.value, [[Buffer.from('a'), Buffer.from('1')], [Buffer.from('b'), Buffer.from('2')]]);
      assert.equal(String((await target.get(twinA))?.value), 'A');
      assert.equal(String((await target.get(twinB))?.value), 'B');
      assert.equal(await target.get(longKey('s100', 100 * 1024 + 1)), null);
      noUnhandled();
    });

    await t.test('through the command stream', async () => {
      const n3 = longKey('n3', 3 * 1024);
      const n100 = longKey('n100', 100 * 1024);
      const renamed = longKey('renamed', 100 * 1024);
      const moved = longKey('moved3', 3 * 1024);
      await m.cmd([
        ['SET', n3, 'new 3k'],
        ['HSET', n100, 'x', '1'],
        ['HSET', k100h, 'c', '3'], // read-modify-write: the row is read by its long key
        ['HINCRBY', k3h, 'n', '5'],
        ['APPEND', k3s, '+more'],
        ['EXPIRE', k3s, '50000'], // an expiry-only write
        ['RENAME', 'short', renamed], // a short key to a long one
        ['RENAME', k100s, moved], // a long key to another (TTL kept)
        ['SET', twinA, 'A2'],
        ['DEL', twinB],
        ['DEL', n3],
        ['MULTI'], ['HSET', n100, 'y', '2'], ['SET', n3, 'again'], ['EXEC'],
        ['SET', edge[0]!, 'edge changed'], ['APPEND', edge[1]!, '+'],
      ]);
      await caughtUp(master.port, replica!, target!);
      assert.equal(await compareWithMaster(master.port, target!, [0]), 12);
      assert.equal(await target!.get(k100s), null);
      assert.equal(await target!.get(twinB), null);
      assert.equal(String((await target!.get(renamed))?.value), 'to be renamed');
      assert.ok((await target!.get(moved))?.expiresAt !== undefined);
      for (const k of lookalikes) assert.equal(String((await target!.get(k))?.value), 'lookalike');
      noUnhandled();
    });

    await t.test('restart: the replica resumes with +CONTINUE, long keys written meanwhile arrive', async () => {
      await replica!.close();
      replica = undefined;
      await target!.close();
      const before = await syncStats(m);
      const late = longKey('late', 100 * 1024);
      await m.cmd([['SET', late, 'while down'], ['HSET', k3h, 'g', 'w'], ['DEL', k3s]]);
      target = make();
      replica = follow(target);
      const events: string[] = [];
      replica.on('continue', () => events.push('continue'));
      replica.on('fullsync', () => events.push('fullsync'));
      await caughtUp(master.port, replica, target);
      assert.deepEqual(events, ['continue']);
      const after = await syncStats(m);
      assert.equal(after.full, before.full, 'no new full sync');
      assert.equal(after.partialOk, before.partialOk + 1, 'one partial sync');
      assert.equal(await compareWithMaster(master.port, target, [0]), 12);
      assert.equal(String((await target.get(late))?.value), 'while down');
      noUnhandled();
    });

    await t.test('a second full sync swaps in tables that still index long keys', async () => {
      await replica!.close();
      replica = undefined;
      await target!.close();
      // A position the master does not know: the next replica must load a new snapshot.
      await admin(async (c) => void (await c.query(`UPDATE "${schema}".redstack_position SET replid = $1`, ['0'.repeat(40)])));
      await m.cmd(['SET', longKey('fresh', 3 * 1024), 'after resync']);
      target = make();
      replica = follow(target);
      const events: string[] = [];
      replica.on('continue', () => events.push('continue'));
      replica.on('fullsync', () => events.push('fullsync'));
      await caughtUp(master.port, replica, target);
      assert.deepEqual(events, ['fullsync']);
      assert.equal(await compareWithMaster(master.port, target, [0]), 13);
      await m.cmd([['SET', longKey('fresh', 3 * 1024), 'overwritten'], ['HSET', k100h, 'd', '4']]);
      await caughtUp(master.port, replica, target);
      assert.equal(await compareWithMaster(master.port, target, [0]), 13);
      noUnhandled();
    });
  } finally {
    await replica?.close().catch(() => {});
    await target?.close().catch(() => {});
    m.disconnect();
    await master.stop();
    await admin(async (c) => void (await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`))).catch(() => {});
  }
});

test('tables of format 1 (PRIMARY KEY (db, key)) are migrated on open: rows and position kept, long keys accepted', async () => {
  const schema = `redstack_test_${randomBytes(6).toString('hex')}`;
  const q = (n: string) => `"${schema}"."redstack_${n}"`;
  // The previous version's tables, as its open() and a full sync left them.
  await admin(async (c) => {
    await c.query(`CREATE SCHEMA "${schema}";
      CREATE TABLE ${q('meta')} (name text PRIMARY KEY, value text NOT NULL);
      CREATE TABLE ${q('position')} (id int PRIMARY KEY CHECK (id = 1), replid text NOT NULL, repl_offset bigint NOT NULL);
      CREATE TABLE ${q('keys')} (db int NOT NULL, key bytea NOT NULL, type text NOT NULL, value bytea NOT NULL, expires_at bigint,
        CONSTRAINT redstack_keys_loading_pkey PRIMARY KEY (db, key));
      ALTER INDEX "${schema}".redstack_keys_loading_pkey RENAME TO redstack_keys_pkey;
      INSERT INTO ${q('meta')} VALUES ('format', '1');
      INSERT INTO ${q('position')} VALUES (1, '${'a'.repeat(40)}', 1234);`);
    // A string 'old' (value format 1: the bytes themselves) in db 0 and one in db 3.
    await c.query(`INSERT INTO ${q('keys')} VALUES (0, 'old', 'string', 'kept', NULL), (3, 'old', 'string', 'db3', 4102444800000)`);
  });
  const target = new PostgresTarget({ connectionString: url, schema });
  try {
    assert.deepEqual(await target.open(), { replid: 'a'.repeat(40), offset: 1234 });
    assert.equal(String((await target.get('old'))?.value), 'kept');
    assert.equal((await target.get('old', 3))?.expiresAt, 4102444800000);
    const layout = await admin(async (c) => ({
      format: (await c.query(`SELECT value FROM ${q('meta')} WHERE name = 'format'`)).rows[0]?.value,
      pk: (await c.query(`SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`, [q('keys')])).rowCount,
      indexes: (await c.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'redstack_keys'`, [schema])).rows.map((r) => r.indexname),
    }));
    assert.deepEqual(layout, { format: '2', pk: 0, indexes: ['redstack_keys_id'] });
    const long = longKey('after-migration', 100 * 1024);
    await target.applyCommands([
      { db: 0, name: 'SET', args: [long, Buffer.from('v')], offset: 1300 },
      { db: 0, name: 'SET', args: [Buffer.from('old'), Buffer.from('new')], offset: 1310 },
    ], { replid: 'a'.repeat(40), offset: 1310 });
    await target.close();
    const again = new PostgresTarget({ connectionString: url, schema });
    try {
      assert.deepEqual(await again.open(), { replid: 'a'.repeat(40), offset: 1310 });
      assert.equal(String((await again.get(long))?.value), 'v');
      assert.equal(String((await again.get('old'))?.value), 'new');
      assert.equal(await again.dbsize(0), 2);
    } finally {
      await again.close();
    }
  } finally {
    await target.close().catch(() => {});
    await admin(async (c) => void (await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)));
  }
});

test('tables of an unknown format are refused and left as they are', async () => {
  const schema = `redstack_test_${randomBytes(6).toString('hex')}`;
  await admin(async (c) => {
    await c.query(`CREATE SCHEMA "${schema}";
      CREATE TABLE "${schema}".redstack_meta (name text PRIMARY KEY, value text NOT NULL);
      INSERT INTO "${schema}".redstack_meta VALUES ('format', '3');`);
  });
  const target = new PostgresTarget({ connectionString: url, schema });
  try {
    await assert.rejects(target.open(), (err: Error & { code?: string }) => err.code === 'ERR_SQL_TARGET_FORMAT' && /format 3/.test(err.message));
    const tables = await admin(async (c) => (await c.query<{ t: string }>('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1', [schema])).rows.map((r) => r.t));
    assert.deepEqual(tables, ['redstack_meta']);
  } finally {
    await target.close().catch(() => {});
    await admin(async (c) => void (await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)));
  }
});
