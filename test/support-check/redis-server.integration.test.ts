import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RedisServer } from '../support/redis-server.js';

test('test support starts and stops a private redis-server on a free port', async () => {
  const server = await RedisServer.start({ password: 's3cret' });
  try {
    assert.notEqual(server.port, 6379);
    assert.equal(server.cli('PING'), 'PONG');
  } finally {
    await server.stop();
  }
});
