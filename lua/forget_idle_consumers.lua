-- Deletes consumers of a group that hold no pending entries and have been idle long.
--
-- Each process gives its billing consumer a name of its own, so every restart would
-- otherwise leave a name behind in the group forever. Deleting a consumer drops its
-- pending entries, so only consumers with none are deleted, and the check and the
-- delete are one atomic step: a consumer cannot read an entry in between.
--
-- KEYS[1]  the stream (events:orders)
-- ARGV[1]  the group
-- ARGV[2]  minimum idle time in ms
-- ARGV[3]  a consumer never to delete (the caller)
-- Returns: the number of consumers deleted.
local deleted = 0
for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local info = {}
  for i = 1, #consumer, 2 do
    info[consumer[i]] = consumer[i + 1]
  end
  if info['name'] ~= ARGV[3] and tonumber(info['pending']) == 0
      and tonumber(info['idle']) >= tonumber(ARGV[2]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
    deleted = deleted + 1
  end
end
return deleted
