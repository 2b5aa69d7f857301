/**
 * One element of a collection read item by item (parser.ts's ITEMS state): plain lists, sets,
 * zsets, hashes, quicklist nodes, and hashes with field TTLs. Each call reads exactly one item, so
 * the parser can mark a safe point after it; `skipItem` walks the same bytes without decoding.
 */
import {
  QUICKLIST_NODE_CONTAINER_PACKED, QUICKLIST_NODE_CONTAINER_PLAIN, RDB_SCORE_NAN, RDB_SCORE_NEG_INF, RDB_SCORE_POS_INF,
  RDB_TYPE_HASH, RDB_TYPE_HASH_METADATA_PRE_GA, RDB_TYPE_LIST, RDB_TYPE_LIST_QUICKLIST, RDB_TYPE_LIST_QUICKLIST_2,
  RDB_TYPE_SET, RDB_TYPE_ZSET, RDB_TYPE_ZSET_2,
} from './constants.js';
import { scoreFromBytes } from './encodings/numbers.js';
import type { ByteReader } from './reader.js';
import type { HashEntry } from './types.js';
import { toBuffers, type DecodeScratch } from './values.js';

/** Internal code for Valkey's type 22 (HASH_2), which collides with Redis's HASH_METADATA_PRE_GA. */
export const VALKEY_HASH_2 = -22;

export function readItem(r: ByteReader, t: number, items: unknown[], scratch: DecodeScratch, minExpire: number): void {
  switch (t) {
    case RDB_TYPE_LIST:
    case RDB_TYPE_SET:
      items.push(r.string());
      return;
    case RDB_TYPE_ZSET: {
      const member = r.string();
      items.push([member, textScore(r)]);
      return;
    }
    case RDB_TYPE_ZSET_2: {
      const member = r.string();
      items.push([member, r.doubleLE()]);
      return;
    }
    case RDB_TYPE_HASH: {
      const field = r.string();
      items.push([field, r.string()]);
      return;
    }
    case RDB_TYPE_LIST_QUICKLIST: {
      const node = r.string();
      scratch.zl.open(node, 0, node.length);
      toBuffers(scratch.zl, items as Buffer[]);
      return;
    }
    case RDB_TYPE_LIST_QUICKLIST_2:
      return quicklist2Node(r, items, scratch);
    case VALKEY_HASH_2: {
      // Valkey HASH_2: field, value, i64 absolute expiry (-1 = none).
      const field = r.string();
      const value = r.string();
      const exp = r.i64le();
      items.push(exp === -1 ? [field, value] : [field, value, exp]);
      return;
    }
    default: {
      // HASH_METADATA(_PRE_GA): TTL, field, value. PRE_GA TTLs are absolute; GA ones are
      // relative to the minimum written before the count (0 = no TTL in both).
      const ttl = Number(r.lenU64());
      const field = r.string();
      const value = r.string();
      if (ttl === 0) items.push([field, value]);
      else items.push([field, value, t === RDB_TYPE_HASH_METADATA_PRE_GA ? ttl : minExpire + ttl - 1] as HashEntry);
    }
  }
}

function quicklist2Node(r: ByteReader, items: unknown[], scratch: DecodeScratch): void {
  const p = r.pos;
  const container = r.len();
  const node = r.string();
  if (container === QUICKLIST_NODE_CONTAINER_PLAIN) {
    items.push(node);
  } else if (container === QUICKLIST_NODE_CONTAINER_PACKED) {
    scratch.lp.open(node, 0, node.length);
    toBuffers(scratch.lp, items as Buffer[]);
  } else {
    r.fail('ERR_RDB_INTEGRITY', `quicklist node container ${container} (1 plain or 2 packed expected)`, p);
  }
}

export function skipItem(r: ByteReader, t: number): void {
  switch (t) {
    case RDB_TYPE_LIST:
    case RDB_TYPE_SET:
    case RDB_TYPE_LIST_QUICKLIST:
      return r.skipString();
    case RDB_TYPE_ZSET:
      r.skipString();
      textScore(r);
      return;
    case RDB_TYPE_ZSET_2:
      r.skipString();
      return r.skip(8);
    case RDB_TYPE_HASH:
      r.skipString();
      return r.skipString();
    case RDB_TYPE_LIST_QUICKLIST_2:
      r.len();
      return r.skipString();
    case VALKEY_HASH_2:
      r.skipString();
      r.skipString();
      return r.skip(8);
    default:
      r.lenU64();
      r.skipString();
      return r.skipString();
  }
}

/** A type-3 zset score: a one-byte length then ASCII, or a NaN/inf marker in place of the length. */
function textScore(r: ByteReader): number {
  const n = r.u8();
  if (n === RDB_SCORE_NAN) return Number.NaN;
  if (n === RDB_SCORE_POS_INF) return Infinity;
  if (n === RDB_SCORE_NEG_INF) return -Infinity;
  const p = r.pos;
  r.skip(n);
  return scoreFromBytes(r.buf, p, p + n);
}
