//! What deleting a user means for the social graph.

use crate::error::AppResult;
use crate::redis::Redis;
use crate::social::{feeds, follows, posts, tags};

/// Removes `user_id` from everything outside their own aggregate: their posts (with
/// likes and comments, out of `posts:recent`), their entries in the tag indexes, their
/// entries in the follow sets of everyone they follow or who follows them, and the
/// celebrity set. Run before the user's own keys (`user:{id}:tags`, `:followers`,
/// `:following`, `:posts`, `:timeline`, `:activity`) are deleted, because those are
/// what this reads to find the rest; every step is idempotent, so a failed deletion
/// is completed by deleting again. Their likes and comments on other people's posts
/// stay (counted and shown by user id).
pub async fn remove_user(redis: &Redis, user_id: &str) -> AppResult<()> {
    posts::service::remove_author_posts(redis, user_id).await?;
    tags::repo::remove_user(redis, user_id).await?;
    follows::repo::remove_user(redis, user_id).await?;
    feeds::repo::remove_celebrity(redis, user_id).await
}
