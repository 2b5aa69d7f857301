/**
 * The registry in Redis: one method per script in scripts.ts, each one EVALSHA (EVAL on NOSCRIPT,
 * e.g. after a restart emptied the script cache). No state here beyond the keys; views live in
 * detector.ts and timers in heartbeat.ts.
 */
import type { Client } from '../client/index.js';
import type { RespValue } from '../resp/types.js';
import { gridKeys, HEARTBEAT, LEAVE, READ, REGISTER, SWEEP, type GridKeys } from './scripts.js';
import { decodeRecord, type NodeRecord } from './meta.js';

/** What every write script reports: Redis time, and the registry's epoch and seq after it ran. */
export interface Stamp {
  now: number;
  epoch: string;
  seq: number;
}

export interface SnapshotNode {
  id: string;
  /** Redis time (ms) at which the node dies unless it heartbeats. */
  deadline: number;
  record: NodeRecord;
  /** The record as stored, when read from Redis: a view compares it to skip decoding unchanged nodes. */
  raw?: string;
}

/** A node as read: the record is parsed on first use, which for an unchanged node is never. */
class StoredNode implements SnapshotNode {
  #record: NodeRecord | undefined;

  constructor(
    readonly id: string,
    readonly deadline: number,
    readonly raw: string,
  ) {}

  get record(): NodeRecord {
    return (this.#record ??= decodeRecord(this.raw === '' ? null : this.raw));
  }
}

export interface Snapshot extends Stamp {
  nodes: SnapshotNode[];
}

export class Registry {
  readonly keys: GridKeys;
  readonly #client: Client;
  readonly #k: string[];

  constructor(client: Client, namespace: string) {
    this.#client = client;
    this.keys = gridKeys(namespace);
    this.#k = [this.keys.alive, this.keys.nodes, this.keys.state];
  }

  async register(id: string, ttlMs: number, record: string): Promise<Stamp> {
    const r = (await this.#client.eval(REGISTER, this.#k, [this.keys.channel, id, ttlMs, record])) as RespValue[];
    return { now: Number(r[0]), epoch: String(r[1]), seq: Number(r[2]) };
  }

  /** Refreshes the deadline; `present` false means the node is not registered and must register again. */
  async heartbeat(id: string, ttlMs: number): Promise<Stamp & { present: boolean }> {
    const r = (await this.#client.eval(HEARTBEAT, this.#k, [this.keys.channel, id, ttlMs])) as RespValue[];
    return { present: Number(r[0]) === 1, now: Number(r[1]), epoch: String(r[2]), seq: Number(r[3]) };
  }

  async leave(id: string): Promise<boolean> {
    return Number(await this.#client.eval(LEAVE, this.#k, [this.keys.channel, id])) === 1;
  }

  async sweep(): Promise<Stamp & { removed: number }> {
    const r = (await this.#client.eval(SWEEP, this.#k, [this.keys.channel])) as RespValue[];
    return { removed: Number(r[0]), now: Number(r[1]), epoch: String(r[2]), seq: Number(r[3]) };
  }

  async read(): Promise<Snapshot> {
    const r = (await this.#client.eval(READ, this.#k, [])) as RespValue[];
    const flat = (r[3] ?? []) as RespValue[];
    const recs = (r[4] ?? []) as RespValue[];
    const nodes: SnapshotNode[] = [];
    for (let i = 0, j = 0; i < flat.length; i += 2, j++) {
      const rec = recs[j];
      nodes.push(new StoredNode(String(flat[i]), Number(flat[i + 1]), rec === undefined || rec === null ? '' : String(rec)));
    }
    return { epoch: String(r[0]), seq: Number(r[1]), now: Number(r[2]), nodes };
  }
}
