/**
 * JsonlTarget: the replication stream as JSON lines, to a file or any writable stream (stdout). One
 * object per line, in order:
 *
 *   {"type":"fullsync","replid":"…","offset":643,"transfer":"disk"}     a new dataset begins
 *   {"type":"key","db":0,"key":"user:1","dataType":"hash","value":[["name","Ann"]],"expiresAt":null}
 *   {"type":"loaded","replid":"…","offset":643}                        it is complete: it replaces all before
 *   {"type":"abort"}                                                   it broke off: ignore its keys
 *   {"type":"command","db":0,"name":"SET","args":["k","v","PXAT","1700000000000"],"offset":712}
 *   {"type":"position","replid":"…","offset":900}                      a new replid (failover)
 *
 * Bytes that are valid UTF-8 are JSON strings; others are {"base64":"…"}. Sorted-set scores that JSON
 * cannot hold are "inf", "-inf". Streams are {"entries":[[id,[field,value,…]],…],"lastId":…,"groups":…}.
 * A big collection may come in several "key" lines with "part" 0, 1, …: they add up.
 *
 * Resuming (files only): every command line carries its offset, and the replid lives in a small
 * sidecar FILE.pos, rewritten (write + rename) whenever it changes and when a snapshot begins. On open the file's last complete
 * line says exactly where it stopped: a command -> its offset, a loaded/position line -> its own
 * fields; a half-written last line is cut off; a snapshot that was interrupted gets an "abort" line
 * and the position from before it. So the position is always that of the data, never ahead of it.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, renameSync, ftruncateSync, writeFileSync, writeSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import type { Writable } from 'node:stream';
import type { StreamValue } from '../../rdb/index.js';
import type { FullSyncInfo, ReplicatedCommand, ReplicationPosition, SnapshotKey, Target } from './target.js';

export interface JsonlTargetOptions {
  /** Append to this file (and keep FILE.pos beside it). */
  file?: string;
  /** Or write to this stream (no resume: the position is not kept). */
  stream?: Writable;
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

function bin(b: Buffer): Json {
  return isUtf8(b) ? b.toString('utf8') : { base64: b.toString('base64') };
}

function score(n: number): Json {
  return Number.isFinite(n) ? n : n > 0 ? 'inf' : n < 0 ? '-inf' : 'nan';
}

function streamJson(v: StreamValue): Json {
  return {
    entries: v.entries.map((e) => [e.id, e.fields.flatMap(([f, x]) => [bin(f), bin(x)])]),
    length: v.length,
    lastId: v.lastId,
    groups: v.groups.map((g) => ({
      name: bin(g.name),
      lastId: g.lastId,
      entriesRead: g.entriesRead ?? null,
      pending: g.pending.map((p) => [p.id, p.deliveryTime, p.deliveryCount]),
      consumers: g.consumers.map((c) => ({ name: bin(c.name), seenTime: c.seenTime, pending: c.pending })),
    })),
  };
}

/** The JSON form of a snapshot key's value. */
export function valueJson(k: SnapshotKey): Json {
  switch (k.type) {
    case 'string':
      return bin(k.value!);
    case 'list':
    case 'set':
      return k.value!.map(bin);
    case 'hash':
      return k.value!.map(([f, v]) => [bin(f), bin(v)]);
    case 'zset':
      return k.value!.map(([m, s]) => [bin(m), score(s)]);
    case 'stream':
      return streamJson(k.value!);
    default:
      return { module: k.value!.module, base64: k.value!.raw.toString('base64') };
  }
}

export class JsonlTarget implements Target {
  readonly #file: string | undefined;
  readonly #stream: Writable | undefined;
  #fd: number | undefined;
  #replid: string | undefined;
  /** The position of the data written so far. */
  #position: ReplicationPosition | undefined;
  #inSnapshot = false;

  constructor(options: JsonlTargetOptions) {
    if (!options.file === !options.stream) throw new TypeError('JsonlTarget needs exactly one of file or stream');
    this.#file = options.file;
    this.#stream = options.stream;
  }

  open(): ReplicationPosition | undefined {
    if (!this.#file) return undefined;
    this.#position = this.#resume();
    return this.#position;
  }

  /** Opens the file and works out where its data stands (see the file comment). */
  #resume(): ReplicationPosition | undefined {
    const file = this.#file!;
    this.#fd = openSync(file, existsSync(file) ? 'r+' : 'w+');
    const saved = this.#readPos();
    const last = this.#lastLine();
    if (!last) return undefined;
    switch (last.type) {
      case 'loaded':
      case 'position':
        this.#replid = String(last.replid);
        return { replid: String(last.replid), offset: Number(last.offset) };
      case 'command':
        return saved ? { replid: saved.replid, offset: Number(last.offset) } : undefined;
      case 'fullsync':
      case 'key':
        // Stopped inside a snapshot: close it, and resume from what was complete before it.
        this.#append([{ type: 'abort' }]);
        return saved;
      default:
        return saved;
    }
  }

