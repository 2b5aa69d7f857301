/**
 * `redstack gateway`: the pub/sub gateway with its live-graphs page. Flag parsing, logging and
 * signal handling only; everything else is redstack/gateway's createGateway.
 */
import { pino } from 'pino';
import { intFlag, UsageError, type CommandSpec, type Parsed } from '../args.js';
import { EXIT } from '../exit-codes.js';
import { createClient, type Client } from '../../client/index.js';
import { ClusterClient, createCluster } from '../../client/cluster/index.js';
import { createGateway, createToken, startDemoStats, type HistoryRule } from '../../gateway/index.js';

export const spec: CommandSpec = {
  name: 'gateway',
  summary:
    'Serves Redis pub/sub to browsers over WebSocket (/ws) and Server-Sent Events (/sse), with POST /publish/:channel,\n' +
    '/metrics, /healthz and a page of live graphs at /. Without --secret and --anonymous-read, anyone may read stats.*.',
  flags: {
    port: { type: 'string', short: 'p', value: 'PORT', default: '8080', description: 'port to listen on' },
    host: { type: 'string', value: 'ADDR', default: '127.0.0.1', description: 'address to listen on (0.0.0.0 for all)' },
    redis: { type: 'string', value: 'URL', description: 'Redis URL (default: $REDIS_URL, else redis://127.0.0.1:6379)' },
    cluster: { type: 'boolean', description: '--redis names a node of a Redis Cluster: channels become shard channels (SSUBSCRIBE/SPUBLISH)' },
    secret: { type: 'string', value: 'SECRET', description: 'HMAC secret for access tokens (default: $REDSTACK_GATEWAY_SECRET)' },
    'anonymous-read': { type: 'string', multiple: true, value: 'PATTERN', description: 'channels anyone may subscribe to without a token (repeatable)' },
    'anonymous-publish': { type: 'string', multiple: true, value: 'PATTERN', description: 'channels anyone may publish to without a token (repeatable)' },
    history: { type: 'string', multiple: true, value: 'PATTERN:MAXLEN', description: 'keep the last MAXLEN messages of matching channels (repeatable)' },
    demo: { type: 'boolean', description: 'also publish sample counters on stats.* (as redstack demo-stats)' },
    'trust-proxy': { type: 'boolean', description: 'take the client address from X-Forwarded-For (behind a load balancer)' },
    'max-connections-per-ip': { type: 'string', value: 'N', description: 'open connections per client address (default 100)' },
    'mint-token': { type: 'boolean', description: 'print a token signed with --secret and exit (see --subscribe, --publish, --ttl)' },
    subscribe: { type: 'string', multiple: true, value: 'PATTERN', description: 'with --mint-token: channels the token may read' },
    publish: { type: 'string', multiple: true, value: 'PATTERN', description: 'with --mint-token: channels the token may publish to' },
    ttl: { type: 'string', value: 'SECONDS', default: '3600', description: 'with --mint-token: lifetime' },
  },
  examples: [
    'redstack gateway --demo                        # then open http://127.0.0.1:8080/',
    'redstack gateway --port 9000 --redis redis://10.0.0.5:6379 --anonymous-read "stats.*" --history "stats.*:600"',
    'redstack gateway --mint-token --secret s3cret --subscribe "orders.*" --ttl 600',
  ],
};

function list(v: Parsed['values'][string]): string[] {
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

export function parseHistory(values: string[]): HistoryRule[] {
  return values.map((v) => {
    const i = v.lastIndexOf(':');
    const pattern = i > 0 ? v.slice(0, i) : v;
    const maxLen = i > 0 ? Number(v.slice(i + 1)) : 1000;
    if (!pattern || !Number.isSafeInteger(maxLen) || maxLen < 1) throw new UsageError(`--history takes PATTERN:MAXLEN, e.g. 'stats.*:600'`);
    return { pattern, maxLen };
  });
}

export async function run(parsed: Parsed): Promise<number> {
  const v = parsed.values;
  const secret = (v.secret as string | undefined) ?? process.env.REDSTACK_GATEWAY_SECRET;
  if (v['mint-token']) {
    if (!secret) throw new UsageError('--mint-token needs --secret (or $REDSTACK_GATEWAY_SECRET)');
    const ttl = intFlag(v, 'ttl', 1) ?? 3600;
    process.stdout.write(createToken(secret, { subscribe: list(v.subscribe), publish: list(v.publish), expiresInSec: ttl }) + '\n');
    return EXIT.OK;
  }
  const port = intFlag(v, 'port', 0) ?? 8080;
  const perIp = intFlag(v, 'max-connections-per-ip', 0);
  let anonymousRead = list(v['anonymous-read']);
  if (anonymousRead.length === 0 && !secret) anonymousRead = ['stats.*'];
  const history = parseHistory(list(v.history));
  const log = pino({ name: 'redstack-gateway' });
  const redisUrl = (v.redis as string | undefined) ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = await connectRedis('gateway', redisUrl, Boolean(v.cluster));
  if (redis === undefined) return EXIT.UNAVAILABLE;
  const gateway = await createGateway({
    redis,
    port,
    host: v.host as string,
    auth: { secret, anonymousRead, anonymousPublish: list(v['anonymous-publish']) },
    history,
    logger: log,
    limits: perIp === undefined ? {} : { maxConnectionsPerIp: perIp },
    clientIp: v['trust-proxy'] ? (req) => String(req.headers['x-forwarded-for'] ?? '').split(',')[0]!.trim() || (req.socket.remoteAddress ?? 'unknown') : undefined,
  });
  const demo = v.demo ? startDemoStats(redis, { history, sharded: Boolean(v.cluster), onError: (err) => log.warn({ err: err.message }, 'demo-stats publish failed') }) : undefined;
  log.info({ url: gateway.url, redis: redactUrl(redisUrl), anonymousRead, tokens: Boolean(secret), demo: Boolean(demo) }, `gateway at ${gateway.url}/`);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  log.info({ signal }, 'shutting down');
  demo?.stop();
  await gateway.close();
  await redis.quit().catch(() => redis.disconnect());
  return signal === 'SIGINT' ? EXIT.INTERRUPTED : EXIT.OK;
}

/**
 * Connects to Redis (or a cluster, from one node's URL) and checks it answers within a few seconds;
 * undefined, with a line on stderr, when it does not.
 */
export async function connectRedis(command: string, url: string, cluster: boolean): Promise<Client | ClusterClient | undefined> {
  const redis: Client | ClusterClient = cluster ? createCluster({ nodes: [url], connectTimeoutMs: 3000 }) : createClient({ url, connectTimeoutMs: 3000 });
  redis.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    const ready = redis instanceof ClusterClient ? redis.ready() : redis.cmd(['PING']);
    await Promise.race([ready, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5000)))]);
    return redis;
  } catch (err) {
    redis.disconnect();
    process.stderr.write(`redstack ${command}: Redis at ${redactUrl(url)} is not reachable (${(err as Error).message}); set --redis or REDIS_URL\n`);
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}
