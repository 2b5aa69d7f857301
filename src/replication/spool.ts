/**
 * A bounded FIFO between the socket and the target, so that the socket is always read at line rate.
 *
 * Why: the master buffers what a replica has not read yet, and cuts it off when that buffer passes
 * `client-output-buffer-limit replica` (256 MB hard / 64 MB for 60 s by default; far less on many
 * hosted services). The next attempt is then a full resync, which is slower still: a replica whose
 * target cannot keep up would never catch up. So the replica drains the socket into this spool and the
 * target consumes from it at its own pace.
 *
 * Layout: entries in arrival order, each in memory or in one temp file:
 *
 *   entries: [mem 64K][mem 64K][file @0 +1M][file @1M +640K][marker][mem 12K] ...
 *   memory:  up to `memoryBytes` of chunks, as received (no copy)
 *   file:    appended at `writePos`, read back from the first file entry's `pos`; once no file entry is
 *            left the file is truncated and reused from 0.
 *
 * Chunks go to memory while it has room and to the file otherwise; the order of entries is what
 * keeps them in sequence, whichever medium holds them. Markers are zero-byte entries the producer
 * puts in the sequence (end of the snapshot, link lost) so that the consumer meets them in order.
 *
 * The file is unlinked as soon as it is opened: it disappears with the process, even on a crash.
 * The total (memory + file) is bounded by `maxBytes` (or one chunk, if a single chunk is larger);
 * push() beyond it throws ERR_REPL_SPOOL_FULL.
 * Synchronous file I/O, on purpose: the kernel's page cache absorbs the writes, and a synchronous
 * write keeps the order trivially correct; the cost is paid only while the target lags.
 */
import { closeSync, ftruncateSync, mkdtempSync, openSync, readSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReplicationError } from './errors.js';

export interface SpoolOptions {
  /** Where the temp file goes (default: the OS temp dir). */
  dir?: string;
  /** Bytes kept in memory before spilling to the file (default 16 MiB). */
  memoryBytes?: number;
  /** Most bytes held in all (default 4 GiB). */
  maxBytes?: number;
  /** Coarse time source for `at` (ms). */
  now?: () => number;
}

export type SpoolTag = 'rdb' | 'stream';

/** What shift() returns: bytes with their tag, or a marker. */
export type SpoolItem<M> = { tag: SpoolTag; data: Buffer; at: number } | { marker: M; at: number };

type Entry<M> =
  | { tag: SpoolTag; at: number; buf: Buffer }
  | { tag: SpoolTag; at: number; pos: number; length: number }
  | { marker: M; at: number };

/** Largest read from the file, and largest file entry (so that reads stay chunk-sized). */
const FILE_READ = 256 * 1024;
const FILE_ENTRY_MAX = 4 * 1024 * 1024;

export class Spool<M = unknown> {
  readonly #dir: string;
  readonly #memoryMax: number;
  readonly #max: number;
  readonly #now: () => number;
  /** Entries from #head on; the slots before it are emptied as they are taken. */
  #entries: (Entry<M> | undefined)[] = [];
  #head = 0;
  #memory = 0;
  #disk = 0;
  #fd: number | undefined;
  #writePos = 0;
  /** High-water marks, for tests and stats. */
  peakBytes = 0;
  peakDiskBytes = 0;

  constructor(options: SpoolOptions = {}) {
    this.#dir = options.dir ?? tmpdir();
    this.#memoryMax = options.memoryBytes ?? 16 * 1024 * 1024;
    this.#max = options.maxBytes ?? 4 * 1024 * 1024 * 1024;
    this.#now = options.now ?? Date.now;
  }

  /** Bytes held (memory + file). */
  get size(): number {
    return this.#memory + this.#disk;
  }

  /** Bytes held in the file. */
  get diskBytes(): number {
    return this.#disk;
  }

  /** Entries held (markers included). */
  get length(): number {
    return this.#entries.length - this.#head;
  }

  /** Arrival time of the oldest entry, or undefined when empty. */
  get oldestAt(): number | undefined {
    return this.#head < this.#entries.length ? this.#entries[this.#head]!.at : undefined;
  }

