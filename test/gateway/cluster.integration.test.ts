/**
 * The gateway on a Redis Cluster: channels are shard channels (SSUBSCRIBE on the slot's master,
 * SPUBLISH), patterns are classic PSUBSCRIBE, history keys live in the channel's slot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster } from '../support/redis-server.js';
import { createCluster, keySlot } from '../../src/client/cluster/index.js';
import { createGateway } from '../../src/gateway/index.js';
import { WsClient } from './helpers.js';

test('sharded pub/sub through the gateway on a 3-master cluster', { timeout: 60_000 }, async () => {
  const cl = await startCluster(3, 0);
  const cluster = createCluster({ nodes: [`redis://127.0.0.1:${cl.nodes[0]!.port}`] });
  await cluster.ready();
  const gateway = await createGateway({ redis: cluster, port: 0, auth: { anonymousRead: ['*'], anonymousPublish: ['*'] }, history: [{ pattern: 'hist.*', maxLen: 100 }] });
  try {
    const names = ['alpha', 'bravo', 'charlie', 'delta', 'hist.x', 'tag{alpha}'];
    const masters = new Set(names.map((n) => cluster.masterOf(keySlot(n))));
    assert.ok(masters.size >= 2, 'the channels spread over several masters');
    const c = await WsClient.open(gateway.url.replace('http', 'ws') + '/ws');
    assert.equal((await c.request({ type: 'subscribe', channels: names })).type, 'ack');
    assert.equal((await c.request({ type: 'psubscribe', patterns: ['classic.*'] })).type, 'ack');
    for (const n of names) assert.deepEqual(cluster.subscribedOn('shard', n), [cluster.masterOf(keySlot(n))], `${n} on its slot's master`);

    for (const n of names) await gateway.publish(n, `to ${n}`);
    assert.equal((await c.request({ type: 'publish', channel: 'alpha', data: 'via ws' })).type, 'ack');
    await cluster.cmd(['PUBLISH', 'classic.news', 'broadcast']);
    await c.waitFor((m) => m.data === 'broadcast');
    await c.waitFor((m) => m.data === 'via ws');
    const got = c.of('message').map((m) => `${m.channel}:${m.data}`);
    for (const n of names) assert.ok(got.includes(`${n}:to ${n}`), `got ${n}`);

    // History on a cluster: the stream is in the channel's slot; `since` resumes.
    const first = (await gateway.publish('hist.x', 'h1')).id!;
    await gateway.publish('hist.x', 'h2');
    const r = await WsClient.open(gateway.url.replace('http', 'ws') + '/ws');
    await r.request({ type: 'subscribe', channels: ['hist.x'], since: first });
    await r.waitFor((m) => m.data === 'h2');
    assert.deepEqual(r.of('message').map((m) => m.data), ['h2']);
    await Promise.all([c.close(), r.close()]);
  } finally {
    await gateway.close();
    await cluster.quit();
    await cl.stop();
  }
});
