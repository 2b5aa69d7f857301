/**
 * Snapshot keys into mirror entries, and RESTORE (whose DUMP payload is one RDB value: it is wrapped
 * in a minimal RDB and read with the same parser, so every encoding the parser knows works here too).
 *
 * Whole keys are stored packed (dataset.ts's PackedEntry): string values as binary strings, small
 * collections as the RDB blobs the replica hands over undecoded (the parser's `encoded` option),
 * decoded on first use. Parts (big collections in several key events) are decoded at once and add
 * to the entry the first part created.
 */
import { decodeEncoded, RdbParser, type EncodedValue, type RdbEvent, type StreamValue } from '../../../rdb/index.js';
import type { SnapshotKey } from '../target.js';
import { bin, bytes, PackedEntry, stringEntry, type Dataset, type Entry, type EntryType, type HashValue, type Unpack } from './dataset.js';
import { int, upper, Unhandled, type Ctx } from './context.js';
import { StreamData, parseId, ZERO_ID } from './stream-data.js';
import { ZSet } from './zset.js';

/** RDB type 18: a list as quicklist nodes, each with its container. */
const RDB_TYPE_LIST_QUICKLIST_2 = 18;

/** One unpacker per RDB type (which implies the data type): entries share it instead of a closure each. */
const unpackers: (Unpack | undefined)[] = [];

function unpacker(type: EntryType, rdbType: number): Unpack {
  let fn = unpackers[rdbType];
  if (!fn) {
    fn = (packed) => {
      const blobs = typeof packed === 'string' ? [bytes(packed)] : packed.map(bytes);
      // Only quicklists whose nodes are all packed listpacks (container 2) are stored packed.
      const containers = rdbType === RDB_TYPE_LIST_QUICKLIST_2 ? blobs.map(() => 2) : undefined;
      const k = { type, value: decodeEncoded({ rdbType, blobs, containers }), expiresAt: undefined, more: false } as SnapshotKey;
      return toEntry(k, undefined)!.value;
    };
    unpackers[rdbType] = fn;
  }
  return fn;
}

const unpackSet: Unpack = (members) => new Set(typeof members === 'string' ? [members] : members);

/** Packed form of an encoded value, when the mirror can unpack it without more than the blobs. */
function packable(e: EncodedValue): boolean {
  // Quicklist 2 nodes with a plain (single big item) container are rare: those lists are decoded now.
  return e.containers === undefined || e.containers.every((c) => c === 2);
}

/** Stores one snapshot key (or part of one). Returns false for values the mirror cannot hold (modules). */
export function loadKey(ds: Dataset, k: SnapshotKey): boolean {
  const db = ds.db(k.db);
  const key = bin(k.key);
  if (k.part === 0 && !k.more) {
    if (k.type === 'string') {
      db.set(key, stringEntry(k.value!, k.expiresAt));
      return true;
    }
    const enc = k.encoded;
    if (!enc && k.type === 'set') {
      // A set Redis keeps as a hash table (Redis 7.0 does so for every set of strings) arrives
      // decoded: its members are kept as they came, and made a Set on first use.
      db.set(key, new PackedEntry('set', k.expiresAt, k.value!.map(bin), unpackSet) as unknown as Entry);
      return true;
    }
    if (enc && packable(enc)) {
      const packed = enc.blobs.length === 1 ? bin(enc.blobs[0]!) : enc.blobs.map(bin);
      db.set(key, new PackedEntry(k.type as EntryType, k.expiresAt, packed, unpacker(k.type as EntryType, enc.rdbType)) as unknown as Entry);
      return true;
    }
  }
  const prev = k.part > 0 ? db.get(key) : undefined;
  const entry = toEntry(k.encoded ? ({ ...k, value: decodeEncoded(k.encoded, k) } as SnapshotKey) : k, prev);
  if (!entry) return false;
  if (entry !== prev) db.set(key, entry);
  return true;
}

