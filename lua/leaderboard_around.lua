-- The players ranked around one player, in one round trip.
--
-- KEYS[1]  the board's sorted set (lb:{board})
-- ARGV[1]  player id
-- ARGV[2]  radius (players above and below)
-- Returns: {'done', first rank (from 0), flat member/score array highest first};
--          {'missing'} when the player has no score.
local rank = redis.call('ZREVRANK', KEYS[1], ARGV[1])
if not rank then
  return {'missing'}
end
local first = math.max(0, rank - tonumber(ARGV[2]))
local last = rank + tonumber(ARGV[2])
return {'done', first, redis.call('ZRANGE', KEYS[1], first, last, 'REV', 'WITHSCORES')}
