/**
 * Registry.read() against a real server: the same snapshot through RESP2 and RESP3 clients (ZRANGE
 * WITHSCORES, HGETALL and SMEMBERS reply in different shapes), nodes past their deadline but not swept
 * yet left out, suspects listed until they beat again, and an empty registry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RedisServer } from '../support/redis-server.js';
import { createClient } from '../../src/client/index.js';
import { Registry } from '../../src/discovery/index.js';
import { sleep } from './helpers.js';

test('read() gives one snapshot through RESP2 and RESP3, without expired nodes', async () => {
  const server = await RedisServer.start({});
  const c2 = createClient({ port: server.port });
  const c3 = createClient({ port: server.port, protocol: 3 });
  try {
    const r2 = new Registry(c2, 'reads');
    const r3 = new Registry(c3, 'reads');
    const empty = await r2.read();
    assert.deepEqual({ epoch: empty.epoch, seq: empty.seq, nodes: empty.nodes }, { epoch: '', seq: 0, nodes: [] });

    const rec = (n: number) => JSON.stringify({ ttl: 60_000, meta: { n, text: 'é ✓' } });
    for (let i = 0; i < 5; i++) await r2.register(`node-${i}`, 60_000, rec(i));
    await r2.register('short', 50, JSON.stringify({ ttl: 50, meta: {} }));
    await sleep(120); // 'short' is past its deadline; nothing has swept it

    const a = await r2.read();
    const b = await r3.read();
    for (const s of [a, b]) {
      assert.notEqual(s.epoch, '');
      assert.ok(s.seq >= 6);
      assert.ok(s.now > 0);
      assert.deepEqual(s.nodes.map((n) => n.id).sort(), ['node-0', 'node-1', 'node-2', 'node-3', 'node-4']);
      for (const n of s.nodes) {
        assert.equal(n.raw, rec(Number(n.id.slice(5))));
        assert.deepEqual(n.record.meta, { n: Number(n.id.slice(5)), text: 'é ✓' });
        assert.ok(n.deadline > s.now);
      }
    }
    assert.deepEqual(
      a.nodes.map((n) => [n.id, n.deadline]),
      b.nodes.map((n) => [n.id, n.deadline]),
    );
    assert.equal(a.suspects?.size, 0);

    // A node past its due time (suspectMs) is listed as suspect, in both protocols (SMEMBERS: an
    // array in RESP2, a set in RESP3), until it beats again.
    await r2.register('node-1', 60_000, rec(1), 20);
    await sleep(40);
    await r2.sweep();
    for (const s of [await r2.read(), await r3.read()]) assert.deepEqual([...(s.suspects ?? [])], ['node-1']);
    await r2.heartbeat('node-1', 60_000, 60_000);
    for (const s of [await r2.read(), await r3.read()]) assert.equal(s.suspects?.size, 0);
  } finally {
    await c2.quit();
    await c3.quit();
    await server.stop();
  }
});
