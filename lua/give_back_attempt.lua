-- Gives back a login attempt's slot in a throttle counter, without re-creating it.
--
-- A plain DECR on a counter whose window just ended would create it again at -1 with
-- no TTL: a key that never expires and a budget that grows. Only a live counter is
-- decremented.
--
-- KEYS[1]  the counter (login:attempts:ip:{…})
-- Returns: {'done', the counter after the decrement}; {'missing'} when it had expired.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'missing'}
end
return {'done', redis.call('DECR', KEYS[1])}
