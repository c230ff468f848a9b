-- Sells `quantity` units of a product if, and only if, that many are in stock.
--
-- Seed 002 reads the stock and then runs HINCRBY: two buyers can both read "1" and both
-- buy it. Here the check and the decrement are one atomic step, so stock never goes
-- below zero and a refused purchase changes nothing.
--
-- KEYS[1]  product hash (product:{id})
-- ARGV[1]  quantity, a positive integer
-- Returns: {1, remaining stock} when sold;
--          {0, current stock} when there is not enough (nothing changed);
--          {-1} when the product does not exist.
local stock = redis.call('HGET', KEYS[1], 'stock')
if not stock then
  return {-1}
end
stock = tonumber(stock)
local quantity = tonumber(ARGV[1])
if stock < quantity then
  return {0, stock}
end
return {1, redis.call('HINCRBY', KEYS[1], 'stock', -quantity)}
