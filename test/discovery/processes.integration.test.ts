/**
 * Several real processes join one grid on a real Redis: they see each other (with metadata) within
 * 100 ms, a SIGKILLed one is reported as left within ttlMs + heartbeatMs, and SIGTERM or leave() are
 * seen as a leave within 100 ms.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RedisServer } from '../support/redis-server.js';
import { NodeProcess, wallNow } from './helpers.js';

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

  await t.test('SIGKILL: reported as left by all others within ttlMs + heartbeatMs', async () => {
    const victim = nodes.find((p) => p.id === 'n2')!;
    const t0 = wallNow();
    victim.kill('SIGKILL');
    for (const p of nodes.filter((q) => q !== victim)) {
      const l = await p.waitFor((x) => x.ev === 'leave' && x.id === 'n2', TTL + HB + 2_000, 'leave of n2');
      assert.equal(l.reason, 'expired');
      assert.ok(l.t - t0 <= TTL + HB, `${p.id} saw the kill after ${(l.t - t0).toFixed(0)} ms (limit ${TTL + HB})`);
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
      assert.equal(p.lines.filter((x) => x.ev === 'suspect').length, 0);
    }
  });
});
