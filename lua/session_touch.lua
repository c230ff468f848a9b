-- Validates a session and, when due, slides its idle timeout: one round trip.
--
-- Seed 002 does HEXISTS, HSET last_activity, EXPIRE and HGETALL as four commands; a
-- session expiring or being revoked between them would be half-written back (HSET on a
-- missing key creates it). Here the check and the refresh are one atomic step, and the
-- TTL never reaches past the session's absolute lifetime.
--
-- Reads do not write: the refresh (HSET last_activity + PEXPIRE) runs only when at
-- least ARGV[4] ms have passed since the last one (the time since is the idle timeout
-- minus the remaining PTTL), so most authenticated requests are read-only. The writes
-- go through pcall: a Redis that is out of memory (maxmemory, noeviction) refuses
-- them, and the session is still answered, so reads keep working when writes cannot.
--
-- The session is also refused (and deleted) when its user is gone or being deleted:
-- the user hash shares the slot, so this costs no extra round trip.
--
-- KEYS[1]  session hash (user:{id}:session:{sha256-of-token})
-- KEYS[2]  user hash (user:{id})
-- ARGV[1]  now as RFC 3339 text (stored as last_activity)
-- ARGV[2]  now in Unix milliseconds
-- ARGV[3]  idle timeout in milliseconds
-- ARGV[4]  refresh interval in milliseconds (0: refresh on every call)
-- Returns: the session as a flat field/value array (after the refresh, if one ran),
--          with 'idle_expires_at_ms' appended; {} when the session does not exist,
--          has passed its absolute lifetime, or its user is gone.
local absolute = redis.call('HGET', KEYS[1], 'expires_at_ms')
if not absolute then
  return {}
end
local user = redis.call('HMGET', KEYS[2], 'username', 'deleting')
local remaining = tonumber(absolute) - tonumber(ARGV[2])
if remaining <= 0 or not user[1] or user[2] then
  redis.pcall('DEL', KEYS[1])
  return {}
end
local ttl = math.min(remaining, tonumber(ARGV[3]))
local pttl = redis.call('PTTL', KEYS[1])
local idle_expires = tonumber(ARGV[2]) + pttl
if pttl < 0 or ttl - pttl >= tonumber(ARGV[4]) then
  local set = redis.pcall('HSET', KEYS[1], 'last_activity', ARGV[1])
  if type(set) ~= 'table' or not set.err then
    redis.pcall('PEXPIRE', KEYS[1], ttl)
    idle_expires = tonumber(ARGV[2]) + ttl
  end
end
local session = redis.call('HGETALL', KEYS[1])
table.insert(session, 'idle_expires_at_ms')
table.insert(session, tostring(idle_expires))
return session
