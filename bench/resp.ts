/**
 * `npm run bench -- resp [--quick] [--rounds N] [--json FILE] [shape...]`
 *
 * The RESP codec alone, no sockets: redstack's RespDecoder and WriteBatch against the decoders and
 * encoders inside ioredis and node-redis, in one process, alternating rounds, medians and ratios.
 *
 * Decoder shapes: every input is built before timing as one Buffer and cut into 16 KiB views (what a
 * socket delivers); a sample feeds the chunks to a fresh decoder, as many times over as it takes to
 * process about 8 MB (2 MB with --quick), and counts the replies.
 *   +OK              100 000 simple strings
 *   integers         100 000 integers of 1..10 digits
 *   bulk 1 KiB        10 000 bulk strings of 1 KiB
 *   bulk 1 MiB            16 bulk strings of 1 MiB (spanning 64 chunks each)
 *   array 10k             20 arrays of 10 000 bulk strings (LRANGE/SMEMBERS-like)
 *   nested maps       10 000 RESP3 maps holding a map, a set, a double, a boolean, a big number
 * Everyone decodes bulk strings to JS strings; the peers are given Map and Set for RESP3 maps and
 * sets (their defaults are plain objects and arrays), so every contender builds the same values.
 *
 * Peers: ioredis 6 ships lib/resp/decoder (it no longer uses redis-parser) and node-redis ships
 * lib/RESP/decoder; both are loaded from their packages' built files. The two share an origin (ioredis
 * adapted node-redis's decoder) but are compiled differently (ioredis down-levels #private fields).
 *
 * Encoder shapes: SET key value with 3-byte and 1 KiB values, in batches of 100 commands turned into
 * bytes for one socket write (what a tick's commands cost): redstack's WriteBatch (takeBytes() into
 * its reused scratch memory, then release(), as the connection does), ioredis's Command#toWritable
 * (commands constructed before timing, strings joined as its Pipeline does, then one Buffer) and
 * node-redis's encodeCommand (chunks joined, then one Buffer).
 */
import { createRequire } from 'node:module';
import { RespDecoder, WriteBatch } from '../src/resp/index.js';
import { environment, printTable, runRounds, summarize, writeJson, type Row, type Sample } from './lib.js';

const require = createRequire(import.meta.url);

interface RunOptions {
  json?: string;
  rounds?: number;
  quick?: boolean;
  args: string[];
}

// ---------------------------------------------------------------------------------------------
// Peers (CommonJS, loaded from their built files)

type PeerDecoderCtor = new (config: {
  onReply(reply: unknown): unknown;
  onErrorReply(err: unknown): unknown;
  onPush(push: unknown[]): unknown;
  getTypeMapping(): Record<number, unknown>;
}) => { write(chunk: Buffer): void };

const ioredisResp = require('ioredis/built/resp/decoder.js') as { Decoder: PeerDecoderCtor; RESP_TYPES: Record<string, number> };
const nodeRedisResp = require('@redis/client/dist/lib/RESP/decoder.js') as { Decoder: PeerDecoderCtor; RESP_TYPES: Record<string, number> };
const IoredisCommand = (require('ioredis/built/Command.js') as { default: new (name: string, args: unknown[]) => { toWritable(s?: unknown): string | Buffer } }).default;
const nodeRedisEncode = (require('@redis/client/dist/lib/RESP/encoder.js') as { default: (args: readonly (string | Buffer)[]) => (string | Buffer)[] }).default;
const versions = {
  ioredis: (require('ioredis/package.json') as { version: string }).version,
  nodeRedis: (require('@redis/client/package.json') as { version: string }).version,
};

// ---------------------------------------------------------------------------------------------
// Inputs

const CHUNK = 16 * 1024;

interface Input {
  name: string;
  bytes: Buffer;
  chunks: Buffer[];
  replies: number;
}

function input(name: string, parts: (string | Buffer)[], replies: number): Input {
  const bytes = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += CHUNK) chunks.push(bytes.subarray(i, i + CHUNK));
  return { name, bytes, chunks, replies };
}

