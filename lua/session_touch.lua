-- Validates a session and slides its idle timeout, in one round trip.
--
-- Seed 002 does HEXISTS, HSET last_activity, EXPIRE and HGETALL as four commands; a
-- session expiring or being revoked between them would be half-written back (HSET on a
-- missing key creates it). Here the check and the refresh are one atomic step, and the
-- TTL never reaches past the session's absolute lifetime.
--
-- KEYS[1]  session hash (session:{sha256-of-token})
-- ARGV[1]  now as RFC 3339 text (stored as last_activity)
-- ARGV[2]  now in Unix milliseconds
-- ARGV[3]  idle timeout in milliseconds
-- Returns: the session as a flat field/value array after the refresh, with
--          'idle_expires_at_ms' appended; {} when the session does not exist or has
--          passed its absolute lifetime (it is then deleted).
local absolute = redis.call('HGET', KEYS[1], 'expires_at_ms')
if not absolute then
  return {}
end
local remaining = tonumber(absolute) - tonumber(ARGV[2])
if remaining <= 0 then
  redis.call('DEL', KEYS[1])
  return {}
end
local ttl = math.min(remaining, tonumber(ARGV[3]))
redis.call('HSET', KEYS[1], 'last_activity', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
local session = redis.call('HGETALL', KEYS[1])
table.insert(session, 'idle_expires_at_ms')
table.insert(session, tostring(tonumber(ARGV[2]) + ttl))
return session
