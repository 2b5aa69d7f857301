/**
 * Child process of bench/rdb.ts: parses one RDB file and prints one JSON line with the parse time,
 * the counts and the process's peak RSS. Runs as plain JavaScript (bench/rdb.ts transpiles it and
 * src/rdb first) so that the measured memory is the parser's, not a TypeScript loader's.
 *
 *   node rdb-worker.js FILE events|values
 */
import { createReadStream, statSync } from 'node:fs';
import { RdbParser } from '../src/rdb/index.js';

const [file, mode] = process.argv.slice(2) as [string, string];
const values = mode === 'values';
let keys = 0;
let items = 0;
const parser = new RdbParser({
  values,
  onEvent(ev) {
    if (ev.kind !== 'key') return;
    keys++;
    // Touch the value so that decoding cannot be skipped.
    const v = ev.value;
    if (Array.isArray(v)) items += v.length;
    else if (v) items++;
  },
});
const start = process.hrtime.bigint();
const stream = createReadStream(file, { highWaterMark: 1 << 18 });
stream.on('data', (chunk) => parser.write(chunk as Buffer));
stream.on('end', () => {
  parser.end();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const cpu = process.cpuUsage();
  const bytes = statSync(file).size;
  process.stdout.write(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, bytes, keys, items, maxRssKB: process.resourceUsage().maxRSS }) + '\n');
});
