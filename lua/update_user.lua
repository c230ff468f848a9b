-- Updates fields of an existing user and returns the result, in one round trip.
--
-- A bare HSET on a deleted user would re-create a partial hash; checking first with a
-- separate EXISTS would race with DELETE. The counts come from the follow sets in the
-- same slot, so the response needs no second round trip.
--
-- KEYS[1]  user hash (user:{id})
-- KEYS[2]  followers sorted set (user:{id}:followers)
-- KEYS[3]  following sorted set (user:{id}:following)
-- ARGV     field, value, field, value, ... (an empty value removes the field)
-- Returns: {} when the user does not exist, else {flat HGETALL, followers, following}.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {}
end
for i = 1, #ARGV, 2 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', KEYS[1], ARGV[i])
  else
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
return {redis.call('HGETALL', KEYS[1]), redis.call('ZCARD', KEYS[2]), redis.call('ZCARD', KEYS[3])}
