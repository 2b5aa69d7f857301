/**
 * Which arguments of a command are keys, so the cluster client can route it by hash slot.
 *
 * Two sources, one table:
 * - built in: the common commands, so routing works before (or without) COMMAND, e.g. when ACLs deny
 *   it. Anything unknown is taken to have its key at argument 1: wrong guesses cost one MOVED hop,
 *   never a wrong answer, because the server redirects.
 * - COMMAND, read once per cluster: first key, last key and step of every command and subcommand
 *   (`object|encoding`), and the readonly flag, for modules and new commands too.
 * Commands whose keys move with their arguments (EVAL's numkeys, XREAD's STREAMS, SORT ... STORE) are
 * parsed by the small functions in MOVABLE whatever COMMAND says.
 *
 * A command whose keys hash to different slots throws CrossSlotError before anything is sent.
 */
import type { Command, CommandArg, RespValue } from '../../resp/types.js';
import { keySlot } from './crc16.js';
import { CrossSlotError } from './errors.js';

/** Keys at first, first+step, ... last (negative: from the end); first 0 means no keys. */
interface KeySpec {
  first: number;
  last: number;
  step: number;
  readonly: boolean;
  /** Has subcommands ('object', 'xinfo'...): look up `name|sub` instead. */
  container: boolean;
}

/** Slot accumulator: every key must land in the same slot. */
class SlotOf {
  slot = -1;
  constructor(readonly name: string) {}

  add(key: CommandArg | undefined): void {
    if (key === undefined) return;
    const s = keySlot(key);
    if (this.slot === -1) this.slot = s;
    else if (s !== this.slot) throw new CrossSlotError(this.name.toUpperCase(), this.slot, s);
  }
}

const num = (a: CommandArg | undefined): number => (a === undefined ? 0 : Number(String(a)));
const word = (a: CommandArg | undefined): string => (a === undefined ? '' : String(a).toUpperCase());

/** numkeys at `at`, keys right after it. */
function numkeysAt(at: number) {
  return (c: Command, acc: SlotOf): void => {
    const n = num(c[at]);
    for (let i = at + 1; i <= at + n && i < c.length; i++) acc.add(c[i]);
  };
}

/** XREAD [COUNT n] [BLOCK ms] STREAMS k1 k2 id1 id2; XREADGROUP GROUP g c [COUNT n] [BLOCK ms] [NOACK] STREAMS ... */
function xread(c: Command, acc: SlotOf, start: number): void {
  let i = start;
  while (i < c.length) {
    const w = word(c[i]);
    if (w === 'STREAMS') break;
    i += w === 'COUNT' || w === 'BLOCK' ? 2 : 1;
  }
  const n = Math.floor((c.length - i - 1) / 2);
  for (let k = 0; k < n; k++) acc.add(c[i + 1 + k]);
}

/** Key at 1, and the key after any of `storeWords` (SORT ... STORE dst, GEORADIUS ... STOREDIST dst). */
function keyAndStore(skip: Record<string, number>) {
  return (c: Command, acc: SlotOf): void => {
    acc.add(c[1]);
    for (let i = 2; i < c.length; i++) {
      const w = word(c[i]);
      if (w === 'STORE' || w === 'STOREDIST') {
        acc.add(c[i + 1]);
        i++;
      } else {
        i += skip[w] ?? 0;
      }
    }
  };
}

const MOVABLE: Record<string, (c: Command, acc: SlotOf) => void> = {
  eval: numkeysAt(2),
  evalsha: numkeysAt(2),
  eval_ro: numkeysAt(2),
  evalsha_ro: numkeysAt(2),
  fcall: numkeysAt(2),
  fcall_ro: numkeysAt(2),
  zunion: numkeysAt(1),
  zinter: numkeysAt(1),
  zdiff: numkeysAt(1),
  zintercard: numkeysAt(1),
  sintercard: numkeysAt(1),
  lmpop: numkeysAt(1),
  zmpop: numkeysAt(1),
  blmpop: numkeysAt(2),
  bzmpop: numkeysAt(2),
  zunionstore: (c, acc) => (acc.add(c[1]), numkeysAt(2)(c, acc)),
  zinterstore: (c, acc) => (acc.add(c[1]), numkeysAt(2)(c, acc)),
  zdiffstore: (c, acc) => (acc.add(c[1]), numkeysAt(2)(c, acc)),
  xread: (c, acc) => xread(c, acc, 1),
  xreadgroup: (c, acc) => xread(c, acc, word(c[1]) === 'GROUP' ? 4 : 1),
  // BY pattern and GET pattern name other keys, which Redis Cluster refuses anyway.
  sort: keyAndStore({ BY: 1, LIMIT: 2, GET: 1 }),
  sort_ro: keyAndStore({ BY: 1, LIMIT: 2, GET: 1 }),
  georadius: keyAndStore({ COUNT: 1 }),
  georadiusbymember: keyAndStore({ COUNT: 1 }),
  migrate: (c, acc) => {
    if (String(c[3] ?? '') !== '') return acc.add(c[3]);
    for (let i = 6; i < c.length; i++) {
      if (word(c[i]) === 'KEYS') {
        for (let k = i + 1; k < c.length; k++) acc.add(c[k]);
        return;
      }
    }
  },
};

const spec = (first: number, last: number, step: number, readonly = false): KeySpec => ({ first, last, step, readonly, container: false });
const KEYLESS = spec(0, 0, 0);
const KEYLESS_CONTAINER: KeySpec = { ...KEYLESS, container: true };

