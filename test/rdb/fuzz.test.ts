/**
 * Mutation fuzzing over the fixtures with fast-check: flip bytes, cut the file, insert bytes. Every
 * mutant must either parse cleanly or fail with an RdbError carrying a known code and a byte offset;
 * never another exception, a hang or an unbounded allocation. The same mutant fed in random chunks
 * must end the same way (same events, same error code and offset).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { allFixtures, fixture, keys, normalize, parseBuffer } from './helpers.js';
import { decodeEncoded, RdbError } from '../../src/rdb/index.js';

const CODES = new Set([
  'ERR_RDB_WRONG_SIGNATURE', 'ERR_RDB_UNSUPPORTED_VERSION', 'ERR_RDB_UNKNOWN_TYPE', 'ERR_RDB_BAD_LENGTH',
  'ERR_RDB_LZF_CORRUPT', 'ERR_RDB_INTEGRITY', 'ERR_RDB_CHECKSUM', 'ERR_RDB_TRUNCATED',
]);

// Small fixtures keep each run fast; together they cover every type and opcode family.
const NAMES = allFixtures().filter((n) => fixture(n).length <= 16 * 1024);
const DATA = new Map(NAMES.map((n) => [n, fixture(n)]));
// Tight limits make corrupt lengths fail early and keep any accidental allocation small.
const LIMITS = { maxStringLength: 1 << 20, maxCollectionLength: 1 << 20 };

function check(mutant: Buffer, label: string, opts: object = {}): void {
  const started = Date.now();
  const whole = parseBuffer(mutant, { ...LIMITS, ...opts });
  if (whole.error) {
    assert.ok(whole.error instanceof RdbError, `${label}: not an RdbError: ${whole.error.stack}`);
    assert.ok(CODES.has(whole.error.code!), `${label}: unknown code ${whole.error.code}`);
    assert.ok(Number.isInteger(whole.error.offset) && whole.error.offset! >= 0 && whole.error.offset! <= mutant.length, `${label}: offset ${whole.error.offset}`);
    assert.equal(typeof whole.error.element, 'string');
  } else {
    assert.equal(whole.events.at(-1)?.kind, 'end', label);
  }
  const chunked = parseBuffer(mutant, { ...LIMITS, ...opts }, { seed: mutant.length, max: 64 });
  assert.equal(chunked.error?.code, whole.error?.code, `${label}: chunked parse ended differently`);
  if (whole.error?.code !== 'ERR_RDB_TRUNCATED') assert.equal(chunked.error?.offset, whole.error?.offset, label);
  assert.deepEqual(normalize(chunked.events), normalize(whole.events), `${label}: chunked events differ`);
  // Big chunks after small ones take the reader's bridge path.
  const bridged = parseBuffer(mutant, { ...LIMITS, ...opts }, { seed: mutant.length + 1, max: 12_000 });
  assert.equal(bridged.error?.code, whole.error?.code, `${label}: bridged parse ended differently`);
  assert.deepEqual(normalize(bridged.events), normalize(whole.events), `${label}: bridged events differ`);
  // Generous: a hang is what this catches, not a slow shared machine.
  assert.ok(Date.now() - started < 10_000, `${label}: took ${Date.now() - started} ms`);
}

const fixtureArb = fc.constantFrom(...NAMES);
// RDB_FUZZ_RUNS / RDB_FUZZ_SEED widen a run locally; the suite uses fixed seeds so failures reproduce.
const RUNS = Number(process.env.RDB_FUZZ_RUNS ?? 250);
const SEED = process.env.RDB_FUZZ_SEED === undefined ? undefined : Number(process.env.RDB_FUZZ_SEED);

test('fuzz: flipped bytes', { timeout: 600_000 }, () => {
  fc.assert(
    fc.property(fixtureArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), fc.boolean(), (name, flips, values) => {
      const m = Buffer.from(DATA.get(name)!);
      for (const [at, x] of flips) m[at % m.length]! ^= x;
      check(m, `${name} flips ${JSON.stringify(flips)}`, { values });
    }),
    { numRuns: RUNS, seed: SEED ?? 4242 },
  );
});

test('fuzz: flipped bytes with encoded values, each decoded afterwards', { timeout: 600_000 }, () => {
  fc.assert(
    fc.property(fixtureArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), (name, flips) => {
      const m = Buffer.from(DATA.get(name)!);
      for (const [at, x] of flips) m[at % m.length]! ^= x;
      const label = `${name} flips ${JSON.stringify(flips)} (encoded)`;
      check(m, label, { encoded: true });
      // Blobs are checked when decoded: a value or an RdbError, nothing else.
      for (const k of keys(parseBuffer(m, { ...LIMITS, encoded: true }).events)) {
        if (!k.encoded) continue;
        try {
          decodeEncoded(k.encoded, k);
        } catch (err) {
          assert.ok(err instanceof RdbError && CODES.has(err.code), `${label}: ${(err as Error).stack}`);
        }
      }
    }),
    { numRuns: RUNS, seed: SEED ?? 5150 },
  );
});

test('fuzz: cut files', { timeout: 600_000 }, () => {
  fc.assert(
    fc.property(fixtureArb, fc.nat(), (name, at) => {
      const d = DATA.get(name)!;
      const m = d.subarray(0, at % d.length);
      check(m, `${name} cut at ${at % d.length}`);
      const r = parseBuffer(m);
      // A prefix of a valid file is never a clean parse (the checksum or EOF is missing)...
      if (!parseBuffer(d).error && m.length < d.length && !name.endsWith('.aof')) {
        assert.ok(r.error, `${name} cut at ${m.length} parsed cleanly`);
        // ...and if it failed for lack of bytes, it says so.
        if (r.error!.code === 'ERR_RDB_TRUNCATED') assert.equal(r.error!.offset, m.length);
      }
    }),
    { numRuns: RUNS, seed: SEED ?? 77 },
  );
});

test('fuzz: inserted bytes', { timeout: 600_000 }, () => {
  fc.assert(
    fc.property(fixtureArb, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.boolean(), (name, at, bytes, values) => {
      const d = DATA.get(name)!;
      const p = at % d.length;
      const m = Buffer.concat([d.subarray(0, p), bytes, d.subarray(p)]);
      check(m, `${name} insert ${Buffer.from(bytes).toString('hex')} at ${p}`, { values });
    }),
    { numRuns: RUNS, seed: SEED ?? 9001 },
  );
});

test('fuzz: random bytes after a valid header', { timeout: 600_000 }, () => {
  fc.assert(
    fc.property(fc.constantFrom('REDIS0006', 'REDIS0009', 'REDIS0011', 'REDIS0012', 'VALKEY080'), fc.uint8Array({ maxLength: 512 }), (magic, body) => {
      check(Buffer.concat([Buffer.from(magic), body]), `${magic} + ${Buffer.from(body).toString('hex')}`, { skipChecksum: true });
    }),
    { numRuns: RUNS, seed: SEED ?? 5 },
  );
});

test('corrupt lengths are errors before any allocation', () => {
  const header = Buffer.from('REDIS0011');
  // A string of 2^40 bytes (64-bit length) under the default 512 MiB limit: BAD_LENGTH at once.
  const huge = Buffer.concat([header, Buffer.from([0x00, 0x01, 0x6b, 0x81, 0, 0, 1, 0, 0, 0, 0, 0])]);
  const r = parseBuffer(huge);
  assert.equal(r.error?.code, 'ERR_RDB_BAD_LENGTH');
  assert.equal(r.error?.offset, 12);
  assert.equal(r.error?.element, 'value');
  assert.match(r.error!.message, /maxStringLength/);
  // A 2^60 length does not even fit in a number: BAD_LENGTH, not a huge allocation.
  const over = Buffer.concat([header, Buffer.from([0x00, 0x01, 0x6b, 0x81, 0x10, 0, 0, 0, 0, 0, 0, 0])]);
  assert.equal(parseBuffer(over).error?.code, 'ERR_RDB_BAD_LENGTH');
  // A list claiming 2^40 elements: BAD_LENGTH from maxCollectionLength.
  const list = Buffer.concat([header, Buffer.from([0x01, 0x01, 0x6c, 0x81, 0, 0, 1, 0, 0, 0, 0, 0])]);
  assert.match(parseBuffer(list).error!.message, /maxCollectionLength/);
  // LZF claiming 400 MB from 5 bytes: LZF_CORRUPT before allocating the output.
  const lzf = Buffer.concat([header, Buffer.from([0x00, 0x01, 0x6b, 0xc3, 0x05, 0x80, 0x18, 0, 0, 0, 1, 2, 3, 4, 5])]);
  assert.equal(parseBuffer(lzf).error?.code, 'ERR_RDB_LZF_CORRUPT');
  // The same error, with the key named, whatever the chunking.
  const lzf1 = parseBuffer(lzf, {}, 'bytes');
  assert.equal(lzf1.error?.code, 'ERR_RDB_LZF_CORRUPT');
  assert.equal(lzf1.error?.offset, 12);
  assert.equal((lzf1.error as RdbError).key, 'k');
});
