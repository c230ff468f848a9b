//! Analytics: counters, unique visitors and cohorts (seed 001).
//!
//! - Page views are plain string counters (`INCR pageviews:{path}`): atomic, O(1), no
//!   read-modify-write race.
//! - Unique visitors per day are a set (`SADD visitors:{date}`), which gives exact
//!   counts and set algebra: visitors seen on one day and again on another (SINTER),
//!   visitors of a day not seen on another (SDIFF). Beside each set a HyperLogLog
//!   (`PFADD visitors:{date}:hll`) keeps an approximate count in ~12 KB however many
//!   millions of visitors there are, for when the exact set becomes too costly to keep.
//! - Two days are two keys in two cluster slots, so SINTER/SDIFF run server-side only
//!   on a single node; on a cluster the service reads both sets (SMEMBERS in one batch)
//!   and combines them, so the API never sees a CROSSSLOT error.

mod handlers;
pub mod model;
pub mod repo;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::record_pageview, handlers::get_pageviews))
        .routes(routes!(handlers::record_visit))
        .routes(routes!(handlers::returning_visitors))
        .routes(routes!(handlers::new_visitors))
        .routes(routes!(handlers::visitors_of_day))
}
