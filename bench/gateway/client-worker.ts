/**
 * Load-driver worker for bench/gateway.ts: holds a share of the client connections of one contender,
 * counts messages as cheaply as it can (no JSON parsing on the hot path), and records publish-to-receive
 * latency from the `@@<ms>@@` stamp every payload carries. Driven by the parent over IPC.
 *
 *   parent -> { cmd: 'connect', kind, url, channels }   one connection per entry of channels
 *          -> { cmd: 'reset', record }                   zero the counters; record latencies or not
 *          -> { cmd: 'report' }                          -> { received, lat?: number[] }
 *          -> { cmd: 'disconnect' }                      close every connection
 *   worker -> { tick: received }                        every 5 ms while the count moves
 */
import WebSocket from 'ws';
import { io, type Socket } from 'socket.io-client';

type Kind = 'redstack' | 'plain-ws' | 'socketio' | 'webdis' | 'nchan';

let received = 0;
let record = false;
let lat: number[] = [];
const sockets: { close(): void }[] = [];
const AT = 0x40; // '@'
const NL = 0x0a;

const now = (): number => performance.timeOrigin + performance.now();

/** Finds each `@@<ms>@@` stamp in a frame and records its age. */
function stamps(buf: Buffer): void {
  const t = now();
  let i = 0;
  for (;;) {
    i = buf.indexOf('@@', i);
    if (i < 0) return;
    const j = buf.indexOf('@@', i + 2);
    if (j < 0) return;
    lat.push(t - Number(buf.toString('latin1', i + 2, j)));
    i = j + 2;
  }
}

function countLines(buf: Buffer): number {
  let n = 1;
  let i = -1;
  while ((i = buf.indexOf(NL, i + 1)) >= 0) n++;
  return n;
}

function onFrame(kind: Kind, buf: Buffer): void {
  if (kind === 'redstack') {
    // One frame may hold several "\n"-joined messages; control frames (ack, hello) are not messages.
    if (buf[2] !== 0x74 || buf[9] !== 0x6d) return; // {"type":"message"
    received += countLines(buf);
  } else if (kind === 'webdis') {
    if (buf.indexOf('"message"') < 0) return;
    received++;
  } else if (kind === 'plain-ws') {
    if (buf[0] !== 0x7b || buf[2] !== 0x63) return; // {"c": a message; {"ack" otherwise
    received++;
  } else received++;
  if (record) stamps(buf);
}

async function connectOne(kind: Kind, url: string, channel: string): Promise<void> {
  if (kind === 'socketio') {
    const s: Socket = io(url, { transports: ['websocket'], query: { channel }, reconnection: false, forceNew: true });
    sockets.push({ close: () => s.close() });
    await new Promise<void>((resolve, reject) => {
      s.once('joined', () => resolve());
      s.once('connect_error', reject);
    });
    s.on('m', (data: string) => {
      received++;
      if (record) {
        const i = data.indexOf('@@');
        const j = data.indexOf('@@', i + 2);
        lat.push(now() - Number(data.slice(i + 2, j)));
      }
    });
    return;
  }
  const target = kind === 'nchan' ? `${url}/sub/${channel}` : kind === 'webdis' ? `${url}/.json` : `${url}/ws`;
  // webdis 0.1.9 (Debian) never answers a handshake without an Origin header.
  const ws = new WebSocket(target, { perMessageDeflate: false, origin: 'http://127.0.0.1' });
  sockets.push({ close: () => ws.terminate() });
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => {
      if (kind === 'nchan') return resolve(); // subscribed by the URL
      if (kind === 'redstack') ws.send(JSON.stringify({ type: 'subscribe', id: 1, channels: [channel] }));
      else if (kind === 'plain-ws') ws.send(JSON.stringify({ subscribe: channel }));
      else ws.send(JSON.stringify(['SUBSCRIBE', channel]));
      const onAck = (data: Buffer): void => {
        const s = data.toString();
        if (s.includes('"ack"') || s.includes('"subscribe"')) {
          ws.off('message', onAck);
          resolve();
        }
      };
      ws.on('message', onAck);
    });
  });
  ws.on('message', (data: Buffer) => onFrame(kind, data));
  ws.on('error', () => undefined);
}

process.on('message', async (m: { cmd: string; kind?: Kind; url?: string; channels?: string[]; record?: boolean }) => {
  try {
    if (m.cmd === 'connect') {
      const chans = m.channels!;
      // A few at a time: a thousand simultaneous handshakes overflow accept backlogs.
      for (let i = 0; i < chans.length; i += 50) await Promise.all(chans.slice(i, i + 50).map((c) => connectOne(m.kind!, m.url!, c)));
      process.send!({ ok: true });
    } else if (m.cmd === 'reset') {
      received = 0;
      lat = [];
      record = Boolean(m.record);
      process.send!({ ok: true });
    } else if (m.cmd === 'report') {
      process.send!({ received, lat: record ? lat : undefined });
      if (record) lat = [];
    } else if (m.cmd === 'disconnect') {
      for (const s of sockets.splice(0)) s.close();
      received = 0;
      process.send!({ ok: true });
    }
  } catch (err) {
    process.send!({ error: (err as Error).message });
  }
});
let lastTick = -1;
setInterval(() => {
  if (received !== lastTick) {
    lastTick = received;
    process.send!({ tick: received });
  }
}, 5);
process.on('disconnect', () => process.exit(0));
process.send!({ up: true });
