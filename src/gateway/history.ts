/**
 * Optional history per channel pattern, in Redis streams with a maximum length, so a client that
 * reconnects with the last id it saw gets what it missed.
 *
 * Publishing through redstack (the gateway's WebSocket and HTTP publish, `publish()` below,
 * `startDemoStats`) to a channel with history runs one script that, atomically:
 *   1. takes the next id from one sequence shared by every history channel of this Redis
 *      (`<ms>-<seq>`, ms from Redis TIME), so ids order messages across channels the way Redis
 *      delivered them: one SSE Last-Event-ID can resume several channels exactly;
 *   2. XADDs the message to the channel's stream with that id (MAXLEN ~ maxLen) and sets its TTL;
 *   3. PUBLISHes `\x1e<id>\x1e<data>` to the channel. Gateways strip this envelope and send the id
 *      to clients; other subscribers of the channel see it, which is the price of the id travelling
 *      with the message (Centrifugo wraps its publications the same way).
 * A plain PUBLISH from anywhere else is delivered live, without an id, and is not in the history.
 *
 * On a Redis Cluster (`sharded`), channels are shard channels: publishing is SPUBLISH, and each
 * channel's stream and sequence key carry the channel's hash slot, so the script touches one slot.
 * Ids are then ordered per channel only, not across channels.
 */
import { globToRegExp } from './glob.js';

/** The commands history needs: a redstack Client or ClusterClient. */
export interface Commander {
  cmd(command: (string | number | Buffer)[]): Promise<unknown>;
  cmd(commands: readonly (string | number | Buffer)[][]): Promise<unknown>;
  eval(lua: string, keys?: (string | Buffer)[], args?: (string | Buffer | number)[]): Promise<unknown>;
}

export interface HistoryRule {
  /** Redis glob of the channels this rule covers, e.g. 'stats.*'. */
  pattern: string;
  /** Entries kept per channel (approximate trimming, MAXLEN ~). */
  maxLen: number;
  /** Seconds a channel's stream lives after its last message (default 86400; 0 keeps it forever). */
  ttlSec?: number;
}

/** What the hub needs to replay. */
export interface HistoryReader {
  since(channel: string, id: string, max: number): Promise<{ entries: { id: string; data: string }[]; trimmed: boolean }>;
}

const ENVELOPE = /^\x1e(\d{1,20}-\d{1,20})\x1e/;

/** Splits a history envelope `\x1e<id>\x1e<data>`; undefined when `message` is not one. */
export function parseEnvelope(message: string): { id: string; data: string } | undefined {
  const m = ENVELOPE.exec(message);
  if (m === null) return undefined;
  return { id: m[1]!, data: message.slice(m[0].length) };
}

/** Orders two stream ids (`ms-seq`) numerically: -1, 0 or 1. */
export function compareIds(a: string, b: string): number {
  const da = a.indexOf('-');
  const db = b.indexOf('-');
  const ma = Number(a.slice(0, da));
  const mb = Number(b.slice(0, db));
  if (ma !== mb) return ma < mb ? -1 : 1;
  const sa = Number(a.slice(da + 1));
  const sb = Number(b.slice(db + 1));
  return sa === sb ? 0 : sa < sb ? -1 : 1;
}

// KEYS[1] stream, KEYS[2] sequence; ARGV: channel, data, maxLen, ttlSec, publish command.
// The explicit id keeps one order across channels; if the stream's top is somehow ahead of the
// sequence (the sequence key was deleted), XADD * takes over and the sequence follows it.
const PUBLISH_LUA = `
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local seq = 0
local last = redis.call('GET', KEYS[2])
if last then
  local lms, lseq = string.match(last, '^(%d+)-(%d+)$')
  if lms and tonumber(lms) >= ms then
    ms = tonumber(lms)
    seq = tonumber(lseq) + 1
  end
end
local id = string.format('%d-%d', ms, seq)
local ok = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], id, 'd', ARGV[2])
if type(ok) == 'table' and ok.err then
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'd', ARGV[2])
end
redis.call('SET', KEYS[2], id)
if tonumber(ARGV[4]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
local n = redis.call(ARGV[5], ARGV[1], '\\030' .. id .. '\\030' .. ARGV[2])
return {id, n}
`;

export interface PublishResult {
  /** Subscribers Redis delivered to (gateway processes and any other subscriber; PUBLISH's reply). */
  receivers: number;
  /** The history id, for channels with history. */
  id?: string;
}

export interface HistoryOptions {
  /** Prefix of stream and sequence keys (default 'redstack:gateway:'). */
  keyPrefix?: string;
  /** Redis Cluster: SPUBLISH, and per-channel keys in the channel's slot. */
  sharded?: boolean;
}

