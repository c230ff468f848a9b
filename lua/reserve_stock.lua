-- Takes stock of one product for one order, at most once per (order, product).
--
-- A checkout spans several products, each in its own slot, so it reserves them one
-- script each. The reservation is recorded in the product's own slot in the same
-- step that takes the stock, which is what makes a retried checkout safe: a second
-- call for the same order takes nothing more. The name and price are read in the same
-- step, so the order's snapshot is what was on sale when the stock was taken.
--
-- KEYS[1]  product hash (product:{id})
-- KEYS[2]  the product's reservations hash (product:{id}:reservations: order → qty)
-- ARGV[1]  order id
-- ARGV[2]  quantity, a positive integer
-- Returns: {'held', name, price_cents} when the stock is held for the order (now or before);
--          {'short', current stock} when there is not enough (nothing taken);
--          {'missing'} when the product does not exist.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'missing'}
end
if not redis.call('HGET', KEYS[2], ARGV[1]) then
  local stock = tonumber(redis.call('HGET', KEYS[1], 'stock') or '0')
  local quantity = tonumber(ARGV[2])
  if stock < quantity then
    return {'short', stock}
  end
  redis.call('HINCRBY', KEYS[1], 'stock', -quantity)
  redis.call('HSET', KEYS[2], ARGV[1], quantity)
end
local product = redis.call('HMGET', KEYS[1], 'name', 'price_cents')
return {'held', product[1] or '', tonumber(product[2] or '0')}
