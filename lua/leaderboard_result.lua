-- Records one game result for a player: points, win or loss, last played, atomically.
--
-- Seed 002 updates the entry with separate HINCRBY calls (score, then wins); a reader
-- between them sees a score without its win. The score lives in the board's sorted
-- set (so ranks are O(log N)) and the counters in the entry hash, both in the board's
-- slot, so one script updates them together. A result whose points would take the
-- score out of -max..max (doubles are exact only up to 2^53) is refused, and the
-- board's retention is refreshed as in leaderboard_score.lua.
--
-- KEYS[1]  the board's sorted set (lb:{board})
-- KEYS[2]  the player's entry hash (lb:{board}:player:{id})
-- ARGV[1]  player id
-- ARGV[2]  'wins' or 'losses' (the counter to increment)
-- ARGV[3]  points to add to the score (may be 0 or negative), within -max..max
-- ARGV[4]  now, RFC 3339 (last_played)
-- ARGV[5]  max: the largest score magnitude allowed (2^53)
-- ARGV[6]  retention in ms of a board that is not durable
-- Returns: {'done', score (text), rank from 0, wins, losses};
--          {'out_of_range', current score (text)} when the points would leave the range (nothing
--          changed).
local durable = redis.call('PTTL', KEYS[1]) == -1
local max = tonumber(ARGV[5])
local current = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]) or '0')
local points = tonumber(ARGV[3])
if (current >= 0 and points > max - current) or (current <= 0 and points < -max - current) then
  return {'out_of_range', string.format('%.17g', current)}
end
local score = redis.call('ZINCRBY', KEYS[1], ARGV[3], ARGV[1])
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
redis.call('HSET', KEYS[2], 'last_played', ARGV[4])
if not durable then
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
end
local counts = redis.call('HMGET', KEYS[2], 'wins', 'losses')
return {'done', tostring(score), redis.call('ZREVRANK', KEYS[1], ARGV[1]),
        tonumber(counts[1] or '0'), tonumber(counts[2] or '0')}
