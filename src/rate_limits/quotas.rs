//! Per-user, per-endpoint hourly quotas (seed 002: a hash of uses per endpoint).
//!
//! The per-minute API limit stops floods; quotas cap how much of one costly action a
//! user may do in an hour (posting, checking out, registering scores). Usage lives in
//! `ratelimit:user:{id}:quota:<hour>`, a hash of endpoint → uses that expires when the
//! hour ends, so no cleanup job is needed. Endpoints not listed here have no quota.

/// Endpoint (`METHOD /route/template`) → uses per hour.
pub const QUOTAS: &[(&str, u64)] = &[
    ("POST /v1/posts", 100),
    ("POST /v1/posts/{id}/comments", 300),
    ("POST /v1/orders", 60),
    ("POST /v1/leaderboards/{board}/scores", 3_600),
    (
        "POST /v1/leaderboards/{board}/players/{player_id}/results",
        3_600,
    ),
    ("POST /v1/rate-limits/check", 36_000),
    ("POST /v1/locks/{resource}", 3_600),
];

/// The quota of an endpoint, if it has one.
pub fn quota_for(endpoint: &str) -> Option<u64> {
    QUOTAS
        .iter()
        .find(|(e, _)| *e == endpoint)
        .map(|(_, limit)| *limit)
}

/// The current hour (Unix hours) and the milliseconds left in it.
pub fn current_hour(now_ms: i64) -> (i64, i64) {
    let hour_ms = 3_600_000;
    (now_ms / hour_ms, hour_ms - now_ms % hour_ms)
}
