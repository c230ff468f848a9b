//! Post operations that span areas: publishing (post, indexes, fan-out, activity),
//! deleting (indexes, timelines, post), likes and comments (with activity), list pages
//! (index, then every post in one batch), and keeping the copied author name and
//! avatar up to date.

use super::model::{Comment, CommentPage, NewComment, NewPost, Post, PostPage};
use super::repo;
use crate::error::{AppError, AppResult};
use crate::pagination::{self, ScoreCursor};
use crate::redis::Redis;
use crate::social::feeds::model::ActivityKind;
use crate::social::feeds::repo as feeds;
use crate::social::follows::repo as follows;
use crate::social::{found_and_gone, json_page};
use crate::time;

/// Posts re-written per batch when an author's name or avatar changes: each batch is
/// one pipeline, so a prolific author never holds Redis for long.
pub const PROPAGATION_BATCH: usize = 200;

/// Publishes a post by `author`. `fan_out_max` is `AGORA_FANOUT_MAX_FOLLOWERS`.
pub async fn create(
    redis: &Redis,
    fan_out_max: u64,
    author: &str,
    input: NewPost,
) -> AppResult<Post> {
    input.validate()?;
    let (profile, followers) = tokio::try_join!(
        repo::author_profile(redis, author),
        follows::fan_out_targets(redis, author, fan_out_max)
    )?;
    let (author_name, author_avatar) = profile.ok_or(AppError::NotFound("user"))?;
    let id = repo::next_id(redis).await?;
    let now = time::now();
    let post = Post {
        id,
        title: input.title,
        content: input.content,
        author_id: author.to_string(),
        author_name,
        author_avatar,
        created_at: time::rfc3339(now),
        likes: 0,
        comments_count: 0,
    };
    repo::store(redis, &post).await?;
    publish(redis, &post, time::unix_ms(now), followers).await?;
    Ok(post)
}

/// Everything after the post hash is written, each step idempotent (the seed runs it
/// again with the same ids and times): a celebrity is marked as such *before* the post
/// is indexed, so no reader ever misses a post that was not fanned out; the author's
/// index (refused if the author was deleted meanwhile: the post is then removed and
/// the answer is 404); `posts:recent`; the author's and followers' timelines
/// (`followers` is `None` for a celebrity); the `post` activity.
pub async fn publish(
    redis: &Redis,
    post: &Post,
    at_ms: i64,
    followers: Option<Vec<String>>,
) -> AppResult<()> {
    let author = &post.author_id;
    if followers.is_none() {
        feeds::add_celebrity(redis, author).await?;
    }
    if !repo::index_for_author(redis, author, &post.id, at_ms).await? {
        repo::delete(redis, std::slice::from_ref(&post.id)).await?;
        return Err(AppError::NotFound("user"));
    }
    repo::index_recent(redis, &post.id, at_ms).await?;
    let mut timelines = vec![author.clone()];
    timelines.extend(followers.unwrap_or_default());
    feeds::push_to_timelines(redis, &timelines, &[(post.id.clone(), at_ms)]).await?;
    feeds::record_activity(redis, author, ActivityKind::Post, &post.id, at_ms).await
}

/// Deletes a post if `may_delete(author)` allows it (the HTTP layer passes its
/// owner-or-admin rule; 403 otherwise): out of `posts:recent`, the author's index
/// and the timelines it was pushed to, then the post with its likes and comments. A
/// celebrity's followers are not visited: their timelines never got the post (or got
/// it before the author crossed the threshold, and readers skip it once it is gone).
pub async fn delete(
    redis: &Redis,
    fan_out_max: u64,
    post_id: &str,
    may_delete: impl FnOnce(&str) -> bool,
) -> AppResult<()> {
    let author = repo::author_of(redis, post_id)
        .await?
        .ok_or(AppError::NotFound("post"))?;
    if !may_delete(&author) {
        return Err(AppError::Forbidden);
    }
    let ids = [post_id.to_string()];
    let followers = follows::fan_out_targets(redis, &author, fan_out_max).await?;
    repo::unindex(redis, &author, &ids).await?;
    let mut timelines = vec![author];
    timelines.extend(followers.unwrap_or_default());
    feeds::remove_from_timelines(redis, &timelines, &ids).await?;
    repo::delete(redis, &ids).await
}

/// Likes or unlikes a post for `user_id` (idempotent); a new like is recorded in the
/// user's activity.
pub async fn set_like(redis: &Redis, post_id: &str, user_id: &str, like: bool) -> AppResult<()> {
    let (changed, _likes) = repo::set_like(redis, post_id, user_id, like)
        .await?
        .ok_or(AppError::NotFound("post"))?;
    if changed && like {
        let now = time::unix_ms(time::now());
        feeds::record_activity(redis, user_id, ActivityKind::Like, post_id, now).await?;
    }
    Ok(())
}

