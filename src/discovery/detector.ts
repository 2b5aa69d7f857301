/**
 * The local view of one grid: which nodes are alive, with what metadata, kept current by pub/sub
 * messages and corrected by snapshots. Pure state, no I/O and no timers of its own: the grid feeds it
 * messages, snapshots, heartbeat stamps and clock ticks, and it emits join / leave / update / suspect.
 *
 * Ordering. Every change in the registry bumps a counter (seq) inside the script that makes it, and its
 * message carries that seq, so the view knows how far it has heard. Snapshots come over the command
 * connection and messages over the subscriber connection, so either can overtake the other:
 *   - a message with seq <= the view's seq is already reflected by a snapshot: dropped;
 *   - a message with seq > view seq + 1 means one was lost: applied, and a snapshot is requested;
 *   - a snapshot older than what messages already told (entry or tombstone with a higher seq) does not
 *     overwrite them.
 * A heartbeat returns the registry's seq; if by the next heartbeat the view has not heard that far and
 * has heard nothing at all meanwhile, a trailing message was lost and a snapshot is requested. So a
 * lost message costs at most about two heartbeats, and mere lag never triggers O(n) reads.
 *
 * Suspicion. `missed-heartbeat`: the registry says the node is past its due time (it asked to be
 * suspected after two missed heartbeats); it ends with an `alive` message (shown as an update without
 * the flag) or with its leave. `link-down` and `registry-reset`: this view cannot vouch for the node.
 *
 * Epochs. The registry records an epoch when first written. A snapshot with another epoch means Redis
 * lost the registry (restart without persistence): every node will re-register by itself within a
 * heartbeat, so nodes missing from that snapshot are marked suspect for their TTL instead of being
 * reported as left and then joined again.
 *
 * Generations. After the subscriber reconnects (maybe to a promoted replica whose seq is behind what
 * this view heard from the old master), seqs from before are not comparable: until the next snapshot
 * lands, messages are applied unconditionally, and that snapshot is authoritative.
 */
import type { Clock } from '../clock.js';
import type { Meta, NodeRecord } from './meta.js';
import type { Snapshot, Stamp } from './registry.js';
import { ShardedMap } from './sharded-map.js';

export type SuspectReason = 'missed-heartbeat' | 'link-down' | 'registry-reset';
export type LeaveReason = 'left' | 'expired';

export interface NodeInfo {
  id: string;
  meta: Meta;
  /**
   * Redis time (ms since the epoch) of the latest heartbeat or change this view knows of. Advanced in
   * place by snapshots and heartbeats; any other change gives the node a new NodeInfo object.
   */
  lastSeen: number;
  /** True for the grid's own node. */
  self: boolean;
  /** Set while the node missed a heartbeat, or this view cannot vouch for it (see SuspectReason). */
  suspect?: SuspectReason;
}

export interface DetectorEvents {
  join(node: NodeInfo): void;
  leave(node: NodeInfo, reason: LeaveReason): void;
  update(node: NodeInfo, previous: NodeInfo): void;
  suspect(node: NodeInfo, reason: SuspectReason): void;
}

interface Provenance {
  epoch: string;
  seq: number;
  gen: number;
}

interface Entry extends Provenance {
  info: NodeInfo;
  metaJson: string;
  /** The record's stored text, as last read or heard; undefined when unknown. */
  raw: string | undefined;
  /** The snapshot that last listed this node. */
  mark: number;
  ttl: number;
  /** Local clock time after which a registry-reset suspect is dropped. */
  graceUntil?: number;
}

interface Message {
  t: 'join' | 'update' | 'leave' | 'suspect' | 'alive';
  e: string;
  s: number;
  id: string;
  now: number;
  r?: NodeRecord;
  why?: LeaveReason;
}

export interface DetectorOptions {
  selfId?: string;
  clock: Clock;
  /** After the link to Redis has been down this long, every other node is marked suspect. */
  linkDownSuspectMs: number;
  /** Minimum grace for nodes missing after a registry reset (their TTL is used when longer). */
  resetGraceMs: number;
  emit: <K extends keyof DetectorEvents>(event: K, ...args: Parameters<DetectorEvents[K]>) => void;
  /** The view knows it is stale: the owner should take a snapshot soon. */
  onNeedRead: () => void;
}

