/**
 * The "plain" peer: a ws server with one ioredis subscriber, written the obvious way: each message is
 * serialised once and then sent to each socket with its own ws.send (one frame, one write each).
 * argv: redisUrl port. Client protocol: {"subscribe":"chan"} -> {"ack":"chan"}; messages {"c":..,"d":..}.
 */
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { Redis } from 'ioredis';

const [redisUrl, port] = process.argv.slice(2);
const sub = new Redis(redisUrl!);
const rooms = new Map<string, Set<WebSocket>>();
sub.on('message', (channel: string, message: string) => {
  const set = rooms.get(channel);
  if (!set) return;
  const frame = JSON.stringify({ c: channel, d: message });
  for (const ws of set) ws.send(frame);
});
const server = createServer();
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws) => {
  const mine = new Set<string>();
  ws.on('message', async (data) => {
    const { subscribe } = JSON.parse(String(data)) as { subscribe: string };
    let set = rooms.get(subscribe);
    if (!set) {
      rooms.set(subscribe, (set = new Set()));
      await sub.subscribe(subscribe);
    }
    set.add(ws);
    mine.add(subscribe);
    ws.send(JSON.stringify({ ack: subscribe }));
  });
  ws.on('close', () => {
    for (const c of mine) {
      const set = rooms.get(c);
      set?.delete(ws);
      if (set && set.size === 0) {
        rooms.delete(c);
        void sub.unsubscribe(c);
      }
    }
  });
});
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));
