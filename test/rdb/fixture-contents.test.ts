/**
 * Where ../shared/rdb-fixtures/INDEX.md or an expected/ file states what a fixture holds, the parsed
 * contents equal it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, fixture, keys, parseBuffer, plainValue, text } from './helpers.js';
import type { RdbEvent, RdbKeyEvent, StreamValue } from '../../src/rdb/index.js';

function parse(name: string, opts = {}): RdbEvent[] {
  const r = parseBuffer(fixture(name), opts);
  if (r.error) throw r.error;
  return r.events;
}

/** { key: plain value } for the keys of one parse (all dbs). */
function contents(events: RdbEvent[]): Record<string, unknown> {
  return Object.fromEntries(keys(events).map((k) => [text(k.key), plainValue(k)]));
}

function key(events: RdbEvent[], name: string): RdbKeyEvent {
  const k = keys(events).find((e) => text(e.key) === name);
  assert.ok(k, `key ${name} missing`);
  return k;
}

function aux(events: RdbEvent[]): Record<string, string> {
  return Object.fromEntries(events.flatMap((e) => (e.kind === 'aux' ? [[e.name, e.value.toString('utf8')]] : [])));
}

const sorted = (xs: unknown) => [...(xs as string[])].sort();

// ---- librdb expected/*_data.json ----

/** librdb's files are the inside of a JSON object (or an array of per-db objects). */
function loadExpected(file: string): Record<string, unknown> {
  const raw = readFileSync(join(FIXTURES, 'redis-librdb/expected', file), 'utf8').trim();
  if (raw === '') return {};
  if (raw.startsWith('[')) return Object.assign({}, ...(JSON.parse(raw) as object[]));
  return JSON.parse(`{${raw}}`) as Record<string, unknown>;
}

/** Scores in librdb's files are text ("inf", "1.000033e+25"): compare as numbers. */
function normalizeExpected(parsed: Record<string, unknown>, expected: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(expected)) {
    const mine = parsed[k];
    if (Array.isArray(v) && Array.isArray(mine) && v.every((x) => typeof x === 'string')) {
      // sets come in hash order: compare as sets
      expected[k] = sorted(v);
      parsed[k] = sorted(mine);
    } else if (v && typeof v === 'object' && !Array.isArray(v) && mine && typeof mine === 'object' && Object.values(mine).some((x) => typeof x === 'number')) {
      expected[k] = Object.fromEntries(Object.entries(v).map(([m, s]) => [m, s === 'inf' ? Infinity : s === '-inf' ? -Infinity : Number(s)]));
      // The files hold -0 where librdb prints "0".
      parsed[k] = Object.fromEntries(Object.entries(mine).map(([m, s]) => [m, s === 0 ? 0 : s]));
    }
  }
}

const LIBRDB_DATA: [fixture: string, expected: string, opts?: object][] = [
  ['redis-librdb/hash_v3.rdb', 'hash_data.json'],
  ['redis-librdb/hash_v3.rdb', 'plain_hash_data.json'],
  ['redis-librdb/hash_with_expire_v12.rdb', 'hash_ex_v12_data.json'],
  ['redis-librdb/hash_lp_with_hexpire_v12.rdb', 'hash_lp_ex_v12_data.json'],
  ['redis-librdb/hash_lp_v11.rdb', 'hash_lp_v11_data.json'],
  ['redis-librdb/hash_zl_v6.rdb', 'hash_zl_v6_data.json'],
  ['redis-librdb/hash_zm_v2.rdb', 'hash_zm_v2_data.json'],
  ['redis-librdb/mem_policy_lfu.rdb', 'mem_policy_lfu.json'],
  ['redis-librdb/mem_policy_lru.rdb', 'mem_policy_lru.json'],
  ['redis-librdb/module_aux.rdb', 'module_aux_data.json'],
  ['redis-librdb/multiple_dbs.rdb', 'multiple_dbs_data.json'],
  ['redis-librdb/multiple_lists_strings.rdb', 'multiple_lists_strings_data.json'],
  ['redis-librdb/multiple_lists_strings.rdb', 'multiple_lists_strings_no_aux.json'],
  ['redis-librdb/multiple_lists_strings.rdb', 'multiple_lists_strings_subset_list.json', { filter: { type: 'list' } }],
  ['redis-librdb/multiple_lists_strings.rdb', 'multiple_lists_strings_2filters.json', { filter: { type: 'list', key: /^mylist/ } }],
  ['redis-librdb/plain_list_v6.rdb', 'plain_list_v6_data.json'],
  ['redis-librdb/plain_set_v6.rdb', 'plain_set_v6_data.json'],
  ['redis-librdb/plain_zset_2_v11.rdb', 'plain_zset_2_v11_data.json'],
  ['redis-librdb/plain_zset_v6.rdb', 'plain_zset_v6_data.json'],
  ['redis/list-quicklist.rdb', 'quicklist_data.json'],
  ['redis-librdb/set_expired_v11.rdb', 'set_expired.json', { skipExpired: true }],
  ['redis-librdb/set_not_expired_v11.rdb', 'set_not_expired.json', { skipExpired: true }],
  ['redis-librdb/set_is_v11.rdb', 'set_is_v11_data.json'],
  ['redis-librdb/set_lp_v11.rdb', 'set_lp_v11_data.json'],
  ['redis-librdb/single_key.rdb', 'single_key_data.json'],
  ['redis-librdb/stream_v11.rdb', 'stream_data.json'],
  ['redis-librdb/string_int_encoded.rdb', 'string_int_encoded.json'],
  ['redis-librdb/zset_lp_v11.rdb', 'zset_lp_v11_data.json'],
  ['redis-librdb/zset_zl_v6.rdb', 'zset_zl_v6_data.json'],
  ['redis-librdb/cluster_slot_info.rdb', 'cluster_slot_info.json'],
  ['redis-librdb/function2.rdb', 'function2.json'],
];

