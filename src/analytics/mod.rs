//! Analytics: counters, unique visitors and cohorts (seed 001).
//!
//! - Page views are plain string counters (`INCR pageviews:{path}`): atomic, O(1), no
//!   read-modify-write race.
//! - Unique visitors per day are a set (`SADD visitors:{date}`), which gives exact
//!   counts and set algebra: visitors seen on one day and again on another, visitors of
//!   a day not seen on another. Beside each set a HyperLogLog (`PFADD
//!   visitors:{date}:hll`) keeps an approximate count in ~12 KB however many millions
//!   of visitors there are, for when the exact set becomes too costly to keep.
//! - Anyone can add visitors, so the cohorts are not SINTER / SDIFF (whole sets per
//!   request): their ids are paged with SSCAN + SMISMEMBER and their size is exact up
//!   to 1000 visitors on the smaller day, else estimated from a random sample (see
//!   [`repo::cohort`]). The same on both topologies, where two days are two slots.

mod handlers;
pub mod model;
pub mod repo;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::record_pageview, handlers::get_pageviews))
        .routes(routes!(handlers::record_visit))
        .routes(routes!(handlers::returning_visitors))
        .routes(routes!(handlers::new_visitors))
        .routes(routes!(handlers::visitors_of_day))
}