  beginFullSync(info: FullSyncInfo): Promise<void> | void {
    this.#inSnapshot = true;
    // If this snapshot never completes, the data stands where it stood before it: say so in FILE.pos.
    if (this.#position) this.#savePos(this.#position);
    return this.#write([{ type: 'fullsync', replid: info.replid, offset: info.offset, transfer: info.transfer }]);
  }

  applyKeys(keys: readonly SnapshotKey[]): Promise<void> | void {
    return this.#write(
      keys.map((k) => {
        const line: Record<string, Json> = { type: 'key', db: k.db, key: bin(k.key), dataType: k.type, value: valueJson(k), expiresAt: k.expiresAt ?? null };
        if (k.part > 0 || k.more) line.part = k.part;
        return line;
      }),
    );
  }

  endFullSync(position: ReplicationPosition): Promise<void> | void {
    this.#inSnapshot = false;
    const r = this.#write([{ type: 'loaded', replid: position.replid, offset: position.offset }]);
    this.#savePos(position);
    this.#position = position;
    return r;
  }

  abortFullSync(): Promise<void> | void {
    if (!this.#inSnapshot) return;
    this.#inSnapshot = false;
    return this.#write([{ type: 'abort' }]);
  }

  applyCommands(commands: readonly ReplicatedCommand[], position: ReplicationPosition): Promise<void> | void {
    const lines: Record<string, Json>[] = [];
    if (position.replid !== this.#replid) {
      // A new replid: record it before any command that belongs to it.
      lines.push({ type: 'position', replid: position.replid, offset: commands.length > 0 ? commands[0]!.offset : position.offset });
      this.#savePos(position);
    }
    for (const c of commands) lines.push({ type: 'command', db: c.db, name: c.name, args: c.args.map(bin), offset: c.offset });
    this.#position = position;
    if (lines.length === 0) return;
    return this.#write(lines);
  }

  close(): Promise<void> | void {
    if (this.#fd !== undefined) {
      closeSync(this.#fd);
      this.#fd = undefined;
    }
    const s = this.#stream;
    if (s && s !== process.stdout && s !== process.stderr) {
      return new Promise((resolve) => s.end(() => resolve()));
    }
  }

  #write(lines: Record<string, Json>[]): Promise<void> | void {
    if (lines.length === 0) return;
    if (this.#fd !== undefined) return this.#append(lines);
    const s = this.#stream!;
    if (!s.write(lines.map((l) => JSON.stringify(l)).join('\n') + '\n')) {
      return new Promise((resolve) => s.once('drain', () => resolve()));
    }
  }

  #append(lines: Record<string, Json>[]): void {
    const buf = Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n') + '\n', 'utf8');
    const fd = this.#fd!;
    let at = fstatSync(fd).size;
    for (let done = 0; done < buf.length; ) {
      const n = writeSync(fd, buf, done, buf.length - done, at);
      done += n;
      at += n;
    }
  }

  #savePos(p: ReplicationPosition): void {
    this.#replid = p.replid;
    if (!this.#file) return;
    const tmp = `${this.#file}.pos.tmp`;
    writeFileSync(tmp, JSON.stringify(p) + '\n');
    renameSync(tmp, `${this.#file}.pos`);
  }

  #readPos(): ReplicationPosition | undefined {
    try {
      const p = JSON.parse(readFileSync(`${this.#file}.pos`, 'utf8')) as ReplicationPosition;
      this.#replid = p.replid;
      return p;
    } catch {
      return undefined;
    }
  }

  /** The last complete line, parsed; a partial last line (a crash mid-write) is cut off first. */
  #lastLine(): Record<string, unknown> | undefined {
    const fd = this.#fd!;
    let size = fstatSync(fd).size;
    if (size === 0) return undefined;
    const one = Buffer.alloc(1);
    readSync(fd, one, 0, 1, size - 1);
    if (one[0] !== 0x0a) {
      size = this.#newlineBefore(size) + 1;
      ftruncateSync(fd, size);
      if (size === 0) return undefined;
    }
    const start = this.#newlineBefore(size - 1) + 1;
    const line = Buffer.alloc(size - 1 - start);
    readSync(fd, line, 0, line.length, start);
    try {
      return JSON.parse(line.toString('utf8')) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }

  /** Offset of the last newline before `end`, or -1; reads backwards a block at a time (lines can be 100s of MB). */
  #newlineBefore(end: number): number {
    const block = Buffer.alloc(1 << 20);
    while (end > 0) {
      const from = Math.max(0, end - block.length);
      const n = end - from;
      readSync(this.#fd!, block, 0, n, from);
      const i = block.subarray(0, n).lastIndexOf(0x0a);
      if (i !== -1) return from + i;
      end = from;
    }
    return -1;
  }
}
