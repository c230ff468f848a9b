-- Sticky experiment assignment: the first variant stored for a subject wins forever.
--
-- Two first calls for one subject racing each other must not give two variants: the
-- caller proposes a variant (picked by weight) and HSETNX keeps only the first
-- proposal; everyone gets the stored one back. The experiment must exist.
--
-- KEYS[1]  the experiment's variants hash (experiment:{name}), variant -> weight
-- KEYS[2]  the assignments hash (experiment:{name}:assignments), subject -> variant
-- ARGV[1]  subject
-- ARGV[2]  proposed variant
-- Returns: {variant, 1 if this call assigned it else 0}, or {} if there is no such
--          experiment or the proposed variant is not one of its variants.
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 0 then
  return {}
end
local created = redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2])
return {redis.call('HGET', KEYS[2], ARGV[1]), created}
