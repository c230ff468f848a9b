-- Adds to an integer field of a hash only if the hash exists.
--
-- HINCRBY on a missing key creates it: restocking a product id that does not exist
-- would leave a hash holding nothing but `stock`. This checks and adds in one step.
--
-- KEYS[1]  the hash
-- ARGV[1]  the field
-- ARGV[2]  the amount to add (an integer)
-- ARGV[3..] field, value, ... also set in the same step (e.g. updated_at)
-- Returns: the field's new value, or nil when the hash does not exist.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return nil
end
if #ARGV > 2 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 3))
end
return redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
