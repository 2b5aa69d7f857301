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
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=240000', '--test-force-exit', ...files],
  { stdio: 'inherit', env: { ...process.env, REDSTACK_TEST: '1' } },
);
child.on('exit', (code, signal) => process.exit(signal ? 1 : code ?? 1));
