-- Adds members to a sorted set owned by an entity, only while the entity exists, and
-- optionally keeps only the newest N members.
--
-- Used for every sorted set that hangs off a user: the follow sets, the author's post
-- index, home timelines (fan-out) and activity feeds. A plain ZADD after the user was
-- deleted would re-create a key nobody owns (and that no later delete would find); the
-- check and the write are one step here. The cap is seed 000's ZREMRANGEBYRANK trim,
-- done in the same step so the set never exceeds it.
--
-- KEYS[1]  the owner hash that must exist (user:{id})
-- KEYS[2]  the sorted set, same hash tag (user:{id}:timeline, ...)
-- ARGV[1]  cap: keep only the N highest-scored members; 0 for no cap
-- ARGV[2]  'NX' to keep the score of members already present, '' to overwrite it
-- ARGV[3..] score, member, score, member, ...
-- Returns: {'done', added, cardinality, score}: score is the first member's score after the
--          write (with NX: the one it already had, so a retried follow reuses it);
--          {'missing'} when KEYS[1] does not exist (nothing written).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'missing'}
end
local added
if ARGV[2] == 'NX' then
  added = redis.call('ZADD', KEYS[2], 'NX', unpack(ARGV, 3))
else
  added = redis.call('ZADD', KEYS[2], unpack(ARGV, 3))
end
local cap = tonumber(ARGV[1])
if cap > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(cap + 1))
end
return {'done', added, redis.call('ZCARD', KEYS[2]), redis.call('ZSCORE', KEYS[2], ARGV[4]) or '0'}
