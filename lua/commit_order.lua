-- Turns a checkout whose stock is all held into a pending order.
--
-- Only the lease holder may commit: if the checkout was taken over or rolled back in
-- the meantime the token no longer matches and nothing changes. The order becomes
-- durable here (PERSIST), with its line items embedded as a JSON snapshot (seed 000's
-- embedding pattern: one HGETALL shows the whole order).
--
-- KEYS[1]  the order hash (order:{id})
-- ARGV[1]  this request's lease token
-- ARGV[2]  items as JSON: [{product_id, name, quantity, unit_price_cents}]
-- ARGV[3]  total in cents
-- ARGV[4]  now as RFC 3339 text (created_at)
-- Returns: 1 when committed, 0 when this request no longer holds the checkout.
local order = redis.call('HMGET', KEYS[1], 'status', 'lease_token')
if order[1] ~= 'reserving' or order[2] ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'status', 'pending', 'items', ARGV[2], 'total_cents', ARGV[3],
  'created_at', ARGV[4], 'last_event', 'order.created')
redis.call('HDEL', KEYS[1], 'lease_token')
redis.call('PERSIST', KEYS[1])
return 1
