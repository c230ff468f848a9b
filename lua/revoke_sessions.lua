-- Ends every session of a user (optionally all but one), in one atomic step.
--
-- The session keys are not passed in KEYS: they are built here from the ids in the
-- index and the user's session key prefix. Reading the index first and passing the
-- keys would leave a gap in which a login adds a session the revocation never sees;
-- building them inside the script closes it. Every key built shares the user's hash
-- tag (user:{id}:session:<sha>), so on a cluster they are all in this slot. The index
-- is capped by open_session.lua, so the loop is bounded.
--
-- With ARGV[3] = '1' the user is also marked as being deleted ('deleting' field):
-- from then on open_session.lua refuses logins and session_touch.lua refuses the
-- user's sessions, while the deletion removes the rest of the account.
--
-- KEYS[1]  session index (user:{id}:sessions)
-- KEYS[2]  user hash (user:{id})
-- ARGV[1]  prefix of the user's session keys (user:{id}:session:)
-- ARGV[2]  session id to keep ('' to end them all)
-- ARGV[3]  '1' to mark the user as being deleted
-- Returns: the number of live sessions ended.
local ended = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if id ~= ARGV[2] then
    ended = ended + redis.call('DEL', ARGV[1] .. id)
    redis.call('ZREM', KEYS[1], id)
  end
end
if ARGV[3] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HSET', KEYS[2], 'deleting', '1')
end
return ended
