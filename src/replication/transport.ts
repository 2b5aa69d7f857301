/**
 * Where the master is and how to reach it: TCP, TLS, a unix socket, or a caller's own Duplex (tests,
 * proxies, tunnels). Credentials travel with the endpoint but are only ever written to the socket.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { parseRedisUrl } from '../client/index.js';

export interface Endpoint {
  host: string;
  port: number;
  path?: string;
  tls?: boolean | tls.ConnectionOptions;
  username?: string;
  password?: string;
}

export interface EndpointOptions {
  url?: string;
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  tls?: boolean | tls.ConnectionOptions;
}

/** The URL's parts, overridden by explicit options. */
export function endpointFrom(o: EndpointOptions): Endpoint {
  const u = o.url ? parseRedisUrl(o.url) : {};
  const e: Endpoint = { host: o.host ?? u.host ?? '127.0.0.1', port: o.port ?? u.port ?? 6379 };
  if (u.path) e.path = u.path;
  const t = o.tls ?? u.tls;
  if (t) e.tls = t;
  const username = o.username ?? u.username;
  if (username) e.username = username;
  const password = o.password ?? u.password;
  if (password !== undefined) e.password = password;
  return e;
}

export interface Opened {
  socket: Duplex;
  /** The event that says the socket can be written to, or undefined when it already can. */
  readyEvent: 'connect' | 'secureConnect' | undefined;
}

/** Opens a connection to `e` (or calls `connect`). */
export function openTransport(e: Endpoint, connect?: () => Duplex): Opened {
  if (connect) {
    const socket = connect();
    return { socket, readyEvent: (socket as net.Socket).connecting === true ? 'connect' : undefined };
  }
  if (e.tls) {
    const opts: tls.ConnectionOptions = typeof e.tls === 'object' ? { ...e.tls } : {};
    // SNI carries host names only (RFC 6066): none for an IP address.
    const sni = net.isIP(e.host) ? {} : { servername: e.host };
    const socket = e.path ? tls.connect({ ...opts, path: e.path }) : tls.connect({ ...sni, ...opts, host: e.host, port: e.port });
    return { socket, readyEvent: 'secureConnect' };
  }
  const socket = e.path ? net.connect({ path: e.path }) : net.connect({ host: e.host, port: e.port });
  socket.setNoDelay(true);
  return { socket, readyEvent: 'connect' };
}
