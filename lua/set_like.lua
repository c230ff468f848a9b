-- Likes or unlikes a post for one user, keeping the post's `likes` counter equal to
-- the number of likers.
--
-- Seed 000 keeps `likes` as a bare counter, so a double click counts twice and the
-- number drifts. Here the likers are a set (each user counts once) in the post's slot,
-- and the counter is re-read from the set in the same atomic step: they can never
-- diverge, under any concurrency.
--
-- KEYS[1]  post hash (post:{id})
-- KEYS[2]  likers set (post:{id}:likes)
-- ARGV[1]  user id
-- ARGV[2]  '1' to like, '0' to unlike
-- Returns: {'done', changed (1 when the set changed, else 0), likes}; {'missing'}
--          when the post does not exist (nothing written).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'missing'}
end
local changed
if ARGV[2] == '1' then
  changed = redis.call('SADD', KEYS[2], ARGV[1])
else
  changed = redis.call('SREM', KEYS[2], ARGV[1])
end
local likes = redis.call('SCARD', KEYS[2])
redis.call('HSET', KEYS[1], 'likes', likes)
return {'done', changed, likes}
