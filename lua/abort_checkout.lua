-- Marks an unfinished checkout as being rolled back, so that nobody resumes it.
--
-- The holder of the lease aborts its own checkout when a product is short; the sweeper
-- (token '') may abort only a checkout whose lease has run out. After this the caller
-- gives back every line's stock (idempotent per order and product) and then deletes
-- the order; an order already 'aborting' is handed out again, so a crash during the
-- rollback is finished by the next caller.
--
-- KEYS[1]  the order hash (order:{id})
-- ARGV[1]  the caller's lease token, or '' for the sweeper
-- ARGV[2]  now, Unix ms
-- Returns: {'aborting', lines, user_id, idempotency_key} when the caller must roll back;
--          {'busy'} when another request holds the checkout;
--          {'committed', status, lease_until} when it is past checkout (finish it instead);
--          {'gone'} when there is no such order.
local order = redis.call('HMGET', KEYS[1], 'status', 'lease_token', 'lease_until', 'lines',
  'user_id', 'idempotency_key')
local status = order[1]
if not status then
  return {'gone'}
end
if status == 'reserving' then
  if ARGV[1] == '' then
    if tonumber(order[3] or '0') > tonumber(ARGV[2]) then
      return {'busy'}
    end
  elseif order[2] ~= ARGV[1] then
    return {'busy'}
  end
  redis.call('HSET', KEYS[1], 'status', 'aborting')
  redis.call('HDEL', KEYS[1], 'lease_token')
  status = 'aborting'
end
if status == 'aborting' then
  return {'aborting', order[4] or '[]', order[5] or '', order[6] or ''}
end
return {'committed', status, tonumber(order[3] or '0')}
