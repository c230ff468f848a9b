//! Follow operations that span areas: a follow also merges the followed user's recent
//! posts into the follower's timeline and records the follow in their activity; an
//! unfollow takes those posts out again. List reads fetch the listed users in one batch.

use super::model::{FollowEntry, FollowPage};
use super::repo::{self, Side};
use crate::error::{AppError, AppResult};
use crate::notifications;
use crate::pagination::{self, PartScoreCursor, ScoreCursor};
use crate::redis::Redis;
use crate::social::feeds::model::ActivityKind;
use crate::social::feeds::repo as feeds;
use crate::social::found_and_gone;
use crate::social::posts::repo as posts;
use crate::time;
use crate::users::{self, model::UserField};

/// How many of the followed user's newest posts a follow merges into the timeline.
pub const FOLLOW_BACKFILL: usize = 200;

/// What a follow list shows of each user.
const LISTED_FIELDS: [UserField; 3] = [
    UserField::Hash("username"),
    UserField::Hash("name"),
    UserField::Hash("avatar"),
];

/// `user_id` follows `target` (idempotent). 422 for oneself, 404 for an unknown target.
///
/// Steps (see `repo` for why this order): the target must exist; the follower's side
/// (`following`, NX); the target's side (`followers`, NX; if the target vanished in
/// between, the first step is undone and the answer is 404); the target's newest posts
/// into the follower's timeline; a `follow` activity the first time only.
///
/// Runs under the pair's lock (see [`repo::lock_pair`]), so a concurrent unfollow of the
/// same pair runs wholly before or after it and both sides agree once both answered.
pub async fn follow(redis: &Redis, user_id: &str, target: &str) -> AppResult<()> {
    if user_id == target {
        return Err(AppError::invalid("target", "you cannot follow yourself"));
    }
    if !repo::user_exists(redis, target).await? {
        return Err(AppError::NotFound("user"));
    }
    locked(
        redis,
        user_id,
        target,
        follow_locked(redis, user_id, target),
    )
    .await
}

/// Runs `step` while holding the pair's lock; 409 `follow-busy` if another request on
/// the same pair holds it for longer than the wait.
async fn locked(
    redis: &Redis,
    user_id: &str,
    target: &str,
    step: impl std::future::Future<Output = AppResult<()>>,
) -> AppResult<()> {
    let lock = repo::lock_pair(redis, user_id, target)
        .await?
        .ok_or_else(|| AppError::Conflict {
            kind: "follow-busy",
            detail: "Another follow or unfollow of this user is in progress; retry.".into(),
        })?;
    let result = step.await;
    if let Err(err) = repo::unlock_pair(redis, lock).await {
        tracing::warn!(error = %err, "pair lock not released; it expires by itself");
    }
    result
}

async fn follow_locked(redis: &Redis, user_id: &str, target: &str) -> AppResult<()> {
    let now = time::unix_ms(time::now());
    let (newly, followed_at) = repo::add(redis, user_id, Side::Following, target, now)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    // The time the follower's side holds, so a retried follow gives both sides one time.
    if repo::add(redis, target, Side::Followers, user_id, followed_at)
        .await?
        .is_none()
    {
        repo::remove(redis, user_id, Side::Following, &[target.to_string()]).await?;
        return Err(AppError::NotFound("user"));
    }
    let recent = posts::newest_of_author(redis, target, FOLLOW_BACKFILL).await?;
    feeds::push_to_timelines(redis, &[user_id.to_string()], &recent).await?;
    if newly {
        feeds::record_activity(redis, user_id, ActivityKind::Follow, target, now).await?;
        let data = serde_json::json!({"follower_id": user_id, "followed_at": time::rfc3339_from_ms(followed_at)});
        notifications::notify(redis, target, "new_follower", data).await;
    }
    Ok(())
}

/// `user_id` stops following `target` (idempotent): the target's side first, then the
/// follower's, then the target's posts leave the follower's timeline.
/// Under the pair's lock, like [`follow`].
pub async fn unfollow(redis: &Redis, user_id: &str, target: &str) -> AppResult<()> {
    locked(redis, user_id, target, async {
        repo::remove(redis, target, Side::Followers, &[user_id.to_string()]).await?;
        repo::remove(redis, user_id, Side::Following, &[target.to_string()]).await?;
        feeds::remove_author_from_timeline(redis, user_id, target).await
    })
    .await
}

/// A page of `user_id`'s followers or followed users, newest first; 404 when there is
/// no such user. Entries whose user is gone are skipped and removed.
pub async fn list(
    redis: &Redis,
    user_id: &str,
    side: Side,
    limit: usize,
    after: Option<&ScoreCursor>,
) -> AppResult<FollowPage> {
    let window = repo::window(redis, user_id, side, after, limit)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let (entries, next_cursor) = pagination::split_page(window.entries, limit, false);
    let (items, gone) = with_users(redis, entries).await?;
    repo::remove(redis, user_id, side, &gone).await?;
    Ok(FollowPage { items, next_cursor })
}

/// Users who follow both `a` and `b`, a page (see [`repo::common_followers`] for its
/// order and bounds); 404 when either user does not exist.
pub async fn common_followers(
    redis: &Redis,
    a: &str,
    b: &str,
    limit: usize,
    cursor: Option<PartScoreCursor>,
) -> AppResult<FollowPage> {
    let (a_exists, b_exists) =
        tokio::try_join!(repo::user_exists(redis, a), repo::user_exists(redis, b))?;
    if !a_exists || !b_exists {
        return Err(AppError::NotFound("user"));
    }
    let (entries, next) = repo::common_followers(redis, a, b, cursor, limit).await?;
    let (items, _gone) = with_users(redis, entries).await?;
    Ok(FollowPage {
        items,
        next_cursor: next.map(|c| c.encode()),
    })
}

/// Fetches the listed users in one batch: the entries of those found, and the ids of
/// those gone.
async fn with_users(
    redis: &Redis,
    entries: Vec<(String, i64)>,
) -> AppResult<(Vec<FollowEntry>, Vec<String>)> {
    let (ids, times): (Vec<String>, Vec<i64>) = entries.into_iter().unzip();
    let found = users::repo::get_many(redis, &ids, Some(&LISTED_FIELDS)).await?;
    let found = found
        .into_iter()
        .zip(times)
        .map(|(user, at)| user.map(|user| FollowEntry::new(user, at)))
        .collect();
    let (live, gone) = found_and_gone(ids, found);
    Ok((live.into_iter().map(|(_, entry)| entry).collect(), gone))
}
