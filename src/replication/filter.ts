/**
 * Database and key filters, applied the same way to the snapshot (by the RDB parser) and to the
 * command stream (here).
 *
 * For commands the rule is deliberately simple, so that it can be stated in one line: a command
 * passes when its database passes and its first key matches. Commands without a key (FLUSHALL,
 * FLUSHDB, SWAPDB, FUNCTION, PUBLISH's channel is not a key) pass on the database rule alone, and
 * FLUSHALL and SWAPDB, which touch several databases, always pass. A MULTI/EXEC whose commands were
 * all filtered out disappears with its MULTI and EXEC.
 */
import type { ReplicatedCommand } from './targets/target.js';

export interface ReplicaFilter {
  /** Only these databases. */
  db?: number | readonly number[];
  /** Only keys matching: a glob as Redis's MATCH understands it (`user:*`, `h?llo`, `[ab]*`), or a RegExp. */
  key?: string | RegExp;
}

/** Converts a Redis glob (`*`, `?`, `[...]`, `\` escapes) to an anchored RegExp. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '[\\s\\S]*';
    else if (c === '?') re += '[\\s\\S]';
    else if (c === '\\' && i + 1 < glob.length) re += escape(glob[++i]!);
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) {
        re += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, end);
      const negate = body[0] === '^';
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\]\\]/g, (m) => '\\' + m)}]`;
      i = end;
    } else re += escape(c);
  }
  return new RegExp(`^${re}$`);
}

function escape(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? '\\' + c : c;
}

/** Commands that touch no key, or several databases. */
const NO_KEY = new Set(['FLUSHALL', 'FLUSHDB', 'SWAPDB', 'FUNCTION', 'SCRIPT', 'PUBLISH', 'SPUBLISH', 'MULTI', 'EXEC']);
const ALL_DBS = new Set(['FLUSHALL', 'SWAPDB']);

/** Index of the first key in `args` (after the name), for the few commands where it is not 0. */
function firstKeyIndex(name: string): number {
  switch (name) {
    case 'BITOP': // BITOP op destkey key...
    case 'XGROUP': // XGROUP CREATE key ...
    case 'OBJECT':
      return 1;
    default:
      return 0;
  }
}

export class CommandFilter {
  readonly #dbs: ReadonlySet<number> | undefined;
  readonly #key: RegExp | undefined;

  constructor(filter: ReplicaFilter = {}) {
    if (filter.db !== undefined) this.#dbs = new Set(typeof filter.db === 'number' ? [filter.db] : filter.db);
    if (filter.key !== undefined) this.#key = typeof filter.key === 'string' ? globToRegExp(filter.key) : filter.key;
  }

  get active(): boolean {
    return this.#dbs !== undefined || this.#key !== undefined;
  }

  /** The RDB parser's form of the same filter. */
  get rdbFilter(): { db?: number[]; key?: RegExp } {
    const f: { db?: number[]; key?: RegExp } = {};
    if (this.#dbs) f.db = [...this.#dbs];
    if (this.#key) f.key = this.#key;
    return f;
  }

  passes(c: ReplicatedCommand): boolean {
    if (this.#dbs && !ALL_DBS.has(c.name) && !this.#dbs.has(c.db)) return false;
    if (!this.#key || NO_KEY.has(c.name)) return true;
    const key = c.args[firstKeyIndex(c.name)];
    return key === undefined || this.#key.test(key.toString('utf8'));
  }

  /** Filters a batch, dropping the MULTI/EXEC of transactions left empty. */
  apply(commands: ReplicatedCommand[]): ReplicatedCommand[] {
    if (!this.active) return commands;
    const out: ReplicatedCommand[] = [];
    let txStart = -1;
    for (const c of commands) {
      if (c.name === 'MULTI') {
        txStart = out.length;
        out.push(c);
      } else if (c.name === 'EXEC') {
        if (txStart !== -1 && out.length === txStart + 1) out.length = txStart;
        else out.push(c);
        txStart = -1;
      } else if (this.passes(c)) out.push(c);
    }
    return out;
  }
}
