-- Sets or increments a player's score and returns the new score and rank, in one step.
--
-- Seed 001 runs ZADD and then ZREVRANK as two commands: another write between them
-- makes the returned rank belong to a different moment than the score. Here both are
-- one atomic step, and the player's entry hash (same slot) gets its profile fields.
--
-- KEYS[1]  the board's sorted set (lb:{board})
-- KEYS[2]  the player's entry hash (lb:{board}:player:{id})
-- ARGV[1]  player id
-- ARGV[2]  'set' or 'increment'
-- ARGV[3]  score (or increment)
-- ARGV[4..] optional field, value pairs for the entry hash (username, level)
-- Returns: {score (as text), rank counted from 0, highest first}
local score
if ARGV[2] == 'increment' then
  score = redis.call('ZINCRBY', KEYS[1], ARGV[3], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  score = ARGV[3]
end
if #ARGV > 3 then
  redis.call('HSET', KEYS[2], unpack(ARGV, 4))
end
return {tostring(score), redis.call('ZREVRANK', KEYS[1], ARGV[1])}
