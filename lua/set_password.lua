-- Replaces a user's password hash, only if it is still the one the caller verified.
--
-- The current password is checked with argon2 outside Redis (tens of milliseconds);
-- two changes racing each other, or a change racing an account deletion, must not
-- both win. Compare-and-set on the stored hash makes the second one fail (409).
--
-- The hash lives in `pw`; users stored before keep it in `password_hash` until this
-- script moves it (a password change, or the login that rewrites it compactly).
--
-- KEYS[1]  user hash (user:{id})
-- ARGV[1]  the password hash the caller verified
-- ARGV[2]  the new password hash
-- Returns: {'replaced'}, or {'refused'} when the user is gone, being deleted, or the
--          hash changed (nothing written).
local user = redis.call('HMGET', KEYS[1], 'pw', 'password_hash', 'deleting')
local stored = user[1] or user[2]
if not stored or user[3] or stored ~= ARGV[1] then
  return {'refused'}
end
redis.call('HSET', KEYS[1], 'pw', ARGV[2])
redis.call('HDEL', KEYS[1], 'password_hash')
return {'replaced'}
