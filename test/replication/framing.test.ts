/**
 * The replica's byte-level parts alone: payload framing ($len and $EOF: split at every offset), the
 * command stream's offsets and MULTI/EXEC units, the spool's order across memory and file, the filters.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CommandStream, PayloadReader, Spool, globToRegExp } from '../../src/replication/index.js';
import { CommandFilter } from '../../src/replication/filter.js';
import { splitAt, wire } from '../support/wire.js';

/** Feeds chunks; returns the RDB bytes forwarded and what followed the payload. */
function frame(chunks: Buffer[]): { rdb: Buffer; rest: Buffer; reader: PayloadReader; starts: string[] } {
  const parts: Buffer[] = [];
  const starts: string[] = [];
  const reader = new PayloadReader({ onData: (b) => parts.push(Buffer.from(b)), onStart: (t, n) => starts.push(`${t} ${n}`) });
  const rest: Buffer[] = [];
  for (const c of chunks) {
    if (reader.done) rest.push(c);
    else {
      const r = reader.feed(c);
      if (r) rest.push(r);
    }
  }
  return { rdb: Buffer.concat(parts), rest: Buffer.concat(rest), reader, starts };
}

describe('payload framing', () => {
  const rdb = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff));
  const mark = 'a'.repeat(20) + '0123456789abcdef0123';
  const after = Buffer.from('*1\r\n$4\r\nping\r\n');

  test('$EOF: with keep-alives, the mark found whatever the cut, nothing of it forwarded', () => {
    const bytes = Buffer.concat([Buffer.from('\n\n\n$EOF:' + mark + '\r\n'), rdb, Buffer.from(mark), after]);
    for (let i = 0; i <= bytes.length; i++) {
      for (const j of [i, Math.min(bytes.length, i + 1), Math.min(bytes.length, i + 39), Math.min(bytes.length, i + 41)]) {
        const { rdb: got, rest, reader, starts } = frame(splitAt(bytes, i, j));
        assert.ok(reader.done, `cut ${i}/${j}`);
        assert.ok(got.equals(rdb), `cut ${i}/${j}: RDB bytes`);
        assert.ok(rest.equals(after), `cut ${i}/${j}: stream bytes`);
        assert.equal(reader.keepAlives, 3);
        assert.deepEqual(starts, ['diskless undefined']);
        assert.equal(reader.total, rdb.length);
      }
    }
  });

  test('$EOF: byte by byte', () => {
    const bytes = Buffer.concat([Buffer.from('$EOF:' + mark + '\r\n'), rdb, Buffer.from(mark)]);
    const { rdb: got, reader } = frame([...bytes].map((b) => Buffer.from([b])));
    assert.ok(reader.done && got.equals(rdb));
  });

  test('$len: exactly len bytes, no CRLF after them, split everywhere', () => {
    const bytes = Buffer.concat([Buffer.from('\n$300\r\n'), rdb, after]);
    for (let i = 0; i <= bytes.length; i++) {
      const { rdb: got, rest, reader, starts } = frame(splitAt(bytes, i));
      assert.ok(reader.done && got.equals(rdb) && rest.equals(after), `cut ${i}`);
      assert.deepEqual(starts, ['disk 300']);
    }
  });

  test('$0 is an empty payload; a -ERR line is the master giving up; garbage is a protocol error', () => {
    assert.ok(frame([Buffer.from('$0\r\n')]).reader.done);
    assert.throws(() => frame([Buffer.from('\n-ERR BGSAVE failed\r\n')]), { code: 'ERR_REPL_MASTER_ABORTED' });
    assert.throws(() => frame([Buffer.from('+OK\r\n')]), { code: 'ERR_REPL_PROTOCOL' });
    assert.throws(() => frame([Buffer.from('$EOF:short\r\n')]), { code: 'ERR_REPL_PROTOCOL' });
    assert.throws(() => frame([Buffer.from('$' + '9'.repeat(300))]), { code: 'ERR_REPL_PROTOCOL' });
  });
});

