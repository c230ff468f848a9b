-- Sells `quantity` units of a product if, and only if, that many are in stock.
--
-- Seed 002 reads the stock and then runs HINCRBY: two buyers can both read "1" and both
-- buy it. Here the check and the decrement are one atomic step, so stock never goes
-- below zero and a refused purchase changes nothing.
--
-- KEYS[1]  product hash (product:{id})
-- ARGV[1]  quantity, a positive integer
-- Returns: {'done', remaining stock} when sold;
--          {'refused', current stock} when there is not enough (nothing changed);
--          {'missing'} when the product does not exist.
local stock = redis.call('HGET', KEYS[1], 'stock')
if not stock then
  return {'missing'}
end
stock = tonumber(stock)
local quantity = tonumber(ARGV[1])
if stock < quantity then
  return {'refused', stock}
end
return {'done', redis.call('HINCRBY', KEYS[1], 'stock', -quantity)}
