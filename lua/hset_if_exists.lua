-- Sets fields on a hash only if the hash exists.
--
-- HSET on a missing key creates it; when a denormalized copy (a session's role, a post's
-- author name) is updated after its original expired or was deleted, that would leave a
-- partial hash behind with no TTL. This does the check and the write in one step.
--
-- KEYS[1]  the hash
-- ARGV     field, value, field, value, ...
-- Returns: 1 if the hash existed and was updated, 0 otherwise.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
