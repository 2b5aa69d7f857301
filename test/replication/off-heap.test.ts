/**
 * off-heap.ts: the memory it gives stays out of V8's external-memory total, and reads and writes like
 * any Buffer or typed array.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { offHeapBytes, offHeapFloat64, offHeapInt32 } from '../../src/replication/targets/memory/off-heap.js';

test("off-heap memory is left out of V8's external-memory total (what would start full collections)", () => {
  // off-heap.ts rests on this: if a Node.js upgrade starts counting SharedArrayBuffer memory, the
  // mirror's arenas would bring back the collections it avoids (bench/RESULTS.md, replication).
  const before = process.memoryUsage();
  const bytes = offHeapBytes(32 << 20);
  const ints = offHeapInt32(4 << 20);
  const doubles = offHeapFloat64(2 << 20);
  const after = process.memoryUsage();
  assert.ok(after.external - before.external < 8 << 20, `external grew by ${after.external - before.external} bytes`);
  assert.ok(after.arrayBuffers - before.arrayBuffers >= 64 << 20, 'process.memoryUsage().arrayBuffers still shows it');
  bytes[0] = 1;
  bytes.write('key', 1, 'latin1');
  assert.equal(bytes.toString('latin1', 0, 4), '\x01key');
  ints[ints.length - 1] = -1;
  doubles[doubles.length - 1] = 2 ** 40;
  assert.deepEqual([ints[0], ints.at(-1), doubles.at(-1)], [0, -1, 2 ** 40]);
});
