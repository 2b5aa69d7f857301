/**
 * One coarse clock per component drives timeouts and heartbeats, instead of a timer per command.
 * Tests inject a ManualClock and advance it, so nothing in a unit test waits for real time.
 */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Calls `fn` every `ms` until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
  /** Calls `fn` once after `ms` unless cancelled. */
  after(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  every(ms, fn) {
    const t = setInterval(fn, ms);
    t.unref();
    return () => clearInterval(t);
  },
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};

/** A clock that moves only when told to; for unit tests. */
export class ManualClock implements Clock {
  #now = 0;
  #timers: { at: number; every: number; fn: () => void; live: boolean }[] = [];

  now(): number {
    return this.#now;
  }

  every(ms: number, fn: () => void): () => void {
    const t = { at: this.#now + ms, every: ms, fn, live: true };
    this.#timers.push(t);
    return () => {
      t.live = false;
    };
  }

  after(ms: number, fn: () => void): () => void {
    const t = { at: this.#now + ms, every: 0, fn, live: true };
    this.#timers.push(t);
    return () => {
      t.live = false;
    };
  }

  /** Moves time forward, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      this.#timers = this.#timers.filter((t) => t.live);
      const next = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.#now = next.at;
      if (next.every > 0) next.at += next.every;
      else next.live = false;
      next.fn();
    }
    this.#now = end;
  }
}
