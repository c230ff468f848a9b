-- Replaces a user's password hash, only if it is still the one the caller verified.
--
-- The current password is checked with argon2 outside Redis (tens of milliseconds);
-- two changes racing each other, or a change racing an account deletion, must not
-- both win. Compare-and-set on the stored hash makes the second one fail (409).
--
-- KEYS[1]  user hash (user:{id})
-- ARGV[1]  the password hash the caller verified
-- ARGV[2]  the new password hash
-- Returns: 1 when replaced, 0 when the user is gone, being deleted, or the hash changed.
local user = redis.call('HMGET', KEYS[1], 'password_hash', 'deleting')
if not user[1] or user[2] or user[1] ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'password_hash', ARGV[2])
return 1
