/**
 * Node metadata: validation, the fields every node carries, and the record stored in Redis.
 *
 * Metadata is plain JSON (null, booleans, finite numbers, strings, arrays, plain objects) so every
 * language can read the registry and a value reads back exactly as it was written. Anything else is
 * refused with a DiscoveryError naming the path, before any Redis traffic, so a bad update never
 * disturbs the node's registration: it stays registered with its previous metadata.
 *
 * redgrid stored the node's Redis URL, password included, in the registry. Here the system fields are
 * only host, pid, startedAt and version, and user metadata that looks like a credential (a URL with a
 * password, a key named like a secret) is refused rather than published to every node.
 */
import { hostname } from 'node:os';
import { createRequire } from 'node:module';
import { DiscoveryError } from './errors.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Meta = { [key: string]: Json };

/** Fields the registry sets itself; callers cannot set them. */
export const SYSTEM_FIELDS = ['host', 'pid', 'startedAt', 'version', 'unhealthy'] as const;
const RESERVED = new Set<string>(SYSTEM_FIELDS);

export const DEFAULT_MAX_META_BYTES = 64 * 1024;
/** Nesting limit: deep enough for any sane metadata, shallow enough that validation cannot blow the stack. */
const MAX_DEPTH = 32;

const SECRET_KEY = /^(pass(word)?|passwd|secret|token|api[-_]?key|auth|credentials?|private[-_]?key)$/i;

/** The fields every node carries, computed once per grid. */
export function systemMeta(version?: string): Meta {
  return {
    host: hostname(),
    pid: process.pid,
    startedAt: new Date().toISOString(),
    version: version ?? process.env.npm_package_version ?? redstackVersion(),
  };
}

function redstackVersion(): string {
  try {
    // src/discovery and dist/discovery are both two levels below package.json.
    return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Throws DiscoveryError(ERR_DISCOVERY_META) unless `value` is plain JSON without credentials. */
export function assertJson(value: unknown, path: string, depth = 0, seen: Set<object> = new Set()): void {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') {
    if (typeof value === 'string' && hasUrlPassword(value)) {
      throw metaError(`${path} looks like a URL with a password; registry metadata is visible to every node, so credentials are refused`, path);
    }
    return;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw metaError(`${path} is ${String(value)}, which JSON cannot represent`, path);
    return;
  }
  if (typeof value !== 'object') {
    throw metaError(`${path} is a ${typeof value}, which is not serialisable as JSON`, path);
  }
  if (depth >= MAX_DEPTH) throw metaError(`${path} is nested deeper than ${MAX_DEPTH} levels`, path);
  if (seen.has(value)) throw metaError(`${path} refers back to itself (a cycle is not serialisable)`, path);
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) assertJson(value[i], `${path}[${i}]`, depth + 1, seen);
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      throw metaError(`${path} is a ${name}; only plain objects, arrays and primitives are allowed`, path);
    }
    for (const [k, v] of Object.entries(value)) {
      const p = `${path}.${k}`;
      if (SECRET_KEY.test(k)) throw metaError(`${p}: a key named like a secret is refused; registry metadata is visible to every node`, p);
      if (v === undefined) throw metaError(`${p} is undefined, which JSON would silently drop`, p);
      assertJson(v, p, depth + 1, seen);
    }
  }
  seen.delete(value);
}

/**
 * True if the string holds scheme://user:password@... anywhere. Written as a scan from each '://'
 * rather than one regular expression, which backtracks quadratically on long strings without a match.
 */
export function hasUrlPassword(s: string): boolean {
  for (let i = s.indexOf('://'); i >= 0; i = s.indexOf('://', i + 3)) {
    let colon = false;
    for (let j = i + 3; j < s.length; j++) {
      const c = s.charCodeAt(j);
      if (c === 0x40 /* @ */) {
        if (colon) return true;
        break;
      }
      if (c === 0x2f /* / */ || c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) break;
      if (c === 0x3a /* : */) colon = true;
    }
  }
  return false;
}

function metaError(message: string, path: string): DiscoveryError {
  return new DiscoveryError('ERR_DISCOVERY_META', `invalid metadata: ${message}`, { path });
}

/** Checks caller metadata (an object without reserved fields). */
export function assertUserMeta(meta: unknown, what = 'meta'): asserts meta is Meta {
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
    throw metaError(`${what} must be a plain object`, what);
  }
  for (const k of Object.keys(meta)) {
    if (RESERVED.has(k)) throw metaError(`${what}.${k} is set by the registry itself (reserved: ${SYSTEM_FIELDS.join(', ')})`, `${what}.${k}`);
  }
  assertJson(meta, what);
}

/**
 * Applies a patch: keys whose value is `undefined` are removed, others replaced (shallow, like
 * redgrid's update_meta). Returns a new object; validates the patch first.
 */
export function mergePatch(current: Meta, patch: Record<string, Json | undefined>): Meta {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) throw metaError('the patch must be a plain object', 'patch');
  const next: Meta = { ...current };
  const set: Meta = {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) delete next[k];
    else set[k] = v;
  }
  assertUserMeta(set, 'patch');
  return Object.assign(next, set);
}

/** What is stored in the registry's hash and sent in join/update messages. */
export interface NodeRecord {
  ttl: number;
  meta: Meta;
}

/** Serialises a record, refusing metadata over `maxBytes` (measured as UTF-8 JSON). */
export function encodeRecord(ttl: number, meta: Meta, maxBytes: number): string {
  const metaJson = JSON.stringify(meta);
  const bytes = Buffer.byteLength(metaJson);
  if (bytes > maxBytes) {
    throw new DiscoveryError(
      'ERR_DISCOVERY_META_TOO_LARGE',
      `metadata is ${bytes} bytes as JSON, over the limit of ${maxBytes} (raise maxMetaBytes, or keep bulky data elsewhere and put a reference in the metadata)`,
      { path: 'meta' },
    );
  }
  return `{"ttl":${ttl},"meta":${metaJson}}`;
}

/** Parses a stored record; a corrupt one (written by something else) reads as empty metadata. */
export function decodeRecord(text: string | Buffer | null | undefined): NodeRecord {
  if (text === null || text === undefined) return { ttl: 0, meta: {} };
  try {
    const r = JSON.parse(String(text)) as Partial<NodeRecord>;
    const meta = r.meta && typeof r.meta === 'object' && !Array.isArray(r.meta) ? r.meta : {};
    return { ttl: typeof r.ttl === 'number' ? r.ttl : 0, meta };
  } catch {
    return { ttl: 0, meta: {} };
  }
}
