/**
 * `redstack start` (what `npm start` runs): the main job. Finds a Redis (REDIS_URL, else
 * 127.0.0.1:6379 if it answers, else a redis-server of its own with data in ./.redstack/), then runs
 * the pub/sub gateway with its live-graphs page and the demo counters publishing into it, so a
 * newcomer opens one URL and sees Redis pub/sub moving. Stops cleanly on SIGINT/SIGTERM.
 */
import { pino } from 'pino';
import { intFlag, type CommandSpec, type Parsed } from '../args.js';
import { EXIT } from '../exit-codes.js';
import { findOrStartRedis } from '../local-redis.js';
import { createClient } from '../../client/index.js';
import { createGateway, startDemoStats } from '../../gateway/index.js';

export const spec: CommandSpec = {
  name: 'start',
  summary:
    'Starts redstack: the pub/sub gateway with its live-graphs page, fed by demo counters on stats.*.\n' +
    'Uses $REDIS_URL, else Redis on 127.0.0.1:6379, else starts its own redis-server (data in ./.redstack/).',
  flags: {
    port: { type: 'string', short: 'p', value: 'PORT', default: '8080', description: 'HTTP port for the page, WebSocket and SSE (falls back to a free port if taken)' },
    host: { type: 'string', value: 'ADDR', default: '127.0.0.1', description: 'address to listen on' },
    'no-demo': { type: 'boolean', description: 'do not publish the demo counters' },
  },
  examples: ['npm start', 'REDIS_URL=redis://10.0.0.5:6379 npm start -- --port 9000'],
};

export async function run(parsed: Parsed): Promise<number> {
  const log = pino({ name: 'redstack' });
  const port = intFlag(parsed.values, 'port', 0) ?? 8080;
  const host = (parsed.values.host as string | undefined) ?? '127.0.0.1';

  const redis = await findOrStartRedis();
  if (redis.source === 'started') {
    log.info({ url: redis.url, dir: redis.dir }, `no Redis configured and none on 127.0.0.1:6379: started redis-server on ${redis.url.replace('redis://', '')} with its data in ${redis.dir}`);
  } else {
    log.info({ source: redis.source }, `using Redis from ${redis.source}`);
  }
  const client = createClient({ url: redis.url });
  client.on('error', (err: Error & { code?: string }) => log.warn({ code: err.code, msg: err.message }, 'redis connection error'));

  let gateway;
  try {
    gateway = await createGateway({ redis: client, port, host, history: [{ pattern: 'stats.*', maxLen: 600 }], logger: log, auth: { anonymousRead: ['stats.*'] } });
  } catch (err) {
    if ((err as { code?: string }).code !== 'EADDRINUSE') throw err;
    log.warn({ port }, `port ${port} is taken; using a free port instead`);
    gateway = await createGateway({ redis: client, port: 0, host, history: [{ pattern: 'stats.*', maxLen: 600 }], logger: log, auth: { anonymousRead: ['stats.*'] } });
  }
  const demo = parsed.values['no-demo'] ? undefined : startDemoStats(client, { history: [{ pattern: 'stats.*', maxLen: 600 }] });
  log.info({ url: gateway.url }, `redstack is running: open ${gateway.url}/ for live graphs (Ctrl-C to stop)`);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  log.info('stopping');
  demo?.stop();
  await gateway.close();
  await client.quit().catch(() => client.disconnect());
  await redis.stop();
  return EXIT.OK;
}
