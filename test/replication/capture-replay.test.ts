/**
 * Offline protocol tests: a scripted fake master replays bytes captured from a real Redis 7.0.15
 * (both payload forms, and a diskless master falling back to disk for a replica without capa eof),
 * cut at every byte offset, and the replica must see the same snapshot, commands, offsets and ACKs
 * every time.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReplica, type Replica } from '../../src/replication/index.js';
import { loadCaptures, memoryMaster, tcpMaster, type Script } from './fake-master.js';
import { seededRandom, splitAt } from '../support/wire.js';

interface Outcome {
  events: string[];
  position: string;
  acks: string[];
}

function show(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  if (Array.isArray(v)) return v.map(show);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, show(x)]));
  return v;
}

/** A value's digest: cheap enough to record for ~2000 replays, exact enough to compare them. */
function digest(v: unknown, h = createHash('sha1')): ReturnType<typeof createHash> {
  if (Buffer.isBuffer(v)) h.update(v).update('|');
  else if (Array.isArray(v)) {
    h.update('[');
    for (const x of v) digest(x, h);
    h.update(']');
  } else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) digest(x, h.update(k));
  else h.update(String(v));
  return h;
}

/** Runs one replica against `script` until its position reaches `until` (or it closes), and records everything. */
async function run(script: Script, until: number | undefined, opts: { tcp?: boolean; values?: boolean } = {}): Promise<Outcome> {
  const events: string[] = [];
  let replica: Replica;
  let master: Awaited<ReturnType<typeof tcpMaster>> | undefined;
  let log;
  if (opts.tcp) {
    master = await tcpMaster(script);
    log = master.log;
    replica = createReplica({ port: master.port, reconnect: false });
  } else {
    const m = memoryMaster(script);
    log = m.log;
    replica = createReplica({ connect: m.connect, reconnect: false });
  }
  const done = new Promise<void>((resolve) => {
    replica.on('position', (p) => {
      if (p.offset === until) resolve();
    });
    replica.on('closed', () => resolve());
    if (until === undefined) setTimeout(resolve, 300);
  });
  replica.on('fullsync', (i) => events.push(`fullsync ${i.replid} ${i.offset} ${i.transfer} ${i.bytes}`));
  replica.on('load', (k) => events.push(`load ${k.db} ${k.key.toString('latin1')} ${k.type} ${k.expiresAt} ${k.part} ${opts.values ? JSON.stringify(show(k.value)) : digest(k.value).digest('hex')}`));
  replica.on('loaded', (i) => events.push(`loaded ${i.replid} ${i.offset} ${i.keys} ${i.bytes}`));
  replica.on('command', (c) => events.push(`command ${c.db} ${c.name} ${c.args.map((a) => a.toString('latin1')).join(' ')} @${c.offset}`));
  replica.on('error', (e) => events.push(`error ${e.code}`));
  await done;
  const position = JSON.stringify(replica.position);
  await replica.close();
  await master?.close();
  const acks = log.commands.filter((c) => c[0] === 'REPLCONF' && c[1] === 'ACK').map((c) => c[2]!);
  return { events, position, acks };
}

/** Where the RDB starts and where the payload (the EOF mark included) ends. */
function layout(bytes: Buffer): { rdbStart: number; rdbEnd: number } {
  const headerAt = bytes.indexOf('\r\n') + 2;
  const rdbStart = bytes.indexOf('\r\n', headerAt) + 2;
  const header = bytes.toString('latin1', headerAt, rdbStart - 2);
  const rdbEnd = header.startsWith('$EOF:') ? bytes.indexOf(header.slice(5), rdbStart) + 40 : rdbStart + Number(header.slice(1));
  return { rdbStart, rdbEnd };
}

