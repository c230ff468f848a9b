//! Users: one hash per user (`user:{id}`), as in seeds 000 and 002.
//!
//! A hash keeps an entity's fields together under one key: HGETALL reads it in one
//! command, HMGET reads only what a client asked for (`?fields=`), HINCRBY counts logins
//! in place, and it costs far less memory than one string key per field. Uniqueness of
//! username and e-mail comes from bucketed index hashes spread over many slots (see
//! `identity`), claimed one after the other in an order that survives crashes.

mod handlers;
pub mod identity;
pub(crate) mod model;
pub mod password;
pub mod repo;

pub use model::{PublicUser, Role, User};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::create_user))
        .routes(routes!(handlers::change_password))
        .routes(routes!(
            handlers::get_user,
            handlers::update_user,
            handlers::delete_user
        ))
}
