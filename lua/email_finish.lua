-- Finishes a job a worker holds: delivered, retry later, or dead.
--
-- One atomic step per outcome, so a job is never both in processing and elsewhere, and
-- a delivery is recorded at most once per job id (HSETNX on the outbox), which makes a
-- redelivery after a crash harmless.
--
-- KEYS[1]  processing (list)
-- KEYS[2]  leases (hash)
-- KEYS[3]  outbox (hash: job id -> delivery record)
-- KEYS[4]  retry (sorted set)
-- KEYS[5]  dead (list)
-- ARGV[1]  outcome: 'delivered', 'retry' or 'dead'
-- ARGV[2]  the job exactly as taken (to remove it from processing)
-- ARGV[3]  job id
-- ARGV[4]  delivered: the delivery record; retry/dead: the job with attempts updated
-- ARGV[5]  retry: when it is due (ms)
-- Returns: 1 if the job was still held (removed from processing), 0 if not (another
--          worker requeued it after this worker's lease expired).
local held = redis.call('LREM', KEYS[1], 1, ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[3])
if ARGV[1] == 'delivered' then
  redis.call('HSETNX', KEYS[3], ARGV[3], ARGV[4])
elseif held == 1 then
  if ARGV[1] == 'retry' then
    redis.call('ZADD', KEYS[4], ARGV[5], ARGV[4])
  else
    redis.call('LPUSH', KEYS[5], ARGV[4])
  end
end
return held
