-- Lowers a product's price by an amount, refusing to go below zero.
--
-- Seed 002 uses HINCRBYFLOAT on a float price: money drifts and nothing stops a
-- negative price. Prices here are integer cents, and the check and the change are one
-- atomic step, so two concurrent discounts can never together push a price below 0.
--
-- KEYS[1]  product hash (product:{id})
-- ARGV[1]  amount in cents, a positive integer
-- ARGV[2]  now as RFC 3339 text (stored as updated_at)
-- Returns: {'done', new price_cents} when applied;
--          {'refused', current price_cents} when the price would go below 0 (nothing changed);
--          {'missing'} when the product does not exist.
local price = redis.call('HGET', KEYS[1], 'price_cents')
if not price then
  return {'missing'}
end
price = tonumber(price)
local amount = tonumber(ARGV[1])
if price - amount < 0 then
  return {'refused', price}
end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[2])
return {'done', redis.call('HINCRBY', KEYS[1], 'price_cents', -amount)}
