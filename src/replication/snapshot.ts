/**
 * One snapshot being loaded: the RDB parser fed with the payload's bytes (as the spool hands them
 * over), the keys it completes, and the counts progress reports need.
 *
 * The payload framing (payload.ts) decides where the payload ends; the parser decides where the RDB
 * ends. They must agree to the byte: a diskless EOF mark that appeared inside the data, or a payload
 * cut short, would otherwise load a wrong dataset silently.
 */
import { RdbParser, type RdbEvent } from '../rdb/index.js';
import { ReplicationError } from './errors.js';
import type { FullSyncInfo, SnapshotKey } from './targets/target.js';

export interface SnapshotOptions {
  /** Decode values and hand keys to the target (false in stream-only mode: the RDB is only walked). */
  applies: boolean;
  filter: { db?: number[]; key?: RegExp };
  partItems: number;
  /** Hand small collections over undecoded (the target said it takes them: Target.takesEncoded). */
  encoded: boolean;
  skipChecksum: boolean;
  startedAt: number;
}

export class SnapshotLoader {
  readonly info: FullSyncInfo;
  readonly applies: boolean;
  readonly startedAt: number;
  /** Keys handed out, payload bytes fed, keys announced by RESIZEDB hints. */
  keys = 0;
  bytes = 0;
  totalKeys = 0;
  /** When progress was last reported. */
  lastProgress = 0;
  readonly #parser: RdbParser;
  #events: RdbEvent[] = [];

  constructor(info: FullSyncInfo, o: SnapshotOptions) {
    this.info = info;
    this.applies = o.applies;
    this.startedAt = o.startedAt;
    this.#parser = new RdbParser({
      onEvent: (ev) => void this.#events.push(ev),
      values: o.applies,
      filter: o.filter,
      partItems: o.partItems,
      encoded: o.encoded,
      skipChecksum: o.skipChecksum,
    });
  }

  /** Feeds payload bytes; returns the keys they completed. Throws ERR_REPL_SNAPSHOT on a bad RDB. */
  write(data: Buffer): SnapshotKey[] {
    this.bytes += data.length;
    try {
      this.#parser.write(data);
    } catch (err) {
      throw new ReplicationError('ERR_REPL_SNAPSHOT', `the snapshot could not be parsed: ${(err as Error).message}`, { step: 'snapshot', cause: err });
    }
    return this.#take();
  }

  /** The payload ended after `bytes` bytes: the RDB must have ended exactly there. Returns the last keys. */
  end(bytes: number): SnapshotKey[] {
    try {
      this.#parser.end();
    } catch (err) {
      throw new ReplicationError('ERR_REPL_SNAPSHOT', `the snapshot ended early: ${(err as Error).message}`, { step: 'snapshot', cause: err });
    }
    if (this.#parser.bytesConsumed !== bytes) {
      throw new ReplicationError('ERR_REPL_SNAPSHOT', `the RDB ended at byte ${this.#parser.bytesConsumed} but the payload had ${bytes} bytes`, { step: 'snapshot' });
    }
    return this.#take();
  }

  #take(): SnapshotKey[] {
    const events = this.#events;
    if (events.length === 0) return [];
    this.#events = [];
    const keys: SnapshotKey[] = [];
    for (const ev of events) {
      if (ev.kind === 'key') keys.push(ev);
      else if (ev.kind === 'resize') this.totalKeys += ev.keys;
    }
    if (!this.applies) return [];
    this.keys += keys.length;
    return keys;
  }
}
