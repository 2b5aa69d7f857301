/**
 * Client options and redis:// URL parsing.
 *
 *   redis://[[user]:password@]host[:port][/db][?protocol=3&name=app&commandTimeoutMs=500]
 *   rediss://...            TLS
 *   unix:///path/to/redis.sock?db=2
 */
import type { ConnectionOptions } from './connection.js';
import { RedstackError } from '../errors.js';

export interface ClientOptions extends ConnectionOptions {
  url?: string;
  /** Connections kept for blocking commands (BLPOP, XREAD BLOCK...), so they never stall other commands. */
  blockingPoolMax?: number;
}

export class ConfigError extends RedstackError {
  constructor(message: string) {
    super('ERR_CONFIG', message);
  }
}

const NUMERIC = ['db', 'connectTimeoutMs', 'commandTimeoutMs', 'offlineQueueMax', 'offlineTimeoutMs', 'protocol'] as const;

export function parseRedisUrl(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // Never echo the URL: it may carry a password.
    throw new ConfigError('invalid Redis URL (expected redis://[user:password@]host[:port][/db])');
  }
  const out: ConnectionOptions = {};
  if (u.protocol === 'unix:') {
    out.path = decodeURIComponent(u.pathname);
  } else if (u.protocol === 'redis:' || u.protocol === 'rediss:') {
    out.host = u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
    out.port = u.port ? Number(u.port) : 6379;
    if (u.protocol === 'rediss:') out.tls = true;
    const db = u.pathname.replace(/^\//, '');
    if (db) {
      if (!/^\d+$/.test(db)) throw new ConfigError('the Redis URL path must be a database number');
      out.db = Number(db);
    }
  } else {
    throw new ConfigError(`unsupported URL scheme '${u.protocol}' (use redis:, rediss: or unix:)`);
  }
  if (u.username) out.username = decodeURIComponent(u.username);
  if (u.password) out.password = decodeURIComponent(u.password);
  if (out.username && !u.password) {
    // redis://secret@host is commonly meant as a password alone (as redis-cli -u reads it).
    out.password = out.username;
    delete out.username;
  }
  for (const key of NUMERIC) {
    const v = u.searchParams.get(key);
    if (v === null) continue;
    if (!/^\d+$/.test(v)) throw new ConfigError(`URL parameter ${key} must be a number`);
    (out as Record<string, number>)[key] = Number(v);
  }
  const name = u.searchParams.get('name') ?? u.searchParams.get('clientName');
  if (name) out.clientName = name;
  if (out.protocol !== undefined && out.protocol !== 2 && out.protocol !== 3) throw new ConfigError('protocol must be 2 or 3');
  return out;
}

/** Merges a URL (argument, options.url, or REDIS_URL) with explicit options; explicit options win. */
export function resolveOptions(arg?: string | ClientOptions): ClientOptions {
  const opts: ClientOptions = typeof arg === 'string' ? { url: arg } : { ...(arg ?? {}) };
  const url = opts.url ?? (opts.host || opts.port || opts.path ? undefined : process.env.REDIS_URL);
  const fromUrl = url ? parseRedisUrl(url) : {};
  const merged: ClientOptions = { ...fromUrl };
  for (const [k, v] of Object.entries(opts)) if (v !== undefined && k !== 'url') (merged as Record<string, unknown>)[k] = v;
  return merged;
}
