-- Releases a lock, only for its holder (compare-and-delete, seed 001's script).
--
-- A stale holder (whose lock expired and was taken by another) gets 0 and the other's
-- lock stays: a plain DEL, or GET then DEL, would free it.
--
-- KEYS[1]  the lock (lock:{resource})
-- ARGV[1]  the holder's token
-- Returns: 1 when released, 0 when the token does not hold the lock.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
