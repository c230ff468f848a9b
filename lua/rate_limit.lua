-- Exact sliding-window rate limit, optionally with an hourly per-endpoint quota.
--
-- Seed 001 pipelines ZREMRANGEBYSCORE, ZADD, ZCARD, EXPIRE: the ZADD happens before the
-- decision, so rejected requests fill the window (a client that keeps retrying is
-- locked out for good), two requests in the same millisecond collide on one member,
-- and concurrent requests can all pass the count. Here the decision and the write are
-- one atomic step, a rejected request is not counted, and time comes from the Redis
-- server so app instances with skewed clocks agree.
--
-- A request is ONE member whatever its cost, so a call does O(log n) work and adds at
-- most one member (a request of cost 100000 used to be 100000 ZADDs). The member carries
-- the running total of units admitted into this window, `<total>:<cost>`, so:
--   units in the window = total(newest) - (total(oldest) - cost(oldest))   (two ZRANGEs)
-- and the member whose departure frees enough units for a rejected request is found
-- by a binary search over ranks (only on rejection; at most ~17 probes at n = 100000).
-- Scores are admission times in microseconds, made strictly increasing (a second
-- request in the same microsecond, or after the clock stepped back, is recorded 1 µs
-- after the previous one), so rank order is admission order and the totals increase
-- along the ranks. Totals are kept modulo 2^50 (exact in Lua's doubles; the units in a
-- window never come near it), so a window that is never empty cannot overflow them.
-- Entries that left the window are removed by ZREMRANGEBYSCORE: each was added by one
-- earlier call, so that work is paid for once.
--
-- KEYS[1]  the window: sorted set, member = '<running total>:<cost>',
--          score = admission time in µs
-- KEYS[2]  optional quota hash (same slot): field → uses in the current hour
-- ARGV[1]  limit (units per window)
-- ARGV[2]  window in ms
-- ARGV[3]  cost (units this request takes)
-- ARGV[4]  quota field (only with KEYS[2])
-- ARGV[5]  quota limit per hour (only with KEYS[2])
-- ARGV[6]  ms until the quota hour ends (only with KEYS[2]; also the hash's TTL)
-- Returns: {'allowed', remaining, reset_ms}, or {'window' | 'quota', remaining, reset_ms,
--          retry_after_ms} when the window or the quota rejects the request
--   remaining       units left in the window after this request
--   reset_ms        ms until the oldest counted request leaves the window
--   retry_after_ms  ms until this same request would be allowed (-1 if never: cost
--                   above the limit)
local MOD = 1125899906842624 -- 2^50

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2]) * 1000
local cost = tonumber(ARGV[3])

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])

-- The entry at a rank: running total, cost, admission time (µs).
local function entry(rank)
  local found = redis.call('ZRANGE', KEYS[1], rank, rank, 'WITHSCORES')
  local member = found[1]
  local colon = string.find(member, ':', 1, true)
  return tonumber(string.sub(member, 1, colon - 1)),
    tonumber(string.sub(member, colon + 1)),
    tonumber(found[2])
end

-- Whole ms (rounded up) until an entry admitted at `at` leaves the window; 0 for none.
local function ms_until_gone(at)
  if not at then
    return 0
  end
  return math.max(0, math.ceil((at + window - now) / 1000))
end

local used, base, newest_total, newest_cost, newest_at, oldest_at = 0, 0, 0, 0, 0, nil
if n > 0 then
  local oldest_total, oldest_cost
  oldest_total, oldest_cost, oldest_at = entry(0)
  base = (oldest_total - oldest_cost) % MOD
  newest_total, newest_cost, newest_at = entry(n - 1)
  used = (newest_total - base) % MOD
end

if used + cost > limit then
  local retry = -1
  if cost <= limit then
    -- The oldest entry whose departure frees `need` units: the first rank whose running
    -- total (counted from the window's start) reaches `need`.
    local need = used + cost - limit
    local low, high = 0, n - 1
    while low < high do
      local middle = math.floor((low + high) / 2)
      local total = entry(middle)
      if (total - base) % MOD >= need then
        high = middle
      else
        low = middle + 1
      end
    end
    local _, _, at = entry(low)
    retry = ms_until_gone(at)
  end
  return {'window', math.max(0, limit - used), ms_until_gone(oldest_at), retry}
end

if KEYS[2] then
  local quota_used = tonumber(redis.call('HGET', KEYS[2], ARGV[4]) or '0')
  if quota_used + cost > tonumber(ARGV[5]) then
    return {'quota', limit - used, ms_until_gone(oldest_at), tonumber(ARGV[6])}
  end
  redis.call('HINCRBY', KEYS[2], ARGV[4], cost)
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
end

local at = math.max(now, newest_at + 1)
local total = (newest_total + cost) % MOD
redis.call('ZADD', KEYS[1], string.format('%d', at), string.format('%d:%d', total, cost))
-- The newest entry leaves the window `window` after `at` (1 ms margin for a µs bump).
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + 1)
return {'allowed', limit - used - cost, ms_until_gone(oldest_at or at)}
