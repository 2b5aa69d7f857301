/**
 * `redstack grid watch`: prints the nodes present, then joins, leaves, updates and suspicions as they
 * happen, until interrupted. A passive observer: it registers nothing, but helps sweep expired nodes.
 */
import { intFlag, type CommandSpec, type Parsed } from '../args.js';
import { EXIT } from '../exit-codes.js';
import { createClient } from '../../client/index.js';
import { watchGrid, type NodeInfo } from '../../discovery/index.js';

export const spec: CommandSpec = {
  name: 'grid watch',
  summary: 'Prints joins, leaves and metadata updates of a discovery namespace as they happen (Ctrl-C to stop).',
  flags: {
    namespace: { type: 'string', short: 'n', value: 'NAME', default: 'default', description: 'the grid namespace' },
    json: { type: 'boolean', description: 'one JSON object per line: {"t","event","id","meta","reason"}' },
    redis: { type: 'string', value: 'URL', description: 'Redis URL (default: $REDIS_URL, else redis://127.0.0.1:6379)' },
    'heartbeat-ms': { type: 'string', value: 'MS', default: '1000', description: "the grid's heartbeat interval (paces sweeps and link checks)" },
  },
  examples: ['redstack grid watch --namespace web', 'redstack grid watch -n web --json >> grid-events.jsonl'],
};

export async function run(parsed: Parsed): Promise<number> {
  const v = parsed.values;
  const ns = v.namespace as string;
  const hb = intFlag(v, 'heartbeat-ms', 1) ?? 1000;
  const json = Boolean(v.json);
  const print = (event: string, n: NodeInfo, extra = '') => {
    if (json) {
      process.stdout.write(JSON.stringify({ t: new Date().toISOString(), event, id: n.id, meta: n.meta, ...(extra ? { reason: extra } : {}) }) + '\n');
    } else {
      process.stdout.write(`${new Date().toISOString()}  ${event.padEnd(7)}  ${n.id}${extra ? `  (${extra})` : ''}  ${JSON.stringify(n.meta)}\n`);
    }
  };
  // Fail fast when Redis is unreachable (the grid's own connections would wait and retry).
  const probe = createClient({ url: (v.redis as string | undefined) ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', connectTimeoutMs: 3000, reconnect: false });
  probe.on('error', () => undefined);
  try {
    await probe.cmd(['PING']);
  } catch (err) {
    probe.disconnect();
    throw err;
  }
  const view = await watchGrid({
    redis: probe,
    namespace: ns,
    heartbeatMs: hb,
    ttlMs: hb * 3,
  });
  for (const n of view.nodes()) print('present', n);
  if (!json) process.stdout.write(`watching '${ns}': ${view.nodes().length} node(s) present\n`);
  view.on('join', (n) => print('join', n));
  view.on('leave', (n, reason) => print('leave', n, reason));
  view.on('update', (n) => print('update', n));
  view.on('suspect', (n, reason) => print('suspect', n, reason));
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await view.close();
  probe.disconnect();
  return EXIT.OK;
}
