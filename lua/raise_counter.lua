-- Raises an integer counter to at least a minimum, never lowering it.
--
-- The seed loads users with fixed ids; the id counter must then be past them so INCR
-- never hands out a seeded id, and re-running the seed must change nothing.
--
-- KEYS[1]  the counter (a string holding an integer)
-- ARGV[1]  the minimum value
-- Returns: the counter's value afterwards.
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local minimum = tonumber(ARGV[1])
if current < minimum then
  redis.call('SET', KEYS[1], ARGV[1])
  return minimum
end
return current
