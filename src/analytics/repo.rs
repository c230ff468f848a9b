//! Analytics in Redis: the only code that names analytics keys.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `pageviews:{path}` | string, PX = the retention, refreshed by every view | view count (INCR) |
//! | `visitors:{date}` | set, expires the retention after the day ends | visitor ids seen that day |
//! | `visitors:{date}:hll` | HyperLogLog, same expiry | the same visitors, approximately, in ~12 KB |
//!
//! Anyone may record a view of any path and a visit on any recent day, so none of
//! these keys may stay forever: with `AGORA_ANALYTICS_RETENTION_DAYS` (default 90) a
//! day's visitors expire that long after the day ends (`EXPIREAT`, set with every
//! visit, in the same MULTI), and a path's counter that long after its last view.

use std::collections::HashSet;

use redis::AsyncCommands;

use crate::error::AppResult;
use crate::redis::Redis;
use crate::redis::batch::Batch;

/// Counts a view and starts the counter's retention again (one MULTI); the new count.
pub async fn record_pageview(
    redis: &Redis,
    path: &str,
    retention: std::time::Duration,
) -> AppResult<u64> {
    let key = redis.keys.pageviews(path);
    let (count,): (u64,) = redis::pipe()
        .atomic()
        .incr(&key, 1)
        .pexpire(&key, retention.as_millis() as i64)
        .ignore()
        .query_async(&mut redis.conn())
        .await?;
    Ok(count)
}

pub async fn pageviews(redis: &Redis, path: &str) -> AppResult<u64> {
    let count: Option<u64> = redis.conn().get(redis.keys.pageviews(path)).await?;
    Ok(count.unwrap_or(0))
}

/// Records a visit in the day's set and HyperLogLog, with their expiry (`expires_at`,
/// Unix seconds), in one MULTI in the day's slot. True when it was the visitor's first
/// visit that day.
pub async fn record_visit(
    redis: &Redis,
    date: &str,
    visitor: &str,
    expires_at: i64,
) -> AppResult<bool> {
    let (set, hll) = (redis.keys.visitors(date), redis.keys.visitors_hll(date));
    let (added, _): (u64, bool) = redis::pipe()
        .atomic()
        .sadd(&set, visitor)
        .pfadd(&hll, visitor)
        .expire_at(&set, expires_at)
        .ignore()
        .expire_at(&hll, expires_at)
        .ignore()
        .query_async(&mut redis.conn())
        .await?;
    Ok(added == 1)
}

/// Exact and approximate unique visitors of a day (SCARD, PFCOUNT).
pub async fn unique(redis: &Redis, date: &str) -> AppResult<(u64, u64)> {
    Ok(redis::pipe()
        .scard(redis.keys.visitors(date))
        .pfcount(redis.keys.visitors_hll(date))
        .query_async(&mut redis.conn())
        .await?)
}

/// Set algebra over two days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Combine {
    /// In both (SINTER).
    Both,
    /// In the first, not the second (SDIFF).
    FirstOnly,
}

/// Visitors of `first` combined with those of `second`, sorted. On a single node the
/// server computes it (SINTER / SDIFF, one command); on a cluster the two days live in
/// different slots, so both sets are read in one batch and combined here.
pub async fn combine(
    redis: &Redis,
    first: &str,
    second: &str,
    how: Combine,
) -> AppResult<Vec<String>> {
    let (a, b) = (redis.keys.visitors(first), redis.keys.visitors(second));
    let mut ids: Vec<String> = if !redis.is_cluster() {
        let command = match how {
            Combine::Both => "SINTER",
            Combine::FirstOnly => "SDIFF",
        };
        redis::cmd(command)
            .arg(&a)
            .arg(&b)
            .query_async(&mut redis.conn())
            .await?
    } else {
        let mut batch = Batch::new();
        batch.add(a.clone(), redis::cmd("SMEMBERS").arg(&a).clone());
        batch.add(b.clone(), redis::cmd("SMEMBERS").arg(&b).clone());
        let replies = batch.run(&redis.conn).await?;
        let mut sets = replies
            .into_iter()
            .map(|v| redis::from_redis_value::<HashSet<String>>(v).unwrap_or_default());
        let (first_set, second_set) = (
            sets.next().unwrap_or_default(),
            sets.next().unwrap_or_default(),
        );
        match how {
            Combine::Both => first_set.intersection(&second_set).cloned().collect(),
            Combine::FirstOnly => first_set.difference(&second_set).cloned().collect(),
        }
    };
    ids.sort();
    Ok(ids)
}
