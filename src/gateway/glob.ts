/**
 * Redis glob patterns (the syntax of PSUBSCRIBE and KEYS: `*`, `?`, `[abc]`, `[^a]`, `[a-z]`, `\x`),
 * compiled once to a RegExp, and the containment test used for authorisation: a token that grants
 * `stats.*` may psubscribe `stats.router.*` but not `*`.
 */

/** Compiles a Redis glob to an anchored RegExp. Callers that match often keep the result. */
export function globToRegExp(glob: string): RegExp {
  let src = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') src += '[\\s\\S]*';
    else if (c === '?') src += '[\\s\\S]';
    else if (c === '\\' && i + 1 < glob.length) src += escapeRe(glob[++i]!);
    else if (c === '[') {
      const end = classEnd(glob, i);
      if (end < 0) {
        // Redis treats an unclosed class as running to the end of the pattern; matching nothing
        // beyond it is the safe reading for an authorisation check.
        src += '(?!)';
        break;
      }
      src += classToRe(glob.slice(i + 1, end));
      i = end;
    } else src += escapeRe(c);
  }
  return new RegExp(src + '$');
}

/** True when `channel` matches the Redis glob `glob` (compiles each time; see GlobCache). */
export function globMatch(glob: string, channel: string): boolean {
  return globToRegExp(glob).test(channel);
}

/** Compiled globs, owned by one component (the gateway's Authorizer), bounded. */
export class GlobCache {
  readonly #res = new Map<string, RegExp>();
  readonly #max: number;

  constructor(max = 10_000) {
    this.#max = max;
  }

  match(glob: string, channel: string): boolean {
    let re = this.#res.get(glob);
    if (re === undefined) {
      if (this.#res.size >= this.#max) this.#res.clear();
      re = globToRegExp(glob);
      this.#res.set(glob, re);
    }
    return re.test(channel);
  }
}

/** True when the pattern holds any glob metacharacter (so it is not a plain channel name). */
export function isGlob(pattern: string): boolean {
  return /[*?[\\]/.test(pattern);
}

/**
 * True when every channel that `inner` matches is also matched by `outer`. Decided conservatively:
 * equal patterns, or `outer` is `prefix*` (a literal prefix and one trailing star) and `inner`'s
 * literal prefix starts with it. Anything else is refused, never guessed.
 */
export function globContains(outer: string, inner: string): boolean {
  if (outer === inner) return true;
  const prefix = trailingStarPrefix(outer);
  if (prefix === undefined) return false;
  return literalPrefix(inner).startsWith(prefix);
}

/** For `abc*` (no other metacharacters) the literal `abc`; otherwise undefined. */
function trailingStarPrefix(glob: string): string | undefined {
  if (!glob.endsWith('*')) return undefined;
  const head = glob.slice(0, -1);
  let out = '';
  for (let i = 0; i < head.length; i++) {
    const c = head[i]!;
    if (c === '\\' && i + 1 < head.length) out += head[++i];
    else if (c === '*' || c === '?' || c === '[' || c === '\\') return undefined;
    else out += c;
  }
  return out;
}

/** The characters every match of `glob` starts with: up to its first metacharacter. */
function literalPrefix(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '\\' && i + 1 < glob.length) out += glob[++i];
    else if (c === '*' || c === '?' || c === '[') break;
    else out += c;
  }
  return out;
}

function classEnd(glob: string, open: number): number {
  for (let j = open + 1; j < glob.length; j++) {
    if (glob[j] === '\\') j++;
    else if (glob[j] === ']' && j > open + 1) return j;
    else if (glob[j] === ']' && j === open + 1) return j; // `[]` matches nothing in Redis
  }
  return -1;
}

function classToRe(body: string): string {
  if (body === '' || body === '^') return '(?!)';
  let negate = false;
  let i = 0;
  if (body[0] === '^') {
    negate = true;
    i = 1;
  }
  let out = '';
  for (; i < body.length; i++) {
    let c = body[i]!;
    if (c === '\\' && i + 1 < body.length) c = body[++i]!;
    if (body[i + 1] === '-' && i + 2 < body.length) {
      let d = body[i + 2]!;
      let skip = 2;
      if (d === '\\' && i + 3 < body.length) {
        d = body[i + 3]!;
        skip = 3;
      }
      // Redis accepts reversed ranges ([z-a]) as the same set.
      const [lo, hi] = c <= d ? [c, d] : [d, c];
      out += `${escapeClass(lo)}-${escapeClass(hi)}`;
      i += skip;
    } else out += escapeClass(c);
  }
  return negate ? `[^${out}]` : `[${out}]`;
}

function escapeRe(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? '\\' + c : c;
}

function escapeClass(c: string): string {
  return /[\\\]^-]/.test(c) ? '\\' + c : c;
}
