/**
 * Grid: this process as a node of a namespace (redgrid's node registration, without its faults).
 *
 *   const grid = await joinGrid({ redis, namespace: 'web', meta: { zone: 'a' } });
 *   grid.nodes();                       // [{ id, meta, lastSeen, self }], from the local view
 *   await grid.updateMeta({ weight: 0 });
 *   grid.on('leave', (node, reason) => ...);
 *   await grid.leave();                 // gone from every view at once; SIGTERM does the same
 *
 * Liveness is a deadline per node in a sorted set, computed from Redis's clock and pushed out by each
 * heartbeat (one EVALSHA, O(log n), no messages). A node that stops heartbeating is removed by the
 * next sweep after its deadline and every view hears a leave; before that, once it has gone two
 * heartbeat intervals without one, every view hears it as suspect. After Redis restarts or fails
 * over, the next heartbeat finds the node missing and registers it again, and 'ready' does so at once.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { DiscoveryError } from './errors.js';
import { assertUserMeta, DEFAULT_MAX_META_BYTES, encodeRecord, mergePatch, systemMeta, type Json, type Meta } from './meta.js';
import { GridView, withTimeout, type ViewOptions } from './view.js';

export interface GridOptions extends ViewOptions {
  /** Default host:pid:random. */
  id?: string;
  /** The caller's metadata; host, pid, startedAt and version are added (and reserved). */
  meta?: Meta;
  /**
   * Health check run before each heartbeat (given heartbeatMs to answer). false, a throw or no answer
   * marks the node `unhealthy: true` in its metadata instead of removing it.
   */
  health?: () => boolean | Promise<boolean>;
  /** Largest metadata accepted, as UTF-8 JSON. Default 65 536. */
  maxMetaBytes?: number;
  /** The `version` field; default npm_package_version, else redstack's version. */
  version?: string;
  /** Leave the grid on SIGTERM, then let the signal take its course. Default true. */
  handleSignals?: boolean;
  /**
   * After this long without a heartbeat from this node, every view hears it as `suspect`
   * ('missed-heartbeat'), until it beats again or its TTL ends. Default 2 * heartbeatMs; 0, or a value
   * not below ttlMs, turns it off.
   */
  suspectAfterMs?: number;
}

const ID = /^[^\s\x00-\x1f]{1,256}$/;

export class Grid extends GridView {
  readonly id: string;
  readonly #system: Meta;
  readonly #maxMetaBytes: number;
  readonly #health: GridOptions['health'];
  readonly #suspectMs: number;
  #userMeta: Meta;
  #unhealthy = false;
  #record: string;
  /** Metadata changes go to Redis one at a time, in call order. */
  #writes: Promise<unknown> = Promise.resolve();
  #leaving: Promise<void> | undefined;
  #onSigterm: (() => void) | undefined;

  protected constructor(o: GridOptions) {
    const id = o.id ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    if (typeof id !== 'string' || !ID.test(id)) throw new DiscoveryError('ERR_DISCOVERY_OPTION', 'id must be 1-256 characters without spaces or control characters');
    super(o, id);
    this.id = id;
    this.#maxMetaBytes = o.maxMetaBytes ?? DEFAULT_MAX_META_BYTES;
    this.#health = o.health;
    const suspectMs = o.suspectAfterMs ?? 2 * this.heartbeatMs;
    if (!Number.isFinite(suspectMs) || suspectMs < 0) throw new DiscoveryError('ERR_DISCOVERY_OPTION', 'suspectAfterMs must be a number >= 0');
    this.#suspectMs = suspectMs < this.ttlMs ? Math.round(suspectMs) : 0;
    const meta = o.meta ?? {};
    assertUserMeta(meta);
    this.#userMeta = { ...meta };
    this.#system = systemMeta(o.version);
    this.#record = encodeRecord(this.ttlMs, this.#fullMeta(this.#userMeta), this.#maxMetaBytes);
    if (o.handleSignals !== false) {
      this.#onSigterm = () => {
        process.off('SIGTERM', this.#onSigterm!);
        void withTimeout(this.leave(), this.heartbeatMs)
          .catch(() => undefined)
          .finally(() => {
            // Ours was the only handler: do what SIGTERM would have done without it.
            if (process.listenerCount('SIGTERM') === 0) process.kill(process.pid, 'SIGTERM');
          });
      };
    }
  }

