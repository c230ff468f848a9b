//! Locks in Redis: the only code that names lock keys.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `lock:{resource}` | string, PX = the lock's TTL | the holder's random token |
//! | `lock:{resource}:fence` | string, PX = the fence retention, refreshed by acquire and extend | the last fencing token handed out |
//!
//! Both keys share the `{resource}` hash tag, so each script runs in one slot.

use redis::Value;

use crate::error::AppResult;
use crate::redis::scripts::Tagged;
use crate::redis::{Redis, scripts};

/// Why a lock operation did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// Someone else holds it, for about this many more ms.
    ByAnother { remaining_ms: i64 },
}

/// Tries to take the lock for `ttl_ms` (`acquire_lock.lua`); the fencing token on
/// success.
pub async fn acquire(
    redis: &Redis,
    resource: &str,
    token: &str,
    ttl_ms: i64,
    fence_retention: std::time::Duration,
) -> AppResult<Result<u64, Held>> {
    let reply: Value = scripts::ACQUIRE_LOCK
        .key(redis.keys.lock(resource))
        .key(redis.keys.lock_fence(resource))
        .arg(token)
        .arg(ttl_ms)
        .arg(fence_retention.as_millis() as u64)
        .invoke_async(&mut redis.conn())
        .await?;
    let reply: Acquired = scripts::decode("acquire_lock", reply)?;
    Ok(reply.0)
}

/// `{'acquired', fencing token}` or `{'held', remaining ms}`.
struct Acquired(Result<u64, Held>);

impl redis::FromRedisValue for Acquired {
    fn from_redis_value(v: Value) -> Result<Self, redis::ParsingError> {
        let reply: Tagged = redis::from_redis_value(v)?;
        match (reply.tag.as_str(), reply.values.len()) {
            ("acquired", 1) => Ok(Acquired(Ok(reply.value(0)?))),
            ("held", 1) => Ok(Acquired(Err(Held::ByAnother {
                remaining_ms: reply.value(0)?,
            }))),
            _ => Err(reply.unexpected()),
        }
    }
}

/// `{'extended', fencing token}` or `{'lost'}`.
struct Extended(Option<u64>);

impl redis::FromRedisValue for Extended {
    fn from_redis_value(v: Value) -> Result<Self, redis::ParsingError> {
        let reply: Tagged = redis::from_redis_value(v)?;
        match (reply.tag.as_str(), reply.values.len()) {
            ("extended", 1) => Ok(Extended(Some(reply.value(0)?))),
            ("lost", 0) => Ok(Extended(None)),
            _ => Err(reply.unexpected()),
        }
    }
}

/// Extends the lock to `ttl_ms` from now if `token` holds it (`extend_lock.lua`);
/// its fencing token, or `None` when `token` is not the holder.
pub async fn extend(
    redis: &Redis,
    resource: &str,
    token: &str,
    ttl_ms: i64,
    fence_retention: std::time::Duration,
) -> AppResult<Option<u64>> {
    let reply: Value = scripts::EXTEND_LOCK
        .key(redis.keys.lock(resource))
        .key(redis.keys.lock_fence(resource))
        .arg(token)
        .arg(ttl_ms)
        .arg(fence_retention.as_millis() as u64)
        .invoke_async(&mut redis.conn())
        .await?;
    let reply: Extended = scripts::decode("extend_lock", reply)?;
    Ok(reply.0)
}

/// Releases the lock if `token` holds it (`release_lock.lua`); false otherwise.
pub async fn release(redis: &Redis, resource: &str, token: &str) -> redis::RedisResult<bool> {
    let released: i64 = scripts::RELEASE_LOCK
        .key(redis.keys.lock(resource))
        .arg(token)
        .invoke_async(&mut redis.conn())
        .await?;
    Ok(released == 1)
}
