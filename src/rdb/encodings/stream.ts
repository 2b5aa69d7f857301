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
import { listpackItems } from './listpack.js';
import { itemBuffer, uint64BE, type Item } from './numbers.js';
import type { StreamEntry, StreamId } from '../types.js';

/** A 16-byte raw stream id (ms, seq; big-endian) as 'ms-seq'. */
export function rawStreamId(buf: Buffer, at = 0): StreamId {
  return `${uint64BE(buf, at)}-${uint64BE(buf, at + 8)}`;
}

/** Appends the live entries of one stream node to `out`; returns how many. */
export function streamNodeEntries(nodeKey: Buffer, lp: Buffer, out: StreamEntry[], scratch: Item[] = []): number {
  if (nodeKey.length !== 16) throw bad(`node key of ${nodeKey.length} bytes, 16 expected`);
  scratch.length = 0;
  listpackItems(lp, 0, lp.length, scratch);
  const items = scratch;
  const n = items.length;
  let i = 0;
  const int = (): number => {
    if (i >= n) throw bad('node cut short');
    const v = items[i++]!;
    if (typeof v !== 'number') throw bad('integer expected');
    return v;
  };
  const diff = (): number | bigint => {
    if (i >= n) throw bad('node cut short');
    const v = items[i++]!;
    if (typeof v === 'object') throw bad('integer expected');
    return v;
  };
  const str = (): Buffer => {
    if (i >= n) throw bad('node cut short');
    return itemBuffer(items[i++]!);
  };
  const masterMs = uint64BE(nodeKey, 0);
  const masterSeq = uint64BE(nodeKey, 8);
  const count = int();
  const deleted = int();
  const numMaster = int();
  if (numMaster < 0 || numMaster > n) throw bad('bad master field count');
  const masterFields: Buffer[] = [];
  for (let f = 0; f < numMaster; f++) masterFields.push(str());
  if (int() !== 0) throw bad('master entry not terminated by 0');
  let live = 0;
  const total = count + deleted;
  for (let e = 0; e < total; e++) {
    const flags = int();
    const msDiff = diff();
    const seqDiff = diff();
    let fields: [Buffer, Buffer][] | undefined;
    if (flags & STREAM_ITEM_FLAG_SAMEFIELDS) {
      fields = [];
      for (let f = 0; f < numMaster; f++) fields.push([masterFields[f]!, str()]);
    } else {
      const nf = int();
      if (nf < 0 || nf > n) throw bad('bad field count');
      fields = [];
      for (let f = 0; f < nf; f++) fields.push([str(), str()]);
    }
    int(); // lp-count: for walking backwards only
    if (flags & STREAM_ITEM_FLAG_DELETED) continue;
    out.push({ id: `${add(masterMs, msDiff)}-${add(masterSeq, seqDiff)}`, fields });
    live++;
  }
  if (i !== n) throw bad('bytes after the last entry');
  if (live !== count) throw bad(`${live} live entries, master entry says ${count}`);
  return live;
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
