-- Takes a lock (SET NX PX) and hands out the next fencing token, in one step.
--
-- The fencing counter lives in the lock's slot and is incremented by the same script
-- that wins the lock, so tokens strictly increase in the order the lock was held: a
-- storage system that remembers the highest token it has seen can refuse a write
-- from a holder whose lock expired while it was paused.
--
-- KEYS[1]  the lock (lock:{resource}), a string holding the holder's random token
-- KEYS[2]  the fencing counter (lock:{resource}:fence), durable
-- ARGV[1]  the new holder's random token
-- ARGV[2]  TTL in ms
-- Returns: {1, fencing token} when acquired; {0, remaining ms} when someone holds it.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('INCR', KEYS[2])}
end
return {0, redis.call('PTTL', KEYS[1])}
