/**
 * The replica's protocol paths against a scripted fake master (no server): AUTH, try-later replies,
 * the SYNC fallback, keep-alive newlines, resuming with PSYNC replid offset+1 (also across a MULTI
 * cut in half), a new replid on +CONTINUE, GETACK, rdb-only and stream-only, a master that aborts
 * the transfer, a silent master (on a manual clock).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.js';
import { createReplica, type ClosedEvent, type Replica, type ReplicaOptions, type Target } from '../../src/replication/index.js';
import { loadCaptures, memoryMaster, type Script } from './fake-master.js';

const [diskless, disk] = loadCaptures();

/** Offsets in a capture: the end of the +FULLRESYNC line, the start of the stream. */
function layout(bytes: Buffer): { replyEnd: number; streamStart: number } {
  const replyEnd = bytes.indexOf('\r\n') + 2;
  const rdbStart = bytes.indexOf('\r\n', replyEnd) + 2;
  const header = bytes.toString('latin1', replyEnd, rdbStart - 2);
  const streamStart = header.startsWith('$EOF:') ? bytes.indexOf(header.slice(5), rdbStart) + 40 : rdbStart + Number(header.slice(1));
  return { replyEnd, streamStart };
}

interface Seen {
  commands: string[];
  closed: ClosedEvent[];
  fullsyncs: number;
  continued: { replid: string; offset: number; replidChanged: boolean }[];
  loads: number;
}

function watch(r: Replica): Seen {
  const seen: Seen = { commands: [], closed: [], fullsyncs: 0, continued: [], loads: 0 };
  r.on('command', (c) => seen.commands.push(`${c.db} ${c.name} ${c.args.map(String).join(' ')} @${c.offset}`));
  r.on('closed', (c) => seen.closed.push(c));
  r.on('fullsync', () => seen.fullsyncs++);
  r.on('continue', (c) => seen.continued.push(c));
  r.on('load', () => seen.loads++);
  r.on('error', () => {});
  return seen;
}

/** Replicas to close however a test ends (an open replica keeps the process alive, like a socket). */
const opened: Replica[] = [];
after(async () => {
  await Promise.all(opened.map((r) => r.close()));
});

function start(script: Script | ((n: number) => Script), opts: Partial<ReplicaOptions> = {}) {
  const master = memoryMaster(script);
  const replica = createReplica({ connect: master.connect, reconnect: { baseMs: 1, maxMs: 5 }, retryLaterMs: 5, ...opts });
  opened.push(replica);
  return { master, replica, seen: watch(replica) };
}

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const finalOffset = (cap: typeof disk) => cap!.offset + cap!.bytes.length - layout(cap!.bytes).streamStart;

