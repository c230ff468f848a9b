//! Posts in Redis: the only code that names post keys.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `post:{id}` | hash | `id, title, content, author_id, author_name, author_avatar, created_at, likes, comments_count` |
//! | `post:{id}:likes` | set | ids of the users who like the post |
//! | `post:{id}:comments` | sorted set | comment JSON → created-at (ms) |
//! | `user:{id}:posts` | sorted set | the author's post ids → created-at (ms) |
//! | `posts:recent` | sorted set, capped at 10,000 | every author's post ids → created-at (ms) |
//! | `posts:next_id` | string | last post number handed out (ids are `p<n>`) |
//! | `posts:clock` | string | last post instant handed out (ms; strictly increasing) |
//! | `posts:all` | sorted set, uncapped | every post id → created-at (ms): exact counts and offset pages |
//! | `slug:{slug}` | string | the post id of an article slug (SET NX: unique) |
//! | `tag:{t}:posts` | sorted set | ids of the posts tagged `t` → created-at (ms) |
//! | `tags:posts` | sorted set | tag → how many posts carry it |
//! | `user:{id}:favorites` | sorted set | ids of the posts the user likes → the post's created-at (ms) |
//! | `post:{id}:comment_ids` | hash | comment id → its member in `post:{id}:comments` |
//! | `comments:next_id` | string | last comment number handed out (ids are `c<n>`) |
//!
//! A post's hash, likers and comments share the post's hash tag, so `set_like.lua` and
//! `add_comment.lua` change a set and its counter in one atomic step. The indexes live
//! elsewhere, so creating a post writes the hash first and the indexes after (a crash
//! in between leaves a post reachable only by its id, never an index entry without a
//! post); deleting one removes it from the indexes and timelines first and the hash
//! last (a crash in between leaves a post only its author, who knows the id, can see
//! and delete again). Deleting a user's posts goes the other way round, hashes first,
//! because the author index is what finds them: a crash leaves index entries that
//! readers skip and remove, and the retry finishes from the same index.

use redis::AsyncCommands;

use super::model::{Comment, Post};
use crate::error::AppResult;
use crate::pagination::ScoreCursor;
use crate::redis::batch::Batch;
use crate::redis::keys::{PostPart, UserPart};
use crate::redis::paging::{Window, newest_first, newest_first_many};
use crate::redis::scripts::IfExists;
use crate::redis::{Redis, scripts};

/// Newest posts kept in `posts:recent` (older ones stay on their author's list).
pub const RECENT_CAP: usize = 10_000;

/// A new post id (`p<n>`, INCR of `posts:next_id`).
pub async fn next_id(redis: &Redis) -> AppResult<String> {
    let n: u64 = redis.conn().incr(redis.keys.post_ids(), 1).await?;
    Ok(format!("p{n}"))
}

/// A new post's creation instant (Unix ms), strictly later than every earlier post's
/// (`post_clock.lua`): newest-first orders never tie.
pub async fn next_instant(redis: &Redis) -> AppResult<i64> {
    Ok(scripts::POST_CLOCK
        .key(redis.keys.post_clock())
        .invoke_async(&mut redis.conn())
        .await?)
}

/// A new comment number (INCR of `comments:next_id`).
pub async fn next_comment_number(redis: &Redis) -> AppResult<u64> {
    Ok(redis.conn().incr(redis.keys.comment_ids(), 1).await?)
}

/// Claims `slug` for `post_id`; false when another post holds it.
pub async fn claim_slug(redis: &Redis, slug: &str, post_id: &str) -> AppResult<bool> {
    let set: Option<String> = redis::cmd("SET")
        .arg(redis.keys.slug(slug))
        .arg(post_id)
        .arg("NX")
        .query_async(&mut redis.conn())
        .await?;
    Ok(set.is_some())
}

/// Releases `slug` if `post_id` still holds it.
pub async fn release_slug(redis: &Redis, slug: &str, post_id: &str) -> AppResult<()> {
    let key = redis.keys.slug(slug);
    let holder: Option<String> = redis.conn().get(&key).await?;
    if holder.as_deref() == Some(post_id) {
        let _: u64 = redis.conn().del(&key).await?;
    }
    Ok(())
}

/// The post id a slug names, if claimed.
pub async fn resolve_slug(redis: &Redis, slug: &str) -> AppResult<Option<String>> {
    Ok(redis.conn().get(redis.keys.slug(slug)).await?)
}

