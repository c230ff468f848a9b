//! Feed types: activity entries (as stored and as returned).

use crate::pagination::{Page, Paged};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What an activity entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ActivityKind {
    /// Published the post `target_id`.
    Post,
    /// Liked the post `target_id`.
    Like,
    /// Commented on the post `target_id`.
    Comment,
    /// Followed the user `target_id`.
    Follow,
}

/// One entry of a user's activity feed; stored as this JSON (seed 000's shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ActivityEntry {
    #[serde(rename = "type")]
    pub kind: ActivityKind,
    /// A post id for `post`, `like`, `comment`; a user id for `follow`.
    pub target_id: String,
    /// RFC 3339 UTC.
    pub timestamp: String,
}

/// A page of the activity feed, newest first.
pub type ActivityPage = Page<ActivityEntry>;

impl Paged for ActivityEntry {
    const PAGE_NAME: &'static str = "ActivityPage";
    const PAGE_DESCRIPTION: &'static str = "A page of the activity feed, newest first.";
}
