-- The user's side of a committed checkout, in the user's slot, exactly once.
--
-- Marks the Idempotency-Key record done (so waiting duplicates answer with the order),
-- indexes the order in the user's orders, and takes the bought quantities out of the
-- cart when the order came from it. The record's state makes the cart change happen
-- once however often this runs (the request, a duplicate, the sweeper). Nothing is
-- indexed for a user who has been deleted meanwhile.
--
-- KEYS[1]  the Idempotency-Key record (idem:{user}:{key})
-- KEYS[2]  the user hash (user:{user})
-- KEYS[3]  the user's orders (user:{user}:orders, sorted set)
-- KEYS[4]  the user's cart (user:{user}:cart)
-- ARGV[1]  order id
-- ARGV[2]  its score in the orders index (the numeric order id)
-- ARGV[3]  the cart's TTL in ms
-- ARGV[4..] product id, quantity, ... to take out of the cart (none for explicit items)
-- Returns: 1 when this call finished the checkout, 0 when it was already finished.
local record = redis.call('HMGET', KEYS[1], 'order_id', 'state')
if record[1] == ARGV[1] and record[2] == 'done' then
  return 0
end
if redis.call('EXISTS', KEYS[2]) == 0 then
  return 0
end
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
if record[1] == ARGV[1] then
  redis.call('HSET', KEYS[1], 'state', 'done')
  for i = 4, #ARGV, 2 do
    local left = redis.call('HINCRBY', KEYS[4], ARGV[i], -tonumber(ARGV[i + 1]))
    if left <= 0 then
      redis.call('HDEL', KEYS[4], ARGV[i])
    end
  end
  if #ARGV >= 4 and redis.call('EXISTS', KEYS[4]) == 1 then
    redis.call('PEXPIRE', KEYS[4], ARGV[3])
  end
end
return 1
