//! Follows: seed 000's sorted relationships, a sorted set on each side scored by the
//! follow time (ms).
//!
//! `user:{id}:following` (whom I follow) and `user:{id}:followers` (who follows me)
//! give newest-first pages with a stable cursor, counts by ZCARD (the user resource's
//! `follower_count` / `following_count`), and "who follows both" by walking the smaller
//! followers set in windows with ZMSCORE in the other (ZINTER would read both whole, and
//! anyone can grow a followers set). A set on
//! each side costs twice the memory of one edge list, and buys O(log n) reads in both
//! directions, which both the profile and the feed fan-out need.
//!
//! A follow touches two users, so two slots on a cluster: it is written as single-slot
//! steps, each idempotent (see [`repo`] for the order and what a crash between leaves).

mod handlers;
pub mod model;
pub mod repo;
pub mod service;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::follow, handlers::unfollow))
        .routes(routes!(handlers::followers))
        .routes(routes!(handlers::following))
        .routes(routes!(handlers::common_followers))
}
