-- Starts (or takes over) the checkout of one order before any stock is taken.
--
-- The order hash is the checkout's record: it names the lines to reserve, so whoever
-- finds an unfinished checkout (a retry with the same Idempotency-Key, the sweeper)
-- knows what to complete or give back. Exactly one request works on a checkout at a
-- time: it holds a lease (a random token and a deadline); another request may take
-- over only once the lease has run out, and the request timeout is shorter than the
-- lease, so the previous holder has stopped by then.
--
-- KEYS[1]  the order hash (order:{id})
-- ARGV[1]  now, Unix ms
-- ARGV[2]  lease length in ms
-- ARGV[3]  this request's lease token
-- ARGV[4]  TTL in ms of an order whose checkout never completes
-- ARGV[5..] field, value, ... of a new order (user_id, lines, idempotency_key, ...)
-- Returns: {'started'} when the order is new; it is now 'reserving' under this token;
--          {'resumed', lines} when an unfinished checkout's lease had run out; this
--          token holds it now;
--          {'busy', lease_until} when another request holds the checkout;
--          {'committed', status, lease_until} when it is past checkout (lease_until is
--          when its holder's time to finish the follow-up steps runs out);
--          {'aborted'} when it is being rolled back.
local now = tonumber(ARGV[1])
local lease_until = now + tonumber(ARGV[2])
local order = redis.call('HMGET', KEYS[1], 'status', 'lease_until', 'lines')
local status = order[1]
if not status then
  redis.call('HSET', KEYS[1], 'status', 'reserving', 'lease_token', ARGV[3],
    'lease_until', lease_until, unpack(ARGV, 5))
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return {'started'}
end
if status == 'reserving' then
  if tonumber(order[2] or '0') > now then
    return {'busy', tonumber(order[2])}
  end
  redis.call('HSET', KEYS[1], 'lease_token', ARGV[3], 'lease_until', lease_until)
  return {'resumed', order[3] or '[]'}
end
if status == 'aborting' then
  return {'aborted'}
end
return {'committed', status, tonumber(order[2] or '0')}
