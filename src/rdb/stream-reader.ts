/**
 * Reads a stream value (RDB types 15, 19, 21) incrementally: a stream can hold millions of entries
 * and consumer-group PELs, so each node, PEL entry and consumer is its own safe point (the reader's
 * `mark` moves past it), and a short read resumes there instead of at the start of the value.
 *
 * Layout (rdb.c rdbLoadObject):
 *   nodes: count, then (16-byte master id string, listpack string) per node
 *   length, last_id (ms, seq)   [v2+: first_id, max_deleted_entry_id, entries_added]
 *   groups: count, then per group: name, last_id, [v2+: entries_read],
 *     PEL: count x (16-byte raw id, u64le delivery time, delivery count)
 *     consumers: count x (name, u64le seen_time, [v3: u64le active_time], PEL: count x 16-byte raw id)
 */
import { RDB_TYPE_STREAM_LISTPACKS_2, RDB_TYPE_STREAM_LISTPACKS_3 } from './constants.js';
import { ListpackCursor } from './encodings/listpack.js';
import { rawStreamId, streamNodeEntries } from './encodings/stream.js';
import type { ByteReader } from './reader.js';
import type { StreamConsumer, StreamEntry, StreamGroup, StreamId, StreamValue } from './types.js';

const P_NODE_COUNT = 0;
const P_NODES = 1;
const P_META = 2;
const P_GROUP = 3;
const P_PEL = 4;
const P_CONSUMER_COUNT = 5;
const P_CONSUMER = 6;
const P_CONSUMER_PEL = 7;

/** 2^64 - 1, what Redis writes for an unknown entries_read (SCG_INVALID_ENTRIES_READ, -1). */
const U64_MAX = 18446744073709551615n;

export class StreamValueReader {
  #phase = P_NODE_COUNT;
  #left = 0;
  #groupsLeft = 0;
  #consumersLeft = 0;
  #group: StreamGroup | undefined;
  #consumer: StreamConsumer | undefined;
  readonly #lp = new ListpackCursor();
  /** Entries decoded since the last take (parts). */
  entries: StreamEntry[] = [];
  readonly value: StreamValue = { entries: [], length: 0, lastId: '0-0', groups: [] };

  constructor(
    readonly type: number,
    readonly decode: boolean,
  ) {}

  /** True while nodes are being read: the only phase where entries accumulate. */
  get inNodes(): boolean {
    return this.#phase <= P_NODES;
  }

  /** Reads until the value is complete (true) or input runs short (throws NEED_MORE via `r`). */
  step(r: ByteReader, onNode: () => boolean): boolean {
    for (;;) {
      switch (this.#phase) {
        case P_NODE_COUNT:
          this.#left = r.count();
          this.#phase = P_NODES;
          break;
        case P_NODES:
          while (this.#left > 0) {
            this.#node(r);
            this.#left--;
            r.mark = r.pos;
            if (!onNode()) return false;
          }
          this.#phase = P_META;
          break;
        case P_META:
          this.#meta(r);
          break;
        case P_GROUP:
          if (this.#groupsLeft === 0) {
            this.value.entries = this.entries;
            return true;
          }
          this.#groupHeader(r);
          break;
        case P_PEL:
          while (this.#left > 0) {
            const id = rawStreamId(r.take(16));
            const deliveryTime = r.i64le();
            const deliveryCount = r.len();
            this.#group!.pending.push({ id, deliveryTime, deliveryCount });
            this.#left--;
            r.mark = r.pos;
          }
          this.#phase = P_CONSUMER_COUNT;
          break;
        case P_CONSUMER_COUNT:
          this.#consumersLeft = r.count();
          this.#phase = P_CONSUMER;
          break;
        case P_CONSUMER:
          if (this.#consumersLeft === 0) {
            this.#groupsLeft--;
            this.#phase = P_GROUP;
            break;
          }
          this.#consumerHeader(r);
          break;
        default: // P_CONSUMER_PEL
          while (this.#left > 0) {
            this.#consumer!.pending.push(rawStreamId(r.take(16)));
            this.#left--;
            r.mark = r.pos;
          }
          this.#consumersLeft--;
          this.#phase = P_CONSUMER;
      }
      r.mark = r.pos;
    }
  }

  #node(r: ByteReader): void {
    if (!this.decode) {
      r.skipString();
      r.skipString();
      return;
    }
    const nodeKey = r.string();
    const lp = r.string();
    streamNodeEntries(nodeKey, lp, this.entries, this.#lp);
  }

  #meta(r: ByteReader): void {
    const v = this.value;
    const length = r.len();
    const lastId = id(r);
    if (this.type >= RDB_TYPE_STREAM_LISTPACKS_2) {
      v.firstId = id(r);
      v.maxDeletedId = id(r);
      v.entriesAdded = r.len();
    }
    this.#groupsLeft = r.count();
    v.length = length;
    v.lastId = lastId;
    this.#phase = P_GROUP;
  }

  #groupHeader(r: ByteReader): void {
    const name = r.string();
    const lastId = id(r);
    let entriesRead: number | undefined;
    if (this.type >= RDB_TYPE_STREAM_LISTPACKS_2) {
      const n = r.lenU64();
      entriesRead = n === U64_MAX ? -1 : Number(n);
    }
    const pel = r.count();
    this.#group = entriesRead === undefined ? { name, lastId, pending: [], consumers: [] } : { name, lastId, entriesRead, pending: [], consumers: [] };
    this.value.groups.push(this.#group);
    this.#left = pel;
    this.#phase = P_PEL;
  }

  #consumerHeader(r: ByteReader): void {
    const name = r.string();
    const seenTime = r.i64le();
    const activeTime = this.type >= RDB_TYPE_STREAM_LISTPACKS_3 ? r.i64le() : undefined;
    const pel = r.count();
    this.#consumer = activeTime === undefined ? { name, seenTime, pending: [] } : { name, seenTime, activeTime, pending: [] };
    this.#group!.consumers.push(this.#consumer);
    this.#left = pel;
    this.#phase = P_CONSUMER_PEL;
  }
}

function id(r: ByteReader): StreamId {
  return `${r.lenU64()}-${r.lenU64()}`;
}

