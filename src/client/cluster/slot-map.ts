/**
 * Which node serves which hash slot.
 *
 * Loaded from CLUSTER SHARDS (Redis 7+), or CLUSTER SLOTS on older servers, and patched one slot at a
 * time by MOVED redirections between full refreshes. Nodes are named by their "host:port" address,
 * which is also the key of the per-node client pool.
 *
 *   slots:  [ s0 s1 s2 ... s16383 ]   each points to a Shard, or undefined while uncovered
 *              \  |  /        |
 *   shards:  { master, replicas } ...  one per master that serves at least one slot
 */
import type { RespValue } from '../../resp/types.js';
import { SLOT_COUNT } from './crc16.js';

export interface Shard {
  /** "host:port" of the master. */
  master: string;
  /** "host:port" of the replicas that were online when the map was read. */
  replicas: string[];
}

/** One shard as read from the server: its slot ranges (inclusive) and nodes. */
export interface ShardInfo extends Shard {
  ranges: [number, number][];
}

export class SlotMap {
  readonly #slots: (Shard | undefined)[] = new Array<Shard | undefined>(SLOT_COUNT).fill(undefined);
  #shards: Shard[] = [];
  #loaded = false;

  /** True once a full map has been applied. */
  get loaded(): boolean {
    return this.#loaded;
  }

  shard(slot: number): Shard | undefined {
    return this.#slots[slot];
  }

  master(slot: number): string | undefined {
    return this.#slots[slot]?.master;
  }

  shards(): readonly Shard[] {
    return this.#shards;
  }

  masters(): string[] {
    return this.#shards.map((s) => s.master);
  }

  /** Every node the map names, masters first. */
  nodes(): string[] {
    const out = new Set(this.masters());
    for (const s of this.#shards) for (const r of s.replicas) out.add(r);
    return [...out];
  }

  /** Replaces the whole map. */
  replace(infos: readonly ShardInfo[]): void {
    this.#slots.fill(undefined);
    const byMaster = new Map<string, Shard>();
    for (const info of infos) {
      let shard = byMaster.get(info.master);
      if (!shard) {
        shard = { master: info.master, replicas: [...info.replicas] };
        byMaster.set(info.master, shard);
      } else {
        for (const r of info.replicas) if (!shard.replicas.includes(r)) shard.replicas.push(r);
      }
      for (const [start, end] of info.ranges) {
        for (let s = Math.max(0, start); s <= Math.min(end, SLOT_COUNT - 1); s++) this.#slots[s] = shard;
      }
    }
    this.#shards = [...byMaster.values()];
    this.#loaded = true;
  }

  /**
   * A MOVED redirection: `slot` is now served by `master`. Only that slot changes; a full refresh
   * follows in the background and fixes the rest (replicas included).
   */
  move(slot: number, master: string): void {
    if (this.#slots[slot]?.master === master) return;
    let shard = this.#shards.find((s) => s.master === master);
    if (!shard) {
      shard = { master, replicas: [] };
      this.#shards.push(shard);
    }
    this.#slots[slot] = shard;
  }
}

/** "host:port" -> parts; the port follows the last ':' so IPv6 hosts work. */
export function parseAddress(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(addr.slice(i + 1)) };
}

export function formatAddress(host: string, port: number): string {
  return `${host}:${port}`;
}

/** Key/value pairs of a RESP3 map or a RESP2 flat array. */
function fields(v: RespValue): Map<string, RespValue> {
  const out = new Map<string, RespValue>();
  if (v instanceof Map) {
    for (const [k, val] of v) out.set(String(k), val);
  } else if (Array.isArray(v)) {
    for (let i = 0; i + 1 < v.length; i += 2) out.set(String(v[i]), v[i + 1]!);
  }
  return out;
}

/** An announced host: '' or '?' mean "the address you reached me on", so the queried host stands in. */
function hostOf(endpoint: RespValue | undefined, ip: RespValue | undefined, fallbackHost: string): string {
  for (const h of [endpoint, ip]) {
    const s = h === undefined || h === null ? '' : String(h);
    if (s !== '' && s !== '?') return s;
  }
  return fallbackHost;
}

/**
 * CLUSTER SHARDS (Redis 7+): per shard, `slots` (flat list of inclusive start/end pairs) and `nodes`
 * (maps with endpoint, ip, port/tls-port, role, health). The master is the node whose role is
 * 'master'; replicas count unless their health is 'fail'. ('loading' is not excluded: Redis 7.0
 * reports it for every replica whose replication offset is still 0, e.g. on a fresh cluster before
 * the first write; a replica that really is loading is waited out by the connection handshake.)
 * Shards without slots (a failed ex-master, an empty new node) are skipped.
 */
export function parseClusterShards(reply: RespValue, fallbackHost: string, tls = false): ShardInfo[] {
  if (!Array.isArray(reply)) throw new TypeError('CLUSTER SHARDS: expected an array');
  const out: ShardInfo[] = [];
  for (const entry of reply) {
    const shard = fields(entry);
    const slots = shard.get('slots');
    const nodes = shard.get('nodes');
    if (!Array.isArray(slots) || slots.length === 0 || !Array.isArray(nodes)) continue;
    const ranges: [number, number][] = [];
    for (let i = 0; i + 1 < slots.length; i += 2) ranges.push([Number(slots[i]), Number(slots[i + 1])]);
    let master: string | undefined;
    let masterOnline = false;
    const replicas: string[] = [];
    for (const n of nodes) {
      const f = fields(n);
      const port = Number((tls ? f.get('tls-port') ?? f.get('port') : f.get('port') ?? f.get('tls-port')) ?? 0);
      if (!port) continue;
      const addr = formatAddress(hostOf(f.get('endpoint'), f.get('ip'), fallbackHost), port);
      const health = String(f.get('health') ?? 'online');
      if (String(f.get('role')) === 'master') {
        // Two masters in one shard happen only briefly during a failover; prefer the healthy one.
        if (master === undefined || (!masterOnline && health === 'online')) {
          master = addr;
          masterOnline = health === 'online';
        }
      } else if (health !== 'fail') {
        replicas.push(addr);
      }
    }
    if (master !== undefined) out.push({ ranges, master, replicas: replicas.filter((r) => r !== master) });
  }
  return out;
}

/** CLUSTER SLOTS (Redis 3+): [start, end, [host, port, id, ...], ...replicas] per range. */
export function parseClusterSlots(reply: RespValue, fallbackHost: string): ShardInfo[] {
  if (!Array.isArray(reply)) throw new TypeError('CLUSTER SLOTS: expected an array');
  const out: ShardInfo[] = [];
  for (const entry of reply) {
    if (!Array.isArray(entry) || entry.length < 3) continue;
    const node = (v: RespValue | undefined): string | undefined => {
      if (!Array.isArray(v) || v.length < 2) return undefined;
      return formatAddress(hostOf(v[0], undefined, fallbackHost), Number(v[1]));
    };
    const master = node(entry[2]);
    if (!master) continue;
    const replicas: string[] = [];
    for (let i = 3; i < entry.length; i++) {
      const r = node(entry[i]);
      if (r) replicas.push(r);
    }
    out.push({ ranges: [[Number(entry[0]), Number(entry[1])]], master, replicas });
  }
  return out;
}
