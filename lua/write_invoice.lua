-- Writes the one invoice of an order, or brings its status up to date.
--
-- The billing consumer group may see an order's events more than once (redelivery,
-- reclaim after a crash) and out of order (a reclaimed `created` after a `paid`). The
-- invoice lives in the order's slot under a key named by the order, and is derived
-- from the order's current state in the same atomic step: however often and in
-- whatever order events arrive, each order has exactly one invoice, and it is right.
--
-- KEYS[1]  the order hash (order:{id})
-- KEYS[2]  the invoice hash (order:{id}:invoice)
-- ARGV[1]  order id
-- ARGV[2]  now as RFC 3339 text
-- ARGV[3]  id of the stream entry being processed
-- Returns: {'written' | 'updated' | 'unchanged', invoice status};
--          {'missing'} when there is no committed order of that id.
local order = redis.call('HMGET', KEYS[1], 'status', 'user_id', 'total_cents', 'items')
local status = order[1]
if not status or status == 'reserving' or status == 'aborting' then
  return {'missing'}
end
local wanted = 'issued'
if status == 'paid' or status == 'shipped' or status == 'delivered' then
  wanted = 'paid'
elseif status == 'cancelled' then
  wanted = 'void'
end
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('HSET', KEYS[2], 'id', 'inv-' .. ARGV[1], 'order_id', ARGV[1],
    'user_id', order[2] or '', 'total_cents', order[3] or '0', 'items', order[4] or '[]',
    'status', wanted, 'issued_at', ARGV[2], 'updated_at', ARGV[2], 'event_id', ARGV[3])
  return {'written', wanted}
end
if redis.call('HGET', KEYS[2], 'status') ~= wanted then
  redis.call('HSET', KEYS[2], 'status', wanted, 'updated_at', ARGV[2])
  return {'updated', wanted}
end
return {'unchanged', wanted}