describe('command stream', () => {
  const cmd = (...a: string[]) => wire.command(...a);

  test('offsets count every byte; SELECT, ping and REPLCONF are folded; names upper-cased', () => {
    const bytes = Buffer.concat([cmd('SELECT', '2'), cmd('set', 'k', 'v'), cmd('ping'), cmd('REPLCONF', 'GETACK', '*'), cmd('del', 'k')]);
    const s = new CommandStream({ offset: 1000 });
    const b = s.feed(bytes);
    assert.deepEqual(b.commands.map((c) => [c.db, c.name, c.args.map(String), c.offset]), [
      [2, 'SET', ['k', 'v'], 1000 + cmd('SELECT', '2').length + cmd('set', 'k', 'v').length],
      [2, 'DEL', ['k'], 1000 + bytes.length],
    ]);
    assert.equal(b.getAck, true);
    assert.equal(s.received, 1000 + bytes.length);
    assert.equal(s.processed, 1000 + bytes.length);
  });

  test('a MULTI is held until EXEC: processed stays before it, SELECT inside it moves the db after EXEC', () => {
    const head = Buffer.concat([cmd('SELECT', '0'), cmd('set', 'a', '1')]);
    const tx = Buffer.concat([cmd('MULTI'), cmd('SELECT', '3'), cmd('sadd', 's', 'x')]);
    const s = new CommandStream({ offset: 0 });
    const first = s.feed(Buffer.concat([head, tx]));
    assert.deepEqual(first.commands.map((c) => c.name), ['SET']);
    assert.equal(s.processed, head.length);
    assert.equal(s.processedDb, 0);
    assert.ok(s.inTransaction);
    const second = s.feed(cmd('EXEC'));
    assert.deepEqual(second.commands.map((c) => `${c.db} ${c.name}`), ['0 MULTI', '3 SADD', '3 EXEC']);
    assert.equal(s.processed, head.length + tx.length + cmd('EXEC').length);
    assert.equal(s.processedDb, 3);
  });

  test('split at every offset: the same commands and offsets', () => {
    const bytes = Buffer.concat([cmd('SELECT', '1'), cmd('MULTI'), cmd('incr', 'n'), cmd('EXEC'), cmd('set', 'big', 'x'.repeat(200))]);
    const whole = new CommandStream({ offset: 5 }).feed(bytes).commands.map((c) => `${c.db} ${c.name} ${c.offset}`);
    for (let i = 0; i <= bytes.length; i++) {
      const s = new CommandStream({ offset: 5 });
      const got = splitAt(bytes, i).flatMap((c) => s.feed(c).commands).map((c) => `${c.db} ${c.name} ${c.offset}`);
      assert.deepEqual(got, whole, `cut ${i}`);
    }
  });

  test('what is not a command stream is a protocol error', () => {
    assert.throws(() => new CommandStream({ offset: 0 }).feed(Buffer.from(':1\r\n')), { code: 'ERR_REPL_PROTOCOL' });
    assert.throws(() => new CommandStream({ offset: 0 }).feed(Buffer.from('\x00garbage\r\n')), { code: 'ERR_REPL_PROTOCOL' });
    assert.throws(() => new CommandStream({ offset: 0 }).feed(cmd('EXEC')), { code: 'ERR_REPL_PROTOCOL' });
  });
});

