/**
 * Output formatting shared by `redstack rdb dump` and `redstack rdb stats`: opening the input
 * (a file or stdin), the common filter flags, key events as JSON lines or as the RESP commands that
 * rebuild them, and a stdout writer that respects backpressure and stops quietly on EPIPE.
 */
import { createReadStream, statSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';
import { UsageError, type FlagSpec, type Parsed } from '../args.js';
import { crc64Hex, type RdbDataType, type RdbFilter, type RdbKeyEvent, type RdbFunctionEvent, type StreamValue, type ModuleValue } from '../../rdb/index.js';

export const FILTER_FLAGS: Record<string, FlagSpec> = {
  db: { type: 'string', value: 'N[,N...]', description: 'only these databases' },
  key: { type: 'string', value: 'REGEX', description: 'only keys matching this regular expression (on the key as UTF-8)' },
  type: { type: 'string', value: 'TYPE[,TYPE...]', description: 'only these types: string, list, set, zset, hash, stream, module' },
};

const TYPES: readonly RdbDataType[] = ['string', 'list', 'set', 'zset', 'hash', 'stream', 'module'];

/** The --db/--key/--type flags as a parser filter. */
export function filterFrom(values: Parsed['values']): RdbFilter {
  const filter: RdbFilter = {};
  if (typeof values.db === 'string') {
    const dbs = values.db.split(',').map((s) => s.trim());
    if (!dbs.every((d) => /^\d+$/.test(d))) throw new UsageError('--db takes database numbers, e.g. --db 0 or --db 0,3');
    filter.db = dbs.map(Number);
  }
  if (typeof values.key === 'string') {
    try {
      filter.key = new RegExp(values.key);
    } catch (err) {
      throw new UsageError(`--key is not a valid regular expression: ${(err as Error).message}`);
    }
  }
  if (typeof values.type === 'string') {
    const types = values.type.split(',').map((s) => s.trim().toLowerCase());
    const bad = types.filter((t) => !TYPES.includes(t as RdbDataType));
    if (bad.length) throw new UsageError(`--type: unknown type ${bad.join(', ')} (one of ${TYPES.join(', ')})`);
    filter.type = types as RdbDataType[];
  }
  return filter;
}

/** The input named by the one positional argument: a file, or '-' for stdin; with its size when known. */
export function openInput(positionals: string[], command: string): { stream: Readable; size: number | undefined; name: string } {
  if (positionals.length !== 1) throw new UsageError(`${command} takes one FILE (or - for stdin)`);
  const name = positionals[0]!;
  if (name === '-') return { stream: process.stdin, size: undefined, name: 'stdin' };
  // statSync first so a missing file fails with ENOENT (exit 66) before any output.
  const size = statSync(name).size;
  return { stream: createReadStream(name, { highWaterMark: 256 * 1024 }), size, name };
}

/** Buffers output and writes it to stdout in large pieces, waiting for 'drain' when stdout is full. */
export class Output {
  #parts: (string | Buffer)[] = [];
  #bytes = 0;
  closed = false;

  constructor(readonly out: NodeJS.WritableStream = process.stdout) {
    out.on('error', (err: NodeJS.ErrnoException) => {
      // A closed pipe (`| head`) ends the output, not the command with an error.
      if (err.code === 'EPIPE') this.closed = true;
      else throw err;
    });
  }

  push(s: string | Buffer): void {
    this.#parts.push(s);
    this.#bytes += s.length;
  }

  /** Writes when enough is buffered (or always with `force`); resolves when stdout can take more. */
  async flush(force = false): Promise<void> {
    if (this.closed || (!force && this.#bytes < 64 * 1024) || this.#parts.length === 0) return;
    const chunk = Buffer.concat(this.#parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
    this.#parts = [];
    this.#bytes = 0;
    if (!this.out.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.out.off('drain', done);
          this.out.off('close', done);
          resolve();
        };
        this.out.once('drain', done);
        this.out.once('close', done);
      });
    }
  }
}

// ---- JSON lines ----

/** Bytes as a JSON value: a string when they are valid UTF-8, else { base64 }. */
export function jsonBytes(b: Buffer): string | { base64: string } {
  return isUtf8(b) ? b.toString('utf8') : { base64: b.toString('base64') };
}

function jsonScore(n: number): number | string {
  return Number.isFinite(n) ? n : Number.isNaN(n) ? 'nan' : n > 0 ? 'inf' : '-inf';
}

function jsonValue(ev: RdbKeyEvent): unknown {
  const v = ev.value;
  switch (ev.type) {
    case 'string':
      return jsonBytes(v as Buffer);
    case 'list':
    case 'set':
      return (v as Buffer[]).map(jsonBytes);
    case 'zset':
      return (v as [Buffer, number][]).map(([m, s]) => [jsonBytes(m), jsonScore(s)]);
    case 'hash':
      return (v as [Buffer, Buffer, number?][]).map((e) => (e.length > 2 ? [jsonBytes(e[0]), jsonBytes(e[1]), e[2]] : [jsonBytes(e[0]), jsonBytes(e[1])]));
    case 'stream': {
      const s = v as StreamValue;
      return {
        ...s,
        entries: s.entries.map((e) => ({ id: e.id, fields: e.fields.map(([f, x]) => [jsonBytes(f), jsonBytes(x)]) })),
        groups: s.groups.map((g) => ({ ...g, name: jsonBytes(g.name), consumers: g.consumers.map((c) => ({ ...c, name: jsonBytes(c.name) })) })),
      };
    }
    default: {
      const m = v as ModuleValue;
      return { module: m.module, encver: m.encver, raw: m.raw.toString('base64') };
    }
  }
}

/** One key as one JSON line. */
export function keyJson(ev: RdbKeyEvent): string {
  const o: Record<string, unknown> = { db: ev.db, key: jsonBytes(ev.key), type: ev.type };
  if (ev.expiresAt !== undefined) o.expiresAt = ev.expiresAt;
  if (ev.idle !== undefined) o.idle = ev.idle;
  if (ev.freq !== undefined) o.freq = ev.freq;
  o.value = jsonValue(ev);
  return JSON.stringify(o) + '\n';
}

// ---- RESP ----

/** One command in RESP, binary-safe. */
export function respCommand(args: (string | Buffer | number)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a), 'utf8');
    parts.push(Buffer.from(`$${b.length}\r\n`), b, CRLF);
  }
  return Buffer.concat(parts);
}