function toEntry(k: SnapshotKey, prev: Entry | undefined): Entry | undefined {
  const expiresAt = k.expiresAt;
  switch (k.type) {
    case 'string':
      return { type: 'string', value: Buffer.from(k.value!), expiresAt };
    case 'list': {
      const items = k.value!.map(bin);
      if (prev?.type === 'list') {
        for (const it of items) prev.value.push(it);
        return prev;
      }
      return { type: 'list', value: items, expiresAt };
    }
    case 'set': {
      const s = prev?.type === 'set' ? prev.value : new Set<string>();
      for (const m of k.value!) s.add(bin(m));
      return prev?.type === 'set' ? prev : { type: 'set', value: s, expiresAt };
    }
    case 'hash': {
      const h: HashValue = prev?.type === 'hash' ? prev.value : new Map<string, string>();
      for (const [f, v, fieldExpiresAt] of k.value!) {
        const field = bin(f);
        h.set(field, bin(v));
        // Hash-field expiry (RDB 12, Redis 7.4).
        if (fieldExpiresAt !== undefined) (h.fieldExpiresAt ??= new Map()).set(field, fieldExpiresAt);
      }
      return prev?.type === 'hash' ? prev : { type: 'hash', value: h, expiresAt };
    }
    case 'zset': {
      const z = prev?.type === 'zset' ? prev.value : new ZSet();
      z.bulkSet(k.value!.map(([m, s]) => [bin(m), s] as [string, number]));
      return prev?.type === 'zset' ? prev : { type: 'zset', value: z, expiresAt };
    }
    case 'stream': {
      const s = prev?.type === 'stream' ? prev.value : new StreamData();
      addStream(s, k.value!, k.more);
      return prev?.type === 'stream' ? prev : { type: 'stream', value: s, expiresAt };
    }
    default:
      return undefined;
  }
}

function addStream(s: StreamData, v: StreamValue, more: boolean): void {
  for (const e of v.entries) s.entries.push({ id: parseId(e.id)!, fields: e.fields.flatMap(([f, x]) => [bin(f), bin(x)]) });
  if (more) return; // only the last part carries the ids, counters and groups
  s.lastId = parseId(v.lastId) ?? ZERO_ID;
  s.maxDeletedId = (v.maxDeletedId && parseId(v.maxDeletedId)) || ZERO_ID;
  s.entriesAdded = v.entriesAdded ?? s.entries.length;
  for (const g of v.groups) {
    const consumers = new Map(g.consumers.map((c) => [bin(c.name), { seenTime: c.seenTime, activeTime: c.activeTime ?? -1, pending: new Set(c.pending) }]));
    const owner = new Map<string, string>();
    for (const [name, c] of consumers) for (const p of c.pending) owner.set(p, name);
    s.groups.set(bin(g.name), {
      lastId: parseId(g.lastId) ?? ZERO_ID,
      entriesRead: g.entriesRead ?? -1,
      pending: new Map(g.pending.map((p) => [p.id, { consumer: owner.get(p.id) ?? '', deliveryTime: p.deliveryTime, deliveryCount: p.deliveryCount }])),
      consumers,
    });
  }
}

/** RDB length encoding of `n`, for the key in the wrapper RDB. */
function rdbLength(n: number): Buffer {
  if (n < 64) return Buffer.from([n]);
  if (n < 16384) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = 0x80;
  b.writeUInt32BE(n, 1);
  return b;
}

/**
 * RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f].
 * The payload is: type byte, value, RDB version (2 bytes LE), CRC-64 (8 bytes).
 */
export function restore(c: Ctx, a: Buffer[]): void {
  const key = bin(a[0]!);
  const ttl = int(a[1]);
  const payload = a[2]!;
  let abs = false;
  let replace = false;
  for (let i = 3; i < a.length; i++) {
    const o = upper(a[i]);
    if (o === 'ABSTTL') abs = true;
    else if (o === 'REPLACE') replace = true;
    else if (o === 'IDLETIME' || o === 'FREQ') i++;
    else throw new Unhandled(`RESTORE option ${o}`);
  }
  if (c.db.has(key) && !replace) return;
  if (payload.length < 11) throw new Unhandled('RESTORE payload too short');
  const version = payload.readUInt16LE(payload.length - 10);
  const body = payload.subarray(0, payload.length - 10);
  const rdb = Buffer.concat([
    Buffer.from(`REDIS${String(version).padStart(4, '0')}`, 'latin1'),
    body.subarray(0, 1),
    rdbLength(a[0]!.length),
    a[0]!,
    body.subarray(1),
    Buffer.from([0xff]),
    Buffer.alloc(8), // a zero checksum: "checksum disabled"
  ]);
  let ev: RdbEvent | undefined;
  const parts: SnapshotKey[] = [];
  try {
    const p = new RdbParser({ onEvent: (e) => void (e.kind === 'key' ? parts.push(e) : (ev = e)), allowNewerVersion: true });
    p.write(rdb);
    p.end();
  } catch (err) {
    throw new Unhandled(`RESTORE payload the RDB parser rejects: ${(err as Error).message}`);
  }
  void ev;
  const k = parts[0];
  if (!k) throw new Unhandled('RESTORE payload holds no value');
  let entry = toEntry(k, undefined);
  if (!entry) throw new Unhandled(`RESTORE of a ${k.type} value`);
  for (const part of parts.slice(1)) entry = toEntry(part, entry)!;
  entry.expiresAt = ttl === 0 ? undefined : abs ? ttl : c.now + ttl;
  c.db.set(key, entry);
}