describe('handshake', () => {
  test('AUTH with a password, then with an ACL user, in the order Redis replicas use', async () => {
    for (const [url, auth] of [['redis://:pw@h:1', ['AUTH', 'pw']], ['redis://repl:pw@h:1', ['AUTH', 'repl', 'pw']]] as const) {
      const { master, replica } = start({ replies: { PING: '-NOAUTH Authentication required.' }, payload: [disk!.bytes] }, { url });
      await until(() => replica.position?.offset === finalOffset(disk), 'the stream');
      await replica.close();
      assert.deepEqual(master.log.commands.slice(0, 5), [
        ['PING'], [...auth], ['REPLCONF', 'listening-port', '0'], ['REPLCONF', 'capa', 'eof', 'capa', 'psync2'], ['PSYNC', '?', '-1'],
      ]);
    }
  });

  test('a master that wants a password we do not have: ERR_REPL_AUTH, closed for good', async () => {
    const { replica, seen, master } = start({ replies: { PING: '-NOAUTH Authentication required.' }, payload: [] });
    await replica.whenClosed();
    assert.equal(seen.closed.length, 1);
    assert.equal(seen.closed[0]!.willReconnect, false);
    assert.equal(seen.closed[0]!.error?.code, 'ERR_REPL_AUTH');
    assert.equal(master.connections, 1, 'no retry');
  });

  test('a wrong password: ERR_REPL_AUTH, and the password is not in the message', async () => {
    const { replica, seen } = start({ replies: { AUTH: '-WRONGPASS invalid username-password pair or user is disabled.' }, payload: [] }, { password: 's3cret' });
    await replica.whenClosed();
    assert.equal(seen.closed[0]!.error?.code, 'ERR_REPL_AUTH');
    assert.ok(!seen.closed[0]!.error!.message.includes('s3cret'));
  });

  test('-LOADING and -NOMASTERLINK at PSYNC: try again later, then sync', async () => {
    const { master, replica, seen } = start((n) =>
      n === 0 ? { replies: { PSYNC: '-LOADING Redis is loading the dataset in memory' }, payload: [] }
        : n === 1 ? { replies: { PSYNC: "-NOMASTERLINK Can't SYNC while not connected with my master" }, payload: [] }
          : { payload: [disk!.bytes] });
    await until(() => replica.position?.offset === finalOffset(disk), 'the stream');
    await replica.close();
    assert.equal(master.connections, 3);
    assert.deepEqual(seen.closed.slice(0, 2).map((c) => [c.willReconnect, c.error?.code]), [[true, 'ERR_REPL_LINK'], [true, 'ERR_REPL_LINK']]);
    assert.equal(seen.fullsyncs, 1);
  });

  test('a master without PSYNC: SYNC on the same connection, a $len payload with keep-alives, no replid', async () => {
    const { replyEnd } = layout(disk!.bytes);
    const payload = Buffer.concat([Buffer.from('\n\n\n'), disk!.bytes.subarray(replyEnd)]);
    const { master, replica, seen } = start({ replies: { PSYNC: "-ERR unknown command 'PSYNC'" }, payload: [payload] });
    await until(() => seen.commands.length === 15, 'the stream');
    assert.equal(replica.position?.replid, '?');
    assert.deepEqual(master.log.commands.slice(3, 5), [['PSYNC', '?', '-1'], ['SYNC']]);
    assert.ok(seen.loads > 0);
    await replica.close();
  });

  test('keep-alive newlines before the +FULLRESYNC reply and before the payload header', async () => {
    const { replyEnd } = layout(diskless!.bytes);
    const payload = Buffer.concat([Buffer.from('\n\n'), diskless!.bytes.subarray(0, replyEnd), Buffer.from('\n\n\n\n'), diskless!.bytes.subarray(replyEnd)]);
    const { replica, seen } = start({ payload: [payload] });
    await until(() => replica.position?.offset === finalOffset(diskless), 'the stream');
    assert.equal(seen.fullsyncs, 1);
    await replica.close();
  });

  test('a master that aborts the transfer (-ERR instead of $): reconnect and full sync again', async () => {
    const { replyEnd } = layout(disk!.bytes);
    const { master, replica, seen } = start((n) => (n === 0 ? { payload: [disk!.bytes.subarray(0, replyEnd), Buffer.from('\n-ERR BGSAVE failed\r\n')] } : { payload: [disk!.bytes] }));
    await until(() => replica.position?.offset === finalOffset(disk), 'the stream');
    assert.equal(master.connections, 2);
    assert.equal(seen.closed[0]!.error?.code, 'ERR_REPL_MASTER_ABORTED');
    await replica.close();
  });

  test('rdb-only asks REPLCONF rdb-only 1, loads, and closes; stream-only asks rdb-filter-only and skips loading', async () => {
    const { replyEnd, streamStart } = layout(disk!.bytes);
    const only = start({ payload: [disk!.bytes.subarray(0, streamStart)] }, { mode: 'rdb-only' });
    await only.replica.whenClosed();
    assert.deepEqual(only.master.log.commands[3], ['REPLCONF', 'rdb-only', '1']);
    assert.ok(only.seen.loads > 0);
    assert.deepEqual(only.seen.closed.map((c) => [c.willReconnect, c.reason]), [[false, 'rdb-only snapshot complete']]);

    const stream = start({ payload: [disk!.bytes] }, { mode: 'stream-only' });
    await until(() => stream.replica.position?.offset === finalOffset(disk), 'the stream');
    assert.deepEqual(stream.master.log.commands[3], ['REPLCONF', 'rdb-filter-only', '']);
    assert.equal(stream.seen.loads, 0);
    assert.equal(stream.seen.commands.length, 15);
    await stream.replica.close();
    void replyEnd;

    const refused = start({ replies: { REPLCONF: (a) => (a[1] === 'rdb-only' ? '-ERR Unrecognized REPLCONF option: rdb-only' : '+OK') }, payload: [] }, { mode: 'rdb-only' });
    await refused.replica.whenClosed();
    assert.equal(refused.seen.closed[0]!.error?.code, 'ERR_REPL_UNSUPPORTED');
  });
});

