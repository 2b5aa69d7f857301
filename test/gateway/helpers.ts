/**
 * Test helpers for the gateway: a WebSocket client that splits the server's "\n"-joined frames into
 * messages and lets a test wait for one, an SSE reader on a raw HTTP response, and a gateway on a
 * private redis-server.
 */
import { request } from 'node:http';
import WebSocket from 'ws';
import { RedisServer } from '../support/redis-server.js';
import { createClient, type Client } from '../../src/client/index.js';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/gateway/index.js';

export type Msg = Record<string, unknown> & { type: string };

export class WsClient {
  readonly ws: WebSocket;
  readonly messages: Msg[] = [];
  /** Raw frames received (each may hold several messages). */
  frames = 0;
  closed: { code: number; reason: string } | undefined;
  #waiters: { pred: (m: Msg) => boolean; resolve: (m: Msg) => void }[] = [];
  #nextId = 1;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) throw new Error('server sent a binary frame');
      this.frames++;
      for (const line of data.toString('utf8').split('\n')) {
        const m = JSON.parse(line) as Msg;
        this.messages.push(m);
        this.#waiters = this.#waiters.filter((w) => {
          if (!w.pred(m)) return true;
          w.resolve(m);
          return false;
        });
      }
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
    });
    this.ws.on('error', () => undefined);
  }

  static async open(url: string): Promise<WsClient> {
    const c = new WsClient(url);
    await new Promise<void>((resolve, reject) => {
      c.ws.once('open', () => resolve());
      c.ws.once('error', reject);
    });
    return c;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Sends a request with a fresh id and resolves with its ack, pong or error. */
  async request(frame: Record<string, unknown>, timeoutMs = 5000): Promise<Msg> {
    const id = this.#nextId++;
    const p = this.waitFor((m) => m.id === id && (m.type === 'ack' || m.type === 'error' || m.type === 'pong'), timeoutMs);
    this.send({ ...frame, id });
    return p;
  }

  /** Resolves with the first message (already received or future) matching `pred`. */
  waitFor(pred: (m: Msg) => boolean, timeoutMs = 5000): Promise<Msg> {
    const hit = this.messages.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (m: Msg) => (clearTimeout(t), resolve(m)) };
      const t = setTimeout(() => {
        this.#waiters = this.#waiters.filter((x) => x !== w);
        reject(new Error(`timed out waiting for a message; got ${JSON.stringify(this.messages.slice(-5))}`));
      }, timeoutMs);
      this.#waiters.push(w);
    });
  }

  of(type: string): Msg[] {
    return this.messages.filter((m) => m.type === type);
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

export interface SseEvent {
  id?: string;
  data: Msg;
}

/** An SSE connection read by hand, so tests see ids and status codes. */
export class SseClient {
  status = 0;
  readonly events: SseEvent[] = [];
  body = '';
  #buf = '';
  #req: ReturnType<typeof request> | undefined;
  #waiters: { pred: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }[] = [];

  static open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const c = new SseClient();
    return new Promise((resolve, reject) => {
      c.#req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        c.status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        res.on('data', (d: string) => c.#feed(d));
        res.on('error', () => undefined);
        resolve(c);
      });
      c.#req.on('error', reject);
      c.#req.end();
    });
  }

  #feed(d: string): void {
    this.body += d;
    this.#buf += d;
    let i: number;
    while ((i = this.#buf.indexOf('\n\n')) >= 0) {
      const block = this.#buf.slice(0, i);
      this.#buf = this.#buf.slice(i + 2);
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('id: ')) id = line.slice(4);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length === 0) continue;
      const e: SseEvent = { data: JSON.parse(data.join('\n')) as Msg };
      if (id !== undefined) e.id = id;
      this.events.push(e);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.pred(e)) return true;
        w.resolve(e);
        return false;
      });
    }
  }

  waitFor(pred: (e: SseEvent) => boolean, timeoutMs = 5000): Promise<SseEvent> {
    const hit = this.events.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for an SSE event; got ${JSON.stringify(this.events.slice(-5))} body=${this.body.slice(-300)}`)), timeoutMs);
      this.#waiters.push({ pred, resolve: (e) => (clearTimeout(t), resolve(e)) });
    });
  }

  close(): void {
    this.#req?.destroy();
  }
}

export interface Setup {
  redis: RedisServer;
  gateway: Gateway;
  /** A separate producer client. */
  pub: Client;
  wsUrl: string;
  stop(): Promise<void>;
}

export async function setup(opts: Partial<GatewayOptions> = {}, redis?: RedisServer): Promise<Setup> {
  const server = redis ?? (await RedisServer.start());
  const gateway = await createGateway({ redis: server.url, port: 0, auth: { anonymousRead: ['*'], anonymousPublish: ['pub.*'] }, ...opts });
  const pub = createClient(server.url);
  return {
    redis: server,
    gateway,
    pub,
    wsUrl: gateway.url.replace('http', 'ws') + '/ws',
    async stop() {
      await gateway.close();
      await pub.quit().catch(() => pub.disconnect());
      if (!redis) await server.stop();
    },
  };
}

export async function httpRequest(url: string, init: { method?: string; body?: string | Buffer; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
