-- Takes a lock (SET NX PX) and hands out the next fencing token, in one step.
--
-- The fencing counter lives in the lock's slot and is incremented by the same script
-- that wins the lock, so tokens strictly increase in the order the lock was held: a
-- storage system that remembers the highest token it has seen can refuse a write
-- from a holder whose lock expired while it was paused.
--
-- Anyone may lock any resource name, so the counter cannot be durable: it expires
-- after a retention (refreshed by every acquire and extend, and much longer than the
-- longest lock). Tokens must still never go back when it is gone, however long a
-- paused holder waits before presenting its token, so a counter that does not exist
-- starts at the Redis server's time in microseconds rather than at 1. Every token of
-- the counter's earlier life was at most the time of its acquisition in µs (each
-- acquisition takes more than a microsecond, so the +1 steps never outrun the clock),
-- and the restart happens after all of them: it is larger than every earlier token.
--
-- KEYS[1]  the lock (lock:{resource}), a string holding the holder's random token
-- KEYS[2]  the fencing counter (lock:{resource}:fence)
-- ARGV[1]  the new holder's random token
-- ARGV[2]  TTL in ms
-- ARGV[3]  the fencing counter's retention in ms
-- Returns: {'acquired', fencing token}; {'held', remaining ms} when someone holds it.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local fence
  if redis.call('EXISTS', KEYS[2]) == 1 then
    fence = redis.call('INCR', KEYS[2])
  else
    local time = redis.call('TIME')
    fence = tonumber(time[1]) * 1000000 + tonumber(time[2])
    redis.call('SET', KEYS[2], string.format('%d', fence))
  end
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  return {'acquired', fence}
end
return {'held', redis.call('PTTL', KEYS[1])}