for (const [name, file, opts] of LIBRDB_DATA) {
  test(`${name} matches librdb expected/${file}${opts ? ' (filtered)' : ''}`, () => {
    const events = parse(name, opts);
    const expected = loadExpected(file);
    const expAux = expected.__aux__ as Record<string, string> | undefined;
    const expFunc = expected.__func__ as Record<string, string> | undefined;
    const expSlot = expected.__slotinfo__ as Record<string, number> | undefined;
    const expSize = expected.__dbsize__ as Record<string, number> | undefined;
    for (const k of ['__aux__', '__func__', '__slotinfo__', '__dbsize__']) delete expected[k];
    const got = contents(events);
    normalizeExpected(got, expected);
    assert.deepEqual(got, expected);
    if (expAux) assert.deepEqual(aux(events), expAux);
    if (expFunc) {
      const codes = events.flatMap((e) => (e.kind === 'function' ? [e.code.toString('utf8')] : []));
      assert.deepEqual(sorted(codes), sorted(Object.values(expFunc)));
    }
    if (expSlot) {
      const s = events.find((e) => e.kind === 'slot-info');
      assert.deepEqual(s && { slotId: s.slot, slotSize: s.size, slotSExpiresSize: s.expiresSize }, expSlot);
    }
    if (expSize) {
      const r = events.find((e) => e.kind === 'resize');
      assert.deepEqual(r && { size: r.keys, expires: r.expires }, expSize);
    }
  });
}

test('librdb stream_data_with_meta.json: stream metadata, groups, PELs and consumers', () => {
  const v = key(parse('redis-librdb/stream_v11.rdb'), 'mystream').value as StreamValue;
  assert.equal(v.length, 6);
  assert.equal(v.entriesAdded, 6);
  assert.equal(v.firstId, '1695649068107-0');
  assert.equal(v.lastId, '1695893015933-0');
  assert.equal(v.maxDeletedId, '0-0');
  const groups = v.groups.map((g) => ({
    name: text(g.name), lastid: g.lastId, entriesRead: g.entriesRead,
    pending: g.pending.map((p) => ({ sent: p.deliveryTime, id: p.id, count: p.deliveryCount })),
    consumers: g.consumers.map((c) => ({ name: text(c.name), activeTime: c.activeTime, seenTime: c.seenTime, pending: c.pending })),
  }));
  assert.deepEqual(groups, [
    { name: 'groupA', lastid: '1695649446276-0', entriesRead: 4, pending: [{ sent: 1695649446276, id: '1695649446276-0', count: 1 }],
      consumers: [
        { name: 'consumerA1', activeTime: 1696679585023, seenTime: 1696679585023, pending: [] },
        { name: 'consumerA2', activeTime: 1696679585024, seenTime: 1696679585024, pending: ['1695649446276-0'] },
      ] },
    { name: 'groupB', lastid: '1695649069139-0', entriesRead: 3, pending: [{ sent: 1695649069139, id: '1695649069139-0', count: 1 }],
      consumers: [{ name: 'consumerB1', activeTime: 1696679585026, seenTime: 1696679585026, pending: ['1695649069139-0'] }] },
  ]);
});

