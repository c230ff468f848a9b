-- Queue upkeep: requeues jobs whose worker died, and moves due retries back.
--
-- A worker takes a job with BLMOVE (queue -> processing) and then leases it (HSET
-- leases id deadline). If it dies, the job stays in processing; once its lease has
-- passed, this script puts it back at the head of the queue, so no job is lost. A job
-- found in processing without a lease (its worker died between BLMOVE and HSET) gets a
-- lease from now, so it too is requeued one lease period later, never while a live
-- worker may still be about to lease it.
--
-- KEYS[1]  queue (list; producers LPUSH, workers take from the right)
-- KEYS[2]  processing (list)
-- KEYS[3]  leases (hash: job id -> deadline ms)
-- KEYS[4]  retry (sorted set: job -> due ms)
-- ARGV[1]  now (ms)
-- ARGV[2]  lease length (ms)
-- Returns: {jobs requeued from dead workers, retries made due}
local now = tonumber(ARGV[1])
local requeued = 0
for _, job in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
  local ok, decoded = pcall(cjson.decode, job)
  local id = (ok and type(decoded) == 'table' and decoded.id) or job
  local deadline = redis.call('HGET', KEYS[3], id)
  if not deadline then
    redis.call('HSET', KEYS[3], id, now + tonumber(ARGV[2]))
  elseif tonumber(deadline) < now then
    redis.call('LREM', KEYS[2], 1, job)
    redis.call('RPUSH', KEYS[1], job)
    redis.call('HDEL', KEYS[3], id)
    requeued = requeued + 1
  end
end
local due = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, 100)
for _, job in ipairs(due) do
  redis.call('ZREM', KEYS[4], job)
  redis.call('RPUSH', KEYS[1], job)
end
return {requeued, #due}
