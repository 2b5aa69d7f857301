/**
 * SqliteTarget against a real Redis 7 master: the shared target conformance suite, with group commit
 * (the default) and with a commit per batch, each on a file in a temp dir of its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteTarget } from '../../src/replication/targets/sqlite.js';
import { runTargetConformance } from './target-conformance.js';

for (const commitIntervalMs of [20, 0]) {
  const dir = mkdtempSync(join(tmpdir(), 'redstack-sqlite-'));
  const path = join(dir, 'replica.db');
  runTargetConformance({
    name: commitIntervalMs ? 'sqlite (group commit)' : 'sqlite (commit per batch)',
    create: (options) => new SqliteTarget({ path, commitIntervalMs, ...options }),
    destroy: async () => rmSync(dir, { recursive: true, force: true }),
  });
}