test('librdb module_data.json / module_raw.json: module value handed over raw with its name', () => {
  const k = key(parse('redis-librdb/module.rdb'), 'key1');
  assert.equal(k.type, 'module');
  const v = k.value as { module: string; encver: number; raw: Buffer };
  assert.equal(v.module, 'test__rdb');
  // module_raw.json holds the type byte then 18 serialized bytes
  const raw = JSON.parse(`{${readFileSync(join(FIXTURES, 'redis-librdb/expected/module_raw.json'), 'utf8')}}`).key1 as string;
  assert.equal(v.raw.length, 18);
  assert.deepEqual(v.raw, Buffer.from(raw.slice(1), 'latin1'));
});

// ---- INDEX.md statements ----

test('redis/encodings.rdb (v4): every key as tests/integration/rdb.tcl expects', () => {
  const c = contents(parse('redis/encodings.rdb'));
  const list = ['1', '2', '3', 'a', 'b', 'c', '100000', '6000000000'];
  assert.equal(c.compressible, 'a'.repeat((c.compressible as string).length));
  assert.ok((c.compressible as string).length >= 130);
  assert.deepEqual(c.hash, { a: '1', aa: '10', aaa: '100', b: '2', bb: '20', bbb: '200', c: '3', cc: '30', ccc: '300', ddd: '400', eee: '5000000000' });
  assert.deepEqual(c.hash_zipped, { a: '1', b: '2', c: '3' });
  assert.deepEqual(c.list, [...list, ...list, ...list]);
  assert.deepEqual(c.list_zipped, list);
  assert.equal(c.number, '10');
  assert.deepEqual(sorted(c.set), sorted(['1', '100000', '2', '3', '6000000000', 'a', 'b', 'c']));
  assert.deepEqual(sorted(c.set_zipped_1), ['1', '2', '3', '4']);
  assert.deepEqual(sorted(c.set_zipped_2), ['100000', '200000', '300000', '400000']);
  assert.deepEqual(sorted(c.set_zipped_3), ['1000000000', '2000000000', '3000000000', '4000000000', '5000000000', '6000000000']);
  assert.equal(c.string, 'Hello World');
  assert.deepEqual(c.zset, { a: 1, b: 2, c: 3, aa: 10, bb: 20, cc: 30, aaa: 100, bbb: 200, ccc: 300, aaaa: 1000, cccc: 123456789, bbbb: 5000000000 });
  assert.deepEqual(c.zset_zipped, { a: 1, b: 2, c: 3 });
});

test('small redis/ assets: zipmap, ziplist hash, v10 file with a ziplist zset, legacy lua aux', () => {
  assert.deepEqual(contents(parse('redis/hash-zipmap.rdb')), { hash: { f1: 'v1', f2: 'v2' } });
  assert.deepEqual(contents(parse('redis/hash-ziplist.rdb')), { hash: { f1: 'v1', f2: 'v2' } });
  assert.deepEqual(contents(parse('redis/zset-ziplist.rdb')), { zset: { one: 1, two: 2 } });
  const s = parse('redis/scriptbackup.rdb');
  assert.equal(aux(s).lua, "return redis.call('set', 'foo', 'bar')");
  assert.equal(keys(s).length, 0);
  assert.equal(aux(parse('redis-librdb/script.rdb')).lua, "return 'Hello from Lua!'");
});

test('redis/corrupt_empty_keys.rdb: nine empty collections parse as empty values', () => {
  const ks = keys(parse('redis/corrupt_empty_keys.rdb'));
  assert.equal(ks.length, 9);
  for (const k of ks) assert.equal((k.value as unknown[]).length, 0, text(k.key));
});

test('redis/rdb-preamble.aof: the RDB ends where the AOF commands start', () => {
  const data = fixture('redis/rdb-preamble.aof');
  const r = parseBuffer(data);
  assert.equal(r.error, undefined);
  const end = r.events.at(-1)!;
  assert.equal(end.kind, 'end');
  assert.equal(r.parser.remainder().toString('latin1'), data.subarray(end.bytes).toString('latin1'));
  assert.match(r.parser.remainder().toString('latin1'), /^\*/);
  assert.equal(r.parser.trailingBytes, data.length - end.bytes);
});

