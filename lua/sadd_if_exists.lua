-- Adds members to a set owned by an entity, only while the entity exists and the set
-- stays within its cap.
--
-- Tagging writes the user's side (`user:{id}:tags`) first; a bare SADD after the user
-- was deleted would re-create an orphan set. The check and the write are one step. The
-- cap keeps the set small enough to be answered whole (GET /v1/users/{id}/tags); a
-- member already in the set is always accepted (tagging is idempotent).
--
-- KEYS[1]  the owner hash that must exist (user:{id})
-- KEYS[2]  the set, same hash tag (user:{id}:tags)
-- ARGV[1]  the most members the set may hold; 0 for no cap
-- ARGV[2…] members to add
-- Returns: {'done', number of members added}; {'missing'} when KEYS[1] does not exist;
--          {'full'} when the new members would take the set past ARGV[1] (nothing
--          added).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'missing'}
end
local cap = tonumber(ARGV[1])
local members = {}
for i = 2, #ARGV do
  members[#members + 1] = ARGV[i]
end
if cap > 0 then
  local new = 0
  for _, member in ipairs(members) do
    if redis.call('SISMEMBER', KEYS[2], member) == 0 then
      new = new + 1
    end
  end
  if new > 0 and redis.call('SCARD', KEYS[2]) + new > cap then
    return {'full'}
  end
end
return {'done', redis.call('SADD', KEYS[2], unpack(members))}
