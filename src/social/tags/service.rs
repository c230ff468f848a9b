//! Tag reads that span areas: the tag index gives a page of ids (walked with SSCAN,
//! see [`repo::page`]), the users come from the users area in one batch, and ids whose
//! user is gone are skipped and pruned.

use super::model::{Match, UserIdPage, UserPage};
use super::repo::{self, Combine};
use crate::error::AppResult;
use crate::pagination::SetCursor;
use crate::redis::Redis;
use crate::social::found_and_gone;
use crate::users;

/// Users having all / any of the tags, a page (public profiles).
pub async fn find_users(
    redis: &Redis,
    search: &Match,
    limit: usize,
    cursor: Option<SetCursor>,
) -> AppResult<UserPage> {
    let (tags, combine) = match search {
        Match::All(tags) => (tags, Combine::All),
        Match::Any(tags) => (tags, Combine::Any),
    };
    let (page, next) = repo::page(redis, tags, combine, cursor, limit).await?;
    let found = users::repo::get_many(redis, &page, None).await?;
    let (live, gone) = found_and_gone(page, found);
    repo::prune(redis, tags, &gone).await?;
    Ok(UserPage {
        items: live.into_iter().map(|(_, user)| user.into()).collect(),
        next_cursor: next.map(|c| c.encode()),
    })
}

/// Ids of the users with `tag`, a page.
pub async fn members(
    redis: &Redis,
    tag: &str,
    limit: usize,
    cursor: Option<SetCursor>,
) -> AppResult<UserIdPage> {
    let tags = [tag.to_string()];
    let (page, next) = repo::page(redis, &tags, Combine::All, cursor, limit).await?;
    let found = users::repo::get_many(redis, &page, Some(&[])).await?;
    let (live, gone) = found_and_gone(page, found);
    repo::prune(redis, &tags, &gone).await?;
    Ok(UserIdPage {
        items: live.into_iter().map(|(id, _)| id).collect(),
        next_cursor: next.map(|c| c.encode()),
    })
}
