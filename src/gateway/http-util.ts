/**
 * Small HTTP helpers of the gateway's endpoints: JSON answers, bounded bodies, refused upgrades.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** A history id as clients send it back (`since`, Last-Event-ID). */
export const MESSAGE_ID = /^\d{1,20}-\d{1,20}$/;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The rule the WebSocket parser applies to names, for names that arrive in URLs. */
export function validName(name: string, maxLength: number): boolean {
  return name.length > 0 && name.length <= maxLength && !CONTROL.test(name);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** `{"type":"error",...}` with an HTTP status: the SSE and HTTP form of an error frame. */
export function sendError(res: ServerResponse, status: number, code: string, message: string, extra: Record<string, unknown> = {}): void {
  sendJson(res, status, { type: 'error', code, message, ...extra });
}

/** Answers an upgrade request with an HTTP error and closes the socket (before ws sees it). */
export function refuseUpgrade(socket: Duplex, status: 404 | 429, message: string): void {
  const body = JSON.stringify({ error: message });
  socket.end(`HTTP/1.1 ${status} ${status === 429 ? 'Too Many Requests' : 'Not Found'}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

/** Reads a request body up to `max` bytes; undefined (the rest drained unread) when it is larger. */
export function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      req.resume();
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > max) {
        over = true;
        chunks.length = 0;
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The name after a path prefix, URL-decoded; undefined when the encoding is broken. */
export function pathName(path: string, prefix: string): string | undefined {
  try {
    return decodeURIComponent(path.slice(prefix.length));
  } catch {
    return undefined;
  }
}
