//! Locks in Redis: the only code that names lock keys.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `lock:{resource}` | string, PX = the lock's TTL | the holder's random token |
//! | `lock:{resource}:fence` | string, PX = the fence retention, refreshed by acquire and extend | the last fencing token handed out |
//!
//! Both keys share the `{resource}` hash tag, so each script runs in one slot.

use redis::Value;

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
) -> redis::RedisResult<Result<u64, Held>> {
    let reply: (i64, i64) = scripts::ACQUIRE_LOCK
        .key(redis.keys.lock(resource))
        .key(redis.keys.lock_fence(resource))
        .arg(token)
        .arg(ttl_ms)
        .arg(fence_retention.as_millis() as u64)
        .invoke_async(&mut redis.conn())
        .await?;
    Ok(match reply {
        (1, fence) => Ok(fence as u64),
        (_, remaining_ms) => Err(Held::ByAnother { remaining_ms }),
    })
}

/// Extends the lock to `ttl_ms` from now if `token` holds it (`extend_lock.lua`);
/// its fencing token, or `None` when `token` is not the holder.
pub async fn extend(
    redis: &Redis,
    resource: &str,
    token: &str,
    ttl_ms: i64,
    fence_retention: std::time::Duration,
) -> redis::RedisResult<Option<u64>> {
    let reply: Vec<Value> = scripts::EXTEND_LOCK
        .key(redis.keys.lock(resource))
        .key(redis.keys.lock_fence(resource))
        .arg(token)
        .arg(ttl_ms)
        .arg(fence_retention.as_millis() as u64)
        .invoke_async(&mut redis.conn())
        .await?;
    let numbers: Vec<i64> = reply
        .into_iter()
        .filter_map(|v| redis::from_redis_value(v).ok())
        .collect();
    Ok(match numbers.as_slice() {
        [1, fence] => Some(*fence as u64),
        _ => None,
    })
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
