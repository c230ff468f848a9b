-- Releases unique identifiers, but only those still owned by the given user.
--
-- Compare-and-delete in one step: a plain HDEL could free a name that another user
-- has claimed since (after this user's claim was found stale and replaced).
--
-- KEYS[n]  index hash for identifier n
-- ARGV[1]  the user id that releases
-- ARGV[n+1] the identifier value in KEYS[n]
-- Returns: the number of identifiers released.
local released = 0
for n = 1, #KEYS do
  if redis.call('HGET', KEYS[n], ARGV[n + 1]) == ARGV[1] then
    released = released + redis.call('HDEL', KEYS[n], ARGV[n + 1])
  end
end
return released
