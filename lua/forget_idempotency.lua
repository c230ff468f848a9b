-- Deletes an Idempotency-Key record after its checkout was rolled back, so the client
-- may retry with the same key (for example once the product is restocked).
--
-- Compare-and-delete: only a record that still points at the rolled-back order and
-- never finished is removed; a record that another request has since re-pointed, or
-- one whose order went through, is left alone.
--
-- KEYS[1]  the record (idem:{user}:{key})
-- ARGV[1]  the rolled-back order id
-- Returns: 1 when deleted, 0 otherwise.
local record = redis.call('HMGET', KEYS[1], 'order_id', 'state')
if record[1] == ARGV[1] and record[2] ~= 'done' then
  return redis.call('DEL', KEYS[1])
end
return 0