for (const cap of loadCaptures()) {
  describe(`capture ${cap.name}`, () => {
    let reference: Outcome;
    let finalOffset: number;

    test('whole: snapshot keys, loaded, commands with offsets, ACKs', async () => {
      const withValues = await run({ payload: [cap.bytes] }, undefined, { values: true });
      reference = await run({ payload: [cap.bytes] }, undefined);
      assert.equal(withValues.events.length, reference.events.length);
      reference.events.forEach((e, i) => assert.equal(e.split(' ').slice(0, 6).join(' '), withValues.events[i]!.split(' ').slice(0, 6).join(' ')));
      const loaded = reference.events.find((e) => e.startsWith('loaded'))!;
      assert.match(loaded, new RegExp(`^loaded ${cap.replid} ${cap.offset} \\d+ \\d+$`));
      assert.ok(reference.events[0]!.startsWith(`fullsync ${cap.replid} ${cap.offset} ${cap.diskless ? 'diskless' : 'disk'}`));
      // Contents the capture is documented to hold (rdb-fixtures INDEX.md).
      assert.ok(withValues.events.includes('load 0 str:plain string 4102444800000 0 "hello"'));
      assert.ok(withValues.events.includes('load 2 db2:key string undefined 0 "value-in-db2"'));
      assert.ok(withValues.events.includes('load 0 list:lp list undefined 0 ["a","b","1","2","-3","hello"]'));
      assert.ok(withValues.events.includes('load 0 hash:lp hash undefined 0 [["f1","v1"],["f2","2"],["f3",""]]'));
      const cmds = reference.events.filter((e) => e.startsWith('command')).map((e) => e.replace(/ @\d+$/, '').replace(/\d{13}(-0)?/g, 'T'));
      assert.deepEqual(cmds.slice(-14), [
        'command 0 SET k1 v1', 'command 0 INCR counter', 'command 3 HSET h f v', 'command 0 SET px:key x PXAT T',
        cmds.at(-10)!, 'command 0 SADD s a b c', cmds.at(-8)!, 'command 0 MULTI ', 'command 0 SET lua:k 1',
        'command 0 INCR lua:k', 'command 0 EXEC ', 'command 0 XADD stream:1 T f v', 'command 0 DEL k1', 'command 3 FLUSHDB ',
      ]);
      assert.match(cmds.at(-10)!, /^command 0 SET fl [\d.]+ KEEPTTL$/);
      assert.match(cmds.at(-8)!, /^command 0 SREM s [abc]$/);
      // The last command is FLUSHDB in db 3; the position is past the final pings.
      assert.ok(reference.events.at(-1)!.startsWith('command 3 FLUSHDB'));
      finalOffset = JSON.parse(reference.position).offset;
      const streamBytes = cap.bytes.length - cap.bytes.lastIndexOf(Buffer.from('*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n'));
      assert.ok(finalOffset > cap.offset && finalOffset - cap.offset >= streamBytes);
      assert.equal(reference.acks[0], String(cap.offset), 'first ACK right after the snapshot, at its offset');
    });

    test('split at every byte offset: framing, RDB body and command stream', async () => {
      for (let i = 0; i <= cap.bytes.length; i++) {
        const got = await run({ payload: splitAt(cap.bytes, i) }, finalOffset);
        if (got.position !== reference.position || got.events.length !== reference.events.length) {
          assert.deepEqual(got, reference, `split at ${i}`);
        }
        for (let j = 0; j < got.events.length; j++) {
          if (got.events[j] !== reference.events[j]) assert.equal(got.events[j], reference.events[j], `split at ${i}, event ${j}`);
        }
      }
    });

    test('random chunkings, with the stream held until the first ACK as a real master does', async () => {
      const rng = seededRandom(cap.bytes.length);
      for (let n = 0; n < 100; n++) {
        const cuts = new Set<number>();
        const k = 1 + Math.floor(rng() * 12);
        while (cuts.size < k) cuts.add(1 + Math.floor(rng() * (cap.bytes.length - 1)));
        const chunks = splitAt(cap.bytes, ...[...cuts].sort((a, b) => a - b));
        const got = await run({ payload: chunks, holdAfter: layout(cap.bytes).rdbEnd }, finalOffset);
        assert.deepEqual(got.events, reference.events, `chunking ${n}`);
        assert.equal(got.position, reference.position);
      }
    });

    test('over TCP, cut in a few places', async () => {
      const rng = seededRandom(7);
      for (let n = 0; n < 5; n++) {
        const cuts = [...new Set([0, 1, 2, 3].map(() => 1 + Math.floor(rng() * (cap.bytes.length - 1))))].sort((a, b) => a - b);
        const got = await run({ payload: splitAt(cap.bytes, ...cuts) }, finalOffset, { tcp: true });
        assert.deepEqual(got.events, reference.events);
        assert.equal(got.position, reference.position);
      }
    });
  });
}
