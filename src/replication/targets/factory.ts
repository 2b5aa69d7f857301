/**
 * Targets by name, as `redstack replicate --to` spells them:
 *
 *   memory              an in-process MemoryMirror
 *   -                   JSON lines to stdout
 *   jsonl:FILE          JSON lines appended to FILE (resumable: FILE.pos keeps the replid)
 *   sqlite:FILE         SQLite database (targets/sqlite.ts)
 *   postgres://...      PostgreSQL, optional ?schema=NAME&prefix=P (targets/postgres.ts)
 *
 * Adding a store: put its adapter in targets/<name>.ts and one line in SCHEMES below, loading it
 * lazily (import()) so that its driver loads only when used.
 */
import { ReplicationError } from '../errors.js';
import { JsonlTarget } from './jsonl.js';
import { MemoryMirror } from './memory.js';
import type { Target } from './target.js';

type Loader = (spec: string) => Promise<Target>;

/**
 * Scheme -> loader. The SQLite and PostgreSQL adapters plug in here, e.g.
 *   sqlite: async (spec) => new (await import('./sqlite.js')).SqliteTarget({ file: spec.slice('sqlite:'.length) }),
 *   postgres: async (spec) => new (await import('./postgres.js')).PostgresTarget({ url: spec }),
 */
const SCHEMES: Record<string, Loader | undefined> = {
  sqlite: async (spec) => new (await import('./sqlite.js')).SqliteTarget({ path: spec.slice('sqlite:'.length) }),
  postgres: async (spec) => (await import('./postgres.js')).PostgresTarget.fromUrl(spec),
  postgresql: async (spec) => (await import('./postgres.js')).PostgresTarget.fromUrl(spec),
};

/** Creates the target named by `spec`. Throws ERR_REPL_TARGET_UNAVAILABLE for a known but missing store. */
export async function createTarget(spec: string): Promise<Target> {
  if (spec === 'memory') return new MemoryMirror();
  if (spec === '-') return new JsonlTarget({ stream: process.stdout });
  if (spec.startsWith('jsonl:')) {
    const file = spec.slice('jsonl:'.length);
    if (!file) throw new ReplicationError('ERR_REPL_TARGET_UNAVAILABLE', 'jsonl: needs a file name (jsonl:FILE)');
    return new JsonlTarget({ file });
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(spec)?.[1]?.toLowerCase();
  if (scheme && scheme in SCHEMES) {
    const load = SCHEMES[scheme];
    if (!load) throw new ReplicationError('ERR_REPL_TARGET_UNAVAILABLE', `the ${scheme === 'postgresql' ? 'postgres' : scheme} target is not available in this build yet`);
    return load(spec);
  }
  throw new ReplicationError('ERR_REPL_TARGET_UNAVAILABLE', 'unknown target (use memory, -, jsonl:FILE, sqlite:FILE or postgres://...)');
}
