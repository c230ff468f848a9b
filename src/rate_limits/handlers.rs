//! HTTP handlers for rate limits and quotas.

use axum::Json;
use axum::extract::State;

use super::model::{CheckRequest, Decision, Quota, QuotaList};
use super::{quotas, repo};
use crate::app::AppState;
use crate::error::{AppResult, responses};
use crate::extract::{AppJson, AuthUser};
use crate::time;

/// Check a rate limit
///
/// An exact sliding window for any key of the caller's: `limit` units per `window_ms`,
/// this request taking `cost` units. A rejected request is not counted, every request
/// is its own member (no collisions on equal timestamps), and concurrent checks are
/// exact: the decision and the write are one script. `retry_after_ms` says when the
/// same request would pass.
///
/// Keys are per caller: the window is the session user's `key`, so another user's
/// checks with the same `key` never touch it. Bounds: `limit` ≤ 100,000, `window_ms` ≤
/// 86,400,000 (a day), `cost` ≤ `limit`; above them the answer is 422 naming the field.
/// Whatever the arguments, one check adds at most one sorted-set member (the request,
/// carrying its cost) and runs O(log n) commands (O(log² n) to compute
/// `retry_after_ms` when rejected).
///
/// Redis: `EVALSHA rate_limit` on `ratelimit:user:{id}:check:<key>` (TIME,
/// ZREMRANGEBYSCORE, ZCARD, ZRANGE by rank, ZADD, PEXPIRE).
#[utoipa::path(post, path = "/v1/rate-limits/check", tag = "rate-limits",
    request_body = CheckRequest,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The decision (allowed or not)", body = Decision),
        responses::BadRequest, responses::Unauthorized, responses::NotJson, responses::Invalid,
        responses::Unavailable
    ))]
pub async fn check(
    State(state): State<AppState>,
    auth: AuthUser,
    AppJson(input): AppJson<CheckRequest>,
) -> AppResult<Json<Decision>> {
    input.validate()?;
    let key = state.redis.keys.rate_limit_check(&auth.user_id, &input.key);
    let cost = input.cost.unwrap_or(1) as u64;
    let (decision, _) = repo::check(
        &state.redis,
        key,
        input.limit as u64,
        input.window_ms,
        cost,
        None,
    )
    .await?;
    Ok(Json(decision))
}

/// My quotas
///
/// Per-endpoint hourly quotas of the session user: limit, uses this hour, remaining,
/// and when the count starts over.
///
/// Redis: `HGETALL ratelimit:user:{id}:quota:<hour>`.
#[utoipa::path(get, path = "/v1/users/me/quotas", tag = "rate-limits",
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Every endpoint with a quota", body = QuotaList),
        responses::Unauthorized, responses::Unavailable
    ))]
pub async fn my_quotas(
    State(state): State<AppState>,
    auth: AuthUser,
) -> AppResult<Json<QuotaList>> {
    let now_ms = time::unix_ms(time::now());
    let (hour, ms_left) = quotas::current_hour(now_ms);
    let usage = repo::quota_usage(
        &state.redis,
        state.redis.keys.user_quotas(&auth.user_id, hour),
    )
    .await?;
    let resets_at = time::rfc3339_from_ms(now_ms + ms_left);
    let items = quotas::QUOTAS
        .iter()
        .map(|(endpoint, limit)| {
            let used = usage.get(*endpoint).copied().unwrap_or(0);
            Quota {
                endpoint: endpoint.to_string(),
                limit: *limit,
                used,
                remaining: limit.saturating_sub(used),
                resets_at: resets_at.clone(),
            }
        })
        .collect();
    Ok(Json(QuotaList { items }))
}