export class History implements HistoryReader {
  readonly rules: readonly HistoryRule[];
  readonly #compiled: RegExp[];
  readonly #client: Commander;
  readonly #prefix: string;
  readonly #sharded: boolean;

  constructor(client: Commander, rules: HistoryRule[], opts: HistoryOptions = {}) {
    this.#client = client;
    this.rules = rules;
    this.#compiled = rules.map((r) => globToRegExp(r.pattern));
    this.#prefix = opts.keyPrefix ?? 'redstack:gateway:';
    this.#sharded = opts.sharded ?? false;
  }

  /** The rule covering a channel (first match), if any. */
  ruleFor(channel: string): HistoryRule | undefined {
    for (let i = 0; i < this.rules.length; i++) if (this.#compiled[i]!.test(channel)) return this.rules[i];
    return undefined;
  }

  streamKey(channel: string): string {
    return this.#prefix + 'h:' + this.#slotted(channel);
  }

  #seqKey(channel: string): string {
    return this.#sharded ? this.#prefix + 'seq:' + this.#slotted(channel) : this.#prefix + 'seq';
  }

  /**
   * On a cluster, a name that keys the channel's slot: SPUBLISH hashes the channel name as a key, so
   * a channel with its own {hash tag} keeps it, and any other is wrapped in braces.
   */
  #slotted(channel: string): string {
    if (!this.#sharded) return channel;
    const open = channel.indexOf('{');
    const close = open < 0 ? -1 : channel.indexOf('}', open + 1);
    return close > open + 1 ? channel : '{' + channel + '}';
  }

  /** Publishes, through the history script when a rule covers the channel. */
  async publish(channel: string, data: string): Promise<PublishResult> {
    const rule = this.ruleFor(channel);
    const command = this.#sharded ? 'SPUBLISH' : 'PUBLISH';
    if (rule === undefined) return { receivers: Number(await this.#client.cmd([command, channel, data])) };
    const [id, n] = (await this.#client.eval(PUBLISH_LUA, [this.streamKey(channel), this.#seqKey(channel)], [channel, data, rule.maxLen, rule.ttlSec ?? 86400, command])) as [string, number];
    return { receivers: Number(n), id: String(id) };
  }

  /**
   * Entries after `id` (exclusive), oldest first, at most `max`; `trimmed` when the stream has lost
   * entries to MAXLEN that came after `id` (so the client has a gap that history cannot fill).
   */
  async since(channel: string, id: string, max: number): Promise<{ entries: { id: string; data: string }[]; trimmed: boolean }> {
    const key = this.streamKey(channel);
    const [range, info] = (await this.#client.cmd([
      ['XRANGE', key, '(' + id, '+', 'COUNT', max],
      ['XINFO', 'STREAM', key],
    ])) as [unknown, unknown];
    if (range instanceof Error) throw range;
    const entries: { id: string; data: string }[] = [];
    for (const e of range as [string, (string | Buffer)[]][]) {
      const fields = e[1];
      let data = '';
      for (let i = 0; i + 1 < fields.length; i += 2) if (String(fields[i]) === 'd') data = String(fields[i + 1]);
      entries.push({ id: String(e[0]), data });
    }
    let trimmed = false;
    if (!(info instanceof Error) && info !== null) {
      const m = toMap(info);
      const added = Number(m.get('entries-added') ?? 0);
      const length = Number(m.get('length') ?? 0);
      const first = m.get('recorded-first-entry-id') ?? (Array.isArray(m.get('first-entry')) ? (m.get('first-entry') as unknown[])[0] : undefined);
      if (added > length && first !== undefined && compareIds(String(first), id) > 0) trimmed = true;
    }
    return { entries, trimmed };
  }
}

/** XINFO replies are flat arrays under RESP2 and maps under RESP3. */
function toMap(v: unknown): Map<string, unknown> {
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [String(k), x]));
  const m = new Map<string, unknown>();
  if (Array.isArray(v)) for (let i = 0; i + 1 < v.length; i += 2) m.set(String(v[i]), v[i + 1]);
  else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) m.set(k, x);
  return m;
}

/**
 * Publishes one message as redstack producers should: through the history script when `rules`
 * cover the channel (so gateways can resume clients), else a plain PUBLISH.
 */
export function publish(client: Commander, channel: string, data: string, rules: HistoryRule[] = [], opts: HistoryOptions = {}): Promise<PublishResult> {
  return new History(client, rules, opts).publish(channel, data);
}
