//! Follow types: what the follow lists return.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::pagination::{Page, Paged};
use crate::users::User;

/// One user in a follow list.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FollowEntry {
    pub user_id: String,
    /// RFC 3339 UTC: when the follow happened (for common followers: when the later of
    /// the two follows happened).
    pub followed_at: String,
    pub username: Option<String>,
    pub name: Option<String>,
    pub avatar: Option<String>,
}

impl FollowEntry {
    pub fn new(user: User, followed_at_ms: i64) -> FollowEntry {
        FollowEntry {
            user_id: user.id,
            followed_at: crate::time::rfc3339_from_ms(followed_at_ms),
            username: user.username,
            name: user.name,
            avatar: user.avatar,
        }
    }
}

/// A page of a follow list, newest first.
pub type FollowPage = Page<FollowEntry>;

impl Paged for FollowEntry {
    const PAGE_NAME: &'static str = "FollowPage";
    const PAGE_DESCRIPTION: &'static str = "A page of a follow list, newest first.";
}

/// Query of the common-followers list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommonQuery {
    /// The other user's id, or `me`. Required: without it the answer is a 422 naming `with`.
    // An `Option` so that a missing `with` is Agora's 422 naming the field, not a
    // deserialisation error.
    #[param(required = true, example = "2", pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub with: Option<String>,
}
