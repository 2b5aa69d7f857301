import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WriteBatch, encodeCommand, argLength, RespDecoder, type Command, type CommandArg, type RespValue } from '../../src/resp/index.js';
import { wire, feedEveryWay, type MakeSink } from '../support/wire.js';

/** The bytes a batch's take() would put on the socket. */
function bytesOf(out: string | Buffer[]): Buffer {
  return typeof out === 'string' ? Buffer.from(out, 'utf8') : Buffer.concat(out);
}

/** Decodes client commands (arrays of bulk strings) as Buffers. */
const commands: MakeSink<RespValue[]> = () => {
  const got: RespValue[] = [];
  const d = new RespDecoder({ returnBuffers: true, onReply: (v) => got.push(v) });
  return { write: (c) => d.write(c), result: () => got };
};

function decodeAll(bytes: Buffer): RespValue[] {
  const sink = commands();
  sink.write(bytes);
  return sink.result();
}

/** What a command should decode to: every argument as the bytes sent. */
function asSent(args: Command): Buffer[] {
  return args.map((a) => (Buffer.isBuffer(a) ? a : Buffer.from(String(a), 'utf8')));
}

describe('WriteBatch', () => {
  test('string arguments: one JS string, exact bytes', () => {
    const b = new WriteBatch();
    assert.equal(b.empty, true);
    b.add(['SET', 'key', 'value']);
    b.add(['GET', 'key']);
    assert.equal(b.commands, 2);
    assert.equal(b.empty, false);
    const out = b.take();
    assert.equal(typeof out, 'string');
    assert.deepStrictEqual(bytesOf(out), wire.concat(wire.command('SET', 'key', 'value'), wire.command('GET', 'key')));
    assert.equal(b.commands, 0);
    assert.equal(b.empty, true);
    assert.equal(b.take(), '');
  });

  test('number arguments are sent as their decimal text', () => {
    const b = new WriteBatch();
    b.add(['EXPIRE', 'k', 10]);
    b.add(['INCRBYFLOAT', 'k', -1.5]);
    b.add(['ZADD', 'z', 0, 'm', 1e21, 'n']);
    assert.deepStrictEqual(
      bytesOf(b.take()),
      wire.concat(wire.command('EXPIRE', 'k', '10'), wire.command('INCRBYFLOAT', 'k', '-1.5'), wire.command('ZADD', 'z', '0', 'm', '1e+21', 'n')),
    );
  });

  test('multibyte UTF-8: lengths count bytes, not UTF-16 units', () => {
    const values = ['é', '日本語', '😀', 'a😀b', '\u0000', 'ÿ'];
    for (const v of values) {
      const b = new WriteBatch();
      b.add(['SET', 'k', v]);
      const bytes = bytesOf(b.take());
      assert.ok(bytes.includes(Buffer.from(`$${Buffer.byteLength(v)}\r\n${v}\r\n`)), v);
      assert.deepStrictEqual(decodeAll(bytes), [asSent(['SET', 'k', v])]);
    }
  });

  test('empty strings, empty Buffers and a command with no arguments', () => {
    const b = new WriteBatch();
    b.add(['SET', '', '']);
    b.add(['SET', 'k', Buffer.alloc(0)]);
    b.add([]);
    const bytes = bytesOf(b.take());
    assert.deepStrictEqual(bytes, wire.concat(wire.command('SET', '', ''), wire.command('SET', 'k', Buffer.alloc(0)), wire.text('*0\r\n')));
  });

  test('small Buffers are joined with their neighbours into one Buffer', () => {
    const b = new WriteBatch();
    b.add(['SET', 'a', Buffer.from([0, 1, 2])]);
    b.add(['SET', Buffer.from('b'), Buffer.from('xyz')]);
    b.add(['GET', 'a']);
    const out = b.take();
    assert.ok(Array.isArray(out));
    assert.equal(out.length, 1);
    assert.deepStrictEqual(
      out[0],
      wire.concat(wire.command('SET', 'a', Buffer.from([0, 1, 2])), wire.command('SET', 'b', 'xyz'), wire.command('GET', 'a')),
    );
  });

  test('Buffers of 64 KiB and more stand alone and are never copied', () => {
    const big = Buffer.alloc(64 * 1024, 0x61);
    const bigger = Buffer.alloc(1024 * 1024, 0x62);
    const almost = Buffer.alloc(64 * 1024 - 1, 0x63);
    const b = new WriteBatch();
    b.add(['SET', 'k1', big]);
    b.add(['SET', 'k2', almost]);
    b.add(['SET', 'k3', bigger]);
    b.add(['PING']);
    const out = b.take();
    assert.ok(Array.isArray(out));
    // [header of k1] [big] [CRLF + k2 header + almost + CRLF + k3 header] [bigger] [CRLF + PING]
    assert.equal(out.length, 5);
    assert.equal(out[1], big, 'the same Buffer object, not a copy');
    assert.equal(out[3], bigger, 'the same Buffer object, not a copy');
    assert.ok(!out.includes(almost), 'a buffer under 64 KiB is joined');
    assert.deepStrictEqual(
      Buffer.concat(out),
      wire.concat(wire.command('SET', 'k1', big), wire.command('SET', 'k2', almost), wire.command('SET', 'k3', bigger), wire.command('PING')),
    );
  });

  test('a large Buffer as the last argument and two in a row', () => {
    const big = Buffer.alloc(70_000, 0x78);
    const b = new WriteBatch();
    b.add(['MSET', 'a', big, 'b', big]);
    const out = b.take() as Buffer[];
    assert.equal(out.filter((p) => p === big).length, 2);
    assert.deepStrictEqual(decodeAll(Buffer.concat(out)), [asSent(['MSET', 'a', big, 'b', big])]);
  });

  test('many commands in one batch decode back in order', () => {
    const b = new WriteBatch();
    const sent: Command[] = [];
    for (let i = 0; i < 10_000; i++) {
      const cmd: Command = i % 3 === 0 ? ['SET', `key:${i}`, Buffer.from(`v${i}`)] : i % 3 === 1 ? ['INCRBY', `n:${i}`, i] : ['GET', `key:${i}`];
      b.add(cmd);
      sent.push(cmd);
    }
    assert.equal(b.commands, 10_000);
    const out = b.take();
    assert.deepStrictEqual(decodeAll(bytesOf(out)), sent.map(asSent));
  });

  test('an argument of another type throws and leaves the batch untouched', () => {
    const b = new WriteBatch();
    b.add(['SET', 'a', '1']);
    for (const bad of [null, undefined, true, {}, 1n, ['x']]) {
      assert.throws(() => b.add(['SET', Buffer.from('k'), bad as unknown as CommandArg]), TypeError);
      assert.throws(() => b.add(['SET', 'k', Buffer.alloc(70_000), bad as unknown as CommandArg]), TypeError);
    }
    b.add(['GET', 'a']);
    assert.equal(b.commands, 2);
    assert.deepStrictEqual(bytesOf(b.take()), wire.concat(wire.command('SET', 'a', '1'), wire.command('GET', 'a')));
  });

  test('the TypeError names the argument index and type, never the value', () => {
    const b = new WriteBatch();
    assert.throws(
      () => b.add(['AUTH', 'user', { password: 'hunter2' } as unknown as CommandArg]),
      (e: unknown) => e instanceof TypeError && /argument 2/.test(e.message) && /object/.test(e.message) && !/hunter2/.test(e.message),
    );
  });
});

