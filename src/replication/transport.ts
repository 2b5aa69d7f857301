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
  /** True when `onChunk` receives what is read (plain TCP); otherwise listen for 'data'. */
  direct: boolean;
  /** The event that says the socket can be written to, or undefined when it already can. */
  readyEvent: 'connect' | 'secureConnect' | undefined;
}

/**
 * Opens a connection to `e` (or calls `connect`). A plain TCP socket hands what it reads to `onChunk`
 * directly (see chunkReader); TLS sockets and custom transports emit 'data' as usual.
 */
export function openTransport(e: Endpoint, connect: (() => Duplex) | undefined, onChunk: (chunk: Buffer) => void): Opened {
  if (connect) {
    const socket = connect();
    return { socket, direct: false, readyEvent: (socket as net.Socket).connecting === true ? 'connect' : undefined };
  }
  if (e.tls) {
    const opts: tls.ConnectionOptions = typeof e.tls === 'object' ? { ...e.tls } : {};
    // SNI carries host names only (RFC 6066): none for an IP address.
    const sni = net.isIP(e.host) ? {} : { servername: e.host };
    const socket = e.path ? tls.connect({ ...opts, path: e.path }) : tls.connect({ ...sni, ...opts, host: e.host, port: e.port });
    return { socket, direct: false, readyEvent: 'secureConnect' };
  }
  const onread = chunkReader(onChunk);
  const socket = e.path ? net.connect({ path: e.path, onread }) : net.connect({ host: e.host, port: e.port, onread });
  socket.setNoDelay(true);
  return { socket, direct: true, readyEvent: 'connect' };
}

/** Scratch memory read into; also the size of a read that is handed over without a copy. */
const READ_SIZE = 64 * 1024;

/**
 * Socket reads through net's documented `onread` option instead of the 'data' event: on the live
 * stream a read carries a write or two, and the Readable machinery around each one (push, a
 * nextTick, the event) allocated more than the commands themselves, which is garbage the young
 * generation must collect while the mirror's heap is big. A short read is copied out of the
 * scratch memory, which is then read into again; a long one (a snapshot transfer) keeps it, and
 * the next read gets new scratch. Chunks outlive the call (the spool holds them), hence the copy.
 */
function chunkReader(onChunk: (chunk: Buffer) => void): net.OnReadOpts {
  let scratch = Buffer.allocUnsafeSlow(READ_SIZE);
  return {
    buffer: () => scratch,
    callback: (n: number, buf: Uint8Array) => {
      let chunk: Buffer;
      if (n >= READ_SIZE / 2) {
        chunk = (buf as Buffer).subarray(0, n);
        scratch = Buffer.allocUnsafeSlow(READ_SIZE);
      } else {
        chunk = Buffer.allocUnsafe(n);
        (buf as Buffer).copy(chunk, 0, 0, n);
      }
      onChunk(chunk);
      return true;
    },
  };
}
