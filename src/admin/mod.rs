//! Admin endpoints: queue depths and a window onto the keyspace.
//!
//! Looking at keys in production must never block Redis: KEYS walks the whole keyspace
//! in one command, so the key browser pages with SCAN (a cursor, a bounded COUNT per
//! call, every primary in turn on a cluster) and fetches each key's type and TTL in one
//! slot-grouped batch. Keys are shown without the deployment's `KEY_PREFIX`, and a
//! pattern can only match inside it, so an admin of one deployment sees only its keys.

mod handlers;
pub mod model;
mod repo;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::email_queue))
        .routes(routes!(handlers::keys))
        .routes(routes!(handlers::key_memory))
}
