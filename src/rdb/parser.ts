/**
 * The streaming RDB parser: chunks in (write), typed events out (onEvent), never the whole file.
 *
 * States: HEADER -> RECORD (one opcode record or one key per step) -> ITEMS / STREAM (a collection
 * read item by item) -> RECORD ... -> DONE after the EOF opcode and its checksum. Each step starts
 * at a safe point (`ByteReader.mark`); if the input runs short it rewinds there and waits, so no
 * event is ever emitted twice and resuming costs at most one element. Events are emitted only after
 * the last read of their element.
 *
 * Lengths are checked against maxStringLength / maxCollectionLength before anything is allocated,
 * and bytes are joined only once they have all arrived, so a corrupt 2^60 length is an error (or a
 * truncation at end()), never an allocation.
 */
import {
  DEFAULT_MAX_COLLECTION_LENGTH, DEFAULT_MAX_STRING_LENGTH, RDB_DATA_TYPE, RDB_MODULE_OPCODE_UINT, RDB_OPCODE_AUX,
  RDB_OPCODE_EOF, RDB_OPCODE_EXPIRETIME, RDB_OPCODE_EXPIRETIME_MS, RDB_OPCODE_FREQ, RDB_OPCODE_FUNCTION2,
  RDB_OPCODE_FUNCTION_PRE_GA, RDB_OPCODE_IDLE, RDB_OPCODE_MODULE_AUX, RDB_OPCODE_RESIZEDB, RDB_OPCODE_SELECTDB,
  RDB_OPCODE_SLOT_INFO, RDB_TYPE_HASH_METADATA, RDB_TYPE_HASH_LISTPACK_EX, RDB_TYPE_MODULE_2, RDB_TYPE_MODULE_PRE_GA,
  RDB_TYPE_LIST_QUICKLIST, RDB_TYPE_LIST_QUICKLIST_2, RDB_TYPE_STREAM_LISTPACKS, RDB_TYPE_STREAM_LISTPACKS_2,
  RDB_TYPE_STREAM_LISTPACKS_3, RDB_TYPE_STRING, RDB_TYPE_VALKEY_HASH_2, rdbTypeName,
} from './constants.js';
import { asRdbError, RdbError, keyPreview } from './errors.js';
import { parseFunctionHeader } from './encodings/function.js';
import { decodeModuleId } from './encodings/module.js';
import { readItem, skipItem, VALKEY_HASH_2 } from './collection-items.js';
import { readHeader } from './header.js';
import { KeyFilter } from './key-filter.js';
import { ByteReader, NEED_MORE } from './reader.js';
import { StreamValueReader } from './stream-reader.js';
import type { EncodedValue, RdbEvent, RdbParserOptions, RdbValue } from './types.js';
import { copyEvent, decodeBlobValue, DecodeScratch, isBlobType } from './values.js';

const S_HEADER = 0;
const S_RECORD = 1;
const S_ITEMS = 2;
const S_STREAM = 3;
const S_DONE = 4;
const S_FAILED = 5;

const EMPTY = Buffer.alloc(0);
const NO_ITEMS: unknown[] = Object.freeze([]) as unknown as unknown[];
const noop = (): void => {};

export class RdbParser {
  readonly #r: ByteReader;
  readonly #onEvent: (ev: RdbEvent) => void;
  readonly #onDrain: (() => void) | undefined;
  readonly #values: boolean;
  readonly #keepEncoded: boolean;
  readonly #partItems: number;
  readonly #copy: boolean;
  readonly #filter: KeyFilter;
  readonly #allowNewer: boolean;
  readonly #skipChecksum: boolean;

  #state = S_HEADER;
  #element = 'header';
  #version = 0;
  #valkey = false;
  #db = 0;
  #dbWanted = true;
  // Set by EXPIRETIME*, IDLE and FREQ for the next key only.
  #expiresAt: number | undefined;
  #idle: number | undefined;
  #freq: number | undefined;
  // The key being read.
  #type = 0;
  #key: Buffer = EMPTY;
  #keyOffset = 0;
  #partOffset = 0;
  #part = 0;
  #wanted = true;
  #decode = true;
  #remaining = 0;
  #minExpire = 0;
  #items: unknown[] = NO_ITEMS;
  /** Quicklist nodes kept encoded (option `encoded`): #items holds their blobs, this their containers. */
  #containers: number[] | undefined;
  #stream: StreamValueReader | undefined;
  readonly #scratch = new DecodeScratch();
  // Flow control.
  #paused = false;
  #endRequested = false;
  #emitting = false;
  #error: unknown;
  #trailing = 0;

