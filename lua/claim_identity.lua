-- Claims unique identifiers (username, e-mail) for one user, all or nothing.
--
-- The unique indexes are hashes that share one hash tag, so this script runs in one
-- slot on a cluster and no other registration can interleave: two registrations racing
-- for the same username cannot both win, and a registration whose e-mail is taken
-- leaves its username unclaimed.
--
-- KEYS[n]  index hash for identifier n (e.g. users:{identity}:by_username)
-- ARGV[1]  the user id that claims
-- ARGV[2n] the identifier value for KEYS[n] (already lower-cased)
-- ARGV[2n+1] a stale owner that may be replaced ('' for none): the caller passes the
--          id found in a previous attempt once it has checked that user is gone
-- Returns: {'claimed'} when every identifier is now owned by ARGV[1];
--          {'taken', n, owner} for the first identifier held by someone else
--          (nothing written).
local claimant = ARGV[1]
for n = 1, #KEYS do
  local owner = redis.call('HGET', KEYS[n], ARGV[2 * n])
  if owner and owner ~= claimant and owner ~= ARGV[2 * n + 1] then
    return {'taken', n, owner}
  end
end
for n = 1, #KEYS do
  redis.call('HSET', KEYS[n], ARGV[2 * n], claimant)
end
return {'claimed'}