describe('encodeCommand', () => {
  test('exact bytes for a simple command', () => {
    assert.deepStrictEqual(encodeCommand(['SET', 'k', 'v']), wire.text('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n'));
    assert.deepStrictEqual(encodeCommand(['PING']), wire.text('*1\r\n$4\r\nPING\r\n'));
  });

  test('output decodes back to the arguments, fed every way', () => {
    const cmd: Command = ['HSET', 'h', 'f', Buffer.from([0xde, 0xad, 0x0d, 0x0a]), 'g', 42, '', 'é😀'];
    assert.deepStrictEqual(feedEveryWay(encodeCommand(cmd), commands), [asSent(cmd)]);
  });

  test('property: any command decodes back to its arguments', () => {
    const arg = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)),
      fc.integer(),
      fc.double(),
    );
    fc.assert(
      fc.property(fc.array(fc.array(arg, { maxLength: 8 }), { minLength: 1, maxLength: 20 }), (cmds) => {
        const b = new WriteBatch();
        for (const c of cmds) b.add(c);
        assert.deepStrictEqual(decodeAll(bytesOf(b.take())), cmds.map(asSent));
        for (const c of cmds) assert.deepStrictEqual(decodeAll(encodeCommand(c)), [asSent(c)]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('argLength', () => {
  test('counts bytes as sent', () => {
    assert.equal(argLength('abc'), 3);
    assert.equal(argLength('日本'), 6);
    assert.equal(argLength('😀'), 4);
    assert.equal(argLength(Buffer.alloc(7)), 7);
    assert.equal(argLength(-12), 3);
    assert.equal(argLength(1.5), 3);
    assert.equal(argLength(''), 0);
  });
});