test('generated-redis-7.0.15/gen_types_v10*.rdb: the table in INDEX.md', () => {
  for (const name of ['gen_types_v10.rdb', 'gen_types_v10_nocompress.rdb', 'gen_types_v10_nochecksum.rdb']) {
    const events = parse(`generated-redis-7.0.15/${name}`);
    const c = contents(events);
    assert.equal(c['str:plain'], 'hello');
    assert.equal(key(events, 'str:plain').expiresAt, 4102444800000);
    assert.equal(c['str:int'], '12345');
    assert.equal(c['str:negint'], '-7');
    assert.equal(c['str:bigint'], '9223372036854775807');
    assert.equal(c['str:lzf'], 'a'.repeat(200));
    assert.equal(c['str:bin'], Buffer.from([0x78, 0x01, 0x02, 0xff, 0x79]).toString('latin1'));
    assert.equal(c['str:ttl_ms'], 'v');
    assert.equal(key(events, 'str:ttl_ms').expiresAt, 4102444800123);
    assert.deepEqual(c['list:lp'], ['a', 'b', '1', '2', '-3', 'hello']);
    assert.deepEqual(c['list:plain'], ['small', 'P'.repeat(150), 'tail']);
    assert.equal(key(events, 'list:plain').rdbType, 18);
    assert.deepEqual(sorted(c['set:intset']), sorted(['-5', '1', '2', '3', '70000']));
    assert.equal(key(events, 'set:intset').rdbType, 11);
    assert.deepEqual(sorted(c['set:small']), ['a', 'b', 'c']);
    assert.deepEqual(sorted(c['set:big']), sorted(Array.from({ length: 200 }, (_, i) => `m${i + 1}`)));
    assert.deepEqual(c['zset:lp'], { one: 1, two: 2.5, neg: -3, pinf: Infinity, ninf: -Infinity });
    assert.equal(key(events, 'zset:big').rdbType, 5);
    assert.deepEqual(c['zset:big'], Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`m${i + 1}`, i + 1.5])));
    assert.deepEqual(c['hash:lp'], { f1: 'v1', f2: '2', f3: '' });
    assert.deepEqual(c['hash:big'], Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`f${i + 1}`, `v${i + 1}`])));
    const st = key(events, 'stream:1');
    assert.equal(st.rdbType, 19);
    const sv = st.value as StreamValue;
    assert.deepEqual(plainValue(st), { entries: [{ id: '1700000000000-0', items: { temp: '20', hum: '50' } }, { id: '1700000000002-0', items: { temp: '22', hum: '52' } }] });
    assert.equal(sv.maxDeletedId, '1700000000001-0');
    assert.equal(sv.entriesAdded, 3);
    assert.equal(sv.length, 2);
    assert.equal(sv.groups.length, 1);
    assert.equal(text(sv.groups[0]!.name), 'grp');
    assert.equal(sv.groups[0]!.lastId, '1700000000001-0');
    assert.deepEqual(sv.groups[0]!.pending.map((p) => p.id), ['1700000000000-0', '1700000000001-0']);
    assert.equal(text(sv.groups[0]!.consumers[0]!.name), 'alice');
    const db2 = key(events, 'db2:key');
    assert.equal(db2.db, 2);
    assert.equal(c['db2:key'], 'value-in-db2');
    assert.equal(keys(events).length, 18);
    assert.equal(keys(events).filter((k) => k.expiresAt !== undefined).length, 2);
    const fn = events.find((e) => e.kind === 'function');
    assert.ok(fn && fn.kind === 'function');
    assert.equal(fn.code.toString(), "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return args[1] end)");
    assert.equal(fn.name, 'mylib');
    assert.equal(aux(events)['redis-ver'], '7.0.15');
    const end = events.at(-1)!;
    assert.equal(end.kind === 'end' && end.checksumStatus, name.includes('nochecksum') ? 'disabled' : 'ok');
  }
});

