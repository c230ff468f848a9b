//! Rate limits in Redis: the only code that runs `rate_limit.lua`.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `ratelimit:user:{id}:check:<key>` | sorted set (TTL = window) | `<running total>:<cost>` → admission time (µs), one member per admitted `POST /v1/rate-limits/check` of that user |
//! | `ratelimit:gcra:{ip}` | string (PX = until the bucket is full) | the API limiter's GCRA state (TAT, µs) of an anonymous client |
//! | `ratelimit:user:{id}:gcra` | string (PX = until the bucket is full) | the API limiter's GCRA state of a user |
//! | `ratelimit:user:{id}:quota:<hour>` | hash (TTL = rest of the hour) | endpoint → uses this hour |
//!
//! Windows hold one member per admitted request, whatever its cost (see
//! `lua/rate_limit.lua`): a check adds at most one member and runs O(log n) commands.
//! Quota units are reserved by the same script, atomically with the decision, and
//! given back by [`refund_quota`] when the request did not succeed.

use std::collections::HashMap;

use redis::AsyncCommands;

use super::model::Decision;
use crate::error::AppResult;
use crate::redis::{Redis, scripts};

/// Which rule rejected a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    Window,
    Quota,
}

/// A quota to count together with the window (same slot as the window key).
pub struct QuotaUse<'a> {
    pub key: String,
    pub endpoint: &'a str,
    pub limit: u64,
    pub ms_left_in_hour: i64,
}

/// Runs the sliding window (and quota) for one request: one EVALSHA of
/// `rate_limit.lua`.
pub async fn check(
    redis: &Redis,
    window_key: String,
    limit: u64,
    window_ms: u64,
    cost: u64,
    quota: Option<QuotaUse<'_>>,
) -> AppResult<(Decision, Option<Rejection>)> {
    let (decision, rejection, _) = run(
        &scripts::RATE_LIMIT,
        redis,
        window_key,
        &[limit, window_ms, cost],
        quota,
    )
    .await?;
    Ok((decision, rejection))
}

/// Runs GCRA (and quota) for one request of the API limiter: one EVALSHA of
/// `gcra.lua`, which grants 1 unit, or up to `up_to` units when the bucket holds them
/// (a lease the caller spends locally); the decision and the units granted (0 when
/// refused).
pub async fn gcra(
    redis: &Redis,
    key: String,
    limit: u64,
    window_ms: u64,
    up_to: u64,
    quota: Option<QuotaUse<'_>>,
) -> AppResult<(Decision, Option<Rejection>, u64)> {
    run(
        &scripts::GCRA,
        redis,
        key,
        &[limit, window_ms, 1, up_to.max(1)],
        quota,
    )
    .await
}

/// One call of a limit script: `args`, then the quota's, with the reply decoded. Both
/// scripts answer `{granted, remaining, reset_ms, retry_after_ms, reason}`.
async fn run(
    script: &redis::Script,
    redis: &Redis,
    key: String,
    args: &[u64],
    quota: Option<QuotaUse<'_>>,
) -> AppResult<(Decision, Option<Rejection>, u64)> {
    let mut invocation = script.prepare_invoke();
    invocation.key(key);
    if let Some(quota) = &quota {
        invocation.key(&quota.key);
    }
    for arg in args {
        invocation.arg(*arg);
    }
    if let Some(quota) = &quota {
        invocation
            .arg(quota.endpoint)
            .arg(quota.limit)
            .arg(quota.ms_left_in_hour);
    }
    let (granted, remaining, reset_ms, retry_after_ms, reason): (i64, i64, i64, i64, String) =
        invocation.invoke_async(&mut redis.conn()).await?;
    let decision = Decision {
        allowed: granted >= 1,
        remaining: remaining.max(0) as u64,
        reset_ms: reset_ms.max(0) as u64,
        retry_after_ms: if retry_after_ms < 0 {
            u64::MAX
        } else {
            retry_after_ms as u64
        },
    };
    let rejection = match reason.as_str() {
        "window" => Some(Rejection::Window),
        "quota" => Some(Rejection::Quota),
        _ => None,
    };
    Ok((decision, rejection, granted.max(0) as u64))
}

/// Gives back `units` of a quota reserved by [`check`] for a request that did not
/// succeed (`refund_quota.lua`: nothing when the hour's hash has expired).
pub async fn refund_quota(redis: &Redis, key: &str, endpoint: &str, units: u64) -> AppResult<()> {
    let _: i64 = scripts::REFUND_QUOTA
        .key(key)
        .arg(endpoint)
        .arg(units)
        .invoke_async(&mut redis.conn())
        .await?;
    Ok(())
}

/// A user's usage this hour: endpoint → uses (HGETALL).
pub async fn quota_usage(redis: &Redis, key: String) -> AppResult<HashMap<String, u64>> {
    Ok(redis.conn().hgetall(key).await?)
}