describe('resuming', () => {
  test('a link lost mid-command resumes with PSYNC replid offset+1 and +CONTINUE: no command lost or repeated', async () => {
    const cap = disk!;
    const { streamStart } = layout(cap.bytes);
    const whole = start({ payload: [cap.bytes] });
    await until(() => whole.replica.position?.offset === finalOffset(cap), 'the reference stream');
    await whole.replica.close();
    const reference = whole.seen.commands;

    for (const cutAt of [streamStart + 5, streamStart + 200, streamStart + 333, cap.bytes.length - 3]) {
      let asked = -1;
      const { master, replica, seen } = start((n) =>
        n === 0 ? { payload: [cap.bytes.subarray(0, cutAt)], closeAfter: true } : {
          replies: {
            PSYNC: (a) => {
              asked = Number(a[2]);
              return `+CONTINUE ${cap.replid}`;
            },
          },
          payload: [],
        });
      // The second connection's stream: from the offset asked for.
      await until(() => asked !== -1, 'the PSYNC');
      const from = streamStart + (asked - 1 - cap.offset);
      assert.ok(from <= cutAt, `resumes at ${asked - 1}, within what was received`);
      master.ends[1]!.push(cap.bytes.subarray(from));
      await until(() => replica.position?.offset === finalOffset(cap), `the stream cut at ${cutAt}`);
      assert.deepEqual(seen.commands, reference, `cut at ${cutAt}`);
      assert.deepEqual(master.log.commands.filter((c) => c[0] === 'PSYNC').map((c) => c[1]), ['?', cap.replid]);
      assert.deepEqual(seen.continued.map((c) => c.replidChanged), [false]);
      assert.equal(seen.fullsyncs, 1);
      await replica.close();
    }
  });

  test('a MULTI cut before its EXEC is received again whole: the resume offset is the one before MULTI', async () => {
    const cap = disk!;
    const { streamStart } = layout(cap.bytes);
    const multiAt = cap.bytes.indexOf('*1\r\n$5\r\nMULTI\r\n', streamStart);
    const execAt = cap.bytes.indexOf('*1\r\n$4\r\nEXEC\r\n', streamStart);
    let asked = -1;
    const { master, replica, seen } = start((n) =>
      n === 0 ? { payload: [cap.bytes.subarray(0, execAt + 3)], closeAfter: true } : {
        replies: {
          PSYNC: (a) => {
            asked = Number(a[2]);
            return '+CONTINUE';
          },
        },
        payload: [],
      });
    await until(() => asked !== -1, 'the PSYNC');
    assert.equal(asked - 1, cap.offset + (multiAt - streamStart), 'resumes right before MULTI');
    assert.ok(!seen.commands.some((c) => c.includes('MULTI')), 'nothing of the cut transaction was applied');
    master.ends[1]!.push(cap.bytes.subarray(multiAt));
    await until(() => replica.position?.offset === finalOffset(cap), 'the stream');
    assert.equal(seen.commands.filter((c) => c.includes(' MULTI ')).length, 1);
    assert.equal(seen.commands.filter((c) => c.includes(' EXEC ')).length, 1);
    await replica.close();
  });

  test('+CONTINUE with a new replid (after a failover) is adopted; a saved position resumes without a snapshot', async () => {
    const cap = disk!;
    const { streamStart } = layout(cap.bytes);
    const newId = 'f'.repeat(40);
    const { master, replica, seen } = start({ replies: { PSYNC: `+CONTINUE ${newId}` }, payload: [] }, { position: { replid: cap.replid, offset: cap.offset } });
    await until(() => master.connections === 1 && master.log.commands.some((c) => c[0] === 'PSYNC'), 'the PSYNC');
    master.ends[0]!.push(cap.bytes.subarray(streamStart));
    await until(() => replica.position?.offset === finalOffset(cap), 'the stream');
    assert.deepEqual(master.log.commands.find((c) => c[0] === 'PSYNC'), ['PSYNC', cap.replid, String(cap.offset + 1)]);
    assert.equal(replica.position?.replid, newId);
    assert.deepEqual(seen.continued.map((c) => c.replidChanged), [true]);
    assert.equal(seen.fullsyncs, 0);
    await replica.close();
  });
});

