import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { helpText, intFlag, parseCommand, UsageError, type CommandSpec } from '../../src/cli/args.js';
import { exitCodeFor, EXIT } from '../../src/cli/exit-codes.js';
import { parseRedisUrl, ConfigError } from '../../src/client/index.js';
import { RedstackError } from '../../src/errors.js';

const spec: CommandSpec = {
  name: 'demo',
  summary: 'a command for tests',
  positionals: 'FILE',
  flags: {
    port: { type: 'string', short: 'p', value: 'PORT', description: 'port' },
    json: { type: 'boolean', description: 'json output' },
    tag: { type: 'string', multiple: true, description: 'tags' },
  },
};

test('flags, shorts, repeats and positionals parse', () => {
  const p = parseCommand(spec, ['-p', '7000', '--json', '--tag', 'a', '--tag', 'b', 'file.rdb']);
  assert.deepEqual({ ...p.values }, { port: '7000', json: true, tag: ['a', 'b'] });
  assert.deepEqual(p.positionals, ['file.rdb']);
  assert.equal(p.help, false);
  assert.equal(parseCommand(spec, ['--help']).help, true);
});

test('unknown flags and missing values are UsageErrors that point at --help', () => {
  for (const argv of [['--nope'], ['--port'], ['--json=yes']]) {
    assert.throws(() => parseCommand(spec, argv), (err: unknown) => err instanceof UsageError && /--help/.test((err as Error).message));
  }
});

test('integer flags are validated', () => {
  assert.equal(intFlag({ n: '42' }, 'n'), 42);
  assert.equal(intFlag({}, 'n'), undefined);
  for (const bad of ['-1', '1.5', 'x', '', '99999999999999999999']) assert.throws(() => intFlag({ n: bad }, 'n'), UsageError);
});

test('help text lists every flag', () => {
  const text = helpText(spec);
  for (const f of ['--port PORT', '--json', '--tag', '--help']) assert.ok(text.includes(f), f);
});

test('fuzz: any argv either parses or fails with a UsageError', () => {
  const token = fc.oneof(fc.string(), fc.constantFrom('--port', '-p', '--json', '--tag', '--', '-', '--help', '-h', '--json=1', '--port=1'));
  fc.assert(
    fc.property(fc.array(token, { maxLength: 12 }), (argv) => {
      try {
        parseCommand(spec, argv);
      } catch (err) {
        assert.ok(err instanceof UsageError, `unexpected ${String(err)}`);
        assert.equal((err as UsageError).code, 'ERR_USAGE');
      }
    }),
    { numRuns: 2000 },
  );
});

test('fuzz: any Redis URL either parses or fails with a ConfigError that does not echo it', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.webUrl(), fc.constantFrom('redis://:pw@h:1/2', 'rediss://u:p@h', 'unix:///tmp/x.sock', 'redis://h/x')), (url) => {
      try {
        parseRedisUrl(url);
      } catch (err) {
        assert.ok(err instanceof ConfigError, `unexpected ${String(err)}`);
        if (url.length > 8) assert.ok(!(err as Error).message.includes(url));
      }
    }),
    { numRuns: 2000 },
  );
});

test('exit codes follow error codes', () => {
  assert.equal(exitCodeFor(new UsageError('x')), EXIT.USAGE);
  assert.equal(exitCodeFor(new RedstackError('ERR_RDB_CHECKSUM', 'x')), EXIT.DATA);
  assert.equal(exitCodeFor(new RedstackError('ERR_CONNECT', 'x')), EXIT.UNAVAILABLE);
  assert.equal(exitCodeFor(Object.assign(new Error('x'), { code: 'ENOENT' })), EXIT.NO_INPUT);
  assert.equal(exitCodeFor(new Error('x')), EXIT.FAILURE);
});

test('the redstack command: no args and unknown commands exit 2, --help exits 0', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
  assert.equal(run().status, 2);
  const unknown = run('frobnicate');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  const help = run('--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Commands:/);
  const sub = run('start', '--bogus');
  assert.equal(sub.status, 2);
  assert.match(sub.stderr, /ERR_USAGE/);
});