  /** Appends bytes. Throws ERR_REPL_SPOOL_FULL (and keeps nothing of them) past `maxBytes`. */
  push(tag: SpoolTag, data: Buffer): void {
    if (data.length === 0) return;
    const size = this.size + data.length;
    // An empty spool takes any chunk, so that one read larger than the bound cannot wedge the replica.
    if (size > this.#max && this.size > 0) {
      throw new ReplicationError('ERR_REPL_SPOOL_FULL', `the target is more than ${this.#max} bytes behind the master (raise spool.maxBytes)`, { step: 'spool' });
    }
    const at = this.#now();
    if (this.#memory + data.length <= this.#memoryMax) {
      this.#entries.push({ tag, at, buf: data });
      this.#memory += data.length;
    } else {
      this.#append(tag, at, data);
    }
    if (size > this.peakBytes) this.peakBytes = size;
    if (this.#disk > this.peakDiskBytes) this.peakDiskBytes = this.#disk;
  }

  /** Appends a marker, met by the consumer after everything pushed before it. */
  pushMarker(marker: M): void {
    this.#entries.push({ marker, at: this.#now() });
  }

  /** Takes the oldest entry (file entries in pieces of at most 256 KiB), or undefined when empty. */
  shift(): SpoolItem<M> | undefined {
    if (this.#head >= this.#entries.length) return undefined;
    const e = this.#entries[this.#head]!;
    if ('marker' in e) {
      this.#drop();
      return e;
    }
    if ('buf' in e) {
      this.#drop();
      this.#memory -= e.buf.length;
      return { tag: e.tag, data: e.buf, at: e.at };
    }
    const n = Math.min(e.length, FILE_READ);
    const data = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) got += readSync(this.#fd!, data, got, n - got, e.pos + got);
    e.pos += n;
    e.length -= n;
    this.#disk -= n;
    if (e.length === 0) this.#drop();
    if (this.#disk === 0) this.#rewind();
    return { tag: e.tag, data, at: e.at };
  }

  /** Drops everything held. */
  clear(): void {
    this.#entries = [];
    this.#head = 0;
    this.#memory = 0;
    this.#disk = 0;
    this.#rewind();
  }

  /** Drops everything and closes the file. */
  close(): void {
    this.clear();
    if (this.#fd !== undefined) {
      closeSync(this.#fd);
      this.#fd = undefined;
    }
  }

  #append(tag: SpoolTag, at: number, data: Buffer): void {
    const fd = this.#open();
    let done = 0;
    while (done < data.length) done += writeSync(fd, data, done, data.length - done, this.#writePos + done);
    const last = this.#entries.length > this.#head ? this.#entries[this.#entries.length - 1]! : undefined;
    if (last && 'pos' in last && last.tag === tag && last.pos + last.length === this.#writePos && last.length < FILE_ENTRY_MAX) {
      last.length += data.length;
    } else {
      this.#entries.push({ tag, at, pos: this.#writePos, length: data.length });
    }
    this.#writePos += data.length;
    this.#disk += data.length;
  }

  #open(): number {
    if (this.#fd !== undefined) return this.#fd;
    const dir = mkdtempSync(join(this.#dir, 'redstack-spool-'));
    const file = join(dir, 'spool.bin');
    this.#fd = openSync(file, 'w+', 0o600);
    // Unlinked at once: the open descriptor keeps it; nothing is left behind after a crash.
    unlinkSync(file);
    rmSync(dir, { recursive: true, force: true });
    return this.#fd;
  }

  #drop(): void {
    // The taken entry's slot lets go of it at once: a chunk left referenced here until the next
    // compaction outlived two young-generation collections, was promoted, and so was freed only by a
    // full collection, whose next start (external memory pressure: 64 MB of such chunks) it hastened.
    this.#entries[this.#head] = undefined;
    this.#head++;
    if (this.#head === this.#entries.length) {
      // Drained, as it is at every read while the target keeps up: start over in the same array.
      this.#entries.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      // Compact now and then instead of shifting the array on every take.
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  #rewind(): void {
    if (this.#writePos === 0) return;
    this.#writePos = 0;
    if (this.#fd !== undefined) ftruncateSync(this.#fd, 0);
  }
}