describe('spool', () => {
  test('keeps order across memory and file, markers included, and reuses the file once drained', () => {
    const s = new Spool<string>({ memoryBytes: 100, maxBytes: 10_000 });
    const sent: string[] = [];
    for (let i = 0; i < 30; i++) {
      const data = Buffer.from(`chunk-${i}-`.padEnd(40, '.'));
      s.push(i % 2 ? 'stream' : 'rdb', data);
      sent.push(`${i % 2 ? 'stream' : 'rdb'}:${data}`);
      if (i === 10) {
        s.pushMarker('mark');
        sent.push('marker:mark');
      }
    }
    assert.ok(s.diskBytes > 0);
    const got: string[] = [];
    for (let it = s.shift(); it; it = s.shift()) got.push('marker' in it ? `marker:${it.marker}` : `${it.tag}:${it.data}`);
    assert.deepEqual(got, sent);
    assert.equal(s.size, 0);
    assert.equal(s.diskBytes, 0);
    s.push('stream', Buffer.alloc(500, 1));
    assert.equal(s.shift()!.hasOwnProperty('data'), true);
    s.close();
  });

  test('refuses to grow past maxBytes with ERR_REPL_SPOOL_FULL naming the option', () => {
    const s = new Spool({ memoryBytes: 10, maxBytes: 100 });
    s.push('stream', Buffer.alloc(90));
    assert.throws(() => s.push('stream', Buffer.alloc(20)), (e: Error & { code?: string }) => e.code === 'ERR_REPL_SPOOL_FULL' && /spool\.maxBytes/.test(e.message));
    assert.equal(s.size, 90);
    s.close();
  });

  test('lets go of a chunk once it is taken, drained or not (else it outlives young collections)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const s = new Spool({ memoryBytes: 1 << 20 });
    // Pushed from a function of its own: the test's async frame keeps no chunk in a register.
    const refs = ((): WeakRef<Buffer>[] => {
      const out: WeakRef<Buffer>[] = [];
      for (let i = 0; i < 5; i++) {
        const b = Buffer.alloc(64 * 1024, i);
        out.push(new WeakRef(b));
        s.push('stream', b);
      }
      return out;
    })();
    // 3 taken while 2 stay queued, then the rest: both ways out of #drop.
    for (let i = 0; i < 3; i++) s.shift();
    await new Promise((r) => setImmediate(r));
    gc();
    assert.deepEqual(refs.map((r) => r.deref() === undefined), [true, true, true, false, false]);
    while (s.shift());
    await new Promise((r) => setImmediate(r));
    gc();
    assert.ok(refs.every((r) => r.deref() === undefined));
    s.close();
  });

  test('file entries come back in pieces of at most 256 KiB, bytes intact', () => {
    const s = new Spool({ memoryBytes: 0 });
    const big = Buffer.from(Array.from({ length: 700_000 }, (_, i) => i & 0xff));
    s.push('stream', big);
    const parts: Buffer[] = [];
    for (let it = s.shift(); it; it = s.shift()) if ('data' in it) parts.push(it.data);
    assert.ok(parts.length >= 3 && parts.every((p) => p.length <= 256 * 1024));
    assert.ok(Buffer.concat(parts).equals(big));
    s.close();
  });
});

describe('filters', () => {
  test('globs as Redis MATCH reads them', () => {
    assert.ok(globToRegExp('user:*').test('user:1'));
    assert.ok(!globToRegExp('user:*').test('users:1'));
    assert.ok(globToRegExp('h?llo').test('hallo'));
    assert.ok(globToRegExp('h[ae]llo').test('hello') && !globToRegExp('h[ae]llo').test('hillo'));
    assert.ok(globToRegExp('h[^e]llo').test('hallo') && !globToRegExp('h[^e]llo').test('hello'));
    assert.ok(globToRegExp('a\\*b').test('a*b') && !globToRegExp('a\\*b').test('axb'));
    assert.ok(globToRegExp('x.y(z)').test('x.y(z)'));
  });

  test('commands pass on their db and first key; an emptied MULTI/EXEC disappears', () => {
    const f = new CommandFilter({ db: [0, 1], key: 'keep:*' });
    const c = (db: number, name: string, ...args: string[]) => ({ db, name, args: args.map((a) => Buffer.from(a)), offset: 0 });
    const out = f.apply([
      c(0, 'SET', 'keep:1', 'v'), c(0, 'SET', 'drop:1', 'v'), c(2, 'SET', 'keep:2', 'v'), c(1, 'BITOP', 'AND', 'keep:b', 'x'),
      c(0, 'MULTI'), c(0, 'SET', 'drop:2', 'v'), c(0, 'EXEC'), c(0, 'MULTI'), c(0, 'DEL', 'keep:3'), c(0, 'EXEC'),
      c(5, 'FLUSHALL'), c(1, 'FLUSHDB'),
    ]);
    assert.deepEqual(out.map((x) => `${x.db} ${x.name} ${x.args[0] ?? ''}`.trim()), [
      '0 SET keep:1', '1 BITOP AND', '0 MULTI', '0 DEL keep:3', '0 EXEC', '5 FLUSHALL', '1 FLUSHDB',
    ]);
  });
});
