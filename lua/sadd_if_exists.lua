-- Adds members to a set owned by an entity, only while the entity exists.
--
-- Tagging writes the user's side (`user:{id}:tags`) first; a bare SADD after the user
-- was deleted would re-create an orphan set. The check and the write are one step.
--
-- KEYS[1]  the owner hash that must exist (user:{id})
-- KEYS[2]  the set, same hash tag (user:{id}:tags)
-- ARGV     members to add
-- Returns: the number of members added, or -1 when KEYS[1] does not exist.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -1
end
return redis.call('SADD', KEYS[2], unpack(ARGV))
