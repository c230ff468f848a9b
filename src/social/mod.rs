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
pub(crate) mod follows;
pub mod posts;
pub(crate) mod seed;
pub(crate) mod service;
pub(crate) mod tags;

use utoipa_axum::router::OpenApiRouter;

use crate::pagination;
use crate::redis::paging::Window;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(tags::router())
        .merge(follows::router())
        .merge(posts::router())
        .merge(feeds::router())
}

/// Splits what a reader fetched for `ids` into the entities found (with their ids) and
/// the ids whose entity is gone: dangling index entries to skip and remove.
pub(crate) fn found_and_gone<T>(
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
pub(crate) fn json_page<T: serde::de::DeserializeOwned>(
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
