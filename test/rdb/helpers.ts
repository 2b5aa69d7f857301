/**
 * Shared by the rdb tests: where the fixtures are, feeding a buffer to the parser whole, byte by
 * byte or in seeded random chunks, and turning events into plain comparable data.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RdbParser, type RdbEvent, type RdbKeyEvent, type RdbParserOptions, type StreamValue } from '../../src/rdb/index.js';

/** ../shared/rdb-fixtures next to the checkout (never copied into the project). */
export const FIXTURES = fileURLToPath(new URL('../../../shared/rdb-fixtures/', import.meta.url));

export function fixture(rel: string): Buffer {
  return readFileSync(join(FIXTURES, rel));
}
/** The absolute path of a fixture. */
fixture.path = (rel: string): string => join(FIXTURES, rel);

/** Every .rdb (and the .aof with an RDB preamble) under the fixtures folder, as 'dir/file'. */
export function allFixtures(): string[] {
  if (!existsSync(FIXTURES)) return [];
  const out: string[] = [];
  for (const dir of readdirSync(FIXTURES).sort()) {
    if (dir.endsWith('.md')) continue;
    for (const f of readdirSync(join(FIXTURES, dir)).sort()) if (f.endsWith('.rdb') || f.endsWith('.aof')) out.push(`${dir}/${f}`);
  }
  return out;
}

/** A small deterministic PRNG (mulberry32) so chunkings are reproducible from a seed. */
import { seededRandom } from '../support/wire.js';
export const rng = seededRandom;

export type Chunking = 'whole' | 'bytes' | { seed: number; max: number };

export interface ParseResult {
  events: RdbEvent[];
  error: (Error & { code?: string; offset?: number; element?: string }) | undefined;
  parser: RdbParser;
}

/** Parses `data` fed in the given chunking; collects events and the error, if any. */
export function parseBuffer(data: Buffer, opts: Omit<RdbParserOptions, 'onEvent'> = {}, chunking: Chunking = 'whole'): ParseResult {
  const events: RdbEvent[] = [];
  const parser = new RdbParser({ ...opts, onEvent: (ev) => void events.push(ev) });
  let error: ParseResult['error'];
  try {
    if (chunking === 'whole') parser.write(data);
    else if (chunking === 'bytes') for (let i = 0; i < data.length; i++) parser.write(data.subarray(i, i + 1));
    else {
      const next = rng(chunking.seed);
      for (let i = 0; i < data.length; ) {
        const n = 1 + Math.floor(next() * chunking.max);
        parser.write(data.subarray(i, i + n));
        i += n;
      }
    }
    parser.end();
  } catch (err) {
    error = err as ParseResult['error'];
  }
  return { events, error, parser };
}

export function keys(events: RdbEvent[]): RdbKeyEvent[] {
  return events.filter((e): e is RdbKeyEvent => e.kind === 'key');
}

/** Buffers as latin1 text (byte for byte, as librdb's JSON escapes them). */
export function text(b: Buffer): string {
  return b.toString('latin1');
}

/**
 * A key's value in the shape of librdb's `_data.json` files: strings, arrays, objects of strings;
 * zset scores as numbers; streams as { entries: [{ id, items }] }.
 */
export function plainValue(ev: RdbKeyEvent): unknown {
  const v = ev.value;
  switch (ev.type) {
    case 'string':
      return text(v as Buffer);
    case 'list':
    case 'set':
      return (v as Buffer[]).map(text);
    case 'zset':
      return Object.fromEntries((v as [Buffer, number][]).map(([m, s]) => [text(m), s]));
    case 'hash':
      return Object.fromEntries((v as [Buffer, Buffer][]).map(([f, x]) => [text(f), text(x)]));
    case 'stream':
      return {
        entries: (v as StreamValue).entries.map((e) => ({ id: e.id, items: Object.fromEntries(e.fields.map(([f, x]) => [text(f), text(x)])) })),
      };
    default:
      return v;
  }
}

/** Events as JSON-able data with Buffers in hex, to compare two parses of the same bytes. */
export function normalize(events: RdbEvent[]): unknown {
  return JSON.parse(JSON.stringify(events, (_k, v) => (v && v.type === 'Buffer' && Array.isArray(v.data) ? Buffer.from(v.data).toString('hex') : typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)));
}

/**
 * A key's logical content, independent of encoding and of hash order: what must survive a round
 * trip through Redis (sets, hashes and zsets sorted; streams with groups, PELs and consumers).
 */
export function logical(ev: RdbKeyEvent): unknown {
  const hex = (b: Buffer): string => b.toString('hex');
  const v = ev.value;
  let value: unknown;
  switch (ev.type) {
    case 'string':
      value = hex(v as Buffer);
      break;
    case 'list':
      value = (v as Buffer[]).map(hex);
      break;
    case 'set':
      value = (v as Buffer[]).map(hex).sort();
      break;
    case 'zset':
      value = (v as [Buffer, number][]).map(([m, s]) => [hex(m), Object.is(s, -0) ? 0 : s]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
      break;
    case 'hash':
      value = (v as [Buffer, Buffer, number?][]).map((e) => e.map((x) => (Buffer.isBuffer(x) ? hex(x) : x))).sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
      break;
    case 'stream': {
      const s = v as StreamValue;
      value = {
        entries: s.entries.map((e) => [e.id, e.fields.map(([f, x]) => [hex(f), hex(x)])]),
        length: s.length, lastId: s.lastId,
        groups: s.groups.map((g) => ({
          name: hex(g.name), lastId: g.lastId,
          pending: g.pending.map((p) => [p.id, p.deliveryCount]),
          consumers: g.consumers.map((c) => [hex(c.name), c.pending]).sort(),
        })).sort((a, b) => (a.name < b.name ? -1 : 1)),
      };
      break;
    }
    default:
      value = v;
  }
  return { db: ev.db, key: ev.key.toString('latin1'), type: ev.type, expiresAt: ev.expiresAt, value };
}

/** Every key of a parse as logical content, sorted by db and key. */
export function logicalDataset(events: RdbEvent[]): unknown[] {
  return keys(events).map(logical).sort((a, b) => {
    const x = a as { db: number; key: string };
    const y = b as { db: number; key: string };
    return x.db - y.db || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0);
  });
}