/// Adds a post to the index of each of its tags and counts it in `tags:posts`.
pub async fn index_tags(
    redis: &Redis,
    post_id: &str,
    tags: &[String],
    at_ms: i64,
) -> AppResult<()> {
    if tags.is_empty() {
        return Ok(());
    }
    on_each_tag(redis, tags, |key| {
        redis::cmd("ZADD").arg(key).arg(at_ms).arg(post_id).clone()
    })
    .await?;
    // Counted after the indexes, from their sizes: a retry never counts twice.
    recount_tags(redis, tags).await
}

/// Removes a post from its tags' indexes and recounts them.
pub async fn unindex_tags(redis: &Redis, post_id: &str, tags: &[String]) -> AppResult<()> {
    if tags.is_empty() {
        return Ok(());
    }
    on_each_tag(redis, tags, |key| {
        redis::cmd("ZREM").arg(key).arg(post_id).clone()
    })
    .await?;
    recount_tags(redis, tags).await
}

/// Runs `command(key)` on each tag's index `tag:{t}:posts`, in one batch (one pipeline
/// per slot on a cluster); the replies in the order of `tags`.
async fn on_each_tag(
    redis: &Redis,
    tags: &[String],
    command: impl Fn(&str) -> redis::Cmd,
) -> AppResult<Vec<redis::Value>> {
    let mut batch = Batch::new();
    for tag in tags {
        let key = redis.keys.tag_posts(tag);
        let cmd = command(&key);
        batch.add(key, cmd);
    }
    Ok(batch.run(&redis.conn).await?)
}

/// Sets each tag's count in `tags:posts` to the size of its index (a tag no post
/// carries leaves the list).
async fn recount_tags(redis: &Redis, tags: &[String]) -> AppResult<()> {
    let sizes = on_each_tag(redis, tags, |key| redis::cmd("ZCARD").arg(key).clone()).await?;
    let counts = redis.keys.post_tags();
    let mut pipe = redis::pipe();
    for (tag, size) in tags.iter().zip(sizes) {
        let size: u64 = redis::from_redis_value(size)?;
        if size == 0 {
            pipe.zrem(&counts, tag).ignore();
        } else {
            pipe.zadd(&counts, tag, size).ignore();
        }
    }
    let _: () = pipe.query_async(&mut redis.conn()).await?;
    Ok(())
}

/// The most used tags, most used first (at most `max`).
pub async fn popular_tags(redis: &Redis, max: usize) -> AppResult<Vec<String>> {
    Ok(redis
        .conn()
        .zrevrange(redis.keys.post_tags(), 0, max as isize - 1)
        .await?)
}

/// Adds (or removes) a post to the user's favorites, scored by the post's creation.
pub async fn set_favorite(
    redis: &Redis,
    user_id: &str,
    post_id: &str,
    at_ms: i64,
    on: bool,
) -> AppResult<()> {
    let key = redis.keys.user_part(user_id, UserPart::Favorites);
    if on {
        let _: u64 = redis.conn().zadd(key, post_id, at_ms).await?;
    } else {
        let _: u64 = redis.conn().zrem(key, post_id).await?;
    }
    Ok(())
}

/// Every user who likes a post (to take a deleted post out of their favorites).
pub async fn likers(redis: &Redis, post_id: &str) -> AppResult<Vec<String>> {
    Ok(redis
        .conn()
        .smembers(redis.keys.post_part(post_id, PostPart::Likes))
        .await?)
}

/// Takes a post out of the favorites of `users` (one batch, by slot).
pub async fn unfavorite_all(redis: &Redis, post_id: &str, users: &[String]) -> AppResult<()> {
    let mut batch = Batch::new();
    for user in users {
        let key = redis.keys.user_part(user, UserPart::Favorites);
        batch.add(
            key.clone(),
            redis::cmd("ZREM").arg(&key).arg(post_id).clone(),
        );
    }
    if !batch.is_empty() {
        batch.run(&redis.conn).await?;
    }
    Ok(())
}

/// For each of `post_ids`, whether `user_id` likes it (one ZMSCORE).
pub async fn favorited_among(
    redis: &Redis,
    user_id: &str,
    post_ids: &[String],
) -> AppResult<Vec<bool>> {
    if post_ids.is_empty() {
        return Ok(Vec::new());
    }
    let scores: Vec<Option<f64>> = redis::cmd("ZMSCORE")
        .arg(redis.keys.user_part(user_id, UserPart::Favorites))
        .arg(post_ids)
        .query_async(&mut redis.conn())
        .await?;
    Ok(scores.into_iter().map(|s| s.is_some()).collect())
}

