//! The social graph: tags, follows, posts (likes, comments) and feeds, as seed 000
//! models them, done as production code.
//!
//! | part | Redis structure | why |
//! |---|---|---|
//! | [`tags`] | a set on each side: `user:{id}:tags`, `tag:{name}:users` | many-to-many both ways in O(1); "all of" / "any of" walk one set with SSCAN and check the others with SMISMEMBER, a page at a time |
//! | [`follows`] | sorted sets on both sides scored by follow time: `user:{id}:following`, `user:{id}:followers` | newest-first pages, counts by ZCARD, common followers by walking the smaller set in windows with ZMSCORE in the other |
//! | [`posts`] | a hash per post with the author's name and avatar copied in; `user:{id}:posts` and `posts:recent` sorted sets; `post:{id}:likes` set; `post:{id}:comments` sorted set | a list page is one index read plus one batch of HGETALLs, with no second lookup of authors; likers and comments sit in the post's slot so one script keeps each counter equal to its set |
//! | [`feeds`] | `user:{id}:timeline` sorted sets filled on write (capped at 800), `user:{id}:activity` sorted sets (capped at 1000), `users:celebrities` set | a home feed page is a read of one sorted set, whatever the number of people followed; authors with very many followers are merged at read time instead |
//!
//! Every write here spans aggregates (a follow touches two users, a post touches the
//! post, its author and every follower), so each is a sequence of single-slot steps,
//! each idempotent, ordered so that a crash between two of them leaves only states the
//! readers tolerate; each repository's docs say which. Readers skip index entries whose
//! entity is gone and remove them on the way.
//!
//! [`service::remove_user`] is what deleting a user runs first, and
//! [`posts::service::propagate_author`] what changing a name or avatar runs after.

pub mod feeds;
pub mod follows;
pub mod posts;
pub mod seed;
pub mod service;
pub mod tags;

use utoipa_axum::router::OpenApiRouter;

use crate::error::AppResult;
use crate::pagination::{self, ScoreCursor, Window};
use crate::redis::Redis;
use crate::redis::batch::Batch;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(tags::router())
        .merge(follows::router())
        .merge(posts::router())
        .merge(feeds::router())
}

/// Reads the entries of the sorted set `key` after `after`, newest first, enough for a
/// page of `limit` plus one (which tells whether another page follows). When `owner`
/// is given (a key in the same slot, e.g. the user hash of `user:{id}:followers`), its
/// existence is checked in the same pipeline and `None` means it does not exist.
pub async fn newest_first(
    redis: &Redis,
    key: &str,
    owner: Option<&str>,
    after: Option<&ScoreCursor>,
    limit: usize,
) -> AppResult<Option<Window>> {
    let mut fetch = pagination::first_fetch(limit);
    loop {
        let mut pipe = redis::pipe();
        if let Some(owner) = owner {
            pipe.exists(owner);
        }
        pipe.add_command(pagination::newest_first_cmd(key, after, fetch));
        let mut replies: Vec<redis::Value> = pipe.query_async(&mut redis.conn()).await?;
        let window_reply = replies.pop().unwrap_or(redis::Value::Nil);
        if let Some(exists) = replies.pop()
            && !redis::from_redis_value::<bool>(exists)?
        {
            return Ok(None);
        }
        let window = Window::from_reply(window_reply, after, fetch)?;
        if !window.needs_more(limit + 1) {
            return Ok(Some(window));
        }
        // Entries tied with the cursor's score used up the slack: ask for more.
        fetch *= 4;
    }
}

/// [`newest_first`] over many sorted sets (any slots) after the same cursor: one
/// batch, plus a retry for the rare set whose ties with the cursor ate the slack.
pub async fn newest_first_many(
    redis: &Redis,
    keys: &[String],
    after: Option<&ScoreCursor>,
    limit: usize,
) -> AppResult<Vec<Window>> {
    let fetch = pagination::first_fetch(limit);
    let mut batch = Batch::new();
    for key in keys {
        batch.add(key.clone(), pagination::newest_first_cmd(key, after, fetch));
    }
    let mut windows = Vec::with_capacity(keys.len());
    for (key, reply) in keys.iter().zip(batch.run(&redis.conn).await?) {
        let window = Window::from_reply(reply, after, fetch)?;
        windows.push(if window.needs_more(limit + 1) {
            newest_first(redis, key, None, after, limit)
                .await?
                .unwrap_or_default()
        } else {
            window
        });
    }
    Ok(windows)
}

/// Splits what a reader fetched for `ids` into the entities found (with their ids) and
/// the ids whose entity is gone: dangling index entries to skip and remove.
pub fn found_and_gone<T>(
    ids: Vec<String>,
    found: Vec<Option<T>>,
) -> (Vec<(String, T)>, Vec<String>) {
    let mut live = Vec::with_capacity(ids.len());
    let mut gone = Vec::new();
    for (id, entity) in ids.into_iter().zip(found) {
        match entity {
            Some(entity) => live.push((id, entity)),
            None => gone.push(id),
        }
    }
    (live, gone)
}

/// The page of `limit` out of a window whose members are JSON documents (comments,
/// activity entries), parsed, and the next cursor. A member that does not parse (not
/// written by this code) is skipped rather than failing the page.
pub fn json_page<T: serde::de::DeserializeOwned>(
    window: Window,
    limit: usize,
) -> (Vec<T>, Option<String>) {
    let (entries, next_cursor) = pagination::split_page(window.entries, limit, false);
    let items = entries
        .iter()
        .filter_map(|(json, _)| serde_json::from_str(json).ok())
        .collect();
    (items, next_cursor)
}
