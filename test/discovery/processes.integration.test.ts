/**
 * Several real processes join one grid on a real Redis: they see each other (with metadata) within
 * 100 ms, a SIGKILLed one is reported as left within ttlMs + heartbeatMs, and SIGTERM or leave() are
 * seen as a leave within 100 ms.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RedisServer } from '../support/redis-server.js';
import { joinGrid } from '../../src/discovery/index.js';
import { NodeProcess, waitFor, wallNow } from './helpers.js';

const HB = 200;
const TTL = 600;
let server: RedisServer;
const procs: NodeProcess[] = [];

before(async () => {
  server = await RedisServer.start();
});

after(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await server.stop();
});

function spawnNode(id: string, meta: Record<string, unknown>): NodeProcess {
  const p = new NodeProcess(id, { url: server.url, namespace: 'proc', heartbeatMs: HB, ttlMs: TTL, meta });
  procs.push(p);
  return p;
}

test('processes see each other with metadata within 100 ms; kill, SIGTERM and leave() are seen', async (t) => {
  // Start the processes first (tsx startup is slow), then join them all at once.
  const nodes = ['n1', 'n2', 'n3', 'n4'].map((id, i) => spawnNode(id, { zone: `z${i}`, weight: i }));
  await Promise.all(nodes.map((p) => p.waitFor((l) => l.ev === 'spawned', 20_000, 'spawned')));
  for (const p of nodes) p.send('join');
  const ready = await Promise.all(nodes.map((p) => p.waitFor((l) => l.ev === 'ready', 10_000, 'ready')));
  const lastReady = Math.max(...ready.map((l) => l.t));

  await t.test('every node sees every other, with its metadata, within 100 ms of joining', async () => {
    for (const [i, p] of nodes.entries()) {
      const mine = ready[i]!;
      for (const [j, q] of nodes.entries()) {
        if (i === j) continue;
        // Known at join (in the first snapshot), or heard of later through a join event.
        const inSnapshot = mine.nodes!.find((n) => n.id === q.id);
        const seen = inSnapshot ? { t: mine.t, meta: inSnapshot.meta } : await p.waitFor((l) => l.ev === 'join' && l.id === q.id, 2_000, `join of ${q.id}`);
        assert.deepEqual({ zone: seen.meta?.zone, weight: seen.meta?.weight }, { zone: `z${j}`, weight: j });
        assert.equal(seen.meta?.pid, q.child.pid, 'system metadata carries the pid');
        assert.ok(seen.t <= lastReady + 100, `${p.id} saw ${q.id} ${(seen.t - lastReady).toFixed(1)} ms after the last join`);
      }
    }
  });

  await t.test('a late joiner is seen by all within 100 ms and sees all at once', async () => {
    const late = spawnNode('n5', { role: 'late' });
    await late.waitFor((l) => l.ev === 'spawned', 20_000, 'spawned');
    const t0 = wallNow();
    late.send('join');
    const r = await late.waitFor((l) => l.ev === 'ready', 5_000, 'ready');
    assert.deepEqual(r.nodes!.map((n) => n.id).sort(), ['n1', 'n2', 'n3', 'n4', 'n5']);
    for (const p of nodes) {
      const seen = await p.waitFor((l) => l.ev === 'join' && l.id === 'n5', 2_000, 'join of n5');
      assert.equal(seen.meta?.role, 'late');
      assert.ok(seen.t - t0 <= 100, `${p.id} saw n5 ${(seen.t - t0).toFixed(1)} ms after it started joining`);
    }
    nodes.push(late);
  });

  await t.test('a metadata update reaches everyone', async () => {
    const t0 = wallNow();
    nodes[0]!.send('meta {"weight":10}');
    await nodes[0]!.waitFor((l) => l.ev === 'meta-ok', 2_000, 'meta-ok');
    for (const p of nodes.slice(1)) {
      const u = await p.waitFor((l) => l.ev === 'update' && l.id === 'n1' && l.meta?.weight === 10, 2_000, 'update of n1');
      assert.ok(u.t - t0 <= 100, `update seen after ${(u.t - t0).toFixed(1)} ms`);
    }
  });

  await t.test('SIGKILL: suspected after two missed heartbeats, then reported as left by all others within ttlMs + heartbeatMs', async () => {
    const victim = nodes.find((p) => p.id === 'n2')!;
    const t0 = wallNow();
    victim.kill('SIGKILL');
    for (const p of nodes.filter((q) => q !== victim)) {
      const l = await p.waitFor((x) => x.ev === 'leave' && x.id === 'n2', TTL + HB + 2_000, 'leave of n2');
      assert.equal(l.reason, 'expired');
      assert.ok(l.t - t0 <= TTL + HB, `${p.id} saw the kill after ${(l.t - t0).toFixed(0)} ms (limit ${TTL + HB})`);
      const s = p.lines.find((x) => x.ev === 'suspect' && x.id === 'n2');
      assert.ok(s, `${p.id} never heard n2 suspected`);
      assert.equal(s.reason, 'missed-heartbeat');
      assert.ok(s.t < l.t, 'suspect comes before the leave');
    }
  });

  await t.test('SIGTERM: seen as a leave within 100 ms, and the process exits', async () => {
    const victim = nodes.find((p) => p.id === 'n3')!;
    const t0 = wallNow();
    victim.kill('SIGTERM');
    for (const p of nodes.filter((q) => q.id !== 'n2' && q !== victim)) {
      const l = await p.waitFor((x) => x.ev === 'leave' && x.id === 'n3', 2_000, 'leave of n3');
      assert.equal(l.reason, 'left');
      assert.ok(l.t - t0 <= 100, `${p.id} saw SIGTERM's leave after ${(l.t - t0).toFixed(1)} ms`);
    }
    const exit = await victim.exited;
    assert.equal(exit.signal, 'SIGTERM');
  });

  await t.test('leave(): seen as a leave within 100 ms', async () => {
    const victim = nodes.find((p) => p.id === 'n4')!;
    const t0 = wallNow();
    victim.send('leave');
    for (const p of nodes.filter((q) => q.id === 'n1' || q.id === 'n5')) {
      const l = await p.waitFor((x) => x.ev === 'leave' && x.id === 'n4', 2_000, 'leave of n4');
      assert.equal(l.reason, 'left');
      assert.ok(l.t - t0 <= 100, `${p.id} saw leave() after ${(l.t - t0).toFixed(1)} ms`);
    }
    // The survivors' views hold exactly the survivors; no spurious events happened meanwhile.
    for (const p of nodes.filter((q) => q.id === 'n1' || q.id === 'n5')) {
      p.send('nodes');
      const v = await p.waitFor((x) => x.ev === 'nodes' && x.t > t0, 2_000, 'nodes');
      assert.deepEqual(v.nodes!.map((n) => n.id).sort(), ['n1', 'n5']);
      // No survivor is left suspect. (A survivor's heartbeat delayed past two intervals on a loaded
      // machine is suspected and then heard alive again; the SIGKILLed n2's suspicion is checked above.)
      assert.deepEqual(v.nodes!.map((n) => n.suspect ?? null), [null, null]);
    }
  });
});

test('a stopped process is suspected after two missed heartbeats, and heard alive again when it resumes (no leave)', async () => {
  const observer = await joinGrid({ redis: server.url, namespace: 'stop', id: 'observer', heartbeatMs: HB, ttlMs: 5_000, handleSignals: false });
  const events: { ev: string; id: string; reason?: string; suspect?: string; t: number }[] = [];
  observer.on('suspect', (n, reason) => events.push({ ev: 'suspect', id: n.id, reason, t: wallNow() }));
  observer.on('update', (n) => events.push({ ev: 'update', id: n.id, suspect: n.suspect, t: wallNow() }));
  observer.on('leave', (n, reason) => events.push({ ev: 'leave', id: n.id, reason, t: wallNow() }));
  const p = new NodeProcess('sleeper', { url: server.url, namespace: 'stop', heartbeatMs: HB, ttlMs: 5_000, autoJoin: true });
  procs.push(p);
  try {
    await p.waitFor((l) => l.ev === 'ready', 20_000, 'ready');
    await waitFor(() => observer.nodes().some((n) => n.id === 'sleeper'), 2_000, 'the observer to see sleeper');
    const t0 = wallNow();
    p.kill('SIGSTOP');
    await waitFor(() => events.some((e) => e.ev === 'suspect' && e.id === 'sleeper'), 3_000, 'suspect');
    const s = events.find((e) => e.ev === 'suspect')!;
    assert.equal(s.reason, 'missed-heartbeat');
    // Suspected no sooner than two heartbeat intervals after the last beat, which was at most one before the stop.
    assert.ok(s.t - t0 >= HB, `suspected ${(s.t - t0).toFixed(0)} ms after the stop`);
    assert.equal(observer.nodes().find((n) => n.id === 'sleeper')?.suspect, 'missed-heartbeat');
    // A view that joins now, too late for the message, has it from its first snapshot.
    const late = await joinGrid({ redis: server.url, namespace: 'stop', id: 'late', heartbeatMs: HB, ttlMs: 5_000, handleSignals: false });
    assert.equal(late.nodes().find((n) => n.id === 'sleeper')?.suspect, 'missed-heartbeat');
    await late.leave();
    p.kill('SIGCONT');
    await waitFor(() => events.some((e) => e.ev === 'update' && e.id === 'sleeper' && e.suspect === undefined), 3_000, 'alive again');
    assert.equal(observer.nodes().find((n) => n.id === 'sleeper')?.suspect, undefined);
    // A reconciliation agrees: the registry no longer lists it as suspect.
    await observer.refresh();
    assert.equal(observer.nodes().find((n) => n.id === 'sleeper')?.suspect, undefined);
    assert.deepEqual(events.filter((e) => e.ev === 'leave').map((e) => e.id), ['late']);
    assert.equal(events.filter((e) => e.ev === 'suspect').length, 1);
  } finally {
    p.kill('SIGCONT');
    await observer.leave();
  }
});
