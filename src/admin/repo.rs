//! The admin window onto the keyspace: the only admin code that issues Redis commands.
//!
//! | command | what for |
//! |---|---|
//! | `SCAN cursor MATCH prefix+pattern COUNT n` | one page of keys (per primary on a cluster), never KEYS |
//! | `TYPE`, `PTTL` | each listed key's type and TTL, in one batch grouped by slot |
//! | `MEMORY USAGE key SAMPLES 0` | one key's size |
//!
//! Keys come in and go out as the browser shows them, without the deployment's
//! `KEY_PREFIX`; [`crate::redis::keys::Keys`] applies and strips it.

use super::model::KeyInfo;
use crate::error::{AppError, AppResult};
use crate::redis::Redis;
use crate::redis::batch::Batch;

/// One SCAN page of this deployment's keys matching `pattern`, with each key's type and
/// TTL, and the cursor of the next page (`None` when the iteration is complete). 422
/// naming `cursor` for a cursor the SCAN cannot resume from.
pub(crate) async fn scan_keys(
    redis: &Redis,
    cursor: &str,
    pattern: &str,
    count: u32,
) -> AppResult<(Vec<KeyInfo>, Option<String>)> {
    let (keys, next_cursor) = redis
        .scan_page(cursor, &redis.keys.scan_pattern(pattern), count)
        .await
        .map_err(|err| match err.downcast::<redis::RedisError>() {
            Ok(err) => AppError::from(err),
            Err(_) => AppError::invalid("cursor", "must be a cursor from a previous page"),
        })?;

    let mut batch = Batch::new();
    for key in &keys {
        batch.add(key.clone(), redis::cmd("TYPE").arg(key).clone());
        batch.add(key.clone(), redis::cmd("PTTL").arg(key).clone());
    }
    let replies = batch.run(&redis.conn).await?;
    let items = keys
        .iter()
        .zip(replies.chunks(2))
        .map(|(key, pair)| {
            let kind: String =
                redis::from_redis_value(pair[0].clone()).unwrap_or_else(|_| "none".into());
            let ttl: i64 = redis::from_redis_value(pair[1].clone()).unwrap_or(-2);
            KeyInfo {
                key: redis.keys.shown(key).to_string(),
                kind,
                ttl_ms: (ttl >= 0).then_some(ttl),
            }
        })
        .collect();
    Ok((items, next_cursor))
}

/// Bytes used by the key shown as `key`; `None` when it does not exist.
pub(crate) async fn memory_usage(redis: &Redis, key: &str) -> AppResult<Option<u64>> {
    Ok(redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(redis.keys.raw(key))
        .arg("SAMPLES")
        .arg(0)
        .query_async(&mut redis.conn())
        .await?)
}
