/**
 * Timers on fake time: heartbeat cadence with a random phase, no overlapping beats, the sweep share
 * shrinking as the grid grows (and stopping once heartbeats sweep often enough), stop().
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.js';
import { Heartbeat } from '../../src/discovery/heartbeat.js';

function setup(size: number, opts: { beatMs?: number; observer?: boolean } = {}) {
  const clock = new ManualClock();
  const beats: number[] = [];
  const sweeps: number[] = [];
  let ticks = 0;
  let n = size;
  let release: (() => void) | undefined;
  const hb = new Heartbeat({
    clock,
    heartbeatMs: 1000,
    sweepMs: 50,
    beat: opts.observer
      ? undefined
      : () => {
          beats.push(clock.now());
          if (!opts.beatMs) return Promise.resolve();
          return new Promise<void>((r) => (release = r));
        },
    sweep: async () => {
      sweeps.push(clock.now());
    },
    size: () => n,
    tick: () => ticks++,
    random: () => 0.5,
  });
  return { clock, hb, beats, sweeps, ticks: () => ticks, setSize: (x: number) => (n = x), release: () => release?.() };
}

const flush = () => new Promise((r) => setImmediate(r));

/** Advances in steps, letting promise callbacks (a beat or sweep finishing) run between them. */
async function advance(clock: ManualClock, ms: number, step = 10): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(Math.min(step, ms - t));
    await flush();
  }
}

test('beats every heartbeatMs after a random phase; ticks once per interval', async () => {
  const { clock, hb, beats, ticks } = setup(100);
  hb.start();
  await advance(clock, 499, 1);
  assert.deepEqual(beats, []);
  await advance(clock, 1, 1);
  await advance(clock, 3000);
  assert.deepEqual(beats, [500, 1500, 2500, 3500]);
  assert.equal(ticks(), 3);
  hb.stop();
  clock.advance(5000);
  assert.equal(beats.length, 4);
});

test('a beat still in flight is not overlapped', async () => {
  const { clock, hb, beats, release } = setup(100, { beatMs: 1 });
  hb.start();
  await advance(clock, 3000);
  assert.deepEqual(beats, [500], 'the first beat never returned');
  release();
  await flush();
  await advance(clock, 1000);
  assert.deepEqual(beats, [500, 3500]);
  hb.stop();
});

test('sweeps: one per sweepMs across the grid; none once heartbeats sweep often enough', async () => {
  const small = setup(4);
  assert.equal(small.hb.sweepPeriod(), 200);
  small.hb.start();
  await advance(small.clock, 2000);
  // every 200 ms * (0.5 + 0.5) jitter
  assert.equal(small.sweeps.length, 10);
  small.setSize(20);
  assert.equal(small.hb.sweepPeriod(), undefined, '20 nodes x 50 ms = one heartbeat: the heartbeats sweep');
  const before = small.sweeps.length;
  await advance(small.clock, 5000);
  assert.ok(small.sweeps.length <= before + 1);
  small.setSize(2);
  await advance(small.clock, 2000);
  assert.ok(small.sweeps.length >= before + 10, 'sweeping resumes when the grid shrinks');
  small.hb.stop();
  const observer = setup(1000, { observer: true });
  assert.equal(observer.hb.sweepPeriod(), 50_000, 'an observer never beats, so it always takes its share');
});
