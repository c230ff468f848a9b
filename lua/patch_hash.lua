-- Changes fields of an existing hash and returns it, with the sizes of related sorted
-- sets, in one round trip.
--
-- A bare HSET on a missing key would create a partial entity; checking first with a
-- separate EXISTS would race with a delete. Used by PATCH of products (hash only) and
-- of users (hash plus the follower/following counts the response shows).
--
-- KEYS[1]  the hash
-- KEYS[2..] optional sorted sets in the same slot whose ZCARD is returned
-- ARGV     field, value, field, value, ... (an empty value removes the field)
-- Returns: {'missing'} when the hash does not exist (nothing written), else
--          {'done', flat HGETALL, ZCARD of KEYS[2], ...}.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'missing'}
end
for i = 1, #ARGV, 2 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', KEYS[1], ARGV[i])
  else
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
local reply = {'done', redis.call('HGETALL', KEYS[1])}
for n = 2, #KEYS do
  table.insert(reply, redis.call('ZCARD', KEYS[n]))
end
return reply
