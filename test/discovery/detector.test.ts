/**
 * The local view on fake time: ordering of messages against snapshots by seq, gap detection, lost
 * trailing messages caught by heartbeat stamps, registry resets held as suspects, resync after the
 * subscription reconnects, link-down suspicion, the healthy filter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.js';
import { Detector } from '../../src/discovery/detector.js';
import type { Snapshot } from '../../src/discovery/registry.js';

function setup(selfId = 'me') {
  const clock = new ManualClock();
  const events: string[] = [];
  let reads = 0;
  const d = new Detector({
    selfId,
    clock,
    linkDownSuspectMs: 3000,
    resetGraceMs: 3000,
    emit: (event, ...args) => {
      const [node, extra] = args as [{ id: string }, unknown];
      events.push(`${event}:${node.id}${typeof extra === 'string' ? ':' + extra : ''}`);
    },
    onNeedRead: () => {
      reads++;
    },
  });
  return { d, clock, events, reads: () => reads };
}

const rec = (meta: Record<string, unknown> = {}) => ({ ttl: 3000, meta: meta as never });
const msg = (t: string, id: string, s: number, e = 'E1', meta?: Record<string, unknown>, why?: string) =>
  JSON.stringify({ t, e, s, id, now: 1000 + s, ...(meta ? { r: rec(meta) } : {}), ...(why ? { why } : {}) });
const snap = (seq: number, ids: string[], epoch = 'E1', meta: Record<string, unknown> = {}): Snapshot => ({
  epoch,
  seq,
  now: 5000,
  nodes: ids.map((id) => ({ id, deadline: 8000, record: rec(meta) })),
});

test('snapshot then messages: join, update, leave in order, with lastSeen and self', () => {
  const { d, events } = setup();
  d.snapshot(snap(2, ['me', 'a']));
  assert.deepEqual(events, ['join:me', 'join:a']);
  assert.equal(d.get('me')!.self, true);
  assert.equal(d.get('a')!.lastSeen, 5000); // deadline - ttl
  d.message(msg('join', 'b', 3, 'E1', { zone: 'x' }));
  d.message(msg('update', 'b', 4, 'E1', { zone: 'y' }));
  d.message(msg('update', 'b', 5, 'E1', { zone: 'y' })); // same metadata: no event
  d.message(msg('leave', 'a', 6, 'E1', undefined, 'left'));
  assert.deepEqual(events.slice(2), ['join:b', 'update:b', 'leave:a:left']);
  assert.equal(d.get('b')!.meta.zone, 'y');
  assert.equal(d.get('b')!.lastSeen, 1005, 'the unchanged update still counts as a sign of life');
  assert.equal(d.seq, 6);
});

test('messages already reflected by a snapshot are dropped; a gap asks for a snapshot', () => {
  const { d, events, reads } = setup();
  d.snapshot(snap(5, ['a']));
  d.message(msg('leave', 'a', 4)); // older than the snapshot
  assert.ok(d.get('a'));
  d.message(msg('join', 'b', 8)); // 6 and 7 were lost
  assert.ok(d.get('b'));
  assert.equal(reads(), 1);
  assert.deepEqual(events, ['join:a', 'join:b']);
  d.message('not json');
  d.message(JSON.stringify({ nonsense: true }));
  assert.equal(d.size, 2);
});

test('a snapshot older than messages already applied does not undo them (entries and tombstones)', () => {
  const { d, events } = setup();
  d.snapshot(snap(10, ['a', 'b']));
  d.message(msg('leave', 'a', 11));
  d.message(msg('join', 'c', 12, 'E1', {}));
  // A snapshot taken at seq 10, answered after the messages: still has a, lacks c.
  d.snapshot(snap(10, ['a', 'b']));
  assert.equal(d.get('a'), undefined, 'the tombstone keeps a out');
  assert.ok(d.get('c'), 'c joined after the snapshot: kept');
  assert.equal(d.seq, 12);
  // A newer snapshot settles everything: c is gone by then, a is back.
  d.snapshot(snap(20, ['a', 'b']));
  assert.ok(d.get('a'));
  assert.equal(d.get('c'), undefined);
  assert.deepEqual(events, ['join:a', 'join:b', 'leave:a:expired', 'join:c', 'join:a', 'leave:c:expired']);
});

test('a lost trailing message is caught by the next heartbeat stamp', () => {
  const { d, reads } = setup();
  d.snapshot(snap(3, ['a']));
  assert.equal(d.check({ epoch: 'E1', seq: 4, now: 1 }), false); // seq 4 may still be in flight
  d.message(msg('join', 'b', 4));
  assert.equal(d.check({ epoch: 'E1', seq: 5, now: 2 }), false, 'caught up with 4');
  // seq 5 never arrives, and nothing else either.
  assert.equal(d.check({ epoch: 'E1', seq: 5, now: 3 }), true);
});

test('a view that lags but keeps hearing messages is not sent to read (a burst would feed itself)', () => {
  const { d, reads } = setup();
  d.snapshot(snap(3, []));
  assert.equal(d.check({ epoch: 'E1', seq: 10, now: 1 }), false);
  d.message(msg('join', 'a', 4));
  assert.equal(d.check({ epoch: 'E1', seq: 20, now: 2 }), false, 'behind 10, but progressing');
  d.message(msg('join', 'b', 5));
  assert.equal(d.check({ epoch: 'E1', seq: 30, now: 3 }), false);
  assert.equal(d.check({ epoch: 'E1', seq: 30, now: 4 }), true, 'stalled behind: lost');
  assert.equal(reads(), 0, 'check() reports; the caller reads');
});

test('registry reset (new epoch): missing nodes become suspects for their TTL, not leaves; re-registering clears them', () => {
  const { d, clock, events } = setup();
  d.snapshot(snap(7, ['me', 'a', 'b']));
  events.length = 0;
  clock.advance(100);
  d.snapshot(snap(1, ['me'], 'E2'));
  assert.deepEqual(events, ['suspect:a:registry-reset', 'suspect:b:registry-reset']);
  assert.equal(d.get('a')!.suspect, 'registry-reset');
  d.message(msg('join', 'a', 2, 'E2', {}));
  assert.equal(d.get('a')!.suspect, undefined);
  assert.deepEqual(events.slice(2), ['update:a']);
  // b never comes back: dropped once its grace ends.
  clock.advance(2000);
  d.tick();
  assert.ok(d.get('b'));
  clock.advance(1000);
  d.tick();
  assert.equal(d.get('b'), undefined);
  assert.deepEqual(events.slice(3), ['leave:b:expired']);
});

test('after the subscription reconnects (maybe to a promoted replica with a lower seq), messages apply and the next snapshot is authoritative', () => {
  const { d, events } = setup();
  d.snapshot(snap(105, ['a', 'b']));
  d.resubscribed();
  // The new master's seq is behind: without the resync these would be dropped as old.
  d.message(msg('join', 'c', 104, 'E1', {}));
  assert.ok(d.get('c'));
  d.snapshot(snap(104, ['a', 'c']));
  assert.equal(d.seq, 104);
  assert.equal(d.get('b'), undefined, 'b was lost with the old master and is not in the authoritative snapshot');
  d.message(msg('join', 'b', 105, 'E1', {}));
  assert.ok(d.get('b'), 'seq 105 on the new master is new');
  assert.deepEqual(events, ['join:a', 'join:b', 'join:c', 'leave:b:expired', 'join:b']);
});

test('link down for longer than the TTL marks the others suspect; a snapshot after recovery settles them', () => {
  const { d, clock, events, reads } = setup();
  d.snapshot(snap(3, ['me', 'a', 'b']));
  events.length = 0;
  d.linkDown('main');
  clock.advance(2999);
  d.tick();
  assert.deepEqual(events, []);
  clock.advance(1);
  d.tick();
  assert.deepEqual(events, ['suspect:a:link-down', 'suspect:b:link-down']);
  assert.equal(d.get('me')!.suspect, undefined, 'a node does not suspect itself');
  d.linkOk('main');
  assert.equal(reads(), 1);
  d.snapshot(snap(6, ['me', 'a']));
  assert.equal(d.get('a')!.suspect, undefined);
  assert.equal(d.get('b'), undefined);
  assert.deepEqual(events.slice(2), ['update:a', 'leave:b:expired']);
});

test('nodes({ healthy }) filters on the unhealthy flag', () => {
  const { d } = setup();
  d.snapshot({ epoch: 'E1', seq: 1, now: 0, nodes: [{ id: 'a', deadline: 1, record: rec({}) }, { id: 'b', deadline: 1, record: rec({ unhealthy: true }) }] });
  assert.deepEqual(d.nodes({ healthy: true }).map((n) => n.id), ['a']);
  assert.deepEqual(d.nodes({ healthy: false }).map((n) => n.id), ['b']);
  assert.equal(d.nodes().length, 2);
});

test('snapshots compare stored records: an unchanged node keeps its NodeInfo and only lastSeen moves; a changed one is an update', () => {
  const { d, events } = setup();
  const stored = (id: string, deadline: number, meta: Record<string, unknown>) => {
    const raw = JSON.stringify(rec(meta));
    // The record getter counts decodes: an unchanged node must not need one.
    return { id, deadline, raw, get record() { decodes++; return JSON.parse(raw) as ReturnType<typeof rec>; } };
  };
  let decodes = 0;
  d.message(msg('join', 'a', 1, 'E1', { zone: 'x' }));
  d.snapshot({ epoch: 'E1', seq: 1, now: 0, nodes: [stored('a', 9000, { zone: 'x' }), stored('b', 9000, { zone: 'y' })] });
  assert.deepEqual(events, ['join:a', 'join:b'], 'a came from a message: same metadata, so no update');
  assert.equal(decodes, 1, "only b's record: a's text was taken from its join message");
  const a = d.get('a')!;
  decodes = 0;
  d.snapshot({ epoch: 'E1', seq: 1, now: 0, nodes: [stored('a', 9500, { zone: 'x' }), stored('b', 9500, { zone: 'z' })] });
  assert.equal(decodes, 1, 'only the changed record was parsed');
  assert.equal(d.get('a'), a, 'same object');
  assert.equal(a.lastSeen, 6500, 'deadline - ttl');
  assert.deepEqual(events.slice(2), ['update:b']);
  assert.equal(d.get('b')!.meta.zone, 'z');
  d.snapshot({ epoch: 'E1', seq: 2, now: 0, nodes: [stored('b', 9500, { zone: 'z' })] });
  assert.deepEqual(events.slice(3), ['leave:a:expired']);
});

test('missed heartbeats: suspect and alive messages, and snapshots listing suspects, mark and clear the node once each', () => {
  const { d, events } = setup();
  d.snapshot(snap(2, ['me', 'a', 'b']));
  events.length = 0;
  d.message(msg('suspect', 'a', 3));
  d.message(msg('suspect', 'a', 4)); // repeated: no second event
  d.message(msg('suspect', 'ghost', 5)); // not in the view: ignored
  assert.equal(d.get('a')!.suspect, 'missed-heartbeat');
  assert.deepEqual(events, ['suspect:a:missed-heartbeat']);
  // A snapshot that still lists it as suspect changes nothing; one taken before the message does not undo it.
  d.snapshot({ ...snap(5, ['me', 'a', 'b']), suspects: new Set(['a']) });
  d.snapshot(snap(2, ['me', 'a', 'b']));
  assert.equal(d.get('a')!.suspect, 'missed-heartbeat');
  assert.deepEqual(events, ['suspect:a:missed-heartbeat']);
  d.message(msg('alive', 'a', 6));
  assert.equal(d.get('a')!.suspect, undefined);
  assert.deepEqual(events, ['suspect:a:missed-heartbeat', 'update:a']);
  // A view that missed both messages converges from snapshots alone.
  d.snapshot({ ...snap(8, ['me', 'a', 'b']), suspects: new Set(['b']) });
  assert.equal(d.get('b')!.suspect, 'missed-heartbeat');
  d.snapshot(snap(9, ['me', 'a', 'b']));
  assert.equal(d.get('b')!.suspect, undefined);
  assert.deepEqual(events.slice(2), ['suspect:b:missed-heartbeat', 'update:b']);
  // A suspect node that leaves is gone; one that joins already suspect is reported as both.
  d.message(msg('suspect', 'b', 10));
  d.message(msg('leave', 'b', 11, 'E1', undefined, 'expired'));
  assert.equal(d.get('b'), undefined);
  d.snapshot({ ...snap(12, ['me', 'a', 'c']), suspects: new Set(['c']) });
  assert.deepEqual(events.slice(4), ['suspect:b:missed-heartbeat', 'leave:b:expired', 'join:c', 'suspect:c:missed-heartbeat']);
});

test('a node suspected for a lost link is not cleared by an alive message for another reason', () => {
  const { d, clock, events } = setup();
  d.snapshot(snap(2, ['me', 'a']));
  d.linkDown('main');
  clock.advance(3000);
  d.tick();
  assert.equal(d.get('a')!.suspect, 'link-down');
  d.message(msg('alive', 'a', 3));
  assert.equal(d.get('a')!.suspect, 'link-down');
  d.message(msg('suspect', 'a', 4));
  assert.equal(d.get('a')!.suspect, 'missed-heartbeat');
  assert.deepEqual(events.slice(2), ['suspect:a:link-down', 'suspect:a:missed-heartbeat']);
});
