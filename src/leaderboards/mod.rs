//! Leaderboards: a sorted set per board plus a hash per player entry (seeds 001, 002).
//!
//! A sorted set keeps members ordered by score, so the top N (`ZRANGE … REV`), a
//! player's rank (`ZREVRANK`) and the players around them are O(log N) however large
//! the board. What a sorted set cannot hold (username, level, wins, losses,
//! last_played) goes in a hash per player entry, named under the board's hash tag
//! (`lb:{board}:player:{id}`) so that a game result can update the score and the entry
//! in one Lua script, atomically, on a cluster too. Ranks in the API count from 1.

mod handlers;
pub mod model;
pub mod repo;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::submit_score))
        .routes(routes!(handlers::top))
        .routes(routes!(handlers::player))
        .routes(routes!(handlers::around))
        .routes(routes!(handlers::record_result))
}