  constructor(opts: RdbParserOptions = {}) {
    this.#r = new ByteReader(
      opts.maxStringLength ?? DEFAULT_MAX_STRING_LENGTH,
      opts.maxCollectionLength ?? DEFAULT_MAX_COLLECTION_LENGTH,
      !opts.skipChecksum,
    );
    this.#onEvent = opts.onEvent ?? noop;
    this.#onDrain = opts.onDrain;
    this.#values = opts.values ?? true;
    this.#keepEncoded = opts.encoded ?? false;
    this.#partItems = opts.partItems && opts.partItems > 0 ? opts.partItems : Infinity;
    this.#copy = opts.copyBuffers ?? false;
    this.#filter = new KeyFilter(opts);
    this.#dbWanted = this.#filter.wantsDb(0);
    this.#allowNewer = opts.allowNewerVersion ?? false;
    this.#skipChecksum = opts.skipChecksum ?? false;
  }

  /** Feeds bytes. Returns false while paused (stop feeding until resume()). Throws an RdbError on bad input. */
  write(chunk: Uint8Array): boolean {
    if (this.#error !== undefined) throw this.#error;
    if (this.#state === S_DONE) {
      // Bytes after the RDB (a diskless EOF mark, an AOF tail) are not ours: counted, not parsed.
      this.#trailing += chunk.length;
      return true;
    }
    if (chunk.length === 0) return !this.#paused;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.#r.push(buf) && !this.#paused) this.#run();
    return !this.#paused;
  }

  /** Declares the input complete. Throws ERR_RDB_TRUNCATED unless the EOF opcode and checksum were read. */
  end(): void {
    if (this.#error !== undefined) throw this.#error;
    if (this.#paused) {
      this.#endRequested = true;
      return;
    }
    if (this.#state !== S_DONE) {
      const r = this.#r;
      const at = r.base + r.buf.length + r.pendingBytes;
      this.#error = new RdbError('ERR_RDB_TRUNCATED', `input ended at byte ${at} while reading ${this.#element}`, {
        offset: at, element: this.#element, key: this.#element === 'value' ? keyPreview(this.#key) : undefined,
      });
      this.#state = S_FAILED;
      throw this.#error;
    }
  }

  /** Stops emitting events (after the current one) until resume(); writes are buffered meanwhile. */
  pause(): void {
    this.#paused = true;
  }

  /** Parses what was buffered while paused, then calls onDrain if still not paused. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (this.#error !== undefined) throw this.#error;
    if (this.#state !== S_DONE) this.#run();
    if (this.#paused) return;
    if (this.#endRequested) this.end();
    this.#onDrain?.();
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** True once the EOF opcode and checksum have been read (the end event was emitted). */
  get finished(): boolean {
    return this.#state === S_DONE;
  }

  /** Bytes parsed so far; after the end event, the exact length of the RDB. */
  get bytesConsumed(): number {
    return this.#r.offset;
  }

  /** Bytes written after the RDB ended (they are ignored). */
  get trailingBytes(): number {
    return this.#state === S_DONE ? this.#trailing + this.#r.buffered : 0;
  }

  /** After the end event: the bytes that followed the RDB in the chunk that completed it. */
  remainder(): Buffer {
    const r = this.#r;
    return this.#state === S_DONE ? Buffer.concat([r.buf.subarray(r.pos), ...r.pending]) : EMPTY;
  }

  /** The RDB version from the header (0 before it is read). */
  get version(): number {
    return this.#version;
  }

  #run(): void {
    const r = this.#r;
    r.merge();
    while (!this.#paused && this.#state < S_DONE) {
      r.maybeSwap();
      if (!this.#step() && !r.unbridge()) break;
    }
    // remainder() and trailingBytes look at buf and pending only.
    if (this.#state === S_DONE) r.unbridge();
  }

  #step(): boolean {
    const r = this.#r;
    r.mark = r.pos;
    try {
      switch (this.#state) {
        case S_RECORD:
          this.#record();
          break;
        case S_ITEMS:
          this.#itemsLoop();
          break;
        case S_STREAM:
          this.#streamStep();
          break;
        default:
          this.#header();
      }
      return true;
    } catch (err) {
      if (err === NEED_MORE) {
        r.pos = r.mark;
        return false;
      }
      throw this.#fail(err);
    }
  }

  #fail(err: unknown): unknown {
    this.#state = S_FAILED;
    if (this.#emitting) {
      // The consumer threw: hand its error back untouched.
      this.#emitting = false;
      this.#error = err;
      return err;
    }
    const r = this.#r;
    const key = this.#element === 'value' ? keyPreview(this.#key) : undefined;
    this.#error = asRdbError(err, { offset: r.base + r.mark, element: this.#element, key, typeName: rdbTypeName(this.#type) });
    return this.#error;
  }

  #emit(ev: RdbEvent): void {
    this.#emitting = true;
    this.#onEvent(this.#copy ? copyEvent(ev) : ev);
    this.#emitting = false;
  }

  #header(): void {
    const { magic, version, valkey } = readHeader(this.#r, this.#allowNewer);
    this.#version = version;
    this.#valkey = valkey;
    this.#state = S_RECORD;
    this.#emit({ kind: 'header', magic, version });
  }

  /** One opcode record, or one key (whole, or up to its first collection item). */
  #record(): void {
    const r = this.#r;
    this.#element = 'opcode';
    const t = r.u8();
    if (RDB_DATA_TYPE[t] !== undefined && !(this.#valkey && t > RDB_TYPE_VALKEY_HASH_2)) return this.#keyRecord(t);
    switch (t) {
      case RDB_OPCODE_EXPIRETIME_MS:
        this.#element = 'expiry';
        this.#expiresAt = r.i64le();
        return;
      case RDB_OPCODE_EXPIRETIME:
        this.#element = 'expiry';
        this.#expiresAt = r.i32le() * 1000;
        return;
      case RDB_OPCODE_IDLE:
        this.#element = 'idle';
        this.#idle = r.len();
        return;
      case RDB_OPCODE_FREQ:
        this.#element = 'freq';
        this.#freq = r.u8();
        return;
      case RDB_OPCODE_SELECTDB: {
        this.#element = 'selectdb';
        const db = r.len();
        this.#db = db;
        this.#dbWanted = this.#filter.wantsDb(db);
        return this.#emit({ kind: 'db', db });
      }
      case RDB_OPCODE_RESIZEDB: {
        this.#element = 'resizedb';
        const keys = r.len();
        const expires = r.len();
        return this.#emit({ kind: 'resize', db: this.#db, keys, expires });
      }
      case RDB_OPCODE_AUX: {
        this.#element = 'aux';
        const name = r.string().toString('utf8');
        const value = r.string();
        return this.#emit({ kind: 'aux', name, value });
      }
      case RDB_OPCODE_SLOT_INFO: {
        this.#element = 'slot-info';
        const slot = r.len();
        const size = r.len();
        const expiresSize = r.len();
        return this.#emit({ kind: 'slot-info', slot, size, expiresSize });
      }
      case RDB_OPCODE_FUNCTION2: {
        this.#element = 'function';
        const code = r.string();
        const h = parseFunctionHeader(code);
        return this.#emit({ kind: 'function', code, name: h?.name, engine: h?.engine, preGA: false });
      }
      case RDB_OPCODE_FUNCTION_PRE_GA:
        return this.#functionPreGA();
      case RDB_OPCODE_MODULE_AUX:
        return this.#moduleAux();
      case RDB_OPCODE_EOF:
        return this.#eof();
      default:
        r.fail('ERR_RDB_UNKNOWN_TYPE', `unknown type or opcode ${t} (0x${t.toString(16)})`, r.pos - 1);
    }
  }

  #functionPreGA(): void {
    const r = this.#r;
    this.#element = 'function';
    const name = r.string().toString('utf8');
    const engine = r.string().toString('utf8');
    const description = r.len() ? r.string() : undefined;
    const code = r.string();
    const ev: RdbEvent = { kind: 'function', code, name, engine, preGA: true };
    if (description) ev.description = description;
    this.#emit(ev);
  }

  #moduleAux(): void {
    const r = this.#r;
    this.#element = 'module-aux';
    const id = r.lenU64();
    const whenOpcode = r.len();
    const when = r.len();
    if (whenOpcode !== RDB_MODULE_OPCODE_UINT) r.fail('ERR_RDB_INTEGRITY', `module aux 'when' has opcode ${whenOpcode}, 2 expected`);
    const start = r.pos;
    this.#r.skipModuleOpcodes();
    const { name, encver } = decodeModuleId(BigInt(id));
    this.#emit({ kind: 'module-aux', module: name, encver, when, raw: r.buf.subarray(start, r.pos) });
  }

  #eof(): void {
    const r = this.#r;
    this.#element = 'checksum';
    let checksum: string | null = null;
    let status: 'ok' | 'disabled' | 'skipped' | 'absent' = 'absent';
    if (this.#version >= 5) {
      // Check the trailer is all here before the CRC moves past the EOF byte: a retry must not fold it twice.
      if (r.buf.length - r.pos < 8) r.short(8);
      r.updateCrc();
      const at = r.pos;
      const stored = r.take(8);
      checksum = Buffer.from(stored).reverse().toString('hex');
      if (checksum === '0000000000000000') status = 'disabled';
      else if (this.#skipChecksum) status = 'skipped';
      else if (r.crc!.matches(r.buf, at)) status = 'ok';
      else r.fail('ERR_RDB_CHECKSUM', `checksum mismatch: file says ${checksum}, content hashes to ${r.crc!.hex()}`, at);
    }
    this.#state = S_DONE;
    this.#emit({ kind: 'end', checksum, checksumStatus: status, bytes: r.offset });
  }

  /** Reads a key and its value, or its value's header for collections read item by item. */
  #keyRecord(t: number): void {
    const r = this.#r;
    this.#element = 'key';
    const offset = r.offset - 1;
    const key = r.string();
    const wanted = this.#dbWanted && this.#filter.wants(t, key, this.#expiresAt);
    const decode = wanted && this.#values;
    this.#type = t;
    this.#key = key;
    this.#keyOffset = offset;
    this.#partOffset = offset;
    this.#wanted = wanted;
    this.#decode = decode;
    this.#element = 'value';
    if (t === RDB_TYPE_STRING) {
      let v: Buffer | undefined;
      if (decode) v = r.string();
      else r.skipString();
      return this.#finishKey(v);
    }
    if (isBlobType(t)) {
      // HASH_LISTPACK_EX starts with the hash's minimum field expiry: a hint for Redis's expiry
      // index, redundant with the absolute TTLs inside the listpack.
      if (t === RDB_TYPE_HASH_LISTPACK_EX) r.skip(8);
      if (!decode) {
        r.skipString();
        return this.#finishKey(undefined);
      }
      if (this.#keepEncoded) return this.#finishKey(undefined, { rdbType: t, blobs: [r.string()] });
      return this.#finishBlob(decodeBlobValue(t, r.string(), this.#scratch) as unknown[]);
    }
    if (t === RDB_TYPE_MODULE_2) return this.#moduleValue();
    if (t === RDB_TYPE_MODULE_PRE_GA) {
      r.fail('ERR_RDB_UNKNOWN_TYPE', 'module value of type 6 (MODULE_PRE_GA, Redis 4.0 RC) cannot be read without its module');
    }
    if (t === RDB_TYPE_STREAM_LISTPACKS || t === RDB_TYPE_STREAM_LISTPACKS_2 || t === RDB_TYPE_STREAM_LISTPACKS_3) {
      this.#stream = new StreamValueReader(t, decode);
      this.#state = S_STREAM;
      r.mark = r.pos;
      return this.#streamStep();
    }
    this.#minExpire = t === RDB_TYPE_HASH_METADATA && !this.#valkey ? r.i64le() : 0;
    this.#remaining = r.count();
    this.#items = [];
    this.#containers = decode && this.#keepEncoded && (t === RDB_TYPE_LIST_QUICKLIST || t === RDB_TYPE_LIST_QUICKLIST_2) ? [] : undefined;
    this.#state = S_ITEMS;
    r.mark = r.pos;
    this.#itemsLoop();
  }

  #moduleValue(): void {
    const r = this.#r;
    const start = r.pos;
    const id = r.lenU64();
    this.#r.skipModuleOpcodes();
    if (!this.#decode) return this.#finishKey(undefined);
    const { name, encver } = decodeModuleId(BigInt(id));
    this.#finishKey({ module: name, encver, raw: r.buf.subarray(start, r.pos) });
  }

  /** Reads collection items, each one a safe point; emits parts when asked; ends the key when done. */
  #itemsLoop(): void {
    const r = this.#r;
    const decode = this.#decode;
    const t = this.#valkey && this.#type === RDB_TYPE_VALKEY_HASH_2 ? VALKEY_HASH_2 : this.#type;
    if (this.#containers) return this.#nodesLoop();
    while (this.#remaining > 0) {
      if (decode) readItem(r, t, this.#items, this.#scratch, this.#minExpire);
      else skipItem(r, t);
      this.#remaining--;
      r.mark = r.pos;
      if (this.#items.length >= this.#partItems) {
        this.#emitPart(this.#items);
        this.#items = [];
        if (this.#paused) return;
      }
    }
    this.#finishKey(decode ? (this.#items as RdbValue) : undefined);
  }

  /** Quicklist nodes kept encoded: their blobs (and containers) collected, parts by node count. */
  #nodesLoop(): void {
    const r = this.#r;
    const quicklist2 = this.#type === RDB_TYPE_LIST_QUICKLIST_2;
    while (this.#remaining > 0) {
      // Both reads before either push: a node cut short by the chunk's end is read again whole.
      const container = quicklist2 ? r.len() : 0;
      const blob = r.string();
      if (quicklist2) this.#containers!.push(container);
      this.#items.push(blob);
      this.#remaining--;
      r.mark = r.pos;
      if (this.#items.length >= this.#partItems) {
        this.#emitPart(undefined, this.#encodedNodes());
        this.#items = [];
        if (quicklist2) this.#containers = [];
        if (this.#paused) return;
      }
    }
    this.#finishKey(undefined, this.#encodedNodes());
  }

  #encodedNodes(): EncodedValue {
    const v: EncodedValue = { rdbType: this.#type, blobs: this.#items as Buffer[] };
    if (this.#type === RDB_TYPE_LIST_QUICKLIST_2) v.containers = this.#containers;
    return v;
  }

  #streamStep(): void {
    const s = this.#stream!;
    const done = s.step(this.#r, () => {
      const n = this.#partItems;
      if (s.entries.length >= n) {
        // A node holds up to stream-node-max-entries (100) entries: split it to honour partItems.
        const all = s.entries;
        let i = 0;
        for (; i + n <= all.length; i += n) this.#emitPart({ entries: all.slice(i, i + n), length: 0, lastId: '0-0', groups: [] });
        s.entries = all.slice(i);
      }
      return !this.#paused;
    });
    if (done) this.#finishKey(this.#decode ? s.value : undefined);
  }

  #finishBlob(value: unknown[]): void {
    const n = this.#partItems;
    if (value.length > n) {
      let i = 0;
      for (; i + n < value.length; i += n) this.#emitPart(value.slice(i, i + n));
      value = value.slice(i);
    }
    this.#finishKey(value as RdbValue);
  }

  #emitPart(value: unknown, encoded?: EncodedValue): void {
    if (this.#wanted) this.#emitKey(value as RdbValue, true, encoded);
  }

  #finishKey(value: RdbValue | undefined, encoded?: EncodedValue): void {
    this.#state = S_RECORD;
    if (this.#wanted) this.#emitKey(value, false, encoded);
    this.#expiresAt = undefined;
    this.#idle = undefined;
    this.#freq = undefined;
    this.#part = 0;
    this.#stream = undefined;
    this.#containers = undefined;
    // Drop the emitted array without allocating one per key: collections start with a new one.
    this.#items = NO_ITEMS;
  }

  #emitKey(value: RdbValue | undefined, more: boolean, encoded: EncodedValue | undefined): void {
    const end = this.#r.offset;
    const t = this.#type;
    // One shape for every key event (encoded present even when undefined): consumers' property
    // accesses stay monomorphic.
    const ev = {
      kind: 'key', db: this.#db, key: this.#key, type: RDB_DATA_TYPE[t]!, rdbType: t, expiresAt: this.#expiresAt,
      idle: this.#idle, freq: this.#freq, offset: this.#keyOffset, bytes: end - this.#partOffset, part: this.#part, more, value, encoded,
    } as RdbEvent;
    this.#partOffset = end;
    this.#part++;
    this.#emit(ev);
  }
}