function builtins(): Map<string, KeySpec> {
  const t = new Map<string, KeySpec>();
  const put = (names: string, s: KeySpec) => {
    for (const n of names.split(' ')) t.set(n, s);
  };
  put(
    'ping echo info time dbsize flushall flushdb randomkey keys scan select swapdb auth hello config debug save bgsave ' +
      'bgrewriteaof lastsave monitor role replicaof slaveof shutdown slowlog latency module acl publish readonly ' +
      'readwrite asking multi exec discard unwatch quit reset wait waitaof failover lolwut sync psync replconf',
    KEYLESS,
  );
  put('client cluster command function script pubsub', KEYLESS_CONTAINER);
  // Containers whose subcommands take a key at argument 2.
  put('object xinfo xgroup memory', KEYLESS_CONTAINER);
  put('object|encoding object|freq object|idletime object|refcount xinfo|stream memory|usage', spec(2, 2, 1, true));
  put('xinfo|groups xinfo|consumers', spec(2, 2, 1, true));
  put('xgroup|create xgroup|setid xgroup|destroy xgroup|createconsumer xgroup|delconsumer', spec(2, 2, 1));
  put('del unlink touch watch sdiffstore sinterstore sunionstore pfmerge pfcount', spec(1, -1, 1));
  put('exists mget sdiff sinter sunion', spec(1, -1, 1, true));
  put('blpop brpop bzpopmin bzpopmax', spec(1, -2, 1));
  put('rename renamenx smove lmove blmove rpoplpush brpoplpush copy geosearchstore zrangestore', spec(1, 2, 1));
  put('lcs', spec(1, 2, 1, true));
  put('bitop', spec(2, -1, 1));
  put('mset msetnx', spec(1, -1, 2));
  put(
    'get strlen getrange substr hget hmget hgetall hkeys hvals hlen hexists hstrlen hrandfield hscan lrange lindex ' +
      'llen lpos scard sismember smembers smismember srandmember sscan zcard zcount zrange zrangebyscore zrevrange ' +
      'zrevrangebyscore zrangebylex zrevrangebylex zlexcount zscore zmscore zrank zrevrank zrandmember zscan type ttl ' +
      'pttl expiretime pexpiretime dump bitcount bitpos getbit bitfield_ro xrange xrevrange xlen geopos geodist ' +
      'geohash georadius_ro georadiusbymember_ro geosearch',
    spec(1, 1, 1, true),
  );
  for (const n of ['eval_ro', 'evalsha_ro', 'fcall_ro', 'sort_ro', 'xread', 'zunion', 'zinter', 'zdiff', 'zintercard', 'sintercard']) {
    t.set(n, spec(1, 1, 1, true));
  }
  return t;
}

function flagList(v: RespValue | undefined): string[] {
  if (Array.isArray(v)) return v.map(String);
  if (v instanceof Set) return [...v].map(String);
  return [];
}

export class CommandKeys {
  #table = builtins();
  #fromServer = false;

  /** True once COMMAND's reply has been merged in. */
  get loaded(): boolean {
    return this.#fromServer;
  }

  /** Merges the reply of COMMAND (every command, with subcommands at element 9). */
  load(reply: RespValue): void {
    if (!Array.isArray(reply)) return;
    const add = (entry: RespValue): void => {
      if (!Array.isArray(entry) || entry.length < 6) return;
      const name = String(entry[0]).toLowerCase();
      const subs = entry[9];
      const container = Array.isArray(subs) && subs.length > 0;
      this.#table.set(name, {
        first: Number(entry[3]),
        last: Number(entry[4]),
        step: Number(entry[5]) || 1,
        readonly: flagList(entry[2]).includes('readonly'),
        container,
      });
      if (container) for (const s of subs) add(s);
    };
    for (const entry of reply) add(entry);
    this.#fromServer = true;
  }

  #lookup(c: Command): { name: string; spec: KeySpec | undefined } {
    const name = String(c[0]).toLowerCase();
    let s = this.#table.get(name);
    if (s?.container && c.length > 1) {
      const sub = this.#table.get(`${name}|${String(c[1]).toLowerCase()}`);
      s = sub ?? KEYLESS;
    }
    return { name, spec: s };
  }

  /**
   * The slot of the command's keys; -1 when it has none (any master will do). Throws CrossSlotError
   * when its keys hash to different slots.
   */
  slot(c: Command): number {
    const { name, spec: s } = this.#lookup(c);
    const acc = new SlotOf(name);
    const movable = MOVABLE[name];
    if (movable) {
      movable(c, acc);
      return acc.slot;
    }
    if (!s) {
      // Unknown (a module command before COMMAND was read): assume the key is argument 1.
      acc.add(c[1]);
      return acc.slot;
    }
    if (s.first <= 0) return -1;
    const last = s.last < 0 ? c.length + s.last : Math.min(s.last, c.length - 1);
    for (let i = s.first; i <= last; i += s.step) acc.add(c[i]);
    return acc.slot;
  }

  /** The slot of every key of several commands (a transaction); -1 when none has keys. */
  slotOfAll(commands: readonly Command[]): number {
    let slot = -1;
    for (const c of commands) {
      const s = this.slot(c);
      if (s === -1) continue;
      if (slot === -1) slot = s;
      else if (s !== slot) throw new CrossSlotError(String(c[0]).toUpperCase(), slot, s);
    }
    return slot;
  }

  /** Whether a replica may serve it (scaleReads: 'replica'). Unknown commands are not. */
  readonly(c: Command): boolean {
    return this.#lookup(c).spec?.readonly ?? false;
  }
}
