-- Sets or increments a player's score and returns the new score and rank, in one step.
--
-- Seed 001 runs ZADD and then ZREVRANK as two commands: another write between them
-- makes the returned rank belong to a different moment than the score. Here both are
-- one atomic step, and the player's entry hash (same slot) gets its profile fields.
--
-- Scores are doubles in Redis, exact only up to 2^53: an increment whose result would
-- leave -max..max is refused here, atomically, instead of being rounded (the caller
-- checks the given value itself; only the script knows the current score).
--
-- Boards are created by their first score, so a board someone made up must not stay
-- forever: a board that has a TTL, or does not exist yet, gets (again) the retention
-- on every write, and its player's entry with it. A board that exists without a TTL
-- (the seed's, or one an operator made durable with PERSIST) stays durable.
--
-- KEYS[1]  the board's sorted set (lb:{board})
-- KEYS[2]  the player's entry hash (lb:{board}:player:{id})
-- ARGV[1]  player id
-- ARGV[2]  'set' or 'increment'
-- ARGV[3]  score (or increment), an integer within -max..max
-- ARGV[4]  max: the largest score magnitude allowed (2^53)
-- ARGV[5]  retention in ms of a board that is not durable
-- ARGV[6..] optional field, value pairs for the entry hash (username, level)
-- Returns: {'done', score (as text), rank counted from 0, highest first};
--          {'out_of_range', current score (as text)} when an increment would leave the range
--          (nothing changed).
local durable = redis.call('PTTL', KEYS[1]) == -1
local score
if ARGV[2] == 'increment' then
  local max = tonumber(ARGV[4])
  local current = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]) or '0')
  local by = tonumber(ARGV[3])
  -- Compared without forming current + by, which is not exact beyond 2^53.
  if (current >= 0 and by > max - current) or (current <= 0 and by < -max - current) then
    return {'out_of_range', string.format('%.17g', current)}
  end
  score = redis.call('ZINCRBY', KEYS[1], ARGV[3], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  score = ARGV[3]
end
if #ARGV > 5 then
  redis.call('HSET', KEYS[2], unpack(ARGV, 6))
end
if not durable then
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
end
return {'done', tostring(score), redis.call('ZREVRANK', KEYS[1], ARGV[1])}
