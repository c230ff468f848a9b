-- Records one game result for a player: points, win or loss, last played, atomically.
--
-- Seed 002 updates the entry with separate HINCRBY calls (score, then wins); a reader
-- between them sees a score without its win. The score lives in the board's sorted
-- set (so ranks are O(log N)) and the counters in the entry hash, both in the board's
-- slot, so one script updates them together.
--
-- KEYS[1]  the board's sorted set (lb:{board})
-- KEYS[2]  the player's entry hash (lb:{board}:player:{id})
-- ARGV[1]  player id
-- ARGV[2]  'wins' or 'losses' (the counter to increment)
-- ARGV[3]  points to add to the score (may be 0 or negative)
-- ARGV[4]  now, RFC 3339 (last_played)
-- Returns: {score (text), rank from 0, wins, losses}
local score = redis.call('ZINCRBY', KEYS[1], ARGV[3], ARGV[1])
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
redis.call('HSET', KEYS[2], 'last_played', ARGV[4])
local counts = redis.call('HMGET', KEYS[2], 'wins', 'losses')
return {tostring(score), redis.call('ZREVRANK', KEYS[1], ARGV[1]),
        tonumber(counts[1] or '0'), tonumber(counts[2] or '0')}
