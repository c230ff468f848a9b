-- Opens a session on the user's aggregate, in one atomic step.
--
-- The session hash, its entry in the user's session index and the login count all
-- live in the user's slot (user:{id}, user:{id}:sessions, user:{id}:session:<sha>), so
-- a login is all-or-nothing against "revoke all" and account deletion, which run as
-- one script over the same keys: either the revocation sees this session and ends it,
-- or the session is opened after the revocation and the revocation answered before it.
-- Seed 002 writes the session hash and the user's fields as separate commands.
--
-- It refuses (answers {'refused'}) when the user hash is gone, when the account is being
-- deleted, or when the password hash is no longer the one the login verified (the
-- password was changed while argon2 was running): a login can never outlive the
-- credentials it proved. Beyond ARGV[8] sessions per user the oldest are ended, so
-- one account cannot grow its index (and the scripts that walk it) without bound.
--
-- KEYS[1]  user hash (user:{id})
-- KEYS[2]  session index (user:{id}:sessions), session id -> absolute expiry ms
-- KEYS[3]  the session hash (user:{id}:session:<sha256 of the token>)
-- ARGV[1]  session id
-- ARGV[2]  absolute expiry in Unix ms
-- ARGV[3]  now in Unix ms
-- ARGV[4]  now as RFC 3339 text (last_login)
-- ARGV[5]  lifetime in ms (TTL of the index: it outlives no session in it)
-- ARGV[6]  idle timeout in ms (TTL of the session hash)
-- ARGV[7]  the password hash the login verified
-- ARGV[8]  most sessions a user may hold at once
-- ARGV[9]  prefix of the user's session keys (user:{id}:session:)
-- ARGV[10..] the session's field/value pairs
-- Returns: {'opened', new login_count}, or {'refused'} (nothing written).
-- (the hash is in `pw`, or in `password_hash` for users stored before)
local user = redis.call('HMGET', KEYS[1], 'pw', 'password_hash', 'deleting')
local stored = user[1] or user[2]
if not stored or user[3] or stored ~= ARGV[7] then
  return {'refused'}
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[8])
if excess > 0 then
  -- Every session has the same lifetime, so the lowest expiries are the oldest logins.
  local popped = redis.call('ZPOPMIN', KEYS[2], excess)
  for i = 1, #popped, 2 do
    redis.call('DEL', ARGV[9] .. popped[i])
  end
end
local fields = {}
for i = 10, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
redis.call('HSET', KEYS[3], unpack(fields))
redis.call('PEXPIRE', KEYS[3], ARGV[6])
redis.call('HSET', KEYS[1], 'last_login', ARGV[4])
return {'opened', redis.call('HINCRBY', KEYS[1], 'login_count', 1)}
