/**
 * PostgresTarget against a real Redis 7 master: the shared target conformance suite, with group
 * commit (the default) and with a commit per batch, each in a schema of its own (random name) on the
 * machine's PostgreSQL, dropped afterwards.
 *
 * PostgreSQL: REDSTACK_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/test (trust auth; CI's
 * .ci/run starts the server when it is installed but not running). When it cannot be reached the
 * suite fails with that message instead of skipping.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
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
