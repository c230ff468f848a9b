//! Experiments: sticky A/B variant assignment with configurable weights.
//!
//! An experiment is a hash of variant → weight (`experiment:{name}`); each assignment is
//! a string in the same slot, `experiment:{name}:assigned:<subject>` → variant. A
//! subject's first call picks a variant by weight and a script stores it only if none
//! is stored yet (GET, else SET), so concurrent first calls agree on one variant, and
//! every later call returns it even if the weights change (a subject never flips
//! between variants mid-experiment). Subjects are anyone's to make up, so an
//! assignment expires after `AGORA_ASSIGNMENT_RETENTION_DAYS` without a call for it
//! (each call starts it again).

mod handlers;
pub mod model;
pub mod repo;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::put_experiment, handlers::get_experiment))
        .routes(routes!(handlers::assign))
}
