import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '../../src/client/index.js';
import { RedisServer } from '../support/redis-server.js';

test('reconnect() makes a new connection and keeps subscriptions; queued commands go to it', async () => {
  const server = await RedisServer.start();
  const client = createClient({ url: server.url });
  const publisher = createClient({ url: server.url });
  try {
    const before = await client.cmd<number>(['CLIENT', 'ID']);
    const got: string[] = [];
    await client.subscribe('news', (m) => got.push(String(m)));
    let readies = 0;
    client.on('ready', () => readies++);
    client.reconnect();
    const after = await client.cmd<number>(['CLIENT', 'ID']); // queued while reconnecting, sent after
    assert.notEqual(after, before);
    assert.ok(readies >= 1);
    const deadline = Date.now() + 5_000;
    while (got.length === 0) {
      await publisher.cmd(['PUBLISH', 'news', 'hello']);
      assert.ok(Date.now() < deadline, 'subscription did not come back');
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(got[0], 'hello');
  } finally {
    await client.quit();
    await publisher.quit();
    await server.stop();
  }
});
