-- Gives back a login attempt's slot in a throttle counter, without re-creating it.
--
-- A plain DECR on a counter whose window just ended would create it again at -1 with
-- no TTL: a key that never expires and a budget that grows. Only a live counter is
-- decremented.
--
-- KEYS[1]  the counter (login:attempts:ip:{…})
-- Returns: the counter after the decrement, or -1 when it had expired.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -1
end
return redis.call('DECR', KEYS[1])
