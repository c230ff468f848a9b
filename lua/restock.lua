-- Adds units to a product's stock, never beyond the maximum a product may hold.
--
-- HINCRBY on a missing key creates it: restocking a product id that does not exist
-- would leave a hash holding nothing but `stock`. And a check of the maximum in the
-- application would race with concurrent restocks (each sees room, together they pass
-- it). So the existence check, the bound and the increment are one atomic step.
--
-- KEYS[1]  product hash (product:{id})
-- ARGV[1]  quantity to add, a positive integer
-- ARGV[2]  the most units the stock may hold
-- ARGV[3]  now as RFC 3339 text (stored as updated_at)
-- Returns: {'done', new stock} when added;
--          {'refused', current stock} when the stock would pass the maximum (nothing changed);
--          {'missing'} when the product does not exist.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'missing'}
end
local stock = tonumber(redis.call('HGET', KEYS[1], 'stock') or '0')
if stock + tonumber(ARGV[1]) > tonumber(ARGV[2]) then
  return {'refused', stock}
end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[3])
return {'done', redis.call('HINCRBY', KEYS[1], 'stock', ARGV[1])}
