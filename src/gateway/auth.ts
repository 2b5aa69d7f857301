/**
 * Access tokens and the access check.
 *
 * A token is `rs1.<payload>.<signature>`: payload is base64url JSON
 * `{"sub"?, "exp", "nbf"?, "subscribe"?: [glob...], "publish"?: [glob...]}` (times in seconds since
 * the epoch, as JWT has them), signature is base64url HMAC-SHA256 over `rs1.<payload>` with the
 * gateway's secret. Every token expires: `exp` is required. Several secrets may be configured so a
 * secret can be rotated without cutting off tokens signed with the old one.
 *
 * Grants are Redis glob patterns. Subscribing to channel C needs a subscribe grant that matches C;
 * psubscribing to pattern P needs a grant that contains P (see globContains); publishing to C needs a
 * publish grant that matches C. Anonymous clients get the configured anonymous patterns only, and a
 * token's grants add to them.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { TokenError } from './errors.js';
import { GlobCache, globContains } from './glob.js';

const PREFIX = 'rs1.';
const MAX_TOKEN_LENGTH = 8192;

export interface TokenClaims {
  /** Who the token is for (shown in logs). */
  subject?: string;
  /** Channel patterns the holder may subscribe to (and psubscribe within). */
  subscribe?: string[];
  /** Channel patterns the holder may publish to. */
  publish?: string[];
  /** Lifetime in seconds from `now` (default 3600), unless expiresAt is given. */
  expiresInSec?: number;
  /** Absolute expiry, ms since the epoch. */
  expiresAt?: number;
  /** Not valid before this time, ms since the epoch. */
  notBefore?: number;
}

export interface Grants {
  /** True when a valid token was presented. */
  token: boolean;
  subject?: string;
  /** ms since the epoch; undefined for anonymous access. */
  expiresAt?: number;
  subscribe: readonly string[];
  publish: readonly string[];
}

type Secret = string | Buffer;

/** Signs a token. The first secret of a list signs; all of them verify. */
export function createToken(secret: Secret | Secret[], claims: TokenClaims, now = Date.now()): string {
  const key = Array.isArray(secret) ? secret[0] : secret;
  if (key === undefined || key.length === 0) throw new TypeError('createToken needs a non-empty secret');
  const exp = Math.floor((claims.expiresAt ?? now + (claims.expiresInSec ?? 3600) * 1000) / 1000);
  const payload: Record<string, unknown> = { exp };
  if (claims.subject !== undefined) payload.sub = claims.subject;
  if (claims.notBefore !== undefined) payload.nbf = Math.floor(claims.notBefore / 1000);
  if (claims.subscribe?.length) payload.subscribe = claims.subscribe;
  if (claims.publish?.length) payload.publish = claims.publish;
  const body = PREFIX + Buffer.from(JSON.stringify(payload)).toString('base64url');
  return body + '.' + sign(key, body).toString('base64url');
}

/**
 * Verifies a token and returns its grants. Throws TokenError (code ERR_GATEWAY_UNAUTHORIZED) with
 * `reason` malformed, signature, expired or not_yet_valid. The signature is checked before the
 * payload is parsed, so unsigned input never reaches JSON.parse.
 */
export function verifyToken(secret: Secret | Secret[], token: string, now = Date.now()): Grants {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !token.startsWith(PREFIX)) {
    throw new TokenError('malformed', 'token is not a redstack token');
  }
  const dot = token.lastIndexOf('.');
  if (dot <= PREFIX.length) throw new TokenError('malformed', 'token has no signature');
  const body = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const keys = Array.isArray(secret) ? secret : [secret];
  let ok = false;
  for (const key of keys) {
    const want = sign(key, body);
    // Compare every key (no early exit) in constant time per key.
    if (given.length === want.length && timingSafeEqual(given, want)) ok = true;
  }
  if (!ok) throw new TokenError('signature', 'token signature does not match');
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(body.slice(PREFIX.length), 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new TokenError('malformed', 'token payload is not JSON');
  }
  if (typeof claims !== 'object' || claims === null) throw new TokenError('malformed', 'token payload is not an object');
  const exp = claims.exp;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new TokenError('malformed', 'token has no expiry');
  if (exp * 1000 <= now) throw new TokenError('expired', 'token has expired');
  if (typeof claims.nbf === 'number' && claims.nbf * 1000 > now) throw new TokenError('not_yet_valid', 'token is not valid yet');
  const grants: Grants = {
    token: true,
    expiresAt: exp * 1000,
    subscribe: stringList(claims.subscribe),
    publish: stringList(claims.publish),
  };
  if (typeof claims.sub === 'string') grants.subject = claims.sub;
  return grants;
}

function sign(key: Secret, body: string): Buffer {
  return createHmac('sha256', key).update(body).digest();
}

function stringList(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  return v.filter((x): x is string => typeof x === 'string' && x.length > 0);
}

export interface AuthOptions {
  /** HMAC secret(s) for tokens; without one, tokens are refused and only anonymous access exists. */
  secret?: Secret | Secret[];
  /** Channel patterns anyone may subscribe to without a token. Default: none. */
  anonymousRead?: string[];
  /** Channel patterns anyone may publish to without a token. Default: none. */
  anonymousPublish?: string[];
}

/** Decides what a connection may do, from its token (if any) and the anonymous patterns. */
export class Authorizer {
  readonly #secret: Secret[];
  readonly #anonRead: string[];
  readonly #anonPublish: string[];
  readonly #globs = new GlobCache();

  constructor(opts: AuthOptions = {}) {
    this.#secret = opts.secret === undefined ? [] : Array.isArray(opts.secret) ? opts.secret : [opts.secret];
    this.#anonRead = opts.anonymousRead ?? [];
    this.#anonPublish = opts.anonymousPublish ?? [];
  }

  /** Grants for a request with this token (undefined: anonymous). Throws TokenError for a bad token. */
  grantsFor(token: string | undefined, now = Date.now()): Grants {
    if (token === undefined || token === '') {
      return { token: false, subscribe: this.#anonRead, publish: this.#anonPublish };
    }
    if (this.#secret.length === 0) throw new TokenError('signature', 'this gateway accepts no tokens (no secret configured)');
    const g = verifyToken(this.#secret, token, now);
    return { ...g, subscribe: [...g.subscribe, ...this.#anonRead], publish: [...g.publish, ...this.#anonPublish] };
  }

  /** True when the grants are still valid at `now` (anonymous grants never expire). */
  static live(g: Grants, now = Date.now()): boolean {
    return g.expiresAt === undefined || g.expiresAt > now;
  }

  canSubscribe(g: Grants, channel: string): boolean {
    for (const p of g.subscribe) if (this.#globs.match(p, channel)) return true;
    return false;
  }

  canPSubscribe(g: Grants, pattern: string): boolean {
    for (const p of g.subscribe) if (globContains(p, pattern)) return true;
    return false;
  }

  canPublish(g: Grants, channel: string): boolean {
    for (const p of g.publish) if (this.#globs.match(p, channel)) return true;
    return false;
  }
}
