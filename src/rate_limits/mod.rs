//! Rate limiting: two algorithms, each where it fits.
//!
//! - `POST /v1/rate-limits/check` (seed 001's pattern, for other services): a sorted
//!   set per key holds the recent admissions; `rate_limit.lua` drops entries older than
//!   the window, counts the rest and admits or rejects in one atomic step. An *exact*
//!   sliding window (no burst at a fixed-window boundary), at one member per request.
//! - The API's own limiter ([`api_limiter`]), a middleware keyed by the session user,
//!   else the client address: GCRA (`gcra.lua`), one small string per client and one
//!   script call per request, `AGORA_RATE_LIMIT` at once and per window sustained; a
//!   refused client is refused locally until its `Retry-After`. It also counts
//!   per-endpoint hourly quotas ([`quotas`], seed 002's hash of per-endpoint uses) in
//!   the same script.

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