function bulk(s: string): string {
  return `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
}

/** Printable, varied payload of `n` bytes (no CR/LF), seeded. */
function payload(n: number, seed: number): string {
  let s = '';
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += String.fromCharCode(0x21 + ((x >>> 16) % 94));
  }
  return s;
}

function buildInputs(): Input[] {
  const ok = input('+OK', Array(100_000).fill('+OK\r\n'), 100_000);
  const ints: string[] = [];
  for (let i = 0; i < 100_000; i++) ints.push(`:${(i * 7919) % 10 ** (1 + (i % 10))}\r\n`);
  const integers = input('integers', ints, 100_000);
  const p1k = payload(1024, 1);
  const bulk1k = input('bulk 1 KiB', Array(10_000).fill(bulk(p1k)), 10_000);
  const p1m = Buffer.from(payload(1024 * 1024, 2), 'latin1');
  const big: Buffer[] = [];
  for (let i = 0; i < 16; i++) big.push(Buffer.from(`$${p1m.length}\r\n`), p1m, Buffer.from('\r\n'));
  const bulk1m = input('bulk 1 MiB', big, 16);
  const members: string[] = [];
  for (let i = 0; i < 10_000; i++) members.push(bulk(`member:${i}`));
  const arr = `*10000\r\n${members.join('')}`;
  const array10k = input('array 10k', Array(20).fill(arr), 20);
  const maps: string[] = [];
  for (let i = 0; i < 10_000; i++) {
    maps.push(
      '%4\r\n' +
        bulk('name') +
        bulk(`user:${i}`) +
        bulk('stats') +
        `%3\r\n${bulk('hits')}:${i * 31}\r\n${bulk('ratio')},${(i / 7).toFixed(5)}\r\n${bulk('active')}#${i % 2 ? 't' : 'f'}\r\n` +
        bulk('tags') +
        `~3\r\n${bulk('a')}${bulk('b')}${bulk(`t${i % 10}`)}` +
        bulk('balance') +
        `(${12345678901234567890n + BigInt(i)}\r\n`,
    );
  }
  const nested = input('nested maps', maps, 10_000);
  return [ok, integers, bulk1k, bulk1m, array10k, nested];
}

// ---------------------------------------------------------------------------------------------
// Contenders

interface DecoderContender {
  who: string;
  /** A fresh decoder that calls `count` once per reply. */
  make(count: (v: unknown) => void): { write(chunk: Buffer): void };
}

function peer(who: string, mod: { Decoder: PeerDecoderCtor; RESP_TYPES: Record<string, number> }): DecoderContender {
  const mapping = { [mod.RESP_TYPES.MAP!]: Map, [mod.RESP_TYPES.SET!]: Set };
  return {
    who,
    make: (count) => new mod.Decoder({ onReply: count, onErrorReply: count, onPush: count, getTypeMapping: () => mapping }),
  };
}

const decoders: DecoderContender[] = [
  { who: 'redstack', make: (count) => new RespDecoder({ onReply: count, onPush: count }) },
  peer('ioredis', ioredisResp),
  peer('node-redis', nodeRedisResp),
];

/** Feeds `reps` copies of the input; returns replies seen. */
function decodeOnce(c: DecoderContender, inp: Input, reps: number): number {
  let n = 0;
  const d = c.make(() => n++);
  for (let r = 0; r < reps; r++) for (const ch of inp.chunks) d.write(ch);
  return n;
}

interface EncoderContender {
  who: string;
  /** Prepares `n` SET commands with `value`; returns a function that encodes them in batches. */
  prepare(n: number, value: string): () => number;
}

const BATCH = 100;

const encoders: EncoderContender[] = [
  {
    who: 'redstack',
    prepare: (n, value) => {
      const keys = Array.from({ length: n }, (_, i) => `key:${i}`);
      // The connection's path: takeBytes() lends the batch's scratch memory to the socket and
      // release() reuses it once the socket is done (at once, here).
      const flush = (b: WriteBatch): number => {
        const out = b.takeBytes();
        const n = Array.isArray(out) ? out.reduce((a, x) => a + x.length, 0) : out.length;
        b.release();
        return n;
      };
      return () => {
        let bytes = 0;
        const b = new WriteBatch();
        for (let i = 0; i < n; i++) {
          b.add(['SET', keys[i]!, value]);
          if (b.commands === BATCH) bytes += flush(b);
        }
        if (!b.empty) bytes += flush(b);
        return bytes;
      };
    },
  },
  {
    who: 'ioredis',
    prepare: (n, value) => {
      const cmds = Array.from({ length: n }, (_, i) => new IoredisCommand('set', [`key:${i}`, value]));
      for (const c of cmds) (c as unknown as { promise: Promise<unknown> }).promise.catch(() => {});
      return () => {
        let bytes = 0;
        let s = '';
        for (let i = 0; i < n; i++) {
          s += cmds[i]!.toWritable() as string;
          if ((i + 1) % BATCH === 0) {
            bytes += Buffer.from(s).length;
            s = '';
          }
        }
        if (s) bytes += Buffer.from(s).length;
        return bytes;
      };
    },
  },
  {
    who: 'node-redis',
    prepare: (n, value) => {
      const keys = Array.from({ length: n }, (_, i) => `key:${i}`);
      return () => {
        let bytes = 0;
        let s = '';
        for (let i = 0; i < n; i++) {
          const parts = nodeRedisEncode(['SET', keys[i]!, value]);
          for (const p of parts) s += p as string;
          if ((i + 1) % BATCH === 0) {
            bytes += Buffer.from(s).length;
            s = '';
          }
        }
        if (s) bytes += Buffer.from(s).length;
        return bytes;
      };
    },
  },
];

