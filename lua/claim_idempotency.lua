-- Claims an Idempotency-Key for one checkout, or reports who has it.
--
-- SET NX semantics on a hash: of many concurrent requests with one key, exactly one
-- creates the record and runs the checkout; the others learn its order id and wait
-- for it. The record remembers a fingerprint of the request body, so the same key with
-- another body is refused instead of silently answering with a different order.
--
-- KEYS[1]  the record (idem:{user}:{key})
-- ARGV[1]  fingerprint of the request (SHA-256 of the normalized body)
-- ARGV[2]  a fresh order id, used if this call claims the key
-- ARGV[3]  TTL of the record in ms (24 h)
-- ARGV[4]  now as RFC 3339 text
-- ARGV[5]  an order id whose checkout was rolled back and may be replaced ('' for none)
-- Returns: {'claimed', order id} when this call owns the key (new, or replacing the
--          rolled-back order ARGV[5]): run the checkout as that order;
--          {'mismatch'} when the key was used with another request body;
--          {'existing', order id, state} otherwise (state 'started' or 'done').
local record = redis.call('HMGET', KEYS[1], 'fingerprint', 'order_id', 'state')
if not record[1] then
  redis.call('HSET', KEYS[1], 'fingerprint', ARGV[1], 'order_id', ARGV[2],
    'state', 'started', 'created_at', ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {'claimed', ARGV[2]}
end
if record[1] ~= ARGV[1] then
  return {'mismatch'}
end
if ARGV[5] ~= '' and record[2] == ARGV[5] and record[3] ~= 'done' then
  redis.call('HSET', KEYS[1], 'order_id', ARGV[2], 'state', 'started')
  return {'claimed', ARGV[2]}
end
return {'existing', record[2], record[3]}
