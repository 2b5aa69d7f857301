/**
 * Snapshot keys into rows: one row per key, its value in value format 1 (codec.ts), written straight
 * from the RDB parser's key events without building the memory mirror's objects.
 *
 * A big collection arrives in parts (SnapshotKey.part/more); its row is emitted once, after the last
 * part, with the parts' items concatenated (value format 1 has no item count for that reason).
 * Streams are merged as parsed values and encoded at their last part. Module values are skipped and
 * counted.
 */
import type { StreamEntry, StreamValue } from '../../../rdb/index.js';
import type { SnapshotKey } from '../target.js';
import { ByteWriter } from './bytes.js';
import { encodeStreamValue, type KeyType } from './codec.js';

/** Receives each complete row; `value` is a view, valid only during the call. */
export type RowSink = (db: number, key: Buffer, type: KeyType, value: Buffer, expiresAt: number | undefined) => void;

interface Pending {
  db: number;
  key: Buffer;
  type: KeyType;
  expiresAt: number | undefined;
  w: ByteWriter;
  entries: StreamEntry[];
}

export class SnapshotRows {
  /** Keys whose type the SQL targets do not store (module values). */
  unsupportedKeys = 0;
  /** Rows emitted. */
  rows = 0;
  readonly #scratch = new ByteWriter(256 * 1024);
  #pending: Pending | null = null;

  /** Encodes one key event (or part) and hands complete rows to `sink`. */
  add(k: SnapshotKey, sink: RowSink): void {
    if (k.type === 'module') {
      if (k.part === 0) this.unsupportedKeys++;
      return;
    }
    if (k.part === 0 && !k.more) {
      const w = this.#scratch;
      w.reset();
      encodeSnapshotValue(w, k);
      this.rows++;
      sink(k.db, k.key, k.type, w.view(), k.expiresAt);
      return;
    }
    let p = this.#pending;
    if (k.part === 0 || !p) {
      p = { db: k.db, key: Buffer.from(k.key), type: k.type, expiresAt: k.expiresAt, w: new ByteWriter(1024 * 1024), entries: [] };
      this.#pending = p;
    }
    if (k.type === 'stream') {
      for (const e of k.value!.entries) p.entries.push(e);
      if (!k.more) {
        const all: StreamValue = { ...k.value!, entries: p.entries };
        encodeStreamValue(p.w, all);
      }
    } else {
      encodeSnapshotValue(p.w, k);
    }
    if (k.more) return;
    this.#pending = null;
    this.rows++;
    sink(p.db, p.key, p.type, p.w.view(), p.expiresAt);
  }

  /** Forgets a key left half-received (the snapshot broke off). */
  reset(): void {
    this.#pending = null;
  }
}

/** Appends the items of one key event (one part of a collection) in value format 1. */
function encodeSnapshotValue(w: ByteWriter, k: SnapshotKey): void {
  switch (k.type) {
    case 'string':
      w.bytes(k.value!);
      return;
    case 'list':
    case 'set':
      for (const it of k.value!) w.item(it);
      return;
    case 'hash':
      for (const [f, v] of k.value!) {
        w.item(f);
        w.item(v);
      }
      return;
    case 'zset':
      for (const [m, s] of k.value!) {
        w.item(m);
        w.f64le(s);
      }
      return;
    case 'stream':
      encodeStreamValue(w, k.value!);
      return;
    default:
      throw new Error(`unexpected type ${k.type}`);
  }
}
