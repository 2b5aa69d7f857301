/**
 * SqliteTarget against a real Redis 7 master: the shared target conformance suite, on a file in a
 * temp dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteTarget } from '../../src/replication/targets/sqlite.js';
import { runTargetConformance } from './target-conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'redstack-sqlite-'));
const path = join(dir, 'replica.db');

runTargetConformance({
  name: 'sqlite',
  create: (options) => new SqliteTarget({ path, ...options }),
  destroy: async () => rmSync(dir, { recursive: true, force: true }),
});
