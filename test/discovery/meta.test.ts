import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { assertUserMeta, decodeRecord, encodeRecord, hasUrlPassword, mergePatch, systemMeta } from '../../src/discovery/meta.js';
import { DiscoveryError } from '../../src/discovery/errors.js';

test('system metadata: host, pid, startedAt, version, and nothing else', () => {
  const m = systemMeta('1.2.3');
  assert.deepEqual(Object.keys(m).sort(), ['host', 'pid', 'startedAt', 'version']);
  assert.equal(m.pid, process.pid);
  assert.equal(m.version, '1.2.3');
});

test('plain JSON round-trips through a record; anything else is refused with the path', () => {
  fc.assert(
    fc.property(fc.dictionary(fc.string().filter((k) => !/^(host|pid|startedAt|version|unhealthy|pass(word)?|passwd|secret|token|api[-_]?key|auth|credentials?|private[-_]?key|__proto__)$/i.test(k)), fc.jsonValue({ maxDepth: 4 })), (meta) => {
      try {
        assertUserMeta(meta);
      } catch (err) {
        // Only a string that happens to look like a URL with a password may be refused.
        assert.match((err as Error).message, /password/);
        return;
      }
      const back = decodeRecord(encodeRecord(3000, meta as never, 1 << 20));
      assert.deepEqual(back, { ttl: 3000, meta: JSON.parse(JSON.stringify(meta)) });
    }),
    { numRuns: 200 },
  );
  const bad: [unknown, string][] = [
    [{ a: { b: [1, undefined] } }, 'meta.a.b[1]'],
    [{ a: new Map() }, 'meta.a'],
    [{ a: Infinity }, 'meta.a'],
    [{ a: Symbol('s') }, 'meta.a'],
    [{ deep: { token: 'x' } }, 'meta.deep.token'],
    [{ pid: 1 }, 'meta.pid'],
  ];
  for (const [meta, path] of bad) {
    assert.throws(() => assertUserMeta(meta), (err: unknown) => err instanceof DiscoveryError && err.code === 'ERR_DISCOVERY_META' && err.path === path);
  }
  assert.throws(() => assertUserMeta([1]), { code: 'ERR_DISCOVERY_META' });
});

test('size limit counts UTF-8 bytes and names the option', () => {
  assert.doesNotThrow(() => encodeRecord(1, { s: 'é'.repeat(100) }, 208));
  assert.throws(() => encodeRecord(1, { s: 'é'.repeat(100) }, 207), (err: unknown) => err instanceof DiscoveryError && err.code === 'ERR_DISCOVERY_META_TOO_LARGE' && /maxMetaBytes/.test(err.message));
});

test('URLs with passwords are spotted in linear time, without false alarms on plain URLs', () => {
  assert.equal(hasUrlPassword('redis://:s3cret@10.0.0.1:6379'), true);
  assert.equal(hasUrlPassword('see postgres://app:pw@db/x for details'), true);
  assert.equal(hasUrlPassword('redis://10.0.0.1:6379'), false);
  assert.equal(hasUrlPassword('https://user@example.com/a:b@c'), false);
  const t0 = performance.now();
  hasUrlPassword('a'.repeat(200_000) + '://' + ':'.repeat(200_000));
  assert.ok(performance.now() - t0 < 200);
});

test('mergePatch: shallow, undefined removes, validated before anything changes', () => {
  const cur = { a: 1, b: { c: 2 } };
  assert.deepEqual(mergePatch(cur, { b: { d: 3 }, a: undefined }), { b: { d: 3 } });
  assert.deepEqual(cur, { a: 1, b: { c: 2 } });
  assert.throws(() => mergePatch(cur, { x: 1n as never }), { code: 'ERR_DISCOVERY_META' });
  assert.throws(() => mergePatch(cur, { version: '9' }), /reserved/);
});

test('a corrupt stored record reads as empty metadata', () => {
  assert.deepEqual(decodeRecord('{oops'), { ttl: 0, meta: {} });
  assert.deepEqual(decodeRecord(null), { ttl: 0, meta: {} });
  assert.deepEqual(decodeRecord('{"ttl":5,"meta":[1]}'), { ttl: 5, meta: {} });
});
