/** redstack's gateway as a bench contender: argv redisUrl port. Prints "ready" when listening. */
import { createGateway } from '../../src/gateway/index.js';

const [redisUrl, port] = process.argv.slice(2);
const gw = await createGateway({
  redis: redisUrl!,
  port: Number(port),
  auth: { anonymousRead: ['*'] },
  // Bench clients open 1000 connections from one address.
  limits: { maxConnectionsPerIp: 0, maxFramesPerSecond: 0 },
  web: false,
});
process.on('SIGTERM', () => void gw.close().then(() => process.exit(0)));
process.stdout.write('ready\n');
