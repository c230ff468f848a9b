//! Feed reads: the home timeline merged with followed celebrities' posts, and the
//! activity feed.

use super::model::ActivityPage;
use super::repo;
use crate::error::{AppError, AppResult};
use crate::pagination::{self, ScoreCursor};
use crate::redis::Redis;
use crate::social::follows::repo as follows;
use crate::social::json_page;
use crate::social::posts::model::PostPage;
use crate::social::posts::{repo as posts, service as post_service};

/// A page of `user_id`'s home feed, newest first: their timeline window and, merged in
/// by time, the same window of each followed celebrity's own posts (duplicates
/// removed). Posts that are gone are skipped and removed from the timeline.
///
/// Round trips: the timeline window and `users:celebrities` together; when there are
/// celebrities, ZMSCORE of them in the user's following set and one batch of their
/// post windows; then one batch of post hashes.
pub async fn home(
    redis: &Redis,
    user_id: &str,
    limit: usize,
    after: Option<&ScoreCursor>,
) -> AppResult<PostPage> {
    let (timeline, celebrities) = tokio::try_join!(
        repo::timeline_window(redis, user_id, after, limit),
        repo::celebrities(redis)
    )?;
    let mut entries = timeline.entries;
    let candidates: Vec<String> = celebrities.into_iter().filter(|c| c != user_id).collect();
    if !candidates.is_empty() {
        let followed = follows::followed_among(redis, user_id, &candidates).await?;
        for window in posts::author_windows(redis, &followed, after, limit).await? {
            entries.extend(window.entries);
        }
        pagination::sort_newest_first(&mut entries);
    }
    let (page, gone) = post_service::load_page(redis, entries, limit).await?;
    repo::remove_from_timelines(redis, &[user_id.to_string()], &gone).await?;
    Ok(page)
}

/// A page of `user_id`'s activity, newest first; 404 when there is no such user.
pub async fn activity(
    redis: &Redis,
    user_id: &str,
    limit: usize,
    after: Option<&ScoreCursor>,
) -> AppResult<ActivityPage> {
    let window = repo::activity_window(redis, user_id, after, limit)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let (items, next_cursor) = json_page(window, limit);
    Ok(ActivityPage { items, next_cursor })
}
