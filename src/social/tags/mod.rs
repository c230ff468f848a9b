//! Tags: many-to-many between users and tags, as seed 000 does it, with a set on
//! each side.
//!
//! `user:{id}:tags` answers "what tags has this user" and `tag:{name}:users` answers
//! "who has this tag", each in O(1) per member, and SINTER / SUNION over tag sets answer
//! "users with all of" / "any of" these tags. The two sides live in different slots, so
//! tagging is two single-slot steps (see [`repo`]) and, on a cluster, where the tag
//! sets of a query are spread over slots, the intersection or union is computed in the
//! service from per-slot reads instead of one SINTER (which would fail with CROSSSLOT).

mod handlers;
pub mod model;
pub mod repo;
pub mod service;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::tag_user, handlers::untag_user))
        .routes(routes!(handlers::user_tags))
        .routes(routes!(handlers::tag_members))
        .routes(routes!(handlers::find_users))
}
