/**
 * The command stream that follows the snapshot (or +CONTINUE): RESP arrays of bulk strings, decoded
 * with src/resp's RespDecoder (Buffers, binary-safe), with the offset accounting replication needs.
 *
 * Offsets: every byte of the stream counts, pings, SELECTs and REPLCONF GETACK included; the decoder
 * reports each reply's size on the wire, so `received` is the master's offset of the last complete
 * command. `processed` is the offset a replica may acknowledge and later resume from: it lags
 * `received` while a MULTI is open, because a transaction cut in half by a dropped link must be
 * received again in full (Redis 7's own replica does the same: commandProcessed() leaves reploff
 * alone inside MULTI).
 *
 * What the stream is turned into:
 *   - `ping`: nothing (only the offset moves);
 *   - `SELECT n`: nothing; later commands carry `db: n` (also inside MULTI: a script's SELECT shows up
 *     there, and the stream stays on that db after EXEC);
 *   - `REPLCONF GETACK *`: nothing, but the batch is flagged so that an ACK goes out once it is
 *     applied; other REPLCONF subcommands are ignored;
 *   - `MULTI` ... `EXEC`: held back until EXEC arrives, then handed on as one unit, MULTI and EXEC
 *     included;
 *   - everything else: a ReplicatedCommand with its name in upper case.
 */
import { RespDecoder, type RespValue } from '../resp/index.js';
import { ReplicationError } from './errors.js';
import type { ReplicatedCommand } from './targets/target.js';

export interface StreamBatch {
  /** Complete commands, in order; transactions whole. */
  commands: ReplicatedCommand[];
  /** A REPLCONF GETACK was among them: acknowledge once they are applied. */
  getAck: boolean;
}

export interface CommandStreamOptions {
  /** The master offset of the first byte that will be fed. */
  offset: number;
  /** The database commands run in until the first SELECT (Redis always SELECTs first anyway). */
  db?: number;
  /** Longest bulk string accepted; Redis's proto-max-bulk-len is 512 MB. */
  maxBulkLength?: number;
}

const MULTI = 'MULTI';
const EXEC = 'EXEC';

export class CommandStream {
  readonly #decoder: RespDecoder;
  /** Offset of the decoder's byte 0. */
  readonly #base: number;
  #db: number;
  /** The db as of `processed`: where a resumed stream continues (a cut MULTI's SELECTs don't count). */
  #processedDb: number;
  #received: number;
  #processed: number;
  /** Commands of the open transaction (MULTI first), or null. */
  #tx: ReplicatedCommand[] | null = null;
  #out: ReplicatedCommand[] = [];
  #getAck = false;

  constructor(options: CommandStreamOptions) {
    this.#base = options.offset;
    this.#received = options.offset;
    this.#processed = options.offset;
    this.#db = options.db ?? 0;
    this.#processedDb = this.#db;
    this.#decoder = new RespDecoder({
      returnBuffers: true,
      maxBulkLength: options.maxBulkLength ?? 512 * 1024 * 1024,
      onReply: (value, bytes) => this.#onCommand(value, bytes),
    });
  }

  /** Master offset of the last complete command received. */
  get received(): number {
    return this.#received;
  }

  /** Master offset up to which everything is complete and outside an open transaction. */
  get processed(): number {
    return this.#processed;
  }

  /** The current database. */
  get db(): number {
    return this.#db;
  }

  /** The database as of `processed`: a stream resumed from there starts in it. */
  get processedDb(): number {
    return this.#processedDb;
  }

  /** True while a MULTI has arrived without its EXEC. */
  get inTransaction(): boolean {
    return this.#tx !== null;
  }

  /** Bytes of an incomplete command held by the decoder. */
  get partialBytes(): number {
    return this.#base + this.#decoder.offset - this.#received + this.#decoder.buffered;
  }

  /**
   * Feeds bytes; returns the commands they completed. Throws ReplicationError (ERR_REPL_PROTOCOL) on
   * input that is not a command stream; the stream is then unusable.
   */
  feed(chunk: Buffer): StreamBatch {
    try {
      this.#decoder.write(chunk);
    } catch (err) {
      if (err instanceof ReplicationError) throw err;
      throw new ReplicationError('ERR_REPL_PROTOCOL', `the command stream is not valid RESP: ${(err as Error).message}`, { step: 'stream', cause: err });
    }
    const batch = { commands: this.#out, getAck: this.#getAck };
    this.#out = [];
    this.#getAck = false;
    return batch;
  }

  #onCommand(value: RespValue, bytes: number): void {
    this.#received += bytes;
    if (!Array.isArray(value) || value.length === 0 || !value.every(Buffer.isBuffer)) {
      throw new ReplicationError('ERR_REPL_PROTOCOL', `expected a command (array of bulk strings) ending at offset ${this.#received}`, { step: 'stream' });
    }
    const parts = value as Buffer[];
    const name = parts[0]!.toString('latin1').toUpperCase();
    switch (name) {
      case 'PING':
        break;
      case 'SELECT':
        this.#select(parts);
        break;
      case 'REPLCONF':
        if (parts[1]?.toString('latin1').toUpperCase() === 'GETACK') this.#getAck = true;
        break;
      case MULTI:
        if (this.#tx) throw new ReplicationError('ERR_REPL_PROTOCOL', 'MULTI inside MULTI in the stream', { step: 'stream' });
        this.#tx = [this.#command(name, parts)];
        break;
      case EXEC:
        if (!this.#tx) throw new ReplicationError('ERR_REPL_PROTOCOL', 'EXEC without MULTI in the stream', { step: 'stream' });
        this.#tx.push(this.#command(name, parts));
        for (const c of this.#tx) this.#out.push(c);
        this.#tx = null;
        break;
      default:
        (this.#tx ?? this.#out).push(this.#command(name, parts));
    }
    if (!this.#tx) {
      this.#processed = this.#received;
      this.#processedDb = this.#db;
    }
  }

  #select(parts: Buffer[]): void {
    const db = Number(parts[1]?.toString('latin1'));
    if (!Number.isSafeInteger(db) || db < 0) throw new ReplicationError('ERR_REPL_PROTOCOL', 'SELECT with a bad database number in the stream', { step: 'stream' });
    this.#db = db;
  }

  #command(name: string, parts: Buffer[]): ReplicatedCommand {
    return { db: this.#db, name, args: parts.slice(1), offset: this.#received };
  }
}
