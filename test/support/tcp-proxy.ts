/**
 * A TCP proxy between a client under test and a real server, for network faults:
 * cut every connection (RST-like destroy), blackhole (accept and hold bytes, forward nothing),
 * pause/resume forwarding, and heal.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export class TcpProxy {
  readonly port: number;
  #server: Server;
  #pairs = new Set<[Socket, Socket]>();
  #blackholed = false;
  #refusing = false;
  targetPort: number;
  /** Bytes forwarded from client to server and back, for assertions. */
  bytesUp = 0;
  bytesDown = 0;

  private constructor(server: Server, port: number, targetPort: number) {
    this.#server = server;
    this.port = port;
    this.targetPort = targetPort;
  }

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new TcpProxy(server, (server.address() as { port: number }).port, targetPort);
    server.on('connection', (client) => proxy.#accept(client, targetHost));
    return proxy;
  }

  #accept(client: Socket, host: string): void {
    if (this.#refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(this.targetPort, host);
    const pair: [Socket, Socket] = [client, upstream];
    this.#pairs.add(pair);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.#pairs.delete(pair);
    };
    client.on('data', (d) => {
      if (this.#blackholed) return;
      this.bytesUp += d.length;
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (this.#blackholed) return;
      this.bytesDown += d.length;
      client.write(d);
    });
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  }

  get connections(): number {
    return this.#pairs.size;
  }

  /** Destroys every proxied connection now (both sides see a reset/close). */
  cut(): void {
    for (const [a, b] of this.#pairs) {
      a.destroy();
      b.destroy();
    }
    this.#pairs.clear();
  }

  /** Silently drops all bytes both ways on existing and new connections, like a partition. */
  blackhole(): void {
    this.#blackholed = true;
  }

  /** New connections are closed at once (server "down"). */
  refuse(on = true): void {
    this.#refusing = on;
  }

  heal(): void {
    this.#blackholed = false;
    this.#refusing = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
