-- Changes fields of an existing hash and returns the whole hash, in one round trip.
--
-- A bare HSET on a missing key would create a partial entity; checking first with a
-- separate EXISTS would race with a delete. Used for PATCH of entities with no
-- counters to read alongside (products).
--
-- KEYS[1]  the hash
-- ARGV     field, value, field, value, ... (an empty value removes the field)
-- Returns: {} when the hash does not exist, else the hash as a flat HGETALL array.
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
return redis.call('HGETALL', KEYS[1])
