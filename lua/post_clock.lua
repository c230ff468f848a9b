-- Hands out a post's creation instant (Unix ms): the server's clock, but strictly later
-- than the last instant handed out, so no two posts ever share a score in the
-- time-scored indexes (posts:recent, posts:all, user:{id}:posts, timelines, tag
-- indexes) and "newest first" is exact even for posts created in one millisecond.
-- Under a sustained burst of more than 1000 posts a second the instants run ahead of
-- the wall clock by the excess, and catch up once the burst ends.
--
-- KEYS[1]  the clock (posts:clock, a string)
-- Returns: the instant, an integer.
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if ms <= last then
  ms = last + 1
end
redis.call('SET', KEYS[1], ms)
return ms
