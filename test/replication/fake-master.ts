/**
 * A scripted fake master for offline protocol tests: it answers the replica's handshake from a
 * script, then replays captured master->replica bytes (from +FULLRESYNC on) cut where the test says.
 *
 * Two transports: an in-memory socket pair (fast enough to cut a capture at every byte offset) and a
 * real TCP server (the same script over the kernel's sockets).
 */
import { Duplex } from 'node:stream';
import { createServer, type Server, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RespDecoder, type RespValue } from '../../src/resp/index.js';

/** Sent through `send` to mean: close the connection here. */
const CLOSE = Buffer.alloc(0);

export const CAPTURES = '/work/shared/rdb-fixtures/generated-redis-7.0.15';

export interface Capture {
  name: string;
  bytes: Buffer;
  replid: string;
  offset: number;
  /** Whether the replica must have announced `capa eof` for this capture to be what it sends. */
  diskless: boolean;
}

export function loadCaptures(): Capture[] {
  const meta = JSON.parse(readFileSync(join(CAPTURES, 'capture_meta.json'), 'utf8')) as Record<string, { file: string; replid: string; offset: number }>;
  return Object.entries(meta).map(([name, m]) => ({
    name,
    bytes: readFileSync(join(CAPTURES, m.file)),
    replid: m.replid,
    offset: m.offset,
    diskless: name === 'diskless_eof',
  }));
}

export interface Script {
  /**
   * Reply for each command name (upper case); default +OK. PSYNC and SYNC get `payload` instead,
   * unless PSYNC has a scripted reply here (e.g. -LOADING, or -ERR unknown command to make the
   * replica fall back to SYNC).
   */
  replies?: Record<string, string | ((args: string[]) => string)>;
  /** What PSYNC (or SYNC) gets, cut into these chunks. */
  payload: Buffer[];
  /** Close the connection once the (unheld) payload is sent: a link lost at that point. */
  closeAfter?: boolean;
  /** Hold the bytes after this offset of the payload until the replica's first REPLCONF ACK (a diskless master does). */
  holdAfter?: number;
}

/** Everything the replica sent, decoded. */
export interface MasterLog {
  commands: string[][];
}

/** Runs the script on one end of a connection; `send` writes to the replica. */
function serve(script: Script, send: (b: Buffer) => void, log: MasterLog): (chunk: Buffer) => void {
  let released = false;
  let held: Buffer[] = [];
  const sendChunks = (chunks: Buffer[]) => {
    for (const c of chunks) send(c);
  };
  const decoder = new RespDecoder({
    onReply(value: RespValue) {
      const args = (value as (string | Buffer)[]).map(String);
      log.commands.push(args);
      const name = args[0]!.toUpperCase();
      const scripted = script.replies?.[name];
      if (name === 'PSYNC' && scripted !== undefined) {
        send(Buffer.from(`${typeof scripted === 'function' ? scripted(args) : scripted}\r\n`));
        return;
      }
      if (name === 'PSYNC' || name === 'SYNC') {
        const now: Buffer[] = [];
        let pos = 0;
        for (const c of script.payload) {
          const cut = script.holdAfter === undefined ? c.length : Math.max(0, Math.min(c.length, script.holdAfter - pos));
          if (cut > 0) now.push(c.subarray(0, cut));
          if (cut < c.length) held.push(c.subarray(cut));
          pos += c.length;
        }
        sendChunks(now);
        if (script.closeAfter) send(CLOSE);
        return;
      }
      if (name === 'REPLCONF' && args[1]?.toUpperCase() === 'ACK') {
        if (!released) {
          released = true;
          sendChunks(held);
          held = [];
        }
        return;
      }
      const r = script.replies?.[name];
      send(Buffer.from(`${typeof r === 'function' ? r(args) : r ?? '+OK'}\r\n`));
    },
  });
  return (chunk) => decoder.write(chunk);
}

/**
 * An in-memory connection to a fake master running `script` (or, per connection, `script(n)` for the
 * n-th connection, from 0). Returns the replica's end.
 */
export function memoryMaster(
  scriptOrPer: Script | ((n: number) => Script),
  log: MasterLog = { commands: [] },
): { connect: () => Duplex; log: MasterLog; connections: number; ends: Duplex[] } {
  const out = { connect: () => undefined as unknown as Duplex, log, connections: 0, ends: [] as Duplex[] };
  out.connect = () => {
    const script = typeof scriptOrPer === 'function' ? scriptOrPer(out.connections) : scriptOrPer;
    out.connections++;
    let replicaEnd!: Duplex;
    const masterEnd = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        onBytes(chunk);
        cb();
      },
    });
    replicaEnd = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        masterEnd.write(chunk);
        cb();
      },
      destroy(err, cb) {
        cb(err);
      },
    });
    const onBytes = serve(script, (b) => {
      if (b === CLOSE) replicaEnd.push(null);
      else if (b.length > 0) replicaEnd.push(b);
    }, log);
    out.ends.push(replicaEnd);
    return replicaEnd;
  };
  return out;
}

/** The same over TCP, one script per connection; chunks are written with a pause between them. */
export async function tcpMaster(script: Script): Promise<{ port: number; log: MasterLog; sockets: Set<Socket>; close(): Promise<void> }> {
  const log: MasterLog = { commands: [] };
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let chain = Promise.resolve();
    const onBytes = serve(script, (b) => {
      chain = chain.then(
        () =>
          new Promise<void>((resolve) => {
            if (socket.destroyed) return resolve();
            if (b === CLOSE) {
              socket.end();
              return resolve();
            }
            socket.write(b, () => setTimeout(resolve, 2));
          }),
      );
    }, log);
    socket.on('data', onBytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    log,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
