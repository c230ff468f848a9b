//! Tags: many-to-many between users and tags, as seed 000 does it, with a set on
//! each side.
//!
//! `user:{id}:tags` answers "what tags has this user" and `tag:{name}:users` answers
//! "who has this tag", each in O(1) per member. The two sides live in different slots,
//! so tagging is two single-slot steps (see [`repo`]).
//!
//! Anyone can make a tag set huge (every user may carry any tag), so "users with all
//! of / any of these tags" is not SINTER / SUNION, which read whole sets: a page walks
//! one set with SSCAN from a cursor and checks each batch against the others with
//! SMISMEMBER ([`crate::redis::set_scan`]), at a cost bounded by the page whatever the
//! sets' sizes, the same on one node and on a cluster (where the sets sit in different
//! slots and a SINTER would fail with CROSSSLOT anyway). The user's own side is capped
//! at [`repo::MAX_TAGS_PER_USER`] tags, so it can be answered whole.

mod handlers;
pub mod model;
pub mod repo;
pub mod service;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::tag_user, handlers::untag_user))
        .routes(routes!(handlers::user_tags))
        .routes(routes!(handlers::tag_members))
        .routes(routes!(handlers::find_users))
}
