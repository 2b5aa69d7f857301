/**
 * Memory for the mirror's long-lived bytes and numbers (arenas, hash tables, record pages) that V8's
 * collection heuristics leave out of their sums.
 *
 * Why: V8 starts a full collection whenever ArrayBuffer memory grows 64 MB past its level at the
 * previous one, and while that collection marks, every new ArrayBuffer makes the thread do a 5-10 ms
 * marking step. The rule is made for buffers that die young. The mirror's arenas and pages hold live
 * data that no collection can free, so for them the rule only brings pauses. A full sync leaves 200+ MB
 * of them behind, and the next collection, started by whichever buffer crossed the line, landed in
 * the replication benchmark's lag steps (--trace-incremental-marking: "external memory pressure").
 *
 * V8 leaves SharedArrayBuffer memory out of each isolate's external memory (shared memory has no
 * single owner to charge), so these come from it. Nothing here is shared with another thread. The
 * memory is freed as an ordinary ArrayBuffer's is, when the object holding it is collected, and
 * process.memoryUsage().arrayBuffers still counts it.
 */

/** `n` zeroed bytes. */
export function offHeapBytes(n: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(n));
}

/** `n` zeroed 32-bit integers. */
export function offHeapInt32(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(n * 4));
}

/** `n` zeroed doubles. */
export function offHeapFloat64(n: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(n * 8));
}
