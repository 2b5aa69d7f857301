/**
 * Stream nodes (redis src/t_stream.c): each node of a stream's radix tree is stored as a 16-byte
 * master id (ms and seq, u64 big-endian) and a listpack:
 *
 *   master entry: count | deleted | num-fields | field_1 ... field_N | 0
 *   each entry:   flags | ms-diff | seq-diff | [num-fields | field_1 value_1 ... | values if SAMEFIELDS] | lp-count
 *
 * Entry ids are deltas from the master id. SAMEFIELDS entries reuse the master's field names;
 * DELETED entries are still present in the listpack and are skipped here.
 */
import { EncodingError } from '../errors.js';
import { STREAM_ITEM_FLAG_DELETED, STREAM_ITEM_FLAG_SAMEFIELDS } from '../constants.js';
import { ListpackCursor } from './listpack.js';
import { uint64BE } from './numbers.js';
import type { StreamEntry, StreamId } from '../types.js';

/** A 16-byte raw stream id (ms, seq; big-endian) as 'ms-seq'. */
export function rawStreamId(buf: Buffer, at = 0): StreamId {
  return `${uint64BE(buf, at)}-${uint64BE(buf, at + 8)}`;
}

/** Appends the live entries of one stream node to `out`; returns how many. */
export function streamNodeEntries(nodeKey: Buffer, lp: Buffer, out: StreamEntry[], c = new ListpackCursor()): number {
  if (nodeKey.length !== 16) throw bad(`node key of ${nodeKey.length} bytes, 16 expected`);
  c.open(lp, 0, lp.length);
  const masterMs = uint64BE(nodeKey, 0);
  const masterSeq = uint64BE(nodeKey, 8);
  const count = int(c);
  const deleted = int(c);
  const numMaster = int(c);
  // Each listpack entry takes at least 2 bytes: a count the rest of the blob cannot hold is corrupt,
  // and rejecting it here keeps it from sizing an array.
  if (numMaster < 0 || numMaster * 2 > c.last - c.p) throw bad('bad master field count');
  const masterFields: Buffer[] = [];
  for (let f = 0; f < numMaster; f++) masterFields.push(str(c));
  if (int(c) !== 0) throw bad('master entry not terminated by 0');
  let live = 0;
  const total = count + deleted;
  for (let e = 0; e < total; e++) {
    const flags = int(c);
    const msDiff = diff(c);
    const seqDiff = diff(c);
    let fields: [Buffer, Buffer][];
    if (flags & STREAM_ITEM_FLAG_SAMEFIELDS) {
      fields = new Array(numMaster);
      for (let f = 0; f < numMaster; f++) fields[f] = [masterFields[f]!, str(c)];
    } else {
      const nf = int(c);
      if (nf < 0 || nf * 4 > c.last - c.p) throw bad('bad field count');
      fields = new Array(nf);
      for (let f = 0; f < nf; f++) {
        const field = str(c);
        fields[f] = [field, str(c)];
      }
    }
    int(c); // lp-count: for walking backwards only
    if (flags & STREAM_ITEM_FLAG_DELETED) continue;
    out.push({ id: `${add(masterMs, msDiff)}-${add(masterSeq, seqDiff)}`, fields });
    live++;
  }
  if (c.next()) throw bad('bytes after the last entry');
  if (live !== count) throw bad(`${live} live entries, master entry says ${count}`);
  return live;
}

/** The next element, which must be an integer that fits a number. */
function int(c: ListpackCursor): number {
  if (!c.next()) throw bad('node cut short');
  const v = c.int;
  if (!c.isInt || typeof v !== 'number') throw bad('integer expected');
  return v;
}

/** The next element, which must be an integer (an id delta: may need a bigint). */
function diff(c: ListpackCursor): number | bigint {
  if (!c.next()) throw bad('node cut short');
  if (!c.isInt) throw bad('integer expected');
  return c.int;
}

function str(c: ListpackCursor): Buffer {
  if (!c.next()) throw bad('node cut short');
  return c.bytes();
}

function add(base: number | bigint, diff: number | bigint): number | bigint {
  if (typeof base === 'number' && typeof diff === 'number') {
    const s = base + diff;
    if (Number.isSafeInteger(s)) return s;
  }
  return BigInt(base) + BigInt(diff);
}

function bad(what: string): EncodingError {
  return new EncodingError('ERR_RDB_INTEGRITY', `stream node integrity check failed: ${what}`);
}
