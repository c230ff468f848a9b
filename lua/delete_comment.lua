-- Deletes one comment of a post by its id, if `ARGV[2]` (the caller's user id) wrote
-- it or `ARGV[3]` is '1' (the caller may act for anyone), keeping `comments_count`
-- equal to the number of comments. Check and removal are one atomic step, so a
-- comment is never removed on a stale authorization.
--
-- KEYS[1]  post hash (post:{id})
-- KEYS[2]  comments sorted set (post:{id}:comments)
-- KEYS[3]  comment id index (post:{id}:comment_ids)
-- ARGV[1]  comment id
-- ARGV[2]  the caller's user id
-- ARGV[3]  '1' when the caller may delete anyone's comment, else '0'
-- Returns: {'done', comments_count}; {'missing'} when the post does not exist;
--          {'no_comment'} when it has no such comment; {'forbidden'} when the caller
--          did not write it.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'missing'}
end
local member = redis.call('HGET', KEYS[3], ARGV[1])
if not member then
  return {'no_comment'}
end
local comment = cjson.decode(member)
if comment['author_id'] ~= ARGV[2] and ARGV[3] ~= '1' then
  return {'forbidden'}
end
redis.call('ZREM', KEYS[2], member)
redis.call('HDEL', KEYS[3], ARGV[1])
local count = redis.call('ZCARD', KEYS[2])
redis.call('HSET', KEYS[1], 'comments_count', count)
return {'done', count}
