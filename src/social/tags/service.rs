//! Tag reads that span areas: the tag index gives ids, the users come from the users
//! area in one batch, and ids whose user is gone are skipped and pruned.

use super::model::{Match, UserIdPage, UserPage};
use super::repo;
use crate::error::AppResult;
use crate::pagination::page_of_ids;
use crate::redis::Redis;
use crate::social::found_and_gone;
use crate::users;

/// Users having all / any of the tags, a page in id order.
pub async fn find_users(
    redis: &Redis,
    search: &Match,
    limit: usize,
    after: Option<&str>,
) -> AppResult<UserPage> {
    let (tags, ids) = match search {
        Match::All(tags) => (tags, repo::with_all(redis, tags).await?),
        Match::Any(tags) => (tags, repo::with_any(redis, tags).await?),
    };
    let (page, next_cursor) = page_of_ids(ids, after, limit);
    let found = users::repo::get_many(redis, &page, None).await?;
    let (live, gone) = found_and_gone(page, found);
    repo::prune(redis, tags, &gone).await?;
    Ok(UserPage {
        items: live.into_iter().map(|(_, user)| user.into()).collect(),
        next_cursor,
    })
}

/// Ids of the users with `tag`, a page in id order.
pub async fn members(
    redis: &Redis,
    tag: &str,
    limit: usize,
    after: Option<&str>,
) -> AppResult<UserIdPage> {
    let ids = repo::members(redis, tag).await?;
    let (page, next_cursor) = page_of_ids(ids, after, limit);
    let found = users::repo::get_many(redis, &page, Some(&[])).await?;
    let (live, gone) = found_and_gone(page, found);
    repo::prune(redis, &[tag.to_string()], &gone).await?;
    Ok(UserIdPage {
        items: live.into_iter().map(|(id, _)| id).collect(),
        next_cursor,
    })
}
