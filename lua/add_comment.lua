-- Adds a comment to a post and keeps `comments_count` equal to the number of comments.
--
-- Comments are a sorted set in the post's slot (newest-first pages with a stable
-- cursor), with a hash from comment id to member so one can be deleted by its id; the
-- counter is set from ZCARD in the same atomic step, so it never drifts, and a comment
-- on a deleted post re-creates nothing.
--
-- KEYS[1]  post hash (post:{id})
-- KEYS[2]  comments sorted set (post:{id}:comments)
-- KEYS[3]  comment id index (post:{id}:comment_ids)
-- ARGV[1]  score: created-at in Unix ms
-- ARGV[2]  member: the comment as JSON (carries its own unique id)
-- ARGV[3]  the comment id
-- Returns: {'done', the new comments_count}; {'missing'} when the post does not exist.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'missing'}
end
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[2])
local count = redis.call('ZCARD', KEYS[2])
redis.call('HSET', KEYS[1], 'comments_count', count)
return {'done', count}