/// Adds a comment by `author` and records it in their activity.
pub async fn comment(
    redis: &Redis,
    post_id: &str,
    author: &str,
    input: NewComment,
) -> AppResult<Comment> {
    input.validate()?;
    let now = time::now();
    let at_ms = time::unix_ms(now);
    let comment = Comment {
        id: format!("c{}", hex::encode(rand::random::<[u8; 8]>())),
        post_id: post_id.to_string(),
        author_id: author.to_string(),
        content: input.content,
        created_at: time::rfc3339(now),
    };
    repo::add_comment(redis, &comment, at_ms)
        .await?
        .ok_or(AppError::NotFound("post"))?;
    feeds::record_activity(redis, author, ActivityKind::Comment, post_id, at_ms).await?;
    if let Some(post_author) = repo::author_of(redis, post_id).await?
        && post_author != author
    {
        let data = serde_json::json!({
            "post_id": post_id,
            "comment_id": comment.id,
            "author_id": author,
        });
        crate::notifications::notify(redis, &post_author, "comment", data).await;
    }
    Ok(comment)
}

/// A page of a post's comments, newest first; 404 when there is no such post.
pub async fn comments(
    redis: &Redis,
    post_id: &str,
    limit: usize,
    after: Option<&ScoreCursor>,
) -> AppResult<CommentPage> {
    let window = repo::comments_window(redis, post_id, after, limit)
        .await?
        .ok_or(AppError::NotFound("post"))?;
    let (items, next_cursor) = json_page(window, limit);
    Ok(CommentPage { items, next_cursor })
}

/// A page of every author's recent posts, newest first.
pub async fn recent(
    redis: &Redis,
    limit: usize,
    after: Option<&ScoreCursor>,
) -> AppResult<PostPage> {
    let window = repo::recent_window(redis, after, limit).await?;
    let (page, gone) = load_page(redis, window.entries, limit).await?;
    repo::prune_recent(redis, &gone).await?;
    Ok(page)
}

/// A page of one author's posts, newest first; 404 when there is no such user.
pub async fn by_author(
    redis: &Redis,
    author: &str,
    limit: usize,
    after: Option<&ScoreCursor>,
) -> AppResult<PostPage> {
    let window = repo::author_window(redis, author, after, limit)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let (page, gone) = load_page(redis, window.entries, limit).await?;
    repo::prune_author(redis, author, &gone).await?;
    Ok(page)
}

/// The page of `limit` out of index `entries` (newest first), with every post fetched
/// in one batch, and the ids whose post is gone (for the caller to prune from its
/// index). The cursor is the last entry considered, so skipping a gone post never
/// makes the next page repeat or lose one.
pub async fn load_page(
    redis: &Redis,
    entries: Vec<(String, i64)>,
    limit: usize,
) -> AppResult<(PostPage, Vec<String>)> {
    let (entries, next_cursor) = pagination::split_page(entries, limit, false);
    let ids: Vec<String> = entries.into_iter().map(|(id, _)| id).collect();
    let found = repo::get_many(redis, &ids).await?;
    let (live, gone) = found_and_gone(ids, found);
    let items = live.into_iter().map(|(_, post)| post).collect();
    Ok((PostPage { items, next_cursor }, gone))
}

/// Copies the author's current `name` and `avatar` into every one of their posts, in
/// batches of [`PROPAGATION_BATCH`] (newest first, by a score cursor, so posts added
/// meanwhile, which already carry the new values, shift nothing). Posts deleted
/// meanwhile are not re-created. Running it again is harmless, so a crash half-way is
/// repaired by repeating the change.
pub async fn propagate_author(
    redis: &Redis,
    author: &str,
    name: &str,
    avatar: Option<&str>,
) -> AppResult<()> {
    let mut after: Option<ScoreCursor> = None;
    loop {
        let Some(window) =
            repo::author_window(redis, author, after.as_ref(), PROPAGATION_BATCH).await?
        else {
            return Ok(());
        };
        let mut entries = window.entries;
        let more = entries.len() > PROPAGATION_BATCH;
        entries.truncate(PROPAGATION_BATCH);
        let ids: Vec<String> = entries.iter().map(|(id, _)| id.clone()).collect();
        repo::set_author(redis, &ids, name, avatar).await?;
        match entries.pop() {
            Some((id, score)) if more => after = Some(ScoreCursor::new(score, id)),
            _ => return Ok(()),
        }
    }
}

/// Deletes every post of `author` (user deletion), oldest first in chunks: the posts
/// with their likes and comments, then their index entries. Timelines they were
/// pushed to are not visited; readers skip and remove the ids.
pub async fn remove_author_posts(redis: &Redis, author: &str) -> AppResult<()> {
    loop {
        let ids = repo::oldest_of_author(redis, author, PROPAGATION_BATCH).await?;
        if ids.is_empty() {
            return Ok(());
        }
        repo::delete(redis, &ids).await?;
        repo::unindex(redis, author, &ids).await?;
    }
}
