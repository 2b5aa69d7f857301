/**
 * `redstack rdb dump FILE|-`: every key of an RDB file as one JSON object per line, or with
 * `--format resp` as the commands that rebuild the data (`... | redis-cli --pipe`).
 */
import { UsageError, type CommandSpec, type Parsed } from '../args.js';
import { EXIT } from '../exit-codes.js';
import { parseRdb } from '../../rdb/index.js';
import { FILTER_FLAGS, Output, filterFrom, functionResp, keyJson, keyResp, openInput, respCommand } from './rdb-format.js';

export const spec: CommandSpec = {
  name: 'rdb dump',
  summary:
    'Prints the keys of an RDB file (or of stdin with -): one JSON object per key and line by default\n' +
    '({db, key, type, expiresAt?, value}; bytes that are not UTF-8 appear as {"base64": ...}), or with\n' +
    '--format resp the commands that rebuild the data, for redis-cli --pipe.',
  positionals: 'FILE|-',
  flags: {
    format: { type: 'string', value: 'json|resp', default: 'json', description: 'output format' },
    ...FILTER_FLAGS,
    'skip-checksum': { type: 'boolean', description: 'do not verify the CRC-64 trailer' },
  },
  examples: [
    'redstack rdb dump dump.rdb --type hash --key "^user:" | head',
    'redstack rdb dump backup.rdb --format resp | redis-cli -p 6380 --pipe',
  ],
};

export async function run(args: Parsed): Promise<number> {
  const format = args.values.format;
  if (format !== 'json' && format !== 'resp') throw new UsageError('--format must be json or resp');
  const filter = filterFrom(args.values);
  const input = openInput(args.positionals, 'rdb dump');
  const out = new Output();
  const resp = format === 'resp';
  try {
    await dump(parseRdb(input.stream, { filter, skipChecksum: Boolean(args.values['skip-checksum']) }), out, resp);
  } finally {
    // Keys read before an error are still printed, then the error.
    await out.flush(true);
  }
  return EXIT.OK;
}

async function dump(events: ReturnType<typeof parseRdb>, out: Output, resp: boolean): Promise<void> {
  let version = 0;
  let db = -1;
  for await (const ev of events) {
    if (out.closed) break;
    if (ev.kind === 'header') version = ev.version;
    else if (ev.kind === 'key') {
      if (!resp) out.push(keyJson(ev));
      else {
        const cmds = keyResp(ev, version);
        if (cmds.length > 0 && ev.db !== db) {
          out.push(respCommand(['SELECT', ev.db]));
          db = ev.db;
        }
        for (const c of cmds) out.push(c);
      }
      await out.flush();
    } else if (ev.kind === 'function' && resp) {
      const cmd = functionResp(ev);
      if (cmd) out.push(cmd);
      else process.stderr.write(`redstack rdb dump: skipping function library ${ev.name ?? ''} in the 7.0-RC format (Redis 7.0+ cannot load it)\n`);
    }
  }
}
