-- Gives back a unit of an hourly quota that a request reserved but did not use.
--
-- The API limiter reserves a quota unit in `rate_limit.lua`, atomically with the
-- decision, before the handler runs (so concurrent requests can never together pass
-- the quota). Only requests that succeed, and are not idempotent replays, should use a
-- unit: for the others the unit is given back here once the answer is known. The hash
-- is per hour: when that hour has ended and the hash has expired, there is nothing to
-- give back, and HINCRBY must not re-create it without a TTL.
--
-- KEYS[1]  the quota hash (ratelimit:user:{id}:quota:<hour>)
-- ARGV[1]  the field (endpoint)
-- ARGV[2]  units to give back
-- Returns: the uses left recorded for the field (0 when the hash is gone).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
local left = redis.call('HINCRBY', KEYS[1], ARGV[1], -tonumber(ARGV[2]))
if left <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 0
end
return left
