/**
 * `redstack replicate --from redis://… --to TARGET`: the talk's live migration. Connects to the master
 * as a replica, loads its snapshot into the target (with a progress bar on a terminal), then follows
 * every write until SIGINT/SIGTERM, and stops with the target's position saved, so that the next run
 * resumes with PSYNC instead of a new snapshot.
 */
import { SingleBar } from 'cli-progress';
import { pino } from 'pino';
import { UsageError, intFlag, type CommandSpec, type Parsed } from '../args.js';
import { EXIT, exitCodeFor } from '../exit-codes.js';
import { createReplica, createTarget, type ProgressEvent, type ReplicationError } from '../../replication/index.js';

export const spec: CommandSpec = {
  name: 'replicate',
  summary:
    'Replicates a Redis master into another store: loads its snapshot, then applies every write as it\n' +
    'happens, until interrupted. Targets: memory (an in-process mirror), jsonl:FILE or - (JSON lines,\n' +
    'to a file or stdout), sqlite:FILE, postgres://... . File and database targets keep their position,\n' +
    'so a later run resumes where this one stopped (PSYNC) instead of loading a new snapshot.',
  flags: {
    from: { type: 'string', value: 'URL', description: 'the master, redis://[user:password@]host:port' },
    to: { type: 'string', value: 'TARGET', description: 'memory | jsonl:FILE | - | sqlite:FILE | postgres://...' },
    'rdb-only': { type: 'boolean', description: 'load the snapshot and stop (REPLCONF rdb-only)' },
    'stream-only': { type: 'boolean', description: 'no snapshot: only writes from now on (REPLCONF rdb-filter-only)' },
    db: { type: 'string', multiple: true, value: 'N', description: 'only this database (repeatable)' },
    match: { type: 'string', value: 'GLOB', description: 'only keys matching this pattern (as KEYS/SCAN MATCH)' },
    'spool-dir': { type: 'string', value: 'DIR', description: 'where to spool the stream when the target lags (default: temp dir)' },
    'spool-max-mb': { type: 'string', value: 'MB', description: 'most the target may lag before the link is dropped (default 4096)' },
    quiet: { type: 'boolean', short: 'q', description: 'only warnings and errors on stderr' },
  },
  examples: [
    'redstack replicate --from redis://:secret@10.0.0.5:6379 --to sqlite:mirror.db',
    'redstack replicate --from redis://localhost:6379 --to - --stream-only | jq .name',
    'redstack replicate --from redis://localhost:6379 --to jsonl:changes.jsonl --db 0 --match "user:*"',
  ],
};

export async function run(args: Parsed): Promise<number> {
  const v = args.values;
  const from = v.from as string | undefined;
  const to = v.to as string | undefined;
  if (!from) throw new UsageError('--from URL is required');
  if (!to) throw new UsageError('--to TARGET is required');
  if (v['rdb-only'] && v['stream-only']) throw new UsageError('--rdb-only and --stream-only exclude each other');
  const dbs = ((v.db as string[] | undefined) ?? []).map((d) => {
    if (!/^\d+$/.test(d)) throw new UsageError('--db must be a database number');
    return Number(d);
  });
  const spoolMax = intFlag(v, 'spool-max-mb', 1);
  const log = pino({ name: 'redstack-replicate', level: v.quiet ? 'warn' : 'info' }, pino.destination(2));

  const target = await createTarget(to);
  const replica = createReplica({
    url: from,
    target,
    mode: v['rdb-only'] ? 'rdb-only' : v['stream-only'] ? 'stream-only' : 'full',
    filter: { ...(dbs.length ? { db: dbs } : {}), ...(v.match ? { key: v.match as string } : {}) },
    spool: { ...(v['spool-dir'] ? { dir: v['spool-dir'] as string } : {}), ...(spoolMax ? { maxBytes: spoolMax * 1024 * 1024 } : {}) },
  });

  const bar = process.stderr.isTTY && !v.quiet ? progressBar() : undefined;
  let unhandled = 0;
  let fatal: ReplicationError | undefined;
  replica.on('fullsync', (i) => log.info({ replid: i.replid, offset: i.offset, transfer: i.transfer, bytes: i.bytes }, 'full sync: loading the snapshot'));
  replica.on('progress', (p) => bar?.update(p));
  replica.on('loaded', (i) => {
    bar?.stop();
    log.info({ keys: i.keys, bytes: i.bytes, ms: Math.round(i.durationMs), offset: i.offset }, 'snapshot loaded; following the stream');
  });
  replica.on('continue', (i) => log.info({ replid: i.replid, offset: i.offset, replidChanged: i.replidChanged }, 'resumed the stream (+CONTINUE)'));
  replica.on('unhandled', (u) => {
    if (unhandled++ < 20) log.warn({ command: u.command.name, db: u.command.db, offset: u.command.offset, reason: u.reason }, 'a command the target could not apply');
  });
  replica.on('closed', (c) => {
    bar?.stop();
    if (c.willReconnect) log.warn({ code: c.error?.code, reason: c.reason }, 'link lost; reconnecting');
    else if (c.error) fatal = c.error;
  });
  replica.on('error', () => {}); // reported through 'closed'

  const signal = await new Promise<NodeJS.Signals | undefined>((resolve) => {
    const onSignal = (s: NodeJS.Signals) => resolve(s);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    void replica.whenClosed().then(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(undefined);
    });
  });
  if (signal) log.info({ signal }, 'stopping');
  await replica.close();
  bar?.stop();
  const position = replica.position;
  if (fatal) {
    log.error({ code: fatal.code, step: fatal.step }, fatal.message);
    return exitCodeFor(fatal);
  }
  log.info({ replid: position?.replid, offset: position?.offset, unhandled }, 'stopped');
  return signal === 'SIGINT' ? EXIT.INTERRUPTED : EXIT.OK;
}

/** Bytes and keys of the snapshot; percent of bytes for disk transfers, of announced keys for diskless ones. */
function progressBar(): { update(p: ProgressEvent): void; stop(): void } {
  let bar: SingleBar | undefined;
  let byKeys = false;
  return {
    update(p) {
      if (!bar) {
        byKeys = p.totalBytes === undefined;
        bar = new SingleBar({
          format: byKeys ? 'snapshot [{bar}] {percentage}% {value}/{total} keys | {mb} MB' : 'snapshot [{bar}] {percentage}% {value}/{total} MB | {keys} keys',
          stream: process.stderr,
          hideCursor: true,
        });
        bar.start(byKeys ? p.totalKeys ?? 0 : Math.max(1, Math.round((p.totalBytes ?? 0) / 1e6)), 0, { keys: 0, mb: 0 });
      }
      if (byKeys && p.totalKeys !== undefined) bar.setTotal(p.totalKeys);
      bar.update(byKeys ? p.keys : Math.round(p.bytes / 1e6), { keys: p.keys, mb: Math.round(p.bytes / 1e6) });
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
