-- The API limiter: GCRA (generic cell rate algorithm), optionally with an hourly
-- per-endpoint quota.
--
-- One small key per client: a string holding the theoretical arrival time (TAT, µs on
-- the Redis clock) of the client's next request, whatever the limit. Requests are
-- spaced by the emission interval T = ceil(window / limit) µs and the client may run
-- ahead of its schedule by at most `limit` intervals: so at most `limit` requests at
-- once (a full bucket), refilled at one per T, never more than `limit` per window on
-- average and never a burst beyond `limit`. Everything is integer microseconds (exact
-- in Lua's doubles); rounding T up only ever makes the limit stricter, by under 1 µs
-- per interval. A rejected request changes nothing. Time comes from the Redis server,
-- so instances with skewed clocks agree. Compared with the sliding-window log it
-- replaces (`rate_limit.lua`, still used by POST /v1/rate-limits/check), this is O(1)
-- in time and memory per client instead of a sorted set of up to `limit` members.
--
-- A lease: with ARGV[4] above the cost, the script grants as many units as the bucket
-- holds, up to ARGV[4] (at least the cost, else it refuses), and charges them all now;
-- the instance spends them locally (see api_limiter.rs). Charged units are never
-- counted twice or given back, so leases cannot admit more than the bucket allows.
--
-- KEYS[1]  the client's TAT (string, integer µs; PX = until the bucket is full again)
-- KEYS[2]  optional quota hash (same slot): field → uses in the current hour
-- ARGV[1]  limit (requests per window, also the largest burst)
-- ARGV[2]  window in ms
-- ARGV[3]  cost (units this request takes)
-- ARGV[4]  most units to grant (>= cost; = cost: exactly the cost, no lease)
-- ARGV[5]  quota field (only with KEYS[2])
-- ARGV[6]  quota limit per hour (only with KEYS[2])
-- ARGV[7]  ms until the quota hour ends (only with KEYS[2]; also the hash's TTL)
-- Returns (tagged, like every script with several outcomes):
--   {'allowed', remaining, reset_ms, granted}
--   {'window' | 'quota', remaining, reset_ms, retry_after_ms}
--   granted         units granted: cost..ARGV[4]
--   remaining       whole requests the client could send at once now (after this one)
--   reset_ms        ms until the bucket is full again
--   retry_after_ms  ms until this same request would be allowed (-1 if never: cost
--                   above the limit)
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local limit = tonumber(ARGV[1])
local interval = math.ceil(tonumber(ARGV[2]) * 1000 / limit)
local capacity = limit * interval
local cost = tonumber(ARGV[3])
local most = math.max(cost, tonumber(ARGV[4]))

local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then
  tat = now
end

local function ms(us)
  return math.max(0, math.ceil(us / 1000))
end

local function remaining_at(t)
  return math.max(0, math.floor((capacity - (t - now)) / interval))
end

local room = remaining_at(tat)
if room < cost then
  local retry = -1
  if cost <= limit then
    retry = ms(tat + cost * interval - capacity - now)
  end
  return {'window', room, ms(tat - now), retry}
end
local granted = math.min(most, room)

if KEYS[2] then
  local quota_used = tonumber(redis.call('HGET', KEYS[2], ARGV[5]) or '0')
  if quota_used + granted > tonumber(ARGV[6]) then
    return {'quota', room, ms(tat - now), tonumber(ARGV[7])}
  end
  redis.call('HINCRBY', KEYS[2], ARGV[5], granted)
  redis.call('PEXPIRE', KEYS[2], ARGV[7])
end

local next_tat = tat + granted * interval
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', ms(next_tat - now) + 1)
return {'allowed', remaining_at(next_tat), ms(next_tat - now), granted}
