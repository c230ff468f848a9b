//! Rate limits in Redis: the only code that runs `rate_limit.lua` and `gcra.lua`.
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

use redis::{AsyncCommands, Value};

use super::model::Decision;
use crate::error::AppResult;
use crate::redis::scripts::Tagged;
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
        "rate_limit",
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
        "gcra",
        redis,
        key,
        &[limit, window_ms, 1, up_to.max(1)],
        quota,
    )
    .await
}

/// One call of a limit script: `args`, then the quota's, with the reply decoded (both
/// scripts answer a [`LimitReply`]).
async fn run(
    script: &redis::Script,
    script_name: &'static str,
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
    let reply: Value = invocation.invoke_async(&mut redis.conn()).await?;
    Ok(scripts::decode::<LimitReply>(script_name, reply)?.decision())
}

/// The reply of `rate_limit.lua` and `gcra.lua`: `{'allowed', remaining, reset_ms}`
/// (`gcra.lua` adds the units granted: 1, or a lease of several) or
/// `{'window' | 'quota', remaining, reset_ms, retry_after_ms}`.
#[derive(Debug, Clone, PartialEq)]
enum LimitReply {
    Allowed {
        remaining: i64,
        reset_ms: i64,
        granted: i64,
    },
    Rejected {
        by: Rejection,
        remaining: i64,
        reset_ms: i64,
        /// -1 when never (the cost is above the limit).
        retry_after_ms: i64,
    },
}

impl redis::FromRedisValue for LimitReply {
    fn from_redis_value(v: Value) -> Result<Self, redis::ParsingError> {
        let reply: Tagged = redis::from_redis_value(v)?;
        let by = match (reply.tag.as_str(), reply.values.len()) {
            ("allowed", 2 | 3) => {
                return Ok(LimitReply::Allowed {
                    remaining: reply.value(0)?,
                    reset_ms: reply.value(1)?,
                    granted: if reply.values.len() == 3 {
                        reply.value(2)?
                    } else {
                        1
                    },
                });
            }
            ("window", 3) => Rejection::Window,
            ("quota", 3) => Rejection::Quota,
            _ => return Err(reply.unexpected()),
        };
        Ok(LimitReply::Rejected {
            by,
            remaining: reply.value(0)?,
            reset_ms: reply.value(1)?,
            retry_after_ms: reply.value(2)?,
        })
    }
}

impl LimitReply {
    fn decision(self) -> (Decision, Option<Rejection>, u64) {
        let (granted, remaining, reset_ms, retry_after_ms, rejection) = match self {
            LimitReply::Allowed {
                remaining,
                reset_ms,
                granted,
            } => (granted, remaining, reset_ms, 0, None),
            LimitReply::Rejected {
                by,
                remaining,
                reset_ms,
                retry_after_ms,
            } => (0, remaining, reset_ms, retry_after_ms, Some(by)),
        };
        let decision = Decision {
            allowed: granted >= 1,
            remaining: remaining.max(0) as u64,
            reset_ms: reset_ms.max(0) as u64,
            retry_after_ms: u64::try_from(retry_after_ms).unwrap_or(u64::MAX),
        };
        (decision, rejection, granted.max(0) as u64)
    }
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

#[cfg(test)]
mod tests {
    use redis::Value;

    use super::*;
    use crate::error::AppError;

    fn reply(tag: &str, values: &[i64]) -> Value {
        let mut items = vec![Value::BulkString(tag.as_bytes().to_vec())];
        items.extend(values.iter().map(|v| Value::Int(*v)));
        Value::Array(items)
    }

    #[test]
    fn each_outcome_of_the_window_decodes_and_an_odd_reply_is_a_500() {
        let (decision, rejection, _) =
            scripts::decode::<LimitReply>("rate_limit", reply("allowed", &[4, 900]))
                .unwrap()
                .decision();
        assert!(decision.allowed);
        assert_eq!(
            (
                decision.remaining,
                decision.reset_ms,
                decision.retry_after_ms
            ),
            (4, 900, 0)
        );
        assert_eq!(rejection, None);
        let (decision, rejection, _) =
            scripts::decode::<LimitReply>("rate_limit", reply("quota", &[3, 10, 5000]))
                .unwrap()
                .decision();
        assert!(!decision.allowed);
        assert_eq!(decision.retry_after_ms, 5000);
        assert_eq!(rejection, Some(Rejection::Quota));
        let (decision, rejection, _) =
            scripts::decode::<LimitReply>("rate_limit", reply("window", &[0, 10, -1]))
                .unwrap()
                .decision();
        assert_eq!(decision.retry_after_ms, u64::MAX);
        assert_eq!(rejection, Some(Rejection::Window));
        // gcra.lua's grant of a lease.
        let (decision, _, granted) =
            scripts::decode::<LimitReply>("gcra", reply("allowed", &[3, 400, 7]))
                .unwrap()
                .decision();
        assert!(decision.allowed);
        assert_eq!(granted, 7);
        // The old positional reply and a tag with too few values are not guessed at.
        let old = Value::Array(vec![
            Value::Int(1),
            Value::Int(4),
            Value::Int(900),
            Value::Int(0),
        ]);
        for odd in [old, reply("window", &[0, 10]), reply("ok", &[4, 900])] {
            match scripts::decode::<LimitReply>("rate_limit", odd.clone()) {
                Err(AppError::Internal(err)) => {
                    assert!(err.to_string().contains("rate_limit"), "{err}")
                }
                other => panic!("{odd:?} gave {other:?}"),
            }
        }
    }
}