test('IDLE and FREQ: generated, librdb and redis-replicator files', () => {
  const lfu = parse('generated-redis-7.0.15/gen_lfu_v10.rdb');
  assert.equal(key(lfu, 'lfu:hot').freq, 8);
  assert.equal(key(lfu, 'lfu:cold').freq, 5);
  const lru = parse('generated-redis-7.0.15/gen_lru_v10.rdb');
  assert.equal(key(lru, 'lru:new').idle, 0);
  assert.ok(key(lru, 'lru:old').idle! >= 2);
  const dlfu = parse('redis-replicator/dump-lfu.rdb');
  assert.deepEqual([key(dlfu, 'key').expiresAt, key(dlfu, 'key').freq, key(dlfu, 'key1').freq], [1528592896226, 4, 1]);
  const dlru = parse('redis-replicator/dump-lru.rdb');
  assert.deepEqual([key(dlru, 'key').expiresAt, key(dlru, 'key').idle, key(dlru, 'key1').idle], [1528592665231, 4, 1914611]);
  assert.equal(key(parse('redis-librdb/mem_policy_lfu.rdb'), 'abcdefghijk').freq !== undefined, true);
  assert.equal(key(parse('redis-librdb/mem_policy_lru.rdb'), 'abcdefghijk').idle !== undefined, true);
});

test('node-rdb-tools files: empty key, expiry in seconds, string scores, UTF-8', () => {
  assert.deepEqual(contents(parse('node-rdb-tools/empty_string.rdb')), { '': 'abc' });
  const exp = parse('node-rdb-tools/keys_with_expiry_secs.rdb');
  assert.equal(key(exp, 'foo').expiresAt, 1374939348000);
  assert.deepEqual(contents(parse('node-rdb-tools/sorted_set.rdb')), { abc: { def: 1.2, ghi: 1.7649999999999999 } });
  const u = keys(parse('node-rdb-tools/utf8.rdb'))[0]!;
  assert.equal(u.key.toString('utf8'), '£');
  assert.equal((u.value as Buffer).toString('utf8'), '©');
});

test('redis-replicator files: key counts and notable values', () => {
  assert.equal(keys(parse('redis-replicator/dumpV6.rdb')).length, 132);
  const v7 = parse('redis-replicator/dumpV7.rdb');
  assert.equal(keys(v7).length, 19);
  assert.deepEqual([key(v7, 'abcd').value, key(v7, 'foo').value, key(v7, 'aaa').value].map((b) => text(b as Buffer)), ['abcd', 'bar', 'bbb']);
  assert.equal(keys(parse('redis-replicator/dumpV8.rdb', { values: false })).length, 92499);
  assert.equal(keys(parse('redis-replicator/listpack-bug.rdb')).length, 237);
  const huge = keys(parse('redis-replicator/dump-huge-kv.rdb'));
  assert.deepEqual(huge.map((k) => k.type).sort(), ['hash', 'list', 'set', 'string', 'zset']);
  const bin = parse('redis-replicator/binarydump.rdb');
  assert.deepEqual(keys(bin).map((k) => [text(k.key), k.type]).sort(), [['seri1', 'string'], ['seri2', 'hash'], ['seri3', 'list']]);
  assert.equal((key(bin, 'seri3').value as Buffer[]).length, 2);
  const m2 = key(parse('redis-replicator/dump-module-2.rdb'), 'modulekey');
  assert.deepEqual([m2.type, (m2.value as { module: string }).module, (m2.value as { encver: number }).encver, m2.idle !== undefined], ['module', 'hellotype', 0, true]);
  const slot = parse('redis-replicator/dump-slot.rdb');
  assert.deepEqual(slot.flatMap((e) => (e.kind === 'slot-info' ? [[e.slot, e.size, e.expiresSize]] : [])), [[98, 1, 0], [230, 1, 0], [4163, 1, 0], [4772, 2, 0]]);
  assert.equal(keys(slot).length, 5);
  const s2 = key(parse('redis-replicator/stream2.rdb'), 'mystream').value as StreamValue;
  assert.deepEqual([s2.length, s2.lastId, s2.firstId, s2.maxDeletedId, s2.entriesAdded, s2.groups.length], [9, '1646121885523-0', '1646121872530-0', '1646121870418-0', 16, 6]);
  const v11 = parse('redis-replicator/dumpV11.rdb');
  assert.equal(key(v11, 'setlistpack').rdbType, 20);
  assert.equal((key(v11, 'setlistpack').value as Buffer[]).length, 4);
  assert.equal((key(v11, 'mystream').value as StreamValue).entries.length, 9);
  assert.equal((key(v11, 'mystream').value as StreamValue).groups.length, 6);
  assert.equal(keys(parse('redis-replicator/dump-stream.rdb')).length, 5);
  // INDEX.md's "9 fields" for ttlhash counts listpack elements: 3 (field, value, ttl) triplets.
  const ttl = parse('redis-replicator/dump-ttlhash.rdb');
  assert.deepEqual(keys(ttl).map((k) => [text(k.key), k.rdbType, (k.value as unknown[]).length]).sort(), [['iterttlhash', 25, 128], ['ttlhash', 25, 3], ['ttlhash1', 24, 1024]]);
  assert.equal((key(ttl, 'ttlhash1').value as unknown[][]).filter((e) => e.length === 3).length, 9);
});

