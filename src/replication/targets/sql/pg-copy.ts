/**
 * COPY ... FROM STDIN for node-postgres without pg-copy-streams: a "submittable" (an object with
 * submit(connection), which pg's Client.query() accepts in place of a query) that speaks the CopyIn
 * sub-protocol itself:
 *
 *   -> Query 'COPY t (...) FROM STDIN (FORMAT binary)'
 *   <- CopyInResponse                         ready: write() may be called
 *   -> CopyData ... (write)                   each chunk one message; awaits 'drain' when the socket is full
 *   -> CopyDone (end) | CopyFail (fail)
 *   <- CommandComplete 'COPY n' | ErrorResponse, then ReadyForQuery
 *
 * Rows use PostgreSQL's binary COPY format (no text escaping of bytea): the 19-byte header, then per
 * row an int16 field count and per field an int32 length (-1 = NULL) and the bytes, then int16 -1.
 * CopyRows below builds them.
 */
import type { Client } from 'pg';
import { ByteWriter } from './bytes.js';

/** The part of pg's internal Connection this uses (stable across pg 8.x). */
interface PgConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(message: string): void;
  stream: NodeJS.WritableStream & { writableNeedDrain?: boolean };
}

export class CopyIn {
  readonly text: string;
  /** Rows PostgreSQL reported as copied (after done). */
  rowCount = 0;
  #conn: PgConnection | null = null;
  #error: Error | null = null;
  #ready: Promise<void>;
  #resolveReady!: () => void;
  #rejectReady!: (e: Error) => void;
  #done: Promise<void>;
  #resolveDone!: () => void;
  #rejectDone!: (e: Error) => void;
  #ended = false;

  constructor(text: string) {
    this.text = text;
    this.#ready = new Promise((res, rej) => {
      this.#resolveReady = res;
      this.#rejectReady = rej;
    });
    this.#done = new Promise((res, rej) => {
      this.#resolveDone = res;
      this.#rejectDone = rej;
    });
    // Either may never be awaited (an early error): keep them from being reported as unhandled.
    this.#ready.catch(() => {});
    this.#done.catch(() => {});
  }

  /** Sends the COPY and resolves once PostgreSQL accepts data. */
  static async start(client: Client, text: string): Promise<CopyIn> {
    const copy = new CopyIn(text);
    void (client as unknown as { query(q: unknown): unknown }).query(copy);
    await copy.#ready;
    return copy;
  }

  /** The error PostgreSQL reported, if any (no more data is accepted then). */
  get error(): Error | null {
    return this.#error;
  }

  /** Sends one chunk of COPY data. Returns a promise only when the socket asks to wait. */
  write(chunk: Buffer): Promise<void> | undefined {
    if (this.#error) throw this.#error;
    const c = this.#conn!;
    c.sendCopyFromChunk(chunk);
    if (!c.stream.writableNeedDrain) return undefined;
    return new Promise((res) => {
      const go = () => {
        c.stream.removeListener('drain', go);
        c.stream.removeListener('close', go);
        res();
      };
      c.stream.once('drain', go);
      c.stream.once('close', go);
    });
  }

  /** Ends the data; resolves when PostgreSQL has committed the COPY to the transaction. */
  async end(): Promise<number> {
    if (this.#error) throw this.#error;
    this.#ended = true;
    this.#conn!.endCopyFrom();
    await this.#done;
    return this.rowCount;
  }

  /** Aborts the COPY (PostgreSQL answers with an error, which is expected and swallowed). */
  async fail(reason: string): Promise<void> {
    if (!this.#ended && this.#conn && !this.#error) {
      this.#ended = true;
      this.#conn.sendCopyFail(reason);
    }
    await this.#done.catch(() => {});
  }

  // pg's submittable interface -------------------------------------------------------------------

  submit(connection: PgConnection): void {
    this.#conn = connection;
    connection.query(this.text);
  }

  handleCopyInResponse(connection: PgConnection): void {
    this.#conn = connection;
    this.#resolveReady();
  }

  handleCommandComplete(msg: { text?: string }): void {
    const m = /COPY (\d+)/.exec(msg.text ?? '');
    if (m) this.rowCount = Number(m[1]);
  }

  handleError(err: Error): void {
    this.#error ??= err;
    this.#rejectReady(err);
    // pg sends ReadyForQuery after an error message; a lost connection sends nothing more.
    this.#rejectDone(err);
  }

  handleReadyForQuery(): void {
    if (this.#error) this.#rejectDone(this.#error);
    else this.#resolveDone();
  }

  handleRowDescription(): void {}
  handleDataRow(): void {}
  handlePortalSuspended(): void {}
  handleEmptyQuery(): void {}
  handleCopyData(): void {}
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * Rows of (db int4, key bytea, type text, value bytea, expires_at int8) in binary COPY format,
 * accumulated in one buffer that the caller drains in chunks.
 */
export class CopyRows {
  readonly w = new ByteWriter(512 * 1024);
  rows = 0;

  constructor() {
    this.w.bytes(SIGNATURE);
    this.w.i32be(0); // flags
    this.w.i32be(0); // header extension length
  }

  add(db: number, key: Buffer, type: string, value: Buffer, expiresAt: number | undefined): void {
    const w = this.w;
    w.i16be(5);
    w.i32be(4);
    w.i32be(db);
    w.i32be(key.length);
    w.bytes(key);
    w.i32be(type.length); // type names are ASCII
    w.ensure(type.length);
    w.len += w.buf.write(type, w.len, 'latin1');
    w.i32be(value.length);
    w.bytes(value);
    if (expiresAt === undefined) {
      w.i32be(-1);
    } else {
      w.i32be(8);
      w.i64be(expiresAt);
    }
    this.rows++;
  }

  /** Appends the file trailer. */
  finish(): void {
    this.w.i16be(-1);
  }

  get size(): number {
    return this.w.len;
  }

  /**
   * Takes what has been written and starts over. The result is a view, valid until the next add():
   * send it at once (CopyIn.write copies it into the outgoing message).
   */
  take(): Buffer {
    const out = this.w.view();
    this.w.reset();
    return out;
  }
}
