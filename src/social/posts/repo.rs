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

/// Adds the post to `posts:recent` and trims it to [`RECENT_CAP`] (one MULTI: one key).
pub async fn index_recent(redis: &Redis, post_id: &str, at_ms: i64) -> AppResult<()> {
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

/// One post; `None` if there is no such post.
pub async fn get(redis: &Redis, id: &str) -> AppResult<Option<Post>> {
    Ok(get_many(redis, &[id.to_string()]).await?.pop().flatten())
}

/// Many posts in the order of `ids` (`None` where a post is gone): what the
/// client-side cache holds from memory, the rest in one batch of HGETALLs (one
/// pipeline per slot on a cluster).
pub async fn get_many(redis: &Redis, ids: &[String]) -> AppResult<Vec<Option<Post>>> {
    let hashes = redis
        .hgetall_cached(ids.iter().map(|id| redis.keys.post(id)))
        .await?;
    Ok(hashes.iter().map(Post::from_hash).collect())
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
    let by_author = redis.keys.user_part(author, UserPart::Posts);
    let mut batch = Batch::new();
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
    if !gone.is_empty() {
        let _: u64 = redis.conn().zrem(redis.keys.recent_posts(), gone).await?;
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
        .arg(at_ms)
        .arg(member)
        .invoke_async(&mut redis.conn())
        .await?;
    let reply: IfExists<(u64,)> = scripts::decode("add_comment", reply)?;
    Ok(reply.done().map(|(count,)| count))
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
