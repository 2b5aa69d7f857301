/**
 * DESIGN.md: arrows point down only (cli -> logs/gateway/discovery/replication -> client/rdb -> resp).
 * This walks every import in src/ and fails on one that points up or sideways between parts, and on
 * one that reaches into another part's files instead of its index.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve('src');
const LEVEL: Record<string, number> = {
  '': 0, // src/errors.ts, src/clock.ts: shared by every layer
  resp: 1,
  client: 2,
  rdb: 2,
  replication: 3,
  discovery: 3,
  gateway: 3,
  logs: 3,
  cli: 4,
};

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

function partOf(file: string): string {
  const rel = relative(SRC, file).split('/');
  return rel.length === 1 ? '' : rel[0]!;
}

test('imports in src/ point down the layers only', () => {
  const problems: string[] = [];
  for (const file of files(SRC)) {
    const from = partOf(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) {
      const spec = m[1] ?? m[2]!;
      const target = resolve(dirname(file), spec);
      const to = partOf(target);
      if (to === from) continue;
      const where = relative(process.cwd(), file);
      if (LEVEL[to]! > LEVEL[from]! || (LEVEL[to] === LEVEL[from] && from !== '')) {
        problems.push(`${where} imports ${spec}: ${from || 'src'} may not depend on ${to}`);
      }
      // Across parts, only a part's public surface (index) or its errors module may be imported.
      const relTarget = relative(join(SRC, to), target);
      if (to !== '' && from !== 'cli' && !/^(index|errors|types)\.js$/.test(relTarget) && !relTarget.startsWith('targets/')) {
        problems.push(`${where} imports ${spec}: use ${to}/index.js, not its inner files`);
      }
    }
  }
  assert.deepEqual(problems, []);
});
