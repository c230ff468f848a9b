-- Gives back the stock one order holds of one product, at most once.
--
-- Used to roll back a checkout and to cancel an order. The reservation record is
-- removed in the same step that returns the stock, so a retried release (after a crash,
-- or by the sweeper and a client at once) gives nothing back twice.
--
-- KEYS[1]  product hash (product:{id})
-- KEYS[2]  the product's reservations hash (product:{id}:reservations)
-- ARGV[1]  order id
-- Returns: the quantity returned to stock (0 when the order held none).
local held = redis.call('HGET', KEYS[2], ARGV[1])
if not held then
  return 0
end
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'stock', held)
end
return tonumber(held)
