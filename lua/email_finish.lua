-- Finishes a job a worker holds: delivered, retry later, or dead.
--
-- One atomic step per outcome, so a job is never both in processing and elsewhere, and
-- a delivery is recorded at most once per job id while its record is kept (HSETNX on
-- the outbox), which makes a redelivery after a crash harmless.
--
-- Delivery records are bookkeeping, so they are bounded like every other such key:
-- each record is indexed by its delivery time, and each delivery drops (at most 100
-- per call, oldest first) the records older than the retention and those beyond the
-- cap. The total counter keeps the number ever delivered for the stats. Records kept
-- before the index existed are adopted as the oldest (score 0), a HSCAN page per call.
--
-- KEYS[1]  processing (list)
-- KEYS[2]  leases (hash)
-- KEYS[3]  outbox (hash: job id -> delivery record)
-- KEYS[4]  retry (sorted set)
-- KEYS[5]  dead (list)
-- KEYS[6]  outbox index (sorted set: job id -> delivered-at ms)
-- KEYS[7]  delivered total (string counter)
-- KEYS[8]  adoption cursor of records older than the index (string, while adopting)
-- ARGV[1]  outcome: 'delivered', 'retry' or 'dead'
-- ARGV[2]  the job exactly as taken (to remove it from processing)
-- ARGV[3]  job id
-- ARGV[4]  delivered: the delivery record; retry/dead: the job with attempts updated
-- ARGV[5]  retry: when it is due (ms)
-- ARGV[6]  now (ms)
-- ARGV[7]  retention of delivery records (ms)
-- ARGV[8]  most delivery records kept
-- Returns: 1 if the job was still held (removed from processing), 0 if not (another
--          worker requeued it after this worker's lease expired).
local held = redis.call('LREM', KEYS[1], 1, ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[3])
if ARGV[1] == 'delivered' then
  if redis.call('HSETNX', KEYS[3], ARGV[3], ARGV[4]) == 1 then
    if redis.call('EXISTS', KEYS[7]) == 0 then
      local kept = redis.call('HLEN', KEYS[3])
      redis.call('SET', KEYS[7], kept)
      if kept > 1 then
        redis.call('SET', KEYS[8], '0')
      end
    else
      redis.call('INCR', KEYS[7])
    end
    redis.call('ZADD', KEYS[6], ARGV[6], ARGV[3])
  end
  local cursor = redis.call('GET', KEYS[8])
  if cursor then
    local page = redis.call('HSCAN', KEYS[3], cursor, 'COUNT', 100)
    for i = 1, #page[2], 2 do
      redis.call('ZADD', KEYS[6], 'NX', 0, page[2][i])
    end
    if page[1] == '0' then
      redis.call('DEL', KEYS[8])
    else
      redis.call('SET', KEYS[8], page[1])
    end
  end
  local expired = redis.call('ZRANGE', KEYS[6], '-inf', tonumber(ARGV[6]) - tonumber(ARGV[7]),
    'BYSCORE', 'LIMIT', 0, 100)
  local excess = redis.call('ZCARD', KEYS[6]) - #expired - tonumber(ARGV[8])
  if excess > 0 then
    expired = redis.call('ZRANGE', KEYS[6], 0, #expired + math.min(excess, 100) - 1)
  end
  if #expired > 0 then
    redis.call('HDEL', KEYS[3], unpack(expired))
    redis.call('ZREM', KEYS[6], unpack(expired))
  end
elseif held == 1 then
  if ARGV[1] == 'retry' then
    redis.call('ZADD', KEYS[4], ARGV[5], ARGV[4])
  else
    redis.call('LPUSH', KEYS[5], ARGV[4])
  end
end
return held