export class Detector {
  readonly #o: DetectorOptions;
  // Sharded so that the table's growth, which churn makes happen on some join, is a sixteenth as big.
  readonly #entries = new ShardedMap<Entry>();
  readonly #tombs = new Map<string, Provenance>();
  #epoch: string | undefined;
  #seq = 0;
  #gen = 0;
  #resync = false;
  #lastCheck: Stamp | undefined;
  /** The view's seq when the last stamp was checked. */
  #seqAtCheck = 0;
  readonly #downSince = new Map<'main' | 'sub', number>();
  #linkSuspects = false;
  /** Entries with a graceUntil (an upper bound; recounted by tick). */
  #graced = 0;
  #snapshots = 0;

  constructor(options: DetectorOptions) {
    this.#o = options;
  }

  get epoch(): string | undefined {
    return this.#epoch;
  }

  get seq(): number {
    return this.#seq;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(id: string): NodeInfo | undefined {
    return this.#entries.get(id)?.info;
  }

  /** In no particular order. */
  nodes(filter: { healthy?: boolean } = {}): NodeInfo[] {
    const out: NodeInfo[] = [];
    this.#entries.forEachValue((e) => {
      if (filter.healthy !== undefined && (e.info.meta.unhealthy !== true) !== filter.healthy) return;
      out.push(e.info);
    });
    return out;
  }

  // ---- input: messages ----------------------------------------------------------------------------

  /** One pub/sub message, as received. Malformed messages are ignored. */
  message(text: string | Buffer): void {
    const s = String(text);
    let m: Message;
    try {
      m = JSON.parse(s) as Message;
    } catch {
      return;
    }
    if (typeof m !== 'object' || m === null || typeof m.id !== 'string' || typeof m.s !== 'number') return;
    if (m.e !== this.#epoch || this.#resync) {
      // Another registry incarnation, or seqs not comparable since a reconnect: the message is still a
      // fact, in order; apply it and let a snapshot settle the rest.
      if (this.#epoch !== undefined && m.e !== this.#epoch) this.#o.onNeedRead();
    } else {
      if (m.s <= this.#seq) return;
      if (m.s > this.#seq + 1) this.#o.onNeedRead();
      this.#seq = m.s;
    }
    const prov = { epoch: m.e, seq: m.s, gen: this.#gen };
    if (m.t === 'leave') this.#remove(m.id, m.why === 'left' ? 'left' : 'expired', prov);
    else if (m.t === 'join' || m.t === 'update') this.#upsert(m.id, toRecord(m.r), m.now, prov, recordText(s));
    else if (m.t === 'suspect' || m.t === 'alive') {
      const e = this.#entries.get(m.id);
      if (!e) return;
      stamp(e, prov);
      this.#setLate(e, m.t === 'suspect');
    }
  }

  // ---- input: snapshots and stamps ----------------------------------------------------------------

  /** A full read of the registry. */
  snapshot(s: Snapshot): void {
    const reset = this.#epoch !== undefined && s.epoch !== this.#epoch;
    const authoritative = this.#resync || reset;
    this.#resync = false;
    this.#epoch = s.epoch;
    // Reconciliation runs this over every node of the grid every few tens of seconds, in every view:
    // a node whose stored record is unchanged costs a lookup and a string comparison, and no
    // allocation, so a big snapshot neither stalls the event loop nor feeds the garbage collector.
    const mark = ++this.#snapshots;
    const prov = { epoch: s.epoch, seq: s.seq, gen: this.#gen };
    const suspects = s.suspects;
    for (const n of s.nodes) {
      const tomb = this.#tombs.get(n.id);
      const e = this.#entries.get(n.id);
      if (e) e.mark = mark;
      if (tomb && this.#newer(tomb, s)) continue;
      if (e && this.#newer(e, s)) continue;
      const late = suspects !== undefined && suspects.size > 0 && suspects.has(n.id);
      const vouched = e !== undefined && (e.info.suspect === undefined || e.info.suspect === 'missed-heartbeat');
      if (e && vouched && n.raw !== undefined && n.raw === e.raw && e.graceUntil === undefined) {
        stamp(e, prov);
        const seen = n.deadline - e.ttl;
        if (seen > e.info.lastSeen) e.info.lastSeen = seen;
        this.#setLate(e, late);
        continue;
      }
      const rec = n.record;
      this.#upsert(n.id, rec, n.deadline - rec.ttl, prov, n.raw, late);
      const added = this.#entries.get(n.id)!;
      added.mark = mark;
      if (late) this.#setLate(added, true);
    }
    const now = this.#o.clock.now();
    const gone: Entry[] = [];
    this.#entries.forEachValue((e) => {
      if (e.mark !== mark) gone.push(e);
    });
    for (const e of gone) {
      if (this.#newer(e, s)) continue;
      if (reset) {
        if (e.info.suspect !== 'registry-reset') {
          e.graceUntil = now + Math.max(e.ttl, this.#o.resetGraceMs);
          this.#graced++;
          this.#markSuspect(e, 'registry-reset');
        }
      } else if (e.info.suspect === 'registry-reset' && (e.graceUntil ?? 0) > now) {
        // still within its grace: it may re-register any moment
      } else {
        this.#remove(e.info.id, 'expired', prov);
      }
    }
    this.#seq = authoritative ? s.seq : Math.max(this.#seq, s.seq);
    for (const [id, t] of this.#tombs) if (!this.#newer(t, s)) this.#tombs.delete(id);
    this.#downSince.delete('main');
    this.#linkSuspects = false;
  }

  /**
   * A heartbeat's stamp. Returns true when the view has missed something: it had not caught up, by
   * this heartbeat, with the seq the previous heartbeat reported.
   */
  check(stamp: Stamp): boolean {
    const prev = this.#lastCheck;
    const heardAtPrev = this.#seqAtCheck;
    this.#lastCheck = stamp;
    this.#seqAtCheck = this.#seq;
    if (this.#epoch === undefined || this.#resync || prev === undefined) return false;
    if (prev.epoch !== this.#epoch) return true;
    // Behind, and nothing heard for a whole heartbeat: lost. Behind but still hearing messages is
    // only lag (a busy subscriber under a burst of joins); reading then would feed the burst, since a
    // snapshot is O(n) and every lagging node would take one.
    return this.#seq < prev.seq && this.#seq === heardAtPrev;
  }

  /** Updates the own node's lastSeen after a heartbeat. */
  touch(id: string, now: number): void {
    const e = this.#entries.get(id);
    if (e && now > e.info.lastSeen) e.info.lastSeen = now;
  }

  // ---- input: link state and time ---------------------------------------------------------------

  /** The command link ('main') or the subscription ('sub') failed. */
  linkDown(which: 'main' | 'sub'): void {
    if (!this.#downSince.has(which)) this.#downSince.set(which, this.#o.clock.now());
  }

  /** The link works again; if nodes were marked suspect meanwhile, a snapshot settles them. */
  linkOk(which: 'main' | 'sub'): void {
    this.#downSince.delete(which);
    if (this.#linkSuspects && this.#downSince.size === 0) this.#o.onNeedRead();
  }

  /** The subscription was re-established: seqs heard before may not be comparable any more. */
  resubscribed(): void {
    this.#gen++;
    this.#resync = true;
    this.#lastCheck = undefined;
  }

  /** Runs on the grid's clock: ends graces, marks nodes suspect when the link has been down too long. */
  tick(): void {
    const now = this.#o.clock.now();
    // Graces are rare (only after a registry reset); skip the scan otherwise, ticks run often.
    if (this.#graced > 0) {
      this.#graced = 0;
      for (const e of [...this.#entries.values()]) {
        if (e.graceUntil === undefined) continue;
        if (e.graceUntil <= now) this.#remove(e.info.id, 'expired', { epoch: this.#epoch ?? '', seq: this.#seq, gen: this.#gen });
        else this.#graced++;
      }
    }
    if (this.#linkSuspects) return;
    let since = Infinity;
    for (const t of this.#downSince.values()) since = Math.min(since, t);
    if (now - since >= this.#o.linkDownSuspectMs) {
      this.#linkSuspects = true;
      this.#entries.forEachValue((e) => {
        if (!e.info.self && !e.info.suspect) this.#markSuspect(e, 'link-down');
      });
    }
  }

  // ---- internals ---------------------------------------------------------------------------------

  #newer(p: Provenance, s: Snapshot): boolean {
    return p.epoch === s.epoch && p.gen === this.#gen && p.seq > s.seq;
  }

  /** `late`: the registry still lists the node as suspect, so a missed-heartbeat flag stays. */
  #upsert(id: string, rec: NodeRecord, lastSeen: number, prov: Provenance, raw: string | undefined, late = false): void {
    this.#tombs.delete(id);
    const metaJson = JSON.stringify(rec.meta);
    const e = this.#entries.get(id);
    if (!e) {
      const info: NodeInfo = { id, meta: rec.meta, lastSeen, self: id === this.#o.selfId };
      // Every field from the start, so all entries share one shape: snapshots walk all of them.
      this.#entries.set(id, { epoch: prov.epoch, seq: prov.seq, gen: prov.gen, info, metaJson, raw, mark: 0, ttl: rec.ttl, graceUntil: undefined });
      this.#o.emit('join', info);
      return;
    }
    const previous = e.info;
    const stillLate = late && previous.suspect === 'missed-heartbeat';
    const changed = metaJson !== e.metaJson || (previous.suspect !== undefined && !stillLate);
    stamp(e, prov);
    e.ttl = rec.ttl;
    e.graceUntil = undefined;
    e.metaJson = metaJson;
    e.raw = raw;
    e.info = { id, meta: changed ? rec.meta : previous.meta, lastSeen: Math.max(lastSeen, previous.lastSeen), self: previous.self };
    if (stillLate) e.info.suspect = 'missed-heartbeat';
    if (changed) this.#o.emit('update', e.info, previous);
  }

  #remove(id: string, reason: LeaveReason, prov: Provenance): void {
    this.#tombs.set(id, prov);
    const e = this.#entries.get(id);
    if (!e) return;
    this.#entries.delete(id);
    this.#o.emit('leave', e.info, reason);
  }

  #markSuspect(e: Entry, reason: SuspectReason): void {
    e.info = { ...e.info, suspect: reason };
    this.#o.emit('suspect', e.info, reason);
  }

  /** The registry's word on a missed heartbeat: suspect it, or end that suspicion (an update). */
  #setLate(e: Entry, late: boolean): void {
    const was = e.info.suspect === 'missed-heartbeat';
    if (late === was) return;
    if (late) {
      this.#markSuspect(e, 'missed-heartbeat');
      return;
    }
    const previous = e.info;
    e.info = { id: previous.id, meta: previous.meta, lastSeen: previous.lastSeen, self: previous.self };
    this.#o.emit('update', e.info, previous);
  }
}

/** Records where the entry's latest state came from (in place: snapshots run this per node). */
function stamp(e: Provenance, prov: Provenance): void {
  e.epoch = prov.epoch;
  e.seq = prov.seq;
  e.gen = prov.gen;
}

/**
 * The record's text inside a join or update message, byte for byte what the register script stored
 * (scripts.ts appends it last: `,"r":<record>}`), so the next snapshot can compare texts instead of
 * parsing. `,"r":` cannot occur earlier: the id is a JSON string, where quotes are escaped.
 */
function recordText(message: string): string | undefined {
  const i = message.indexOf(',"r":');
  if (i < 0 || message.charCodeAt(message.length - 1) !== 0x7d /* } */) return undefined;
  return message.slice(i + 5, -1);
}

function toRecord(r: unknown): NodeRecord {
  const o = (r ?? {}) as Partial<NodeRecord>;
  const meta = o.meta && typeof o.meta === 'object' && !Array.isArray(o.meta) ? o.meta : {};
  return { ttl: typeof o.ttl === 'number' ? o.ttl : 0, meta };
}
