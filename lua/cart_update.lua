-- Adds to or sets one line of a cart, refreshing the cart's TTL in the same step.
--
-- Seed 002 runs HINCRBY and EXPIRE as two commands (a crash between them leaves a cart
-- that never expires) and lets a cart grow without bound. Here the change, the limits
-- and the 7-day TTL are one atomic step.
--
-- KEYS[1]  the cart (user:{id}:cart: product id → quantity)
-- ARGV[1]  'add' (HINCRBY) or 'set'
-- ARGV[2]  product id
-- ARGV[3]  quantity: the amount to add, or the new quantity (0 or less removes the line)
-- ARGV[4]  most distinct products a cart may hold
-- ARGV[5]  most units of one product
-- ARGV[6]  TTL in ms
-- Returns: {'done', the product's quantity afterwards (0 when removed)};
--          {'too_many_lines'} when a new line would pass the most products;
--          {'too_many_units'} when the quantity would pass the most units (nothing
--          changed in either case).
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[2]) or '0')
local target = tonumber(ARGV[3])
if ARGV[1] == 'add' then
  target = current + target
end
if target <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[2])
  target = 0
else
  if current == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then
    return {'too_many_lines'}
  end
  if target > tonumber(ARGV[5]) then
    return {'too_many_units'}
  end
  if ARGV[1] == 'add' then
    target = redis.call('HINCRBY', KEYS[1], ARGV[2], ARGV[3])
  else
    redis.call('HSET', KEYS[1], ARGV[2], target)
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
end
return {'done', target}
