//! Analytics in Redis: the only code that names analytics keys.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `pageviews:{path}` | string | view count (INCR) |
//! | `visitors:{date}` | set | visitor ids seen that day |
//! | `visitors:{date}:hll` | HyperLogLog | the same visitors, approximately, in ~12 KB |
//!
//! Visitor data is durable business data: no TTL (an operator may expire old days).

use std::collections::HashSet;

use redis::AsyncCommands;

use crate::error::AppResult;
use crate::redis::Redis;
use crate::redis::batch::Batch;

/// Counts a view; returns the new count.
pub async fn record_pageview(redis: &Redis, path: &str) -> AppResult<u64> {
    Ok(redis.conn().incr(redis.keys.pageviews(path), 1).await?)
}

pub async fn pageviews(redis: &Redis, path: &str) -> AppResult<u64> {
    let count: Option<u64> = redis.conn().get(redis.keys.pageviews(path)).await?;
    Ok(count.unwrap_or(0))
}

/// Records a visit in the day's set and HyperLogLog (one slot: one pipeline). True
/// when it was the visitor's first visit that day.
pub async fn record_visit(redis: &Redis, date: &str, visitor: &str) -> AppResult<bool> {
    let (added, _): (u64, bool) = redis::pipe()
        .sadd(redis.keys.visitors(date), visitor)
        .pfadd(redis.keys.visitors_hll(date), visitor)
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
