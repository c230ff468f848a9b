//! Sessions: seed 002's session hash, hardened.
//!
//! A session is a hash (`user_id, username, login_time, last_activity, ip_address,
//! user_agent`) whose key expires after 24 h without use; use slides the expiry (one
//! Lua script: check, refresh when due, read), written at most once per refresh
//! interval so most authenticated reads write nothing. Unlike the seed, the key is
//! named by the SHA-256 of a random token (the token itself is never stored) and lives
//! in the user's slot, sessions also end at an absolute lifetime however active they
//! are, a per-user sorted set (capped) indexes them so a user can list and revoke all
//! of their sessions, and failed logins are throttled per account and per address.

mod handlers;
pub(crate) mod model;
pub mod repo;
pub(crate) mod throttle;
pub mod token;

pub use model::SessionRecord;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

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
