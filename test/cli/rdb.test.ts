/**
 * `redstack rdb dump` and `redstack rdb stats`, run as the user runs them: a child process, output
 * on stdout, errors on stderr, the exit code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FIXTURES, fixture } from '../rdb/helpers.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const TYPES = `${FIXTURES}generated-redis-7.0.15/gen_types_v10.rdb`;

function redstack(args: string[], input?: Buffer): { code: number; stdout: string; stderr: string; raw: Buffer } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { input, maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), raw: r.stdout };
}

function lines(stdout: string): Record<string, unknown>[] {
  return stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('rdb dump: one JSON object per key, binary bytes as base64', () => {
  const r = redstack(['rdb', 'dump', TYPES]);
  assert.equal(r.code, 0, r.stderr);
  const rows = lines(r.stdout);
  assert.equal(rows.length, 18);
  const by = Object.fromEntries(rows.map((o) => [o.key as string, o]));
  assert.deepEqual(by['str:plain'], { db: 0, key: 'str:plain', type: 'string', expiresAt: 4102444800000, value: 'hello' });
  assert.deepEqual(by['str:bin']!.value, { base64: Buffer.from([0x78, 0x01, 0x02, 0xff, 0x79]).toString('base64') });
  assert.deepEqual(by['hash:lp']!.value, [['f1', 'v1'], ['f2', '2'], ['f3', '']]);
  assert.deepEqual(by['zset:lp']!.value, [['ninf', '-inf'], ['neg', -3], ['one', 1], ['two', 2.5], ['pinf', 'inf']]);
  assert.deepEqual(by['list:lp']!.value, ['a', 'b', '1', '2', '-3', 'hello']);
  const stream = by['stream:1']!.value as { entries: unknown[]; groups: { name: string }[] };
  assert.equal(stream.entries.length, 2);
  assert.equal(stream.groups[0]!.name, 'grp');
  assert.equal(by['db2:key']!.db, 2);
});

test('rdb dump: --db, --key and --type filter before decoding', () => {
  assert.deepEqual(lines(redstack(['rdb', 'dump', TYPES, '--db', '2']).stdout).map((o) => o.key), ['db2:key']);
  const strs = lines(redstack(['rdb', 'dump', TYPES, '--key', '^str:', '--db', '0']).stdout);
  assert.equal(strs.length, 7);
  assert.ok(strs.every((o) => o.type === 'string'));
  const hashes = lines(redstack(['rdb', 'dump', TYPES, '--type', 'hash,zset']).stdout);
  assert.deepEqual(hashes.map((o) => o.key).sort(), ['hash:big', 'hash:lp', 'zset:big', 'zset:lp']);
});

test('rdb dump -: reads stdin', () => {
  const r = redstack(['rdb', 'dump', '-'], fixture('redis-librdb/multiple_dbs.rdb'));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lines(r.stdout).map((o) => [o.db, o.key, o.value]), [[0, 'x', '0'], [1, 'y', '1'], [2, 'z', '2']]);
});

test('rdb dump --format resp: SELECT and rebuilding commands', () => {
  const r = redstack(['rdb', 'dump', TYPES, '--format', 'resp']);
  assert.equal(r.code, 0, r.stderr);
  const text = r.raw.toString('latin1');
  assert.ok(text.startsWith('*4\r\n$8\r\nFUNCTION\r\n$4\r\nLOAD\r\n'));
  assert.ok(text.includes('*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n'));
  assert.ok(text.includes('*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n'));
  assert.ok(text.includes('$9\r\nPEXPIREAT\r\n$9\r\nstr:plain\r\n$13\r\n4102444800000\r\n'));
  assert.ok(text.includes('$4\r\nXADD\r\n$8\r\nstream:1\r\n$15\r\n1700000000000-0\r\n'));
  assert.ok(text.includes('$3\r\nSET\r\n$7\r\nstr:bin\r\n$5\r\nx\x01\x02\xffy\r\n'));
});

test('rdb stats --json: counts per db and type, aux, largest keys', () => {
  const r = redstack(['rdb', 'stats', TYPES, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Record<string, any>;
  assert.equal(s.version, 10);
  assert.equal(s.keys, 18);
  assert.equal(s.expires, 2);
  assert.equal(s.checksum, 'ok');
  assert.equal(s.aux['redis-ver'], '7.0.15');
  assert.equal(s.byType.string.keys, 8);
  assert.equal(s.byDb[2].keys, 1);
  assert.equal(s.byDb[0].byType.hash.keys, 2);
  assert.equal(s.functions, 1);
  assert.equal(s.largest.length, 18);
  assert.equal(s.largest[0].key, 'hash:big');
  assert.ok(s.largest.every((k: { bytes: number }, i: number) => i === 0 || k.bytes <= s.largest[i - 1].bytes));
  const text = redstack(['rdb', 'stats', TYPES]);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /18 keys .* 2 with an expiry/);
  assert.match(text.stdout, /redis-ver = 7\.0\.15/);
  assert.match(text.stdout, /largest 18 keys/);
});

test('exit codes: missing file 66, bad files 65 with the error code, bad flags 2', () => {
  const missing = redstack(['rdb', 'dump', '/nonexistent/dump.rdb']);
  assert.equal(missing.code, 66);
  assert.match(missing.stderr, /ENOENT/);
  const crc = redstack(['rdb', 'stats', `${FIXTURES}redis-librdb/invalid_chksum_v8.rdb`]);
  assert.equal(crc.code, 65);
  assert.match(crc.stderr, /ERR_RDB_CHECKSUM/);
  const cut = fixture('generated-redis-7.0.15/gen_types_v10.rdb').subarray(0, 5000);
  const truncated = redstack(['rdb', 'dump', '-'], cut);
  assert.equal(truncated.code, 65);
  assert.match(truncated.stderr, /ERR_RDB_TRUNCATED/);
  assert.ok(lines(truncated.stdout).length > 0, 'keys before the cut are printed');
  const notRdb = redstack(['rdb', 'dump', '-'], Buffer.from('hello world, not an rdb'));
  assert.equal(notRdb.code, 65);
  assert.match(notRdb.stderr, /ERR_RDB_WRONG_SIGNATURE/);
  const usage = redstack(['rdb', 'dump', TYPES, '--type', 'bogus']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--type/);
  assert.equal(redstack(['rdb', 'dump']).code, 2);
});