describe('spool bound', () => {
  test('a target behind by more than spool.maxBytes: ERR_REPL_SPOOL_FULL, the link drops, the replica catches up and resumes with +CONTINUE', async () => {
    const cap = disk!;
    const { streamStart } = layout(cap.bytes);
    const head = cap.bytes.subarray(0, streamStart);
    const extra = Buffer.concat(Array.from({ length: 3000 }, (_, i) => Buffer.from(`*3\r\n$3\r\nSET\r\n$${String(i).length + 2}\r\nk:${i}\r\n$40\r\n${'v'.repeat(40)}\r\n`)));
    const stream = Buffer.concat([Buffer.from('*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n'), extra]);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const applied: string[] = [];
    const target: Target = {
      open: () => undefined,
      beginFullSync: () => {},
      applyKeys: () => {},
      endFullSync: () => {},
      abortFullSync: () => {},
      applyCommands: async (cmds) => {
        await gate;
        for (const c of cmds) applied.push(String(c.args[0]));
      },
      close: () => {},
    };
    let asked = -1;
    const { master, replica, seen } = start(
      (n) => (n === 0 ? { payload: [head, ...Array.from({ length: Math.ceil(stream.length / 4096) }, (_, i) => stream.subarray(i * 4096, (i + 1) * 4096))] } : { replies: { PSYNC: (a) => ((asked = Number(a[2])), '+CONTINUE') }, payload: [] }),
      { target, spool: { memoryBytes: 16 * 1024, maxBytes: 64 * 1024 } },
    );
    // The link is dropped at once; the consumer reports it in order, once it has applied what came before.
    await until(() => master.ends[0]?.destroyed === true, 'the spool to overflow');
    assert.equal(seen.closed.length, 0);
    release();
    await until(() => asked !== -1, 'the PSYNC after catching up');
    assert.equal(seen.closed[0]!.error?.code, 'ERR_REPL_SPOOL_FULL');
    assert.equal(asked - 1, replica.position!.offset, 'resumes right after what was applied');
    const rest = stream.subarray(asked - 1 - cap.offset);
    // As a socket delivers them: one read per turn of the event loop.
    for (let i = 0; i < rest.length; i += 4096) {
      master.ends[1]!.push(rest.subarray(i, i + 4096));
      await new Promise((r) => setImmediate(r));
    }
    const end = cap.offset + stream.length;
    await until(() => replica.position?.offset === end, 'the rest of the stream');
    assert.deepEqual(applied, Array.from({ length: 3000 }, (_, i) => `k:${i}`), 'every command once, in order');
    assert.equal(seen.fullsyncs, 1);
    await replica.close();
  });
});

describe('acknowledgements and timeouts', () => {
  test('REPLCONF GETACK is answered at once with the processed offset; ACKs every second on the clock', async () => {
    const cap = disk!;
    const clock = new ManualClock();
    const getack = Buffer.from('*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n');
    const { master, replica } = start({ payload: [cap.bytes, getack] }, { clock });
    const end = finalOffset(cap) + getack.length;
    await until(() => replica.position?.offset === end, 'the GETACK');
    await until(() => master.log.commands.some((c) => c[1] === 'ACK' && c[2] === String(end)), 'the ACK for GETACK');
    const acks = () => master.log.commands.filter((c) => c[1] === 'ACK').length;
    const before = acks();
    clock.advance(3000);
    assert.ok(acks() >= before + 3, 'one ACK a second');
    await replica.close();
  });

  test('a master silent for timeoutMs is dropped and the replica reconnects (ERR_REPL_TIMEOUT)', async () => {
    const cap = disk!;
    const clock = new ManualClock();
    const { replyEnd } = layout(cap.bytes);
    const { master, replica, seen } = start((n) => (n === 0 ? { payload: [cap.bytes.subarray(0, replyEnd)] } : { payload: [cap.bytes] }), { clock, timeoutMs: 5000 });
    await until(() => replica.state === 'waiting-snapshot', 'the FULLRESYNC');
    clock.advance(6000);
    await until(() => seen.closed.length === 1, 'the timeout');
    assert.equal(seen.closed[0]!.error?.code, 'ERR_REPL_TIMEOUT');
    clock.advance(10);
    await until(() => replica.position?.offset === finalOffset(cap), 'the second link');
    assert.equal(master.connections, 2);
    await replica.close();
  });
});
