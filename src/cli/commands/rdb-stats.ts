/**
 * `redstack rdb stats FILE|-`: keys and bytes per database and type, expiries, the 20 largest keys,
 * the RDB version and aux fields; `--json` for the same as one object. Values are walked, not
 * decoded, so this runs at the parser's full speed. A progress bar appears on a terminal (stderr)
 * for files over 50 MB.
 */
import { SingleBar } from 'cli-progress';
import { intFlag, type CommandSpec, type Parsed } from '../args.js';
import { EXIT } from '../exit-codes.js';
import { parseRdb, rdbTypeName } from '../../rdb/index.js';
import { FILTER_FLAGS, filterFrom, jsonBytes, openInput } from './rdb-format.js';

export const spec: CommandSpec = {
  name: 'rdb stats',
  summary: 'Summarizes an RDB file (or stdin with -): keys and bytes per db and type, expiries, the largest keys, version and aux fields.',
  positionals: 'FILE|-',
  flags: {
    json: { type: 'boolean', description: 'print one JSON object instead of tables' },
    top: { type: 'string', value: 'N', default: '20', description: 'how many of the largest keys to list' },
    ...FILTER_FLAGS,
    'skip-checksum': { type: 'boolean', description: 'do not verify the CRC-64 trailer' },
  },
  examples: ['redstack rdb stats dump.rdb', 'redis-cli --rdb - | redstack rdb stats - --json'],
};

interface Bucket { keys: number; bytes: number; expires: number }
interface BigKey { db: number; key: string | { base64: string }; type: string; encoding: string; bytes: number }

const PROGRESS_MIN_BYTES = 50 * 1024 * 1024;

export async function run(args: Parsed): Promise<number> {
  const filter = filterFrom(args.values);
  const top = intFlag(args.values, 'top', 0) ?? 20;
  const input = openInput(args.positionals, 'rdb stats');
  const bar = input.size !== undefined && input.size > PROGRESS_MIN_BYTES && process.stderr.isTTY
    ? new SingleBar({ format: 'rdb stats [{bar}] {percentage}% {value}/{total} MB {keys} keys', stream: process.stderr, hideCursor: true })
    : undefined;
  let read = 0;
  bar?.start(Math.round(input.size! / 1e6), 0, { keys: 0 });
  async function* counted(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      read += chunk.length;
      yield chunk;
    }
  }
  const stats = {
    file: input.name, bytes: input.size ?? 0, magic: '', version: 0, aux: {} as Record<string, string>,
    keys: 0, keyBytes: 0, expires: 0, checksum: '' as string,
    byDb: {} as Record<number, Bucket & { byType: Record<string, Bucket> }>,
    byType: {} as Record<string, Bucket>, functions: 0, moduleAux: 0, largest: [] as BigKey[],
  };
  const largest: BigKey[] = [];
  let floor = 0;
  const add = (b: Bucket, bytes: number, exp: boolean): void => {
    b.keys++;
    b.bytes += bytes;
    if (exp) b.expires++;
  };
  try {
    for await (const ev of parseRdb(counted(input.stream), { values: false, filter, skipChecksum: Boolean(args.values['skip-checksum']) })) {
      switch (ev.kind) {
        case 'header':
          stats.magic = ev.magic;
          stats.version = ev.version;
          break;
        case 'aux':
          stats.aux[ev.name] = ev.value.toString('utf8');
          break;
        case 'function':
          stats.functions++;
          break;
        case 'module-aux':
          stats.moduleAux++;
          break;
        case 'key': {
          const exp = ev.expiresAt !== undefined;
          stats.keys++;
          stats.keyBytes += ev.bytes;
          if (exp) stats.expires++;
          const db = (stats.byDb[ev.db] ??= { keys: 0, bytes: 0, expires: 0, byType: {} });
          add(db, ev.bytes, exp);
          add((db.byType[ev.type] ??= { keys: 0, bytes: 0, expires: 0 }), ev.bytes, exp);
          add((stats.byType[ev.type] ??= { keys: 0, bytes: 0, expires: 0 }), ev.bytes, exp);
          if (top > 0 && (largest.length < top || ev.bytes > floor)) {
            largest.push({ db: ev.db, key: jsonBytes(Buffer.from(ev.key)), type: ev.type, encoding: rdbTypeName(ev.rdbType), bytes: ev.bytes });
            if (largest.length > top * 4) {
              largest.sort((a, b) => b.bytes - a.bytes).length = top;
              floor = largest[top - 1]!.bytes;
            }
          }
          if (bar && (stats.keys & 0xffff) === 0) bar.update(Math.round(read / 1e6), { keys: stats.keys });
          break;
        }
        case 'end':
          stats.checksum = ev.checksumStatus;
          if (input.size === undefined) stats.bytes = ev.bytes;
          break;
      }
    }
  } finally {
    if (bar) {
      bar.update(Math.round(read / 1e6), { keys: stats.keys });
      bar.stop();
    }
  }
  stats.largest = largest.sort((a, b) => b.bytes - a.bytes).slice(0, top);
  process.stdout.write(args.values.json ? JSON.stringify(stats, null, 2) + '\n' : report(stats));
  return EXIT.OK;
}

function mb(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`;
}

function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  // Text columns left, numbers (and sizes) right.
  const right = header.map((_, i) => rows.every((r) => typeof r[i] === 'number' || / [kM]?B$/.test(String(r[i]))));
  return cells.map((r) => r.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

function report(s: {
  file: string; bytes: number; magic: string; version: number; aux: Record<string, string>; keys: number; keyBytes: number; expires: number;
  checksum: string; byDb: Record<number, Bucket & { byType: Record<string, Bucket> }>; byType: Record<string, Bucket>; functions: number;
  moduleAux: number; largest: BigKey[];
}): string {
  const lines: string[] = [];
  lines.push(`${s.file}: ${mb(s.bytes)}, ${s.magic} RDB version ${s.version}, checksum ${s.checksum}`);
  lines.push(`${s.keys} keys (${mb(s.keyBytes)}), ${s.expires} with an expiry${s.functions ? `, ${s.functions} function libraries` : ''}${s.moduleAux ? `, ${s.moduleAux} module aux records` : ''}`);
  if (Object.keys(s.aux).length) {
    lines.push('', 'aux fields:');
    for (const [k, v] of Object.entries(s.aux)) lines.push(`  ${k} = ${v.length > 80 ? v.slice(0, 77) + '...' : v}`);
  }
  const rows: (string | number)[][] = [];
  for (const [db, b] of Object.entries(s.byDb)) {
    for (const [type, t] of Object.entries(b.byType).sort()) rows.push([`db${db}`, type, t.keys, mb(t.bytes), t.expires]);
    rows.push([`db${db}`, 'all', b.keys, mb(b.bytes), b.expires]);
  }
  if (rows.length) lines.push('', table(['db', 'type', 'keys', 'bytes', 'expires'], rows).trimEnd());
  if (s.largest.length) {
    lines.push('', `largest ${s.largest.length} keys:`);
    lines.push(table(['key', 'db', 'type', 'encoding', 'bytes'], s.largest.map((k) => [typeof k.key === 'string' ? k.key : `base64:${k.key.base64}`, k.db, k.type, k.encoding, mb(k.bytes)])).trimEnd());
  }
  return lines.join('\n') + '\n';
}
