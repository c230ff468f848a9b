-- Sticky experiment assignment: the first variant stored for a subject wins.
--
-- Two first calls for one subject racing each other must not give two variants: the
-- caller proposes a variant (picked by weight) and SET NX keeps only the first
-- proposal; everyone gets the stored one back. The experiment must exist.
--
-- Anyone may be a subject, so assignments cannot be kept forever: each is its own
-- string key with a retention that every call for the subject starts again (Redis 7.0
-- has no TTL per hash field). A subject not seen for the retention is assigned afresh.
-- Assignments stored before that, in the experiment's assignments hash, still count:
-- the first call moves one into its own key.
--
-- KEYS[1]  the experiment's variants hash (experiment:{name}), variant -> weight
-- KEYS[2]  the legacy assignments hash (experiment:{name}:assignments), subject -> variant
-- KEYS[3]  the subject's assignment (experiment:{name}:assigned:<subject>), a string
-- ARGV[1]  subject
-- ARGV[2]  proposed variant
-- ARGV[3]  retention in ms
-- Returns: {'done', variant, 1 if this call assigned it else 0}; {'missing'} if there
--          is no such experiment or the proposed variant is not one of its variants.
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 0 then
  return {'missing'}
end
local variant = redis.call('GET', KEYS[3])
local created = 0
if not variant then
  variant = redis.call('HGET', KEYS[2], ARGV[1])
  if variant then
    redis.call('HDEL', KEYS[2], ARGV[1])
  else
    variant = ARGV[2]
    created = 1
  end
end
redis.call('SET', KEYS[3], variant, 'PX', ARGV[3])
return {'done', variant, created}
