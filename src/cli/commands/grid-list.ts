/**
 * `redstack grid list`: the live nodes of a namespace with their metadata, from one read-only
 * snapshot of the registry (it works against a replica, and registers nothing).
 */
import { type CommandSpec, type Parsed } from '../args.js';
import { EXIT } from '../exit-codes.js';
import { createClient } from '../../client/index.js';
import { Registry, SYSTEM_FIELDS, type Snapshot } from '../../discovery/index.js';

export const spec: CommandSpec = {
  name: 'grid list',
  summary: 'Prints the live nodes of a discovery namespace (redstack/discovery) with their metadata.',
  flags: {
    namespace: { type: 'string', short: 'n', value: 'NAME', default: 'default', description: 'the grid namespace' },
    json: { type: 'boolean', description: 'print a JSON array instead of a table' },
    redis: { type: 'string', value: 'URL', description: 'Redis URL (default: $REDIS_URL, else redis://127.0.0.1:6379)' },
  },
  examples: ['redstack grid list --namespace web', 'redstack grid list -n web --json | jq ".[].id"'],
};

export async function run(parsed: Parsed): Promise<number> {
  const v = parsed.values;
  const ns = v.namespace as string;
  const redis = createClient({ url: (v.redis as string | undefined) ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', connectTimeoutMs: 3000, reconnect: false, commandTimeoutMs: 5000 });
  redis.on('error', () => undefined);
  try {
    const snap = await new Registry(redis, ns).read();
    process.stdout.write(v.json ? toJson(snap) : toTable(snap, ns));
    return EXIT.OK;
  } finally {
    redis.disconnect();
  }
}

function toJson(snap: Snapshot): string {
  const rows = snap.nodes.map((n) => ({ id: n.id, meta: n.record.meta, lastSeen: n.deadline - n.record.ttl, expiresInMs: n.deadline - snap.now, suspect: snap.suspects?.has(n.id) === true }));
  return JSON.stringify(rows, null, 2) + '\n';
}

/**
 * One row per node: id, host, pid, age, last heartbeat, health (unhealthy by its own check, suspect
 * when it missed heartbeats), then the caller's metadata as JSON.
 */
export function toTable(snap: Snapshot, ns: string): string {
  if (snap.nodes.length === 0) return `no live nodes in namespace '${ns}'\n`;
  const head = ['ID', 'HOST', 'PID', 'VERSION', 'UP', 'SEEN', 'HEALTH', 'META'];
  const rows = snap.nodes
    .map((n) => {
      const m = n.record.meta;
      const user: Record<string, unknown> = {};
      for (const [k, val] of Object.entries(m)) if (!(SYSTEM_FIELDS as readonly string[]).includes(k)) user[k] = val;
      const started = typeof m.startedAt === 'string' ? Date.parse(m.startedAt) : NaN;
      return [
        n.id,
        String(m.host ?? ''),
        String(m.pid ?? ''),
        String(m.version ?? ''),
        Number.isFinite(started) ? duration(snap.now - started) : '',
        `${duration(snap.now - (n.deadline - n.record.ttl))} ago`,
        [m.unhealthy === true ? 'unhealthy' : '', snap.suspects?.has(n.id) ? 'suspect' : ''].filter(Boolean).join(',') || 'ok',
        JSON.stringify(user),
      ];
    })
    .sort((a, b) => a[0]!.localeCompare(b[0]!));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + `\n${rows.length} node${rows.length === 1 ? '' : 's'} in '${ns}'\n`;
}

function duration(ms: number): string {
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${Math.floor(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}
