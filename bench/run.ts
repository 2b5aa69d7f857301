/**
 * `npm run bench -- <part> [--json FILE] [--rounds N]`: runs bench/<part>.ts, which exports
 * `run(opts)`. Benchmarks are never part of `npm test`.
 */
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { positionals, values } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: { json: { type: 'string' }, rounds: { type: 'string' }, quick: { type: 'boolean' } },
});
const part = positionals[0];
if (!part || !existsSync(join(here, `${part}.ts`))) {
  console.error('usage: npm run bench -- <part> [--json FILE] [--rounds N] [--quick]\nparts: client, client-faults, resp, rdb, replication, discovery, discovery-peers, gateway');
  process.exit(2);
}
const mod = (await import(pathToFileURL(join(here, `${part}.ts`)).href)) as {
  run(opts: { json?: string; rounds?: number; quick?: boolean; args: string[] }): Promise<void>;
};
await mod.run({
  json: values.json,
  rounds: values.rounds ? Number(values.rounds) : undefined,
  quick: values.quick,
  args: positionals.slice(1),
});
process.exit(0);
