//! Rate limiting: one mechanism, two faces.
//!
//! A sorted set per client holds the times of its recent requests; `rate_limit.lua`
//! drops entries older than the window, counts the rest and admits or rejects the
//! request in one atomic step. That gives an *exact* sliding window (no burst at a
//! fixed-window boundary) at the cost of one member per request, which is fine for
//! per-minute limits. The same script serves:
//! - the API's own limiter ([`api_limiter`]), a middleware keyed by the session user,
//!   else the client IP, with `AGORA_RATE_LIMIT` requests per minute; it also counts
//!   per-endpoint hourly quotas ([`quotas`], seed 002's hash of per-endpoint uses);
//! - `POST /v1/rate-limits/check`, for other services that want the same guarantee.

pub(crate) mod api_limiter;
mod handlers;
pub(crate) mod model;
pub mod quotas;
pub(crate) mod repo;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::check))
        .routes(routes!(handlers::my_quotas))
}
