/**
 * The grid's timers, all on one injectable clock:
 *   - the heartbeat, every heartbeatMs from a random phase (so a thousand nodes started together do not
 *     beat in step), skipped while the previous one is still in flight;
 *   - the sweep, for small grids only. Every heartbeat script also sweeps, so a grid of n nodes already
 *     sweeps n times per heartbeat interval; this timer tops that up to one sweep per sweepMs across the
 *     whole grid: each node sweeps every sweepMs * n (jittered), and not at all once its heartbeats
 *     alone are frequent enough. Detection of a dead node is then bounded by its TTL plus about sweepMs,
 *     whatever Redis's lazy expiry does, and a large grid spends no commands on sweeping;
 *   - a tick for the detector (graces, link-down suspicion), once per heartbeat interval.
 */
import type { Clock } from '../clock.js';

export interface HeartbeatOptions {
  clock: Clock;
  heartbeatMs: number;
  sweepMs: number;
  /** One heartbeat; absent for observers that do not register. Must not throw synchronously. */
  beat?: () => Promise<void>;
  sweep: () => Promise<void>;
  /** Nodes in the view, which sets this node's share of the sweeping. */
  size: () => number;
  tick: () => void;
  random?: () => number;
}

export class Heartbeat {
  readonly #o: HeartbeatOptions;
  readonly #random: () => number;
  #stops: (() => void)[] = [];
  #beating = false;
  #sweeping = false;
  #stopped = false;
  beats = 0;
  sweeps = 0;

  constructor(options: HeartbeatOptions) {
    this.#o = options;
    this.#random = options.random ?? Math.random;
  }

  start(): void {
    const { clock, heartbeatMs } = this.#o;
    if (this.#o.beat) {
      this.#after(Math.floor(this.#random() * heartbeatMs), () => {
        this.#stops.push(clock.every(heartbeatMs, () => this.beatNow()));
        this.beatNow();
      });
    }
    this.#stops.push(clock.every(heartbeatMs, () => this.#o.tick()));
    this.#armSweep();
  }

  /** Beats now unless a beat is in flight (e.g. right after a reconnect). */
  beatNow(): void {
    if (this.#beating || this.#stopped || !this.#o.beat) return;
    this.#beating = true;
    this.beats++;
    this.#o.beat().finally(() => {
      this.#beating = false;
    });
  }

  /** Milliseconds until this node's next sweep, or undefined when heartbeats sweep often enough. */
  sweepPeriod(): number | undefined {
    const { sweepMs, heartbeatMs } = this.#o;
    const n = Math.max(1, this.#o.size());
    const period = sweepMs * n;
    if (this.#o.beat && period >= heartbeatMs) return undefined;
    return period;
  }

  #armSweep(): void {
    if (this.#stopped) return;
    const period = this.sweepPeriod();
    if (period === undefined) {
      // Check again later: the grid may shrink.
      this.#after(this.#o.heartbeatMs, () => this.#armSweep());
      return;
    }
    this.#after(Math.max(1, Math.round(period * (0.5 + this.#random()))), () => {
      if (!this.#sweeping && !this.#stopped) {
        this.#sweeping = true;
        this.sweeps++;
        this.#o.sweep().finally(() => {
          this.#sweeping = false;
        });
      }
      this.#armSweep();
    });
  }

  /** A one-shot timer whose cancel function is forgotten once it fires. */
  #after(ms: number, fn: () => void): void {
    const stop = this.#o.clock.after(ms, () => {
      const i = this.#stops.indexOf(stop);
      if (i >= 0) this.#stops.splice(i, 1);
      fn();
    });
    this.#stops.push(stop);
  }

  stop(): void {
    this.#stopped = true;
    for (const s of this.#stops.splice(0)) s();
  }
}
