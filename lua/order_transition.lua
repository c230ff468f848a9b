-- Moves an order from one status to the next, if that step is allowed.
--
-- Check and change in one step: two admins (or an admin and the owner cancelling)
-- cannot both act on the same old status. The caller passes the statuses the new one
-- may follow, so the lifecycle rules stay in one place in the Rust code.
--
-- KEYS[1]  the order hash (order:{id})
-- ARGV[1]  the new status
-- ARGV[2]  now as RFC 3339 text (updated_at and <status>_at)
-- ARGV[3..] the statuses the new one may follow
-- Returns: {'changed', old status, flat HGETALL} when moved;
--          {'same', flat HGETALL} when the order already has the new status;
--          {'invalid', current status} when the step is not allowed;
--          {'missing'} when there is no such order (or it is still being checked out).
local status = redis.call('HGET', KEYS[1], 'status')
if not status or status == 'reserving' or status == 'aborting' then
  return {'missing'}
end
if status == ARGV[1] then
  return {'same', redis.call('HGETALL', KEYS[1])}
end
for i = 3, #ARGV do
  if status == ARGV[i] then
    redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updated_at', ARGV[2],
      ARGV[1] .. '_at', ARGV[2], 'last_event', 'order.status_changed')
    return {'changed', status, redis.call('HGETALL', KEYS[1])}
  end
end
return {'invalid', status}
