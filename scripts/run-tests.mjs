#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's own test runner through tsx.
// `npm test -- test/rdb` (or any list of files and folders) runs a subset.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

function collect(path, out) {
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path).sort()) {
      if (name === 'node_modules' || name === 'support' || name === 'fixtures') continue;
      collect(join(path, name), out);
    }
  } else if (path.endsWith('.test.ts')) {
    out.push(path);
  }
  return out;
}

const roots = process.argv.slice(2);
const files = [];
for (const root of roots.length ? roots : ['test']) collect(root, files);
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

const concurrency = Math.max(2, Math.min(4, availableParallelism()));
// No --test-force-exit: with files run in parallel it drops the tail of a file's report while the
// file still passes (nodejs/node#64833). Seen here: CI counted 815 tests of 835 and 828 of 833, the
// rest of test/resp/decoder.test.ts missing. A failing test in that tail would show only as its file
// failing, without its name or error. A file that leaves a handle open would now keep its process
// alive, so the whole run has a deadline instead.
const deadlineMin = Number(process.env.REDSTACK_TEST_DEADLINE_MIN ?? 30);
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=240000', ...files],
  { stdio: 'inherit', env: { ...process.env, REDSTACK_TEST: '1' }, detached: true },
);
const deadline = setTimeout(() => {
  console.error(`\ntests still running after ${deadlineMin} min (REDSTACK_TEST_DEADLINE_MIN): a test file is likely leaving a handle open; stopping`);
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {}
  process.exit(1);
}, deadlineMin * 60_000);
deadline.unref();
// The tests run in a process group of their own (so the deadline can stop every process in it):
// pass on what a terminal's Ctrl-C or a CI's stop would have sent them.
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    try {
      process.kill(-child.pid, sig);
    } catch {}
  });
}
child.on('exit', (code, signal) => process.exit(signal ? 1 : code ?? 1));
