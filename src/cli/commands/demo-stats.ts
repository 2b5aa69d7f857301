/**
 * `redstack demo-stats`: publishes sample counters every second on stats.router, stats.logplex and
 * stats.redis, so the gateway's page has something to draw. The library's startDemoStats does the work.
 */
import { intFlag, type CommandSpec, type Parsed } from '../args.js';
import { EXIT } from '../exit-codes.js';
import { startDemoStats } from '../../gateway/index.js';
import { connectRedis, parseHistory, redactUrl } from './gateway.js';

export const spec: CommandSpec = {
  name: 'demo-stats',
  summary: 'Publishes sample counters every second on stats.* channels (router requests/s and latency, logplex lines, Redis ops).',
  flags: {
    redis: { type: 'string', value: 'URL', description: 'Redis URL (default: $REDIS_URL, else redis://127.0.0.1:6379)' },
    cluster: { type: 'boolean', description: '--redis names a node of a Redis Cluster: publish with SPUBLISH, as a gateway on a cluster reads' },
    'interval-ms': { type: 'string', value: 'MS', default: '1000', description: 'time between ticks' },
    prefix: { type: 'string', value: 'PREFIX', default: 'stats.', description: 'channel prefix' },
    history: { type: 'string', multiple: true, value: 'PATTERN:MAXLEN', description: "publish through history (match the gateway's --history)" },
    count: { type: 'string', value: 'N', description: 'stop after N ticks (default: run until interrupted)' },
    quiet: { type: 'boolean', short: 'q', description: 'no line per tick' },
  },
  examples: ['redstack demo-stats', 'redstack demo-stats --history "stats.*:600" --redis redis://127.0.0.1:6380'],
};

export async function run(parsed: Parsed): Promise<number> {
  const v = parsed.values;
  const intervalMs = intFlag(v, 'interval-ms', 10) ?? 1000;
  const count = intFlag(v, 'count', 1);
  const url = (v.redis as string | undefined) ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const client = await connectRedis('demo-stats', url, Boolean(v.cluster));
  if (client === undefined) return EXIT.UNAVAILABLE;
  let failures = 0;
  const demo = startDemoStats(client, {
    intervalMs,
    sharded: Boolean(v.cluster),
    prefix: v.prefix as string,
    history: parseHistory(Array.isArray(v.history) ? v.history : []),
    onError: (err) => {
      failures++;
      process.stderr.write(`redstack demo-stats: publish failed: ${err.message}\n`);
    },
  });
  if (!v.quiet) process.stderr.write(`redstack demo-stats: publishing ${v.prefix as string}{router,logplex,redis} every ${intervalMs} ms to ${redactUrl(url)}\n`);
  const signal = await new Promise<NodeJS.Signals | 'done'>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
    if (count !== undefined) {
      const t = setInterval(() => {
        if (demo.ticks >= count) {
          clearInterval(t);
          resolve('done');
        }
      }, 20);
    }
  });
  demo.stop();
  await client.quit().catch(() => client.disconnect());
  if (signal === 'SIGINT') return EXIT.INTERRUPTED;
  return failures > 0 && count !== undefined && failures >= count ? EXIT.UNAVAILABLE : EXIT.OK;
}
