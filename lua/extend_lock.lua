-- Extends a lock, only for its holder (compare-and-expire).
--
-- A GET then PEXPIRE from the client could extend a lock that expired and was taken by
-- someone else in between. While the lock is held the fencing counter has not moved
-- since the holder took it, so it is the holder's fencing token. The counter's
-- retention starts again too: it must outlive every lock it numbered.
--
-- KEYS[1]  the lock (lock:{resource})
-- KEYS[2]  the fencing counter (lock:{resource}:fence)
-- ARGV[1]  the holder's token
-- ARGV[2]  new TTL in ms, from now
-- ARGV[3]  the fencing counter's retention in ms
-- Returns: {'extended', fencing token}; {'lost'} when the token does not hold the lock.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  return {'extended', tonumber(redis.call('GET', KEYS[2]) or '0')}
end
return {'lost'}
