//! Application config: one hash, `config:app` (seed 002).
//!
//! A hash is the natural home for a handful of named settings: HGETALL reads them all
//! in one command, HSET changes one field without rewriting the others. Redis stores
//! every value as a string, so the typing lives here: each known key has a type, reads
//! turn values back into JSON numbers and booleans, and PATCH refuses unknown keys and
//! wrong types with a 422 naming the key, so nothing untyped ever lands in the hash.

mod handlers;
pub mod repo;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(handlers::get_config, handlers::patch_config))
}
