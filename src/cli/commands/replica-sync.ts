/**
 * `redstack replica-sync --replica redis://… --masterauth PASS`: the talk's slave-sync.sh.
 *
 * A Redis replica that loses its master for longer than the backlog covers does a full resync, and
 * answers -LOADING to every read while it reloads: a network hiccup becomes downtime. Heroku's fix:
 * give the replica the master's password only while it syncs. This sets masterauth on a replica,
 * waits for master_link_status:up (printing timestamped status lines), then unsets it. Later link
 * drops then leave the replica serving its data (it cannot re-authenticate, so it cannot resync),
 * until an operator runs this again.
 */
import { UsageError, intFlag, type CommandSpec, type Parsed } from '../args.js';
import { EXIT } from '../exit-codes.js';
import { createClient, type Client } from '../../client/index.js';
import { RedstackError } from '../../errors.js';

export const spec: CommandSpec = {
  name: 'replica-sync',
  summary:
    'On a Redis replica: sets masterauth, waits until master_link_status is up (its sync is complete),\n' +
    'then unsets masterauth, so that later link drops leave it serving its data instead of resyncing\n' +
    '(and answering LOADING meanwhile). The password can also come from REDSTACK_MASTERAUTH.',
  flags: {
    replica: { type: 'string', value: 'URL', description: 'the replica, redis://[user:password@]host:port' },
    masterauth: { type: 'string', value: 'PASS', description: "the master's password" },
    masteruser: { type: 'string', value: 'USER', description: "the master's ACL user, if any (set and unset likewise)" },
    timeout: { type: 'string', value: 'SECONDS', default: '600', description: 'give up (and unset masterauth) after this long' },
    interval: { type: 'string', value: 'MS', default: '1000', description: 'how often to poll INFO replication' },
  },
  examples: ['redstack replica-sync --replica redis://10.0.0.6:6379 --masterauth "$MASTER_PASSWORD"'],
};

class ReplicaSyncError extends RedstackError {
  constructor(code: 'ERR_NOT_A_REPLICA' | 'ERR_SYNC_TIMEOUT' | 'ERR_INTERRUPTED', message: string) {
    super(code, message);
  }
}

function stamp(): string {
  return new Date().toTimeString().slice(0, 8);
}

function say(line: string): void {
  process.stdout.write(`${stamp()}: ${line}\n`);
}

async function replication(client: Client): Promise<Record<string, string>> {
  const text = String(await client.cmd(['INFO', 'replication']));
  return Object.fromEntries(text.split(/\r?\n/).filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]));
}

export async function run(args: Parsed): Promise<number> {
  const v = args.values;
  const url = v.replica as string | undefined;
  const pass = (v.masterauth as string | undefined) ?? process.env.REDSTACK_MASTERAUTH;
  const user = v.masteruser as string | undefined;
  if (!url) throw new UsageError('--replica URL is required');
  if (!pass) throw new UsageError('--masterauth PASS (or REDSTACK_MASTERAUTH) is required');
  const timeoutMs = (intFlag(v, 'timeout', 1) ?? 600) * 1000;
  const intervalMs = intFlag(v, 'interval', 10) ?? 1000;

  const client = createClient({ url, reconnect: { maxAttempts: 5 }, commandTimeoutMs: 10_000 });
  let interrupted = false;
  const onSignal = () => void (interrupted = true);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let authSet = false;
  try {
    const info = await replication(client);
    if (info.role !== 'slave') throw new ReplicaSyncError('ERR_NOT_A_REPLICA', `the server is not a replica (role:${info.role ?? 'unknown'})`);
    if (user) {
      say('CONFIG SET MASTERUSER ' + user);
      say(String(await client.cmd(['CONFIG', 'SET', 'masteruser', user])));
    }
    say('CONFIG SET MASTERAUTH ********');
    say(String(await client.cmd(['CONFIG', 'SET', 'masterauth', pass])));
    authSet = true;
    await waitForLink(client, timeoutMs, intervalMs, () => interrupted);
    return EXIT.OK;
  } finally {
    if (authSet) {
      // Always unset: the point is that the replica never holds the password after this command.
      say('CONFIG SET MASTERAUTH NULL');
      say(String(await client.cmd(['CONFIG', 'SET', 'masterauth', '']).catch((e: Error) => `failed: ${e.message}`)));
      if (user) {
        say('CONFIG SET MASTERUSER NULL');
        say(String(await client.cmd(['CONFIG', 'SET', 'masteruser', '']).catch((e: Error) => `failed: ${e.message}`)));
      }
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await client.quit().catch(() => client.disconnect());
  }
}

/** Polls until master_link_status:up, printing the status when it changes (and every 10 polls). */
async function waitForLink(client: Client, timeoutMs: number, intervalMs: number, stop: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (let polls = 0; ; polls++) {
    const info = await replication(client);
    const status = info.master_link_status ?? 'unknown';
    if (status !== last || polls % 10 === 0) {
      const loading = info.master_sync_in_progress === '1' ? ` (sync in progress, ${info.master_sync_left_bytes ?? '?'} bytes left)` : '';
      say(`STATUS: master_link_status:${status}${loading}`);
      if (last === '' && status !== 'up') say('waiting for master_link_status:up');
      last = status;
    }
    if (status === 'up') return;
    if (stop()) throw new ReplicaSyncError('ERR_INTERRUPTED', 'interrupted before the replica synced');
    if (Date.now() > deadline) throw new ReplicaSyncError('ERR_SYNC_TIMEOUT', `master_link_status still ${status} after ${timeoutMs / 1000} s (raise --timeout)`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
