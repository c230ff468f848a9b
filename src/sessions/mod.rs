//! Sessions: seed 002's session hash, hardened.
//!
//! A session is a hash (`user_id, username, login_time, last_activity, ip_address,
//! user_agent`) whose key expires after 24 h without use; each use slides the expiry
//! (one Lua script: check, refresh, read). Unlike the seed, the key is named by the
//! SHA-256 of a 256-bit random token (the token itself is never stored), sessions also
//! end at an absolute lifetime however active they are, and a per-user sorted set
//! indexes them so a user can list and revoke all of their sessions.

mod handlers;
pub mod model;
pub mod repo;
pub mod service;
pub mod throttle;
pub mod token;

pub use model::SessionRecord;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::login))
        .routes(routes!(handlers::current_session, handlers::logout))
        .routes(routes!(
            handlers::list_sessions,
            handlers::revoke_all_sessions
        ))
        .routes(routes!(handlers::revoke_session))
}
