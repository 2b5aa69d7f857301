/**
 * The registry's Lua scripts. Every state change happens inside one script, so it is atomic and is
 * judged by Redis's own clock (TIME), never by a node's clock: a node with a skewed clock neither
 * dies early nor lives forever.
 *
 * Keys (one hash tag, so all of them live in one cluster slot):
 *   rs:grid:{ns}:alive   sorted set  id -> deadline (Redis time, ms); a node is dead once deadline <= now
 *   rs:grid:{ns}:nodes   hash        id -> record JSON {"ttl":ms,"meta":{...}}
 *   rs:grid:{ns}:state   hash        epoch (set when the registry is first written; a new epoch means
 *                                    Redis lost the registry, e.g. restarted empty) and seq (counter
 *                                    bumped by every published change)
 *   rs:grid:{ns}:due     sorted set  id -> Redis time after which the node has missed a heartbeat
 *                                    (set by each heartbeat when the node asks for suspicion)
 *   rs:grid:{ns}:suspects set         ids that missed a heartbeat and are not yet back or gone
 *   rs:grid:{ns}:events  channel     join / update / leave / suspect / alive messages, JSON, each with
 *                                    epoch and seq
 *
 * Each script sweeps: it removes nodes whose deadline has passed (at most SWEEP_LIMIT per call, so a
 * call's work stays bounded) and publishes their leave, and it publishes `suspect` for nodes past
 * their due time: a node that beats every h ms asks to be suspected 2h after a beat, and its TTL (3h
 * by default) ends it. Its next heartbeat, if it comes, publishes `alive`. So every view hears of a
 * node going quiet a heartbeat before it is dropped, as a gossip member's peers would, without any
 * traffic per heartbeat. Because heartbeats sweep too, a grid of many nodes needs no other sweeping;
 * small grids add a timer (see heartbeat.ts). Sweeping reads only the
 * head of the sorted set: O(log n), and never touches keys outside the registry, so it costs the same
 * with 10 000 unrelated keys in Redis, unlike keyspace expiry events, which Redis sends only when its
 * sampling happens to find the key.
 *
 * Message format (built here, parsed in detector.ts):
 *   {"t":"join"|"update"|"leave"|"suspect"|"alive","e":"<epoch>","s":<seq>,"id":"<id>","now":<ms>[,"r":<record>][,"why":"left"|"expired"]}
 */

/** The most expired nodes one call removes; the next call continues. */
export const SWEEP_LIMIT = 100;

const PRELUDE = `
if redis.replicate_commands then redis.replicate_commands() end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function get_epoch()
  local e = redis.call('HGET', KEYS[3], 'epoch')
  if not e then
    local t = redis.call('TIME')
    e = t[1] .. '.' .. t[2]
    redis.call('HSET', KEYS[3], 'epoch', e)
  end
  return e
end
local function get_seq()
  return tonumber(redis.call('HGET', KEYS[3], 'seq') or '0')
end
local function pub(kind, id, now, rec, why)
  local s = redis.call('HINCRBY', KEYS[3], 'seq', 1)
  local m = '{"t":"' .. kind .. '","e":' .. cjson.encode(get_epoch()) .. ',"s":' .. string.format('%d', s) ..
    ',"id":' .. cjson.encode(id) .. ',"now":' .. string.format('%d', now)
  if rec then m = m .. ',"r":' .. rec end
  if why then m = m .. ',"why":"' .. why .. '"' end
  redis.call('PUBLISH', ARGV[1], m .. '}')
end
-- Removes every trace of the node; true if it was alive.
local function forget(id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('SREM', KEYS[5], id)
  return redis.call('ZREM', KEYS[1], id) == 1
end
local function sweep(now)
  local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, ${SWEEP_LIMIT})
  for _, id in ipairs(dead) do
    forget(id)
    pub('leave', id, now, nil, 'expired')
  end
  local late = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, ${SWEEP_LIMIT})
  for _, id in ipairs(late) do
    redis.call('ZREM', KEYS[4], id)
    if redis.call('ZSCORE', KEYS[1], id) then
      redis.call('SADD', KEYS[5], id)
      pub('suspect', id, now, nil, nil)
    end
  end
  return #dead
end
-- A beat or a registration: the node's next due time (none when suspectMs is 0); true if it was suspect.
local function on_time(id, now, suspect_ms)
  if suspect_ms > 0 then redis.call('ZADD', KEYS[4], now + suspect_ms, id) else redis.call('ZREM', KEYS[4], id) end
  return redis.call('SREM', KEYS[5], id) == 1
end
`;

/**
 * ARGV: channel, id, ttlMs, record, suspectMs (0: never suspected). Adds or refreshes the node;
 * publishes join, or update if the record changed, or alive if only its suspicion ended.
 */
export const REGISTER = `${PRELUDE}
local now = now_ms()
local e = get_epoch()
sweep(now)
local id = ARGV[2]
local had = redis.call('ZSCORE', KEYS[1], id)
local old = redis.call('HGET', KEYS[2], id)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), id)
redis.call('HSET', KEYS[2], id, ARGV[4])
local was_suspect = on_time(id, now, tonumber(ARGV[5] or '0'))
if (not had) or (not old) then
  pub('join', id, now, ARGV[4], nil)
elseif old ~= ARGV[4] then
  pub('update', id, now, ARGV[4], nil)
elseif was_suspect then
  pub('alive', id, now, nil, nil)
end
return {now, e, get_seq()}
`;

/**
 * ARGV: channel, id, ttlMs, suspectMs (0: never suspected). Pushes the node's deadline out by ttl and
 * its due time by suspectMs; publishes nothing (a heartbeat is O(log n) work and no traffic to other
 * nodes) unless the node was suspect: then alive. Returns present=0 when the node is not registered
 * (Redis restarted or failed over, or the node was swept after a partition): the caller re-registers.
 */
export const HEARTBEAT = `${PRELUDE}
local now = now_ms()
local e = get_epoch()
sweep(now)
local id = ARGV[2]
if (not redis.call('ZSCORE', KEYS[1], id)) or redis.call('HEXISTS', KEYS[2], id) == 0 then
  return {0, now, e, get_seq()}
end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[3]), id)
if on_time(id, now, tonumber(ARGV[4] or '0')) then pub('alive', id, now, nil, nil) end
return {1, now, e, get_seq()}
`;

/** ARGV: channel, id. Removes the node now and publishes its leave. Returns 1 if it was registered. */
export const LEAVE = `${PRELUDE}
local now = now_ms()
local id = ARGV[2]
if forget(id) then
  pub('leave', id, now, nil, 'left')
  return 1
end
return 0
`;

/** ARGV: channel. Removes expired nodes and publishes their leaves. */
export const SWEEP = `${PRELUDE}
local now = now_ms()
local e = get_epoch()
local n = sweep(now)
return {n, now, e, get_seq()}
`;

export interface GridKeys {
  alive: string;
  nodes: string;
  state: string;
  due: string;
  suspects: string;
  channel: string;
}

const NAMESPACE = /^[A-Za-z0-9._:-]{1,128}$/;

export function isValidNamespace(ns: string): boolean {
  return NAMESPACE.test(ns);
}

export function gridKeys(namespace: string): GridKeys {
  const base = `rs:grid:{${namespace}}`;
  return { alive: `${base}:alive`, nodes: `${base}:nodes`, state: `${base}:state`, due: `${base}:due`, suspects: `${base}:suspects`, channel: `${base}:events` };
}