  /** Joins; resolves once this node is registered and the view holds every node already there. */
  static async join(o: GridOptions): Promise<Grid> {
    const grid = new Grid(o);
    await grid.start();
    if (grid.#onSigterm) process.on('SIGTERM', grid.#onSigterm);
    return grid;
  }

  /** This node's metadata as published (system fields included). */
  get meta(): Meta {
    return this.#fullMeta(this.#userMeta);
  }

  get healthy(): boolean {
    return !this.#unhealthy;
  }

  /**
   * Merges `patch` into the metadata (a key set to undefined is removed) and publishes it. Invalid or
   * oversized metadata throws a DiscoveryError before anything is sent; the node stays registered
   * with its previous metadata.
   */
  updateMeta(patch: Record<string, Json | undefined>): Promise<void> {
    this.assertOpen();
    return this.#setMeta(mergePatch(this.#userMeta, patch));
  }

  /** Replaces the caller's metadata entirely (system fields stay). Validated like updateMeta. */
  replaceMeta(meta: Meta): Promise<void> {
    this.assertOpen();
    assertUserMeta(meta);
    return this.#setMeta({ ...meta });
  }

  /** Removes this node from the registry now (every view hears a leave) and closes the connections. */
  leave(): Promise<void> {
    this.#leaving ??= (async () => {
      if (this.#onSigterm) process.off('SIGTERM', this.#onSigterm);
      this.closed = true;
      this.heartbeat.stop();
      try {
        await this.#writes.catch(() => undefined);
        await this.registry.leave(this.id);
      } catch (err) {
        this.reportError(err);
      }
      await this.shutdown();
    })();
    return this.#leaving;
  }

  /** Same as leave(). */
  override close(): Promise<void> {
    return this.leave();
  }

  #setMeta(user: Meta): Promise<void> {
    const record = encodeRecord(this.ttlMs, this.#fullMeta(user, this.#unhealthy), this.#maxMetaBytes);
    this.#userMeta = user;
    this.#record = record;
    return this.#publish();
  }

  /** Sends the current record (register script: refreshes the deadline, publishes update if changed). */
  #publish(): Promise<void> {
    const run = this.#writes.catch(() => undefined).then(async () => {
      if (this.closed) return;
      const stamp = await this.registry.register(this.id, this.ttlMs, this.#record, this.#suspectMs);
      this.detector.touch(this.id, stamp.now);
    });
    this.#writes = run;
    return run;
  }

  #fullMeta(user: Meta, unhealthy = this.#unhealthy): Meta {
    const m: Meta = { ...user, ...this.#system };
    if (unhealthy) m.unhealthy = true;
    return m;
  }

  protected override async register(): Promise<void> {
    await this.registry.register(this.id, this.ttlMs, this.#record, this.#suspectMs);
    this.emit('registered');
  }

  protected override onReconnect(): void {
    // Redis may have lost us (restart, failover): register again now rather than at the next beat.
    this.#publish().then(
      () => this.emit('registered'),
      (err) => this.reportError(err),
    );
  }

  protected override async beat(): Promise<void> {
    try {
      if (this.#health) await this.#checkHealth();
      const st = await this.registry.heartbeat(this.id, this.ttlMs, this.#suspectMs);
      if (!st.present) {
        await this.#publish();
        this.emit('registered');
      } else {
        this.detector.touch(this.id, st.now);
      }
      this.detector.linkOk('main');
      if (this.detector.check(st)) this.requestRead();
    } catch (err) {
      this.detector.linkDown('main');
      this.reportError(err);
    }
  }

  async #checkHealth(): Promise<void> {
    let ok: boolean;
    try {
      ok = (await withTimeout(Promise.resolve().then(() => this.#health!()), this.heartbeatMs)) !== false;
    } catch {
      ok = false;
    }
    if (ok === !this.#unhealthy) return;
    this.#unhealthy = !ok;
    this.#record = encodeRecord(this.ttlMs, this.#fullMeta(this.#userMeta), Infinity);
    await this.#publish();
  }
}

/** Registers this process in `namespace` and returns its live view of the grid. */
export function joinGrid(options: GridOptions): Promise<Grid> {
  return Grid.join(options);
}
