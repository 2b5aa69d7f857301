/**
 * PostgresTarget against a real Redis 7 master: the shared target conformance suite, with group
 * commit (the default) and with a commit per batch, each in a schema of its own (random name) on the
 * machine's PostgreSQL, dropped afterwards; and the target factory's postgres:// form.
 *
 * PostgreSQL: REDSTACK_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/test (trust auth; CI's
 * .ci/run starts the server when it is installed but not running). When it cannot be reached the
 * suite fails with that message instead of skipping.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createTarget } from '../../src/replication/index.js';
import { PostgresTarget } from '../../src/replication/targets/postgres.js';
import { runTargetConformance } from './target-conformance.js';

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