// ---------------------------------------------------------------------------------------------

export async function run(opts: RunOptions): Promise<void> {
  const quick = opts.quick ?? false;
  const rounds = opts.rounds ?? (quick ? 3 : 7);
  const only = opts.args;
  const target = quick ? 2e6 : 8e6;
  const pick = (name: string) => only.length === 0 || only.some((o) => name.toLowerCase().includes(o.toLowerCase()));

  console.log(`# resp: ${environment()}; ioredis ${versions.ioredis}, node-redis (@redis/client) ${versions.nodeRedis}`);
  console.log(`# ${rounds} rounds${quick ? ' (quick)' : ''}; decoders fed 16 KiB chunks; encoders in batches of ${BATCH}`);

  const inputs = buildInputs().filter((i) => pick(i.name));
  const samples: Sample[] = [];
  const perReply = new Map<string, number>();

  for (const inp of inputs) {
    const reps = Math.max(1, Math.round(target / inp.bytes.length));
    perReply.set(inp.name, inp.replies / inp.bytes.length);
    for (const c of decoders) {
      // Correctness before speed: everyone sees every reply; then one untimed warm-up pass.
      const n = decodeOnce(c, inp, 1);
      if (n !== inp.replies) throw new Error(`${c.who} decoded ${n} replies from '${inp.name}', expected ${inp.replies}`);
      decodeOnce(c, inp, reps);
    }
    const contenders = decoders.map((c) => ({
      who: c.who,
      shape: `decode ${inp.name}`,
      run: async () => {
        const t0 = performance.now();
        decodeOnce(c, inp, reps);
        const s = (performance.now() - t0) / 1000;
        return (inp.bytes.length * reps) / s / 1e6;
      },
    }));
    samples.push(...(await runRounds(rounds, contenders, (x) => process.stderr.write(`  ${x.shape} ${x.who}: ${x.rate.toFixed(1)} MB/s\n`))));
  }

  const encSamples: Sample[] = [];
  const encShapes = [
    { name: 'encode SET 3 B', n: quick ? 50_000 : 200_000, value: 'abc' },
    { name: 'encode SET 1 KiB', n: quick ? 10_000 : 40_000, value: payload(1024, 3) },
  ].filter((s) => pick(s.name));
  for (const s of encShapes) {
    const prepared = encoders.map((e) => ({ who: e.who, fn: e.prepare(s.n, s.value) }));
    const sizes = prepared.map((p) => p.fn());
    if (new Set(sizes).size !== 1) throw new Error(`encoders disagree on ${s.name}: ${sizes.join(', ')} bytes`);
    const contenders = prepared.map((p) => ({
      who: p.who,
      shape: s.name,
      run: async () => {
        const t0 = performance.now();
        p.fn();
        return s.n / ((performance.now() - t0) / 1000);
      },
    }));
    encSamples.push(...(await runRounds(rounds, contenders, (x) => process.stderr.write(`  ${x.shape} ${x.who}: ${Math.round(x.rate)} cmd/s\n`))));
  }

  const mbRows = summarize(samples);
  const replyRows: Row[] = mbRows.map((r) => {
    const k = (perReply.get(r.shape.replace(/^decode /, '')) ?? 0) * 1e6;
    return { ...r, median: r.median * k, min: r.min * k, max: r.max * k };
  });
  const encRows = summarize(encSamples);
  const tables = [
    mbRows.length ? printTable(mbRows, { title: 'resp decode (MB/s)', unit: 'MB/s' }) : '',
    replyRows.length ? printTable(replyRows, { title: 'resp decode (replies/s)', unit: 'replies/s' }) : '',
    encRows.length ? printTable(encRows, { title: 'resp encode (commands/s)', unit: 'cmd/s' }) : '',
  ];
  writeJson(opts.json, { environment: environment(), versions, rounds, quick, samples, encSamples, rows: { mbRows, replyRows, encRows }, tables });
}
