import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc16, keySlot, SLOT_COUNT } from '../../src/client/cluster/crc16.js';
import { SlotMap, parseClusterShards, parseClusterSlots, parseAddress } from '../../src/client/cluster/slot-map.js';
import { CommandKeys } from '../../src/client/cluster/command-keys.js';
import { CrossSlotError } from '../../src/client/cluster/errors.js';
import { parseRedirect } from '../../src/client/cluster/router.js';
import { ReplyError } from '../../src/resp/errors.js';

test('CRC16/XMODEM check value', () => {
  assert.equal(crc16(Buffer.from('123456789')), 0x31c3);
  assert.equal(crc16(Buffer.alloc(0)), 0);
});

test('key slots match redis-server CLUSTER KEYSLOT (strings, Buffers, hash tags, UTF-8)', () => {
  // Expected values read from redis-server 7.0 with CLUSTER KEYSLOT.
  const cases: [string, number][] = [
    ['foo', 12182],
    ['bar', 5061],
    ['123456789', 12739],
    ['user1000', 3443],
    ['{user1000}.following', 3443],
    ['foo{}{bar}', 8363], // empty first tag: the whole key
    ['foo{{bar}}zap', 4015], // tag is '{bar'
    ['foo{bar}{zap}', 5061], // first tag only
    ['{}', 15257],
    ['{}x', 10595],
    ['a{', 14311],
    ['a}b{c', 13587],
    ['héllo', 11061],
    ['{héllo}x', 11061],
  ];
  for (const [key, slot] of cases) {
    assert.equal(keySlot(key), slot, key);
    assert.equal(keySlot(Buffer.from(key, 'utf8')), slot, `Buffer ${key}`);
  }
  assert.equal(keySlot(42), keySlot('42'));
});

test('slots are spread over the whole range', () => {
  const seen = new Set<number>();
  for (let i = 0; i < 100_000; i++) seen.add(keySlot(`key:${i}`));
  assert.ok(seen.size > 16_000);
  for (const s of seen) assert.ok(s >= 0 && s < SLOT_COUNT);
});

const shardsResp2 = [
  ['slots', [0, 5460], 'nodes', [
    ['id', 'a', 'port', 7000, 'ip', '127.0.0.1', 'endpoint', '127.0.0.1', 'role', 'master', 'replication-offset', 1, 'health', 'online'],
    ['id', 'b', 'port', 7003, 'ip', '127.0.0.1', 'endpoint', '127.0.0.1', 'role', 'replica', 'replication-offset', 1, 'health', 'online'],
    ['id', 'x', 'port', 7006, 'ip', '127.0.0.1', 'endpoint', '127.0.0.1', 'role', 'replica', 'replication-offset', 0, 'health', 'fail'],
  ]],
  ['slots', [5461, 10922, 16000, 16383], 'nodes', [
    ['id', 'c', 'port', 7001, 'ip', '10.0.0.2', 'endpoint', '?', 'role', 'master', 'replication-offset', 1, 'health', 'online'],
  ]],
  ['slots', [10923, 15999], 'nodes', [
    ['id', 'd', 'port', 7002, 'ip', '', 'endpoint', '', 'role', 'master', 'replication-offset', 1, 'health', 'online'],
  ]],
  // a failed ex-master that lost its slots
  ['slots', [], 'nodes', [['id', 'e', 'port', 7009, 'ip', '127.0.0.1', 'endpoint', '127.0.0.1', 'role', 'master', 'health', 'fail']]],
];

test('CLUSTER SHARDS (RESP2 flat arrays) -> shards; failed replicas left out; "?" and "" endpoints', () => {
  const infos = parseClusterShards(shardsResp2, 'seed.host');
  assert.deepEqual(infos, [
    { ranges: [[0, 5460]], master: '127.0.0.1:7000', replicas: ['127.0.0.1:7003'] },
    { ranges: [[5461, 10922], [16000, 16383]], master: '10.0.0.2:7001', replicas: [] },
    { ranges: [[10923, 15999]], master: 'seed.host:7002', replicas: [] },
  ]);
  const map = new SlotMap();
  map.replace(infos);
  assert.equal(map.master(0), '127.0.0.1:7000');
  assert.equal(map.master(5460), '127.0.0.1:7000');
  assert.equal(map.master(5461), '10.0.0.2:7001');
  assert.equal(map.master(16383), '10.0.0.2:7001');
  assert.equal(map.master(12000), 'seed.host:7002');
  assert.deepEqual(map.masters(), ['127.0.0.1:7000', '10.0.0.2:7001', 'seed.host:7002']);
  assert.deepEqual(map.nodes(), ['127.0.0.1:7000', '10.0.0.2:7001', 'seed.host:7002', '127.0.0.1:7003']);
});

test('CLUSTER SHARDS under RESP3 (maps)', () => {
  const m = (o: Record<string, unknown>) => new Map(Object.entries(o));
  const reply = [
    m({ slots: [0, 16383], nodes: [m({ port: 7000, ip: '127.0.0.1', endpoint: '127.0.0.1', role: 'master', health: 'online' })] }),
  ];
  assert.deepEqual(parseClusterShards(reply as never, 'h'), [{ ranges: [[0, 16383]], master: '127.0.0.1:7000', replicas: [] }]);
});

test('during a failover two masters in one shard: the online one wins', () => {
  const reply = [['slots', [0, 16383], 'nodes', [
    ['port', 7000, 'ip', '127.0.0.1', 'role', 'master', 'health', 'fail'],
    ['port', 7003, 'ip', '127.0.0.1', 'role', 'master', 'health', 'online'],
  ]]];
  assert.equal(parseClusterShards(reply, 'h')[0]!.master, '127.0.0.1:7003');
});