/// For each of `members`, whether it is in the sorted set `key` (one ZMSCORE).
pub async fn members_of(redis: &Redis, key: &str, members: &[String]) -> AppResult<Vec<bool>> {
    if members.is_empty() {
        return Ok(Vec::new());
    }
    let scores: Vec<Option<f64>> = redis::cmd("ZMSCORE")
        .arg(key)
        .arg(members)
        .query_async(&mut redis.conn())
        .await?;
    Ok(scores.into_iter().map(|s| s.is_some()).collect())
}

/// The exact size of a time-scored index and the ids at ranks `offset..offset+limit`,
/// newest first: ZCARD and ZREVRANGE of one key in one MULTI (one slot).
pub async fn index_page(
    redis: &Redis,
    key: &str,
    offset: usize,
    limit: usize,
) -> AppResult<(u64, Vec<String>)> {
    if limit == 0 {
        return Ok((redis.conn().zcard(key).await?, Vec::new()));
    }
    let (count, ids): (u64, Vec<String>) = redis::pipe()
        .atomic()
        .zcard(key)
        .zrevrange(key, offset as isize, (offset + limit) as isize - 1)
        .query_async(&mut redis.conn())
        .await?;
    Ok((count, ids))
}

/// The size of a sorted set.
pub async fn index_size(redis: &Redis, key: &str) -> AppResult<u64> {
    Ok(redis.conn().zcard(key).await?)
}

/// The newest `n` entries of a time-scored index, as (id, ms).
pub async fn index_newest(redis: &Redis, key: &str, n: usize) -> AppResult<Vec<(String, i64)>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let entries: Vec<(String, f64)> = redis
        .conn()
        .zrevrange_withscores(key, 0, n as isize - 1)
        .await?;
    Ok(entries.into_iter().map(|(id, s)| (id, s as i64)).collect())
}

