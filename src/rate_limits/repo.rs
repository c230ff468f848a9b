//! Rate limits in Redis: the only code that runs `rate_limit.lua`.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `ratelimit:user:{id}:check:<key>` | sorted set (TTL = window) | `<running total>:<cost>` → admission time (µs), one member per admitted `POST /v1/rate-limits/check` of that user |
//! | `ratelimit:ip:{ip}` | sorted set (TTL = 1 min) | the API limiter's window of an anonymous client |
//! | `ratelimit:user:{id}:api` | sorted set (TTL = 1 min) | the API limiter's window of a user |
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

/// Runs the sliding window (and quota) for one request: one EVALSHA.
pub async fn check(
    redis: &Redis,
    window_key: String,
    limit: u64,
    window_ms: u64,
    cost: u64,
    quota: Option<QuotaUse<'_>>,
) -> AppResult<(Decision, Option<Rejection>)> {
    let mut invocation = scripts::RATE_LIMIT.prepare_invoke();
    invocation.key(window_key);
    if let Some(quota) = &quota {
        invocation.key(&quota.key);
    }
    invocation.arg(limit).arg(window_ms).arg(cost);
    if let Some(quota) = &quota {
        invocation
            .arg(quota.endpoint)
            .arg(quota.limit)
            .arg(quota.ms_left_in_hour);
    }
    let reply: Value = invocation.invoke_async(&mut redis.conn()).await?;
    Ok(scripts::decode::<WindowReply>("rate_limit", reply)?.decision())
}

/// The reply of `rate_limit.lua`: `{'allowed', remaining, reset_ms}` or
/// `{'window' | 'quota', remaining, reset_ms, retry_after_ms}`.
#[derive(Debug, Clone, PartialEq)]
enum WindowReply {
    Allowed {
        remaining: i64,
        reset_ms: i64,
    },
    Rejected {
        by: Rejection,
        remaining: i64,
        reset_ms: i64,
        /// -1 when never (the cost is above the limit).
        retry_after_ms: i64,
    },
}

impl redis::FromRedisValue for WindowReply {
    fn from_redis_value(v: Value) -> Result<Self, redis::ParsingError> {
        let reply: Tagged = redis::from_redis_value(v)?;
        let by = match (reply.tag.as_str(), reply.values.len()) {
            ("allowed", 2) => {
                return Ok(WindowReply::Allowed {
                    remaining: reply.value(0)?,
                    reset_ms: reply.value(1)?,
                });
            }
            ("window", 3) => Rejection::Window,
            ("quota", 3) => Rejection::Quota,
            _ => return Err(reply.unexpected()),
        };
        Ok(WindowReply::Rejected {
            by,
            remaining: reply.value(0)?,
            reset_ms: reply.value(1)?,
            retry_after_ms: reply.value(2)?,
        })
    }
}

impl WindowReply {
    fn decision(self) -> (Decision, Option<Rejection>) {
        let (allowed, remaining, reset_ms, retry_after_ms, rejection) = match self {
            WindowReply::Allowed {
                remaining,
                reset_ms,
            } => (true, remaining, reset_ms, 0, None),
            WindowReply::Rejected {
                by,
                remaining,
                reset_ms,
                retry_after_ms,
            } => (false, remaining, reset_ms, retry_after_ms, Some(by)),
        };
        let decision = Decision {
            allowed,
            remaining: remaining.max(0) as u64,
            reset_ms: reset_ms.max(0) as u64,
            retry_after_ms: u64::try_from(retry_after_ms).unwrap_or(u64::MAX),
        };
        (decision, rejection)
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
        let (decision, rejection) =
            scripts::decode::<WindowReply>("rate_limit", reply("allowed", &[4, 900]))
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
        let (decision, rejection) =
            scripts::decode::<WindowReply>("rate_limit", reply("quota", &[3, 10, 5000]))
                .unwrap()
                .decision();
        assert!(!decision.allowed);
        assert_eq!(decision.retry_after_ms, 5000);
        assert_eq!(rejection, Some(Rejection::Quota));
        let (decision, rejection) =
            scripts::decode::<WindowReply>("rate_limit", reply("window", &[0, 10, -1]))
                .unwrap()
                .decision();
        assert_eq!(decision.retry_after_ms, u64::MAX);
        assert_eq!(rejection, Some(Rejection::Window));
        // The old positional reply and a tag with too few values are not guessed at.
        let old = Value::Array(vec![
            Value::Int(1),
            Value::Int(4),
            Value::Int(900),
            Value::Int(0),
        ]);
        for odd in [old, reply("window", &[0, 10]), reply("ok", &[4, 900])] {
            match scripts::decode::<WindowReply>("rate_limit", odd.clone()) {
                Err(AppError::Internal(err)) => {
                    assert!(err.to_string().contains("rate_limit"), "{err}")
                }
                other => panic!("{odd:?} gave {other:?}"),
            }
        }
    }
}
