#!/usr/bin/env node
// Makes sure the system programs redstack needs are present before `npm start` / `npm test`.
// As root it installs what is missing with apt-get; otherwise it prints the exact line to run and
// exits 1, because a half-set-up machine fails later with far less helpful errors.
import { execFileSync, spawnSync } from 'node:child_process';

const forTests = process.argv.includes('--for-tests');

/** program on PATH -> Debian package that provides it */
const needed = [
  ['redis-server', 'redis-server'],
  ['redis-cli', 'redis-tools'],
];
if (forTests) {
  // Browser tests of the web pages drive Debian's Chromium through playwright-core.
  needed.push(['chromium', 'chromium']);
}

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

const missing = [...new Set(needed.filter(([cmd]) => !onPath(cmd)).map(([, pkg]) => pkg))];
if (missing.length === 0) process.exit(0);

const line = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot) {
  console.error(`redstack needs ${missing.join(', ')}. Install with:\n\n  sudo ${line}\n`);
  process.exit(1);
}
console.error(`redstack: installing ${missing.join(', ')} with apt-get`);
try {
  execFileSync('sh', ['-c', line], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
} catch {
  console.error(`redstack: apt-get failed; run this yourself and retry:\n\n  ${line}\n`);
  process.exit(1);
}
