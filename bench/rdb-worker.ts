/**
 * Child process of bench/rdb.ts: parses one RDB file and prints one JSON line with the parse time,
 * the counts and the process's peak RSS. Runs as plain JavaScript (bench/rdb.ts transpiles it and
 * src/rdb first) so that the measured memory is the parser's, not a TypeScript loader's.
 *
 *   node rdb-worker.js FILE events|values
 */
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { RdbParser } from '../src/rdb/index.js';

/**
 * Peak RSS of this process alone, in KB: VmHWM where /proc has it. `resourceUsage().maxRSS` is not
 * that on Linux: the high-water mark survives exec, so a child reports at least the RSS its parent
 * had when it forked (the bench's own 70-80 MB with TypeScript loaded).
 */
function peakRssKB(): number {
  try {
    const m = /VmHWM:\s*(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS;
}

const [file, mode] = process.argv.slice(2) as [string, string];
const values = mode === 'values';
let keys = 0;
let items = 0;
const parser = new RdbParser({
  values,
  onEvent(ev) {
    if (ev.kind !== 'key') return;
    keys++;
    // Touch the value so that decoding cannot be skipped; nothing is kept.
    const v = ev.value;
    if (Array.isArray(v)) items += v.length;
    else if (v) items++;
  },
});
const start = process.hrtime.bigint();
// 64 KiB reads: a view that outlives a scavenge (part of a big value being assembled) pins its whole
// chunk until the next full GC, so smaller chunks pin less (peak RSS 88 -> 84 MB against 256 KiB).
// Iterating asynchronously lets the stream read the next chunk while this one is parsed.
for await (const chunk of createReadStream(file, { highWaterMark: 1 << 16 })) parser.write(chunk as Buffer);
parser.end();
const ms = Number(process.hrtime.bigint() - start) / 1e6;
const cpu = process.cpuUsage();
const bytes = statSync(file).size;
process.stdout.write(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, bytes, keys, items, maxRssKB: peakRssKB() }) + '\n');
