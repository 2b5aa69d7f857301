/**
 * The memory mirror against a real Redis 7 master: a workload of every type runs before, during and
 * after the snapshot; once it stops, the mirror equals the master key by key (values, types, TTLs
 * within a second), with disk-based and diskless transfers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReplica, MemoryMirror, type UnhandledCommand } from '../../src/replication/index.js';
import { RedisServer, waitUntil } from '../support/redis-server.js';
import { compareWithMaster, runWorkload, waitCaughtUp } from './workload.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const diskless of [false, true]) {
  test(`mirror equals the master after a workload before, during and after a ${diskless ? 'diskless' : 'disk-based'} snapshot`, async () => {
    const master = await RedisServer.start({
      config: { 'repl-diskless-sync': diskless ? 'yes' : 'no', 'repl-diskless-sync-delay': 0 },
    });
    const mirror = new MemoryMirror();
    const unhandled: UnhandledCommand[] = [];
    let replica: ReturnType<typeof createReplica> | undefined;
    try {
      await runWorkload(master.port, { seed: diskless ? 11 : 1, ops: 3000, shortTtls: true, sortStore: true, hll: true });
      // Filler in a database the comparison skips, so that the snapshot takes a moment.
      master.cli('-n', '7', 'DEBUG', 'POPULATE', '100000', 'fill', '64');
      replica = createReplica({ port: master.port, target: mirror });
      replica.on('unhandled', (u) => unhandled.push(u));
      const fullsyncs: string[] = [];
      replica.on('fullsync', (i) => fullsyncs.push(i.replid));
      const during = runWorkload(master.port, { seed: diskless ? 12 : 2, ops: 3000, shortTtls: true, sortStore: true, hll: true });
      await waitUntil(() => mirror.state === 'ready', 30_000, 'the snapshot');
      await during;
      await runWorkload(master.port, { seed: diskless ? 13 : 3, ops: 3000, sortStore: true, hll: true });
      // Keys with short TTLs from the first phases have expired by now (and the master's DELs travelled).
      await sleep(1600);
      await waitCaughtUp(master.port, mirror);
      const n = await compareWithMaster(master.port, mirror);
      assert.ok(n > 100, `compared ${n} keys`);
      assert.equal(mirror.dbsize(7), 100000);
      assert.deepEqual(unhandled.map((u) => `${u.command.name}: ${u.reason}`), []);
      assert.equal(fullsyncs.length, 1);
    } finally {
      await replica?.close();
      await master.stop();
    }
  });
}

test('PFDEBUG GETREG turns a sparse HyperLogLog dense on the master, and in the mirror', async () => {
  const master = await RedisServer.start({ config: { 'repl-diskless-sync-delay': 0 } });
  const mirror = new MemoryMirror();
  const replica = createReplica({ port: master.port, target: mirror });
  try {
    await waitUntil(() => mirror.state === 'ready', 10_000, 'the snapshot');
    master.cli('PFADD', 'h', 'a', 'b', 'c');
    master.cli('PFDEBUG', 'GETREG', 'h');
    master.cli('SET', 'done', '1');
    await waitUntil(() => mirror.get('done') !== null, 5_000, 'the writes');
    // Dense: 16-byte header (encoding byte 0) and 16384 6-bit registers.
    assert.equal(Number(master.cli('STRLEN', 'h')), 12304);
    assert.equal(mirror.get('h')!.length, 12304);
    assert.equal(mirror.get('h')![4], 0);
  } finally {
    await replica.close();
    await master.stop();
  }
});
