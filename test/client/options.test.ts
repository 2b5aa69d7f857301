import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRedisUrl, resolveOptions, ConfigError } from '../../src/client/index.js';

test('redis:// URLs: host, port, db, user and password (percent-decoded)', () => {
  assert.deepEqual(parseRedisUrl('redis://localhost'), { host: 'localhost', port: 6379 });
  assert.deepEqual(parseRedisUrl('redis://10.0.0.5:7000/3'), { host: '10.0.0.5', port: 7000, db: 3 });
  assert.deepEqual(parseRedisUrl('redis://alice:p%40ss%3Aw0rd@h:1/2'), { host: 'h', port: 1, db: 2, username: 'alice', password: 'p@ss:w0rd' });
  assert.deepEqual(parseRedisUrl('redis://:secret@h'), { host: 'h', port: 6379, password: 'secret' });
  // A lone user part is read as a password, as redis-cli -u does.
  assert.deepEqual(parseRedisUrl('redis://secret@h'), { host: 'h', port: 6379, password: 'secret' });
  assert.deepEqual(parseRedisUrl('redis://[::1]:6380'), { host: '::1', port: 6380 });
});

test('rediss:// turns TLS on; unix:// takes a socket path; query parameters set options', () => {
  assert.deepEqual(parseRedisUrl('rediss://u:p@example.com:6380/1'), { host: 'example.com', port: 6380, tls: true, db: 1, username: 'u', password: 'p' });
  assert.deepEqual(parseRedisUrl('unix:///tmp/redis.sock?db=2'), { path: '/tmp/redis.sock', db: 2 });
  assert.deepEqual(parseRedisUrl('redis://h?protocol=3&name=app&commandTimeoutMs=500&connectTimeoutMs=100&offlineQueueMax=7'), {
    host: 'h',
    port: 6379,
    protocol: 3,
    clientName: 'app',
    commandTimeoutMs: 500,
    connectTimeoutMs: 100,
    offlineQueueMax: 7,
  });
});

test('bad URLs fail with ERR_CONFIG and never echo the URL (it may hold a password)', () => {
  for (const url of ['not a url with hunter2', 'http://h', 'redis://h/notadb', 'redis://h?protocol=4', 'redis://h?db=x']) {
    assert.throws(
      () => parseRedisUrl(url),
      (e: any) => e instanceof ConfigError && e.code === 'ERR_CONFIG' && !e.message.includes('hunter2'),
      url,
    );
  }
});

test('resolveOptions: a URL string, options.url merged with explicit options (explicit wins), REDIS_URL as the default', () => {
  assert.deepEqual(resolveOptions('redis://h:1/2'), { host: 'h', port: 1, db: 2 });
  assert.deepEqual(resolveOptions({ url: 'redis://u:p@h:1/2', db: 5, clientName: 'x' }), { host: 'h', port: 1, db: 5, username: 'u', password: 'p', clientName: 'x' });
  const saved = process.env.REDIS_URL;
  try {
    process.env.REDIS_URL = 'redis://envhost:9';
    assert.deepEqual(resolveOptions(), { host: 'envhost', port: 9 });
    // Explicit host/port/path means the environment is not consulted.
    assert.deepEqual(resolveOptions({ port: 5 }), { port: 5 });
  } finally {
    if (saved === undefined) delete process.env.REDIS_URL;
    else process.env.REDIS_URL = saved;
  }
});
