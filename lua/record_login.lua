-- Records a successful login on the user's aggregate, in one atomic step.
--
-- Adds the session to the user's session index, drops index entries past their
-- absolute lifetime, and counts the login (seed 001/002: HINCRBY login_count). All keys
-- share the user's hash tag. It refuses when the user hash is gone (deleted while the
-- password was being checked), so a login can never re-create a half user.
--
-- KEYS[1]  user hash (user:{id})
-- KEYS[2]  session index (user:{id}:sessions), token hash -> absolute expiry ms
-- ARGV[1]  token hash
-- ARGV[2]  absolute expiry in Unix ms
-- ARGV[3]  now in Unix ms
-- ARGV[4]  now as RFC 3339 text (last_login)
-- ARGV[5]  lifetime in ms (TTL of the index: it outlives no session in it)
-- Returns: the new login_count, or 0 when the user does not exist.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('HSET', KEYS[1], 'last_login', ARGV[4])
return redis.call('HINCRBY', KEYS[1], 'login_count', 1)