test('functions: FUNCTION2 and the 7.0-RC FUNCTION_PRE_GA format', () => {
  const pre = parse('redis-replicator/function.rdb').filter((e) => e.kind === 'function');
  assert.deepEqual(pre.map((f) => f.kind === 'function' && [f.name, f.engine, f.preGA, f.description?.toString()]), [['lib2', 'LUA', true, undefined], ['lib1', 'LUA', true, 'description function']]);
  assert.ok(pre.every((f) => f.kind === 'function' && f.code.toString().startsWith('local function test')));
  const ga = parse('redis-replicator/function2.rdb').find((e) => e.kind === 'function');
  assert.ok(ga?.kind === 'function' && ga.name === 'mylib' && !ga.preGA);
  assert.equal(parse('redis-librdb/function.rdb').filter((e) => e.kind === 'function').length, 1);
});

test('module aux records and slot info', () => {
  const ma = parse('redis-librdb/misc_with_stream.rdb').filter((e) => e.kind === 'module-aux');
  assert.deepEqual(ma.map((e) => e.kind === 'module-aux' && [e.module, e.encver, e.when]), [['test__rdb', 0, 1], ['test__rdb', 0, 2]]);
  const empty = parse('redis-librdb/module_aux_empty.rdb').filter((e) => e.kind === 'module-aux');
  assert.deepEqual(empty.map((e) => e.kind === 'module-aux' && [e.module, e.encver, e.when]), [['graphdata', 13, 1], ['graphdata', 13, 2]]);
  const v12 = parse('redis-librdb/module_aux_v12.rdb');
  assert.equal(key(v12, 'mykey').type, 'module');
});

test('negative fixtures can be read with the matching escape hatch', () => {
  const future = parse('redis-librdb/future_v19.rdb', { allowNewerVersion: true, skipChecksum: true });
  assert.equal(future[0]!.kind === 'header' && future[0]!.version, 99);
  assert.deepEqual(contents(future), { xxx: '111' });
  const bad = parse('redis-librdb/invalid_chksum_v8.rdb', { skipChecksum: true });
  assert.equal(keys(bad).length, 3);
  assert.equal(bad.at(-1)!.kind === 'end' && bad.at(-1)!.kind === 'end' && (bad.at(-1) as { checksumStatus: string }).checksumStatus, 'skipped');
});

test('replication captures: the parser ends exactly where the RDB ends inside the payload', () => {
  for (const [file, diskless] of [['repl_capture_diskless_eof.bin', true], ['repl_capture_disk_len.bin', false], ['repl_capture_nocapa_diskless_master.bin', false]] as const) {
    const data = fixture(`generated-redis-7.0.15/${file}`);
    const bulk = data.indexOf('\r\n$') + 2;
    const header = data.subarray(bulk, data.indexOf('\r\n', bulk)).toString('latin1');
    const start = data.indexOf('\r\n', bulk) + 2;
    const payload = data.subarray(start);
    for (const chunking of ['whole', { seed: 9, max: 1000 }] as const) {
      const r = parseBuffer(payload, {}, chunking);
      assert.equal(r.error, undefined, r.error?.message);
      const end = r.events.at(-1)!;
      assert.ok(end.kind === 'end' && end.checksumStatus === 'ok');
      if (diskless) {
        const mark = header.slice('$EOF:'.length);
        assert.equal(payload.subarray(end.bytes, end.bytes + 40).toString('latin1'), mark);
      } else {
        assert.equal(end.bytes, Number(header.slice(1)));
      }
      assert.equal(r.parser.bytesConsumed, end.bytes);
      assert.equal(r.parser.trailingBytes, payload.length - end.bytes);
    }
  }
});
