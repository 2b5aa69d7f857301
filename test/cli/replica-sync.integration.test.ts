/**
 * `redstack replica-sync` on a real master (requirepass) and replica pair: the replica syncs with the
 * password set, then holds no password, so a later link drop leaves it serving its data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { RedisServer, waitUntil } from '../support/redis-server.js';

function run(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out, err })));
}

test('replica-sync sets masterauth, waits for the link, unsets it; a later drop leaves the replica serving', async () => {
  const master = await RedisServer.start({ password: 'master-pw', config: { 'repl-diskless-sync-delay': 0 } });
  master.cli('SET', 'greeting', 'hello');
  master.cli('-n', '3', 'DEBUG', 'POPULATE', '1000');
  const replica = await RedisServer.start({ replicaOf: { host: '127.0.0.1', port: master.port } });
  try {
    assert.match(replica.cli('INFO', 'replication'), /master_link_status:down/);
    const r = await run('replica-sync', '--replica', replica.url, '--masterauth', 'master-pw', '--interval', '100', '--timeout', '30');
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    // The talk's slave-sync.sh output, line for line (the password is never printed).
    assert.match(lines[0]!, /^\d\d:\d\d:\d\d: CONFIG SET MASTERAUTH \*+$/);
    assert.match(lines[1]!, /: OK$/);
    // The replica retries its master every second, so it may already be up at the first look
    // (a small dataset, a slow start of this child); only a link still down is followed by "waiting".
    assert.match(lines[2]!, /: STATUS: master_link_status:(down|up)/);
    if (/master_link_status:down/.test(lines[2]!)) assert.match(lines[3]!, /: waiting for master_link_status:up$/);
    assert.ok(lines.some((l) => /STATUS: master_link_status:up$/.test(l)));
    assert.match(lines.at(-2)!, /: CONFIG SET MASTERAUTH NULL$/);
    assert.match(lines.at(-1)!, /: OK$/);
    assert.ok(!r.out.includes('master-pw'));
    assert.equal(replica.cli('CONFIG', 'GET', 'masterauth').split('\n')[1] ?? '', '');
    assert.equal(replica.cli('GET', 'greeting'), 'hello');

    // The link drops: the replica cannot authenticate any more, so it keeps serving what it has.
    replica.cli('CLIENT', 'KILL', 'TYPE', 'master');
    master.cli('SET', 'greeting', 'changed');
    await new Promise((res) => setTimeout(res, 1500));
    assert.match(replica.cli('INFO', 'replication'), /master_link_status:down/);
    assert.equal(replica.cli('GET', 'greeting'), 'hello');
    assert.equal(replica.cli('-n', '3', 'DBSIZE'), '1000');
  } finally {
    await replica.stop();
    await master.stop();
  }
});

test('replica-sync refuses a server that is not a replica, and times out (unsetting masterauth) on a wrong password', async () => {
  const master = await RedisServer.start({ password: 'right' });
  const replica = await RedisServer.start({ replicaOf: { host: '127.0.0.1', port: master.port } });
  try {
    const notReplica = await run('replica-sync', '--replica', master.url, '--masterauth', 'x');
    assert.equal(notReplica.code, 1);
    assert.match(notReplica.err, /ERR_NOT_A_REPLICA/);
    const wrong = await run('replica-sync', '--replica', replica.url, '--masterauth', 'wrong', '--interval', '100', '--timeout', '2');
    assert.equal(wrong.code, 1);
    assert.match(wrong.err, /ERR_SYNC_TIMEOUT/);
    assert.match(wrong.out, /CONFIG SET MASTERAUTH NULL/);
    await waitUntil(() => (replica.cli('CONFIG', 'GET', 'masterauth').split('\n')[1] ?? '') === '', 2000);
  } finally {
    await replica.stop();
    await master.stop();
  }
});