test('CLUSTER SLOTS -> shards; MOVED patches one slot', () => {
  const reply = [
    [0, 5460, ['127.0.0.1', 7000, 'a', []], ['127.0.0.1', 7003, 'b', []]],
    [5461, 16383, ['', 7001, 'c']],
  ];
  const infos = parseClusterSlots(reply, 'seed');
  assert.deepEqual(infos, [
    { ranges: [[0, 5460]], master: '127.0.0.1:7000', replicas: ['127.0.0.1:7003'] },
    { ranges: [[5461, 16383]], master: 'seed:7001', replicas: [] },
  ]);
  const map = new SlotMap();
  map.replace(infos);
  map.move(100, 'seed:7001');
  assert.equal(map.master(100), 'seed:7001');
  assert.equal(map.master(101), '127.0.0.1:7000');
  map.move(200, '127.0.0.1:7777');
  assert.equal(map.master(200), '127.0.0.1:7777');
  assert.deepEqual(parseAddress('::1:7000'), { host: '::1', port: 7000 });
});

test('MOVED / ASK parsing', () => {
  assert.deepEqual(parseRedirect(new ReplyError('MOVED 3999 127.0.0.1:6381')), { kind: 'MOVED', slot: 3999, addr: '127.0.0.1:6381' });
  assert.deepEqual(parseRedirect(new ReplyError('ASK 1 :6381'), 'h'), { kind: 'ASK', slot: 1, addr: 'h:6381' });
  assert.equal(parseRedirect(new ReplyError('ERR nope')), undefined);
});

test('command keys: built-in table, movable keys, CROSSSLOT before sending', () => {
  const k = new CommandKeys();
  assert.equal(k.slot(['GET', 'foo']), 12182);
  assert.equal(k.slot(['set', 'foo', 'x']), 12182);
  assert.equal(k.slot(['PING']), -1);
  assert.equal(k.slot(['CLUSTER', 'INFO']), -1);
  assert.equal(k.slot(['OBJECT', 'ENCODING', 'foo']), 12182);
  assert.equal(k.slot(['OBJECT', 'HELP']), -1);
  assert.equal(k.slot(['MSET', '{a}1', 'x', '{a}2', 'y']), keySlot('a'));
  assert.throws(() => k.slot(['MSET', 'foo', 'x', 'bar', 'y']), (e: unknown) => e instanceof CrossSlotError && e.code === 'ERR_CROSSSLOT' && e.command === 'MSET');
  // values never count as keys
  assert.equal(k.slot(['MSET', 'foo', 'bar']), 12182);
  assert.throws(() => k.slot(['DEL', 'foo', 'bar']), CrossSlotError);
  assert.equal(k.slot(['EVAL', 'return 1', 0, 'foo', 'bar']), -1);
  assert.equal(k.slot(['EVAL', 'return 1', '1', 'foo', 'bar']), 12182);
  assert.throws(() => k.slot(['EVALSHA', 'abc', 2, 'foo', 'bar']), CrossSlotError);
  assert.equal(k.slot(['XREAD', 'COUNT', 2, 'BLOCK', 0, 'STREAMS', 'foo', '$']), 12182);
  assert.equal(k.slot(['XREADGROUP', 'GROUP', 'streams', 'c', 'STREAMS', 'foo', '>']), 12182);
  assert.throws(() => k.slot(['XREAD', 'STREAMS', 'foo', 'bar', '0', '0']), CrossSlotError);
  assert.equal(k.slot(['ZUNIONSTORE', '{z}d', 2, '{z}a', '{z}b', 'WEIGHTS', 1, 2]), keySlot('z'));
  assert.throws(() => k.slot(['ZUNIONSTORE', 'foo', 1, 'bar']), CrossSlotError);
  assert.equal(k.slot(['BLMPOP', 0, 1, 'foo', 'LEFT']), 12182);
  assert.throws(() => k.slot(['SORT', 'foo', 'LIMIT', 0, 10, 'STORE', 'bar']), CrossSlotError);
  assert.equal(k.slot(['SORT', 'foo', 'BY', 'nosort', 'GET', '#']), 12182);
  assert.equal(k.slot(['BLPOP', 'foo', '{foo}x', 0]), 12182);
  assert.equal(k.slot(['MYMODULE.CMD', 'foo', 'bar']), 12182); // unknown: key at 1
  assert.throws(() => k.slotOfAll([['SET', 'foo', 1], ['GET', 'bar']]), CrossSlotError);
  assert.equal(k.slotOfAll([['SET', '{t}a', 1], ['PING'], ['GET', '{t}b']]), keySlot('t'));
  assert.equal(k.readonly(['GET', 'x']), true);
  assert.equal(k.readonly(['SET', 'x', 1]), false);
});

test('command keys from a COMMAND reply (subcommands, readonly flag)', () => {
  const k = new CommandKeys();
  k.load([
    ['get', 2, ['readonly', 'fast'], 1, 1, 1, [], [], [], []],
    ['mycmd', -3, ['write'], 2, -1, 2, [], [], [], []],
    ['object', -2, [], 0, 0, 0, [], [], [], [['object|encoding', 3, ['readonly'], 2, 2, 1, [], [], [], []]]],
  ]);
  assert.ok(k.loaded);
  assert.equal(k.slot(['MYCMD', 'x', 'foo', 'v', '{foo}y', 'v']), 12182);
  assert.throws(() => k.slot(['mycmd', 'x', 'foo', 'v', 'bar', 'v']), CrossSlotError);
  assert.equal(k.slot(['object', 'encoding', 'foo']), 12182);
  assert.equal(k.readonly(['object', 'encoding', 'foo']), true);
});
