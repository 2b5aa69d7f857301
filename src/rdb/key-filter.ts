/**
 * Which keys get an event (the `filter` and `skipExpired` options). Keys left out are still read, to
 * stay in step with the file, but their values are walked, not decoded.
 */
import { RDB_DATA_TYPE, type RdbDataType } from './constants.js';
import type { RdbParserOptions } from './types.js';

export class KeyFilter {
  readonly #dbs: ReadonlySet<number> | undefined;
  readonly #keyRe: RegExp | undefined;
  readonly #types: ReadonlySet<RdbDataType> | undefined;
  readonly #expiredBefore: number | undefined;

  constructor(opts: Pick<RdbParserOptions, 'filter' | 'skipExpired'>) {
    const f = opts.filter ?? {};
    if (f.db !== undefined) this.#dbs = new Set(typeof f.db === 'number' ? [f.db] : f.db);
    // A /g or /y pattern would make test() stateful (lastIndex) and skip every other match.
    this.#keyRe = f.key && (f.key.global || f.key.sticky) ? new RegExp(f.key.source, f.key.flags.replace(/[gy]/g, '')) : f.key;
    if (f.type !== undefined) this.#types = new Set(typeof f.type === 'string' ? [f.type] : f.type);
    this.#expiredBefore = opts.skipExpired === true ? Date.now() : opts.skipExpired === false ? undefined : opts.skipExpired;
  }

  /** Whether keys of database `db` may be wanted (checked once per SELECTDB). */
  wantsDb(db: number): boolean {
    return !this.#dbs || this.#dbs.has(db);
  }

  /** Whether a key of RDB type `t` in a wanted database gets an event. */
  wants(t: number, key: Buffer, expiresAt: number | undefined): boolean {
    if (this.#types && !this.#types.has(RDB_DATA_TYPE[t]!)) return false;
    if (this.#keyRe && !this.#keyRe.test(key.toString('utf8'))) return false;
    return this.#expiredBefore === undefined || expiresAt === undefined || expiresAt >= this.#expiredBefore;
  }
}
