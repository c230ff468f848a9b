-- Exact sliding-window rate limit, optionally with an hourly per-endpoint quota.
--
-- Seed 001 pipelines ZREMRANGEBYSCORE, ZADD, ZCARD, EXPIRE: the ZADD happens before the
-- decision, so rejected requests fill the window (a client that keeps retrying is
-- locked out for good), two requests in the same millisecond collide on one member,
-- and concurrent requests can all pass the count. Here the decision and the write are
-- one atomic step, a rejected request is not counted, each request is its own member
-- (the caller's unique id), and time comes from the Redis server so app instances with
-- skewed clocks agree.
--
-- KEYS[1]  the window: sorted set, member = request id (+ ':n' per unit of cost),
--          score = time in ms
-- KEYS[2]  optional quota hash (same slot): field → uses in the current hour
-- ARGV[1]  limit (requests per window)
-- ARGV[2]  window in ms
-- ARGV[3]  cost (units this request takes)
-- ARGV[4]  unique request id
-- ARGV[5]  quota field (only with KEYS[2])
-- ARGV[6]  quota limit per hour (only with KEYS[2])
-- ARGV[7]  ms until the quota hour ends (only with KEYS[2]; also the hash's TTL)
-- Returns: {allowed 1|0, remaining, reset_ms, retry_after_ms, reason}
--   remaining       units left in the window after this request
--   reset_ms        ms until the oldest counted request leaves the window
--   retry_after_ms  when rejected: ms until this same request would be allowed
--                   (-1 if never: cost above the limit); 0 when allowed
--   reason          'ok', 'window' or 'quota'
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])

local function reset_ms()
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if #oldest == 0 then
    return 0
  end
  return tonumber(oldest[2]) + window - now
end

if used + cost > limit then
  local retry = -1
  if cost <= limit then
    -- The (used + cost - limit)-th oldest entry must leave the window first.
    local need = used + cost - limit
    local entry = redis.call('ZRANGE', KEYS[1], need - 1, need - 1, 'WITHSCORES')
    retry = tonumber(entry[2]) + window - now
  end
  return {0, math.max(0, limit - used), reset_ms(), retry, 'window'}
end

if KEYS[2] then
  local quota_used = tonumber(redis.call('HGET', KEYS[2], ARGV[5]) or '0')
  if quota_used + cost > tonumber(ARGV[6]) then
    return {0, limit - used, reset_ms(), tonumber(ARGV[7]), 'quota'}
  end
  redis.call('HINCRBY', KEYS[2], ARGV[5], cost)
  redis.call('PEXPIRE', KEYS[2], ARGV[7])
end

for n = 1, cost do
  redis.call('ZADD', KEYS[1], now, ARGV[4] .. ':' .. n)
end
redis.call('PEXPIRE', KEYS[1], window)
return {1, limit - used - cost, reset_ms(), 0, 'ok'}
