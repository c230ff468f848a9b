//! Experiments: sticky A/B variant assignment with configurable weights.
//!
//! An experiment is a hash of variant → weight (`experiment:{name}`); assignments are a
//! second hash in the same slot, subject → variant. A subject's first call picks a
//! variant by weight and stores it with HSETNX inside a script, so concurrent first
//! calls agree on one variant, and every later call returns it even if the weights
//! change (a subject never flips between variants mid-experiment).

mod handlers;
pub mod model;
pub mod repo;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::put_experiment, handlers::get_experiment))
        .routes(routes!(handlers::assign))
}
