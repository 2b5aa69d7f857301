/**
 * Socket.IO peer: socket.io with @socket.io/redis-adapter on ioredis; producers publish through
 * @socket.io/redis-emitter. Each client joins the room named by its `channel` query parameter.
 * argv: redisUrl port.
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';

const [redisUrl, port] = process.argv.slice(2);
const pub = new Redis(redisUrl!);
const sub = pub.duplicate();
const server = createServer();
const io = new Server(server, { adapter: createAdapter(pub, sub), transports: ['websocket'], perMessageDeflate: false });
io.on('connection', async (socket) => {
  const channel = String(socket.handshake.query.channel ?? 'bench');
  await socket.join(channel);
  socket.emit('joined', channel);
});
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));