/// Changes fields of a post that still exists (`hset_if_exists`); false when gone.
pub async fn update_fields(
    redis: &Redis,
    post_id: &str,
    fields: &[(&'static str, String)],
) -> AppResult<bool> {
    let mut invocation = scripts::HSET_IF_EXISTS.key(redis.keys.post(post_id));
    for (field, value) in fields {
        invocation.arg(*field).arg(value);
    }
    let written: redis::Value = invocation.invoke_async(&mut redis.conn()).await?;
    Ok(!matches!(written, redis::Value::Int(0) | redis::Value::Nil))
}

/// The name and avatar to copy into the author's posts; `None` if there is no such user.
pub async fn author_profile(
    redis: &Redis,
    author: &str,
) -> AppResult<Option<(String, Option<String>)>> {
    let (id, name, avatar): (Option<String>, Option<String>, Option<String>) = redis
        .conn()
        .hmget(redis.keys.user(author), &["id", "name", "avatar"])
        .await?;
    Ok(id.map(|_| (name.unwrap_or_default(), avatar.filter(|a| !a.is_empty()))))
}

/// Writes the post hash.
pub async fn store(redis: &Redis, post: &Post) -> AppResult<()> {
    let _: () = redis
        .conn()
        .hset_multiple(redis.keys.post(&post.id), &post.to_fields())
        .await?;
    Ok(())
}

/// True when the post hash exists.
pub async fn exists(redis: &Redis, id: &str) -> AppResult<bool> {
    Ok(redis.conn().exists(redis.keys.post(id)).await?)
}

/// Adds the post to its author's index, only while the author exists; false (nothing
/// written) when the author is gone.
pub async fn index_for_author(
    redis: &Redis,
    author: &str,
    post_id: &str,
    at_ms: i64,
) -> AppResult<bool> {
    let reply: redis::Value = scripts::ZADD_IF_EXISTS
        .key(redis.keys.user(author))
        .key(redis.keys.user_part(author, UserPart::Posts))
        .arg(0)
        .arg("")
        .arg(at_ms)
        .arg(post_id)
        .invoke_async(&mut redis.conn())
        .await?;
    let reply: IfExists<(u64, u64, f64)> = scripts::decode("zadd_if_exists", reply)?;
    Ok(reply.done().is_some())
}

/// Adds the post to `posts:all`, and to `posts:recent` trimmed to [`RECENT_CAP`] (one
/// MULTI: one key).
pub async fn index_recent(redis: &Redis, post_id: &str, at_ms: i64) -> AppResult<()> {
    let _: u64 = redis
        .conn()
        .zadd(redis.keys.all_posts(), post_id, at_ms)
        .await?;
    index_recent_many(redis, &[(at_ms, post_id)]).await
}

/// Adds `(at_ms, post id)` entries (at least one) to `posts:recent` and trims it to
/// [`RECENT_CAP`] (one MULTI: one key); the synthetic seed writes its newest posts so.
pub(crate) async fn index_recent_many(redis: &Redis, entries: &[(i64, &str)]) -> AppResult<()> {
    let key = redis.keys.recent_posts();
    let _: () = redis::pipe()
        .atomic()
        .zadd_multiple(&key, entries)
        .ignore()
        .zremrangebyrank(&key, 0, -(RECENT_CAP as isize) - 1)
        .ignore()
        .query_async(&mut redis.conn())
        .await?;
    Ok(())
}

/// Adds `(at_ms, post id)` entries to `posts:all` (uncapped: every post, the
/// RealWorld list's index); the synthetic seed writes its posts so, a ZADD at a time.
pub(crate) async fn index_all_many(redis: &Redis, entries: &[(i64, String)]) -> AppResult<()> {
    let _: () = redis
        .conn()
        .zadd_multiple(redis.keys.all_posts(), entries)
        .await?;
    Ok(())
}

/// One post; `None` if there is no such post.
pub async fn get(redis: &Redis, id: &str) -> AppResult<Option<Post>> {
    Ok(get_many(redis, &[id.to_string()]).await?.pop().flatten())
}

/// Many posts in the order of `ids` (`None` where a post is gone): what the
/// client-side cache holds from memory, the rest in one batch of HGETALLs (one
/// pipeline per slot on a cluster).
pub async fn get_many(redis: &Redis, ids: &[String]) -> AppResult<Vec<Option<Post>>> {
    let posts = redis
        .hgetall_cached(ids.iter().map(|id| redis.keys.post(id)), Post::from_hash)
        .await?;
    // A post the cache keeps is copied; one it does not keep (cache off, a lost race)
    // is moved out.
    Ok(posts
        .into_iter()
        .map(std::sync::Arc::unwrap_or_clone)
        .collect())
}

/// The author of a post; `None` if there is no such post.
pub async fn author_of(redis: &Redis, id: &str) -> AppResult<Option<String>> {
    Ok(redis.conn().hget(redis.keys.post(id), "author_id").await?)
}

/// Removes posts from `posts:recent` and from their author's index.
pub async fn unindex(redis: &Redis, author: &str, post_ids: &[String]) -> AppResult<()> {
    if post_ids.is_empty() {
        return Ok(());
    }
    let recent = redis.keys.recent_posts();
    let all = redis.keys.all_posts();
    let by_author = redis.keys.user_part(author, UserPart::Posts);
    let mut batch = Batch::new();
    batch.add(
        all.clone(),
        redis::cmd("ZREM").arg(&all).arg(post_ids).clone(),
    );
    batch.add(
        recent.clone(),
        redis::cmd("ZREM").arg(&recent).arg(post_ids).clone(),
    );
    batch.add(
        by_author.clone(),
        redis::cmd("ZREM").arg(&by_author).arg(post_ids).clone(),
    );
    batch.run(&redis.conn).await?;
    Ok(())
}

/// Removes ids whose post is gone from `posts:recent` (found by a reader).
pub async fn prune_recent(redis: &Redis, gone: &[String]) -> AppResult<()> {
    prune(redis, &redis.keys.recent_posts(), gone).await
}

/// Removes ids whose post is gone from an index (found by a reader).
pub async fn prune(redis: &Redis, key: &str, gone: &[String]) -> AppResult<()> {
    if !gone.is_empty() {
        let _: u64 = redis.conn().zrem(key, gone).await?;
    }
    Ok(())
}

/// Removes ids whose post is gone from an author's index (found by a reader).
pub async fn prune_author(redis: &Redis, author: &str, gone: &[String]) -> AppResult<()> {
    if !gone.is_empty() {
        let _: u64 = redis
            .conn()
            .zrem(redis.keys.user_part(author, UserPart::Posts), gone)
            .await?;
    }
    Ok(())
}

/// Deletes posts with their likers and comments (each post one DEL in its slot).
pub async fn delete(redis: &Redis, post_ids: &[String]) -> AppResult<()> {
    let mut batch = Batch::new();
    for id in post_ids {
        let key = redis.keys.post(id);
        let mut del = redis::cmd("DEL");
        del.arg(&key);
        for part in PostPart::ALL {
            del.arg(redis.keys.post_part(id, part));
        }
        batch.add(key, del);
    }
    batch.run(&redis.conn).await?;
    Ok(())
}

/// Likes (`like`) or unlikes a post for `user_id`, keeping `likes` equal to the likers
/// set (one script). `None` when there is no such post; else (whether anything
/// changed, the likes now).
pub async fn set_like(
    redis: &Redis,
    post_id: &str,
    user_id: &str,
    like: bool,
) -> AppResult<Option<(bool, u64)>> {
    let reply: redis::Value = scripts::SET_LIKE
        .key(redis.keys.post(post_id))
        .key(redis.keys.post_part(post_id, PostPart::Likes))
        .arg(user_id)
        .arg(if like { "1" } else { "0" })
        .invoke_async(&mut redis.conn())
        .await?;
    let reply: IfExists<(u64, u64)> = scripts::decode("set_like", reply)?;
    Ok(reply.done().map(|(changed, likes)| (changed == 1, likes)))
}

/// Adds a comment, keeping `comments_count` equal to the comments (one script).
/// `None` when there is no such post; else the new count.
pub async fn add_comment(redis: &Redis, comment: &Comment, at_ms: i64) -> AppResult<Option<u64>> {
    let member = serde_json::to_string(comment).map_err(anyhow::Error::from)?;
    let reply: redis::Value = scripts::ADD_COMMENT
        .key(redis.keys.post(&comment.post_id))
        .key(redis.keys.post_part(&comment.post_id, PostPart::Comments))
        .key(redis.keys.post_part(&comment.post_id, PostPart::CommentIds))
        .arg(at_ms)
        .arg(member)
        .arg(&comment.id)
        .invoke_async(&mut redis.conn())
        .await?;
    let reply: IfExists<(u64,)> = scripts::decode("add_comment", reply)?;
    Ok(reply.done().map(|(count,)| count))
}

/// What deleting a comment found.
#[derive(Debug, PartialEq, Eq)]
pub enum CommentRemoval {
    Done,
    NoPost,
    NoComment,
    Forbidden,
}

/// Deletes comment `comment_id` of a post if `user_id` wrote it or `any` (the caller
/// may act for everyone), in one script with its authorization check.
pub async fn delete_comment(
    redis: &Redis,
    post_id: &str,
    comment_id: &str,
    user_id: &str,
    any: bool,
) -> AppResult<CommentRemoval> {
    let reply: redis::Value = scripts::DELETE_COMMENT
        .key(redis.keys.post(post_id))
        .key(redis.keys.post_part(post_id, PostPart::Comments))
        .key(redis.keys.post_part(post_id, PostPart::CommentIds))
        .arg(comment_id)
        .arg(user_id)
        .arg(if any { "1" } else { "0" })
        .invoke_async(&mut redis.conn())
        .await?;
    let reply: scripts::Tagged = scripts::decode("delete_comment", reply)?;
    Ok(match reply.tag.as_str() {
        "done" => CommentRemoval::Done,
        "missing" => CommentRemoval::NoPost,
        "no_comment" => CommentRemoval::NoComment,
        "forbidden" => CommentRemoval::Forbidden,
        _ => {
            return Err(crate::error::AppError::Internal(anyhow::anyhow!(
                "delete_comment: {}",
                reply.unexpected()
            )));
        }
    })
}

/// The newest `max` comments of a post, newest first (RealWorld lists them without
/// paging); `None` when there is no such post.
pub async fn all_comments(
    redis: &Redis,
    post_id: &str,
    max: usize,
) -> AppResult<Option<Vec<Comment>>> {
    let (exists, members): (bool, Vec<String>) = redis::pipe()
        .exists(redis.keys.post(post_id))
        .zrevrange(
            redis.keys.post_part(post_id, PostPart::Comments),
            0,
            max as isize - 1,
        )
        .query_async(&mut redis.conn())
        .await?;
    Ok(exists.then(|| {
        members
            .iter()
            .filter_map(|m| serde_json::from_str(m).ok())
            .collect()
    }))
}

/// A window of a post's comments, newest first; `None` when there is no such post.
pub async fn comments_window(
    redis: &Redis,
    post_id: &str,
    after: Option<&ScoreCursor>,
    limit: usize,
) -> AppResult<Option<Window>> {
    let key = redis.keys.post_part(post_id, PostPart::Comments);
    newest_first(redis, &key, Some(&redis.keys.post(post_id)), after, limit).await
}

/// A window of `posts:recent`, newest first.
pub async fn recent_window(
    redis: &Redis,
    after: Option<&ScoreCursor>,
    limit: usize,
) -> AppResult<Window> {
    let key = redis.keys.recent_posts();
    Ok(newest_first(redis, &key, None, after, limit)
        .await?
        .unwrap_or_default())
}

/// A window of an author's posts, newest first; `None` when there is no such user.
pub async fn author_window(
    redis: &Redis,
    author: &str,
    after: Option<&ScoreCursor>,
    limit: usize,
) -> AppResult<Option<Window>> {
    let key = redis.keys.user_part(author, UserPart::Posts);
    newest_first(redis, &key, Some(&redis.keys.user(author)), after, limit).await
}

/// Windows of several authors' posts after the same cursor (one batch).
pub async fn author_windows(
    redis: &Redis,
    authors: &[String],
    after: Option<&ScoreCursor>,
    limit: usize,
) -> AppResult<Vec<Window>> {
    let keys: Vec<String> = authors
        .iter()
        .map(|a| redis.keys.user_part(a, UserPart::Posts))
        .collect();
    newest_first_many(redis, &keys, after, limit).await
}

/// The author's newest `n` posts as (id, created-at ms).
pub async fn newest_of_author(
    redis: &Redis,
    author: &str,
    n: usize,
) -> AppResult<Vec<(String, i64)>> {
    let entries: Vec<(String, f64)> = redis
        .conn()
        .zrevrange_withscores(
            redis.keys.user_part(author, UserPart::Posts),
            0,
            n as isize - 1,
        )
        .await?;
    Ok(entries.into_iter().map(|(id, s)| (id, s as i64)).collect())
}

/// Ids of the author's posts created at or after `since_ms`.
pub async fn ids_of_author_since(
    redis: &Redis,
    author: &str,
    since_ms: i64,
) -> AppResult<Vec<String>> {
    Ok(redis
        .conn()
        .zrangebyscore(
            redis.keys.user_part(author, UserPart::Posts),
            since_ms,
            "+inf",
        )
        .await?)
}

/// The oldest `n` post ids of an author (to delete a user's posts chunk by chunk).
pub async fn oldest_of_author(redis: &Redis, author: &str, n: usize) -> AppResult<Vec<String>> {
    Ok(redis
        .conn()
        .zrange(
            redis.keys.user_part(author, UserPart::Posts),
            0,
            n as isize - 1,
        )
        .await?)
}

/// Sets the copied author name and avatar on posts that still exist (`hset_if_exists`
/// per post, so a post deleted meanwhile is not re-created), in one batch.
pub async fn set_author(
    redis: &Redis,
    post_ids: &[String],
    name: &str,
    avatar: Option<&str>,
) -> AppResult<()> {
    let mut batch = Batch::new();
    for id in post_ids {
        let key = redis.keys.post(id);
        let mut invocation = scripts::HSET_IF_EXISTS.prepare_invoke();
        invocation
            .key(&key)
            .arg("author_name")
            .arg(name)
            .arg("author_avatar")
            .arg(avatar.unwrap_or_default());
        batch.add_script(key, &scripts::HSET_IF_EXISTS, &invocation);
    }
    batch.run_loading_scripts(&redis.conn).await?;
    Ok(())
}

/// Makes sure INCR never hands out a post number at or below `n` (used by the seed).
pub async fn reserve_ids_through(redis: &Redis, n: u64) -> AppResult<()> {
    let _: u64 = scripts::RAISE_COUNTER
        .key(redis.keys.post_ids())
        .arg(n)
        .invoke_async(&mut redis.conn())
        .await?;
    Ok(())
}

/// The routing key and the `HSET` that stores `post` as [`store`] does, for bulk
/// writers (the synthetic seed).
pub fn store_cmd(keys: &crate::redis::Keys, post: &Post) -> (String, redis::Cmd) {
    let key = keys.post(&post.id);
    let mut hset = redis::cmd("HSET");
    hset.arg(&key).arg(post.to_fields());
    (key, hset)
}

/// The routing key and one `ZADD` of `author_id`'s own posts with every
/// `(at_ms, post id)` entry, for bulk writers (the synthetic seed). `entries` must
/// not be empty.
pub fn author_index_fill(
    keys: &crate::redis::Keys,
    author_id: &str,
    entries: impl IntoIterator<Item = (i64, String)>,
) -> (String, redis::Cmd) {
    let key = keys.user_part(author_id, UserPart::Posts);
    let cmd = crate::redis::batch::zadd_all(&key, entries);
    (key, cmd)
}