const CRLF = Buffer.from('\r\n');
/** Elements per command for big collections, so no single command is huge. */
const BATCH = 1000;

function batched(name: string, key: Buffer, flat: (Buffer | string | number)[][], out: Buffer[]): void {
  for (let i = 0; i < flat.length; i += BATCH) out.push(respCommand([name, key, ...flat.slice(i, i + BATCH).flat()]));
}

function respScore(n: number): string {
  return Number.isFinite(n) ? String(n) : n > 0 ? '+inf' : n < 0 ? '-inf' : 'nan';
}

/**
 * The commands that rebuild one key: SET / RPUSH / SADD / ZADD / HSET (+ HPEXPIREAT per field TTL) /
 * XADD + XSETID + XGROUP + XCLAIM / RESTORE for module values, then PEXPIREAT when the key expires.
 * Empty collections cannot be created by command and produce nothing. `version` is the RDB version,
 * used in the DUMP payload that RESTORE takes for module values.
 */
export function keyResp(ev: RdbKeyEvent, version: number): Buffer[] {
  const out: Buffer[] = [];
  const k = ev.key;
  switch (ev.type) {
    case 'string':
      out.push(respCommand(['SET', k, ev.value!]));
      break;
    case 'list':
      batched('RPUSH', k, ev.value!.map((x) => [x]), out);
      break;
    case 'set':
      batched('SADD', k, ev.value!.map((x) => [x]), out);
      break;
    case 'zset':
      batched('ZADD', k, ev.value!.map(([m, s]) => [respScore(s), m]), out);
      break;
    case 'hash':
      batched('HSET', k, ev.value!.map(([f, v]) => [f, v]), out);
      for (const [f, , at] of ev.value!) if (at !== undefined) out.push(respCommand(['HPEXPIREAT', k, at, 'FIELDS', 1, f]));
      break;
    case 'stream':
      streamResp(k, ev.value!, out);
      break;
    case 'module':
      out.push(respCommand(['RESTORE', k, 0, dumpPayload(ev.rdbType, ev.value!.raw, version), 'REPLACE']));
      break;
  }
  if (out.length > 0 && ev.expiresAt !== undefined) out.push(respCommand(['PEXPIREAT', k, ev.expiresAt]));
  return out;
}

function streamResp(k: Buffer, s: StreamValue, out: Buffer[]): void {
  for (const e of s.entries) out.push(respCommand(['XADD', k, e.id, ...e.fields.flat()]));
  if (s.entries.length === 0) {
    // No command creates an empty stream except XGROUP CREATE ... MKSTREAM: create with a
    // throwaway group; XSETID below restores the last id.
    out.push(respCommand(['XGROUP', 'CREATE', k, 'redstack-mkstream', '0', 'MKSTREAM']));
    out.push(respCommand(['XGROUP', 'DESTROY', k, 'redstack-mkstream']));
  }
  const setid: (string | number | Buffer)[] = ['XSETID', k, s.lastId];
  if (s.entriesAdded !== undefined) setid.push('ENTRIESADDED', s.entriesAdded, 'MAXDELETEDID', s.maxDeletedId ?? '0-0');
  out.push(respCommand(setid));
  for (const g of s.groups) {
    const create: (string | number | Buffer)[] = ['XGROUP', 'CREATE', k, g.name, g.lastId];
    if (g.entriesRead !== undefined && g.entriesRead >= 0) create.push('ENTRIESREAD', g.entriesRead);
    out.push(respCommand(create));
    const owner = new Map<string, Buffer>();
    for (const c of g.consumers) {
      out.push(respCommand(['XGROUP', 'CREATECONSUMER', k, g.name, c.name]));
      for (const id of c.pending) owner.set(id, c.name);
    }
    // Limitation: Redis drops a PEL entry whose stream entry was deleted (XCLAIM on a deleted id),
    // so such entries cannot be rebuilt by command; RESTORE of the whole key would keep them.
    for (const p of g.pending) {
      const c = owner.get(p.id);
      if (c) out.push(respCommand(['XCLAIM', k, g.name, c, 0, p.id, 'TIME', p.deliveryTime, 'RETRYCOUNT', p.deliveryCount, 'FORCE', 'JUSTID']));
    }
  }
}

/** A DUMP payload (type byte, serialized value, RDB version u16le, CRC-64 u64le) for RESTORE. */
function dumpPayload(rdbType: number, raw: Buffer, version: number): Buffer {
  const body = Buffer.concat([Buffer.from([rdbType]), raw, Buffer.from([version & 0xff, version >> 8])]);
  const crc = Buffer.from(crc64Hex(body), 'hex').reverse();
  return Buffer.concat([body, crc]);
}

/** FUNCTION LOAD for a library (the 7.0-RC format has no shebang and cannot be loaded: null). */
export function functionResp(ev: RdbFunctionEvent): Buffer | null {
  return ev.preGA ? null : respCommand(['FUNCTION', 'LOAD', 'REPLACE', ev.code]);
}
