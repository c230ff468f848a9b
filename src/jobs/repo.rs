//! The e-mail queue in Redis: the only code that runs commands on the `{emails}` keys.
//!
//! The queue, processing list, leases, retry set, dead list and outbox all share the
//! `{emails}` hash tag (their names come from `redis/keys.rs`), so BLMOVE and the
//! scripts that move jobs between them run in one slot. The worker
//! ([`super::email_worker`]) decides what happens to a job; this module only says it
//! to Redis.

use std::time::Duration;

use redis::{AsyncCommands, Value};

use super::{EmailJob, QueueStats};
use crate::error::AppResult;
use crate::redis::{DedicatedConn, Redis, scripts};
use crate::time;

/// Appends `job` to `queue:{emails}` (LPUSH). Returns the queue length.
pub async fn enqueue_email(redis: &Redis, job: &EmailJob) -> redis::RedisResult<u64> {
    let payload = serde_json::to_string(job).expect("EmailJob serializes");
    redis.conn().lpush(redis.keys.email_queue(), payload).await
}

/// Counts of the e-mail queue: one pipeline in the `{emails}` slot.
pub async fn email_stats(redis: &Redis) -> AppResult<QueueStats> {
    let keys = &redis.keys;
    let (pending, processing, retrying, dead, total, kept): (u64, u64, u64, u64, Option<u64>, u64) =
        redis::pipe()
            .llen(keys.email_queue())
            .llen(keys.email_processing())
            .zcard(keys.email_retry())
            .llen(keys.email_dead())
            .get(keys.email_outbox_total())
            .hlen(keys.email_outbox())
            .query_async(&mut redis.conn())
            .await?;
    // Before the first delivery that keeps the total, the records are the count.
    let delivered = total.unwrap_or(kept);
    Ok(QueueStats {
        pending,
        processing,
        retrying,
        dead,
        delivered,
    })
}

/// BLMOVE queue → processing on `conn` (dedicated: it blocks up to `block`); `None`
/// when no job came.
pub(crate) async fn take(
    redis: &Redis,
    conn: &mut DedicatedConn,
    block: Duration,
) -> redis::RedisResult<Option<String>> {
    let keys = &redis.keys;
    redis::cmd("BLMOVE")
        .arg(keys.email_queue())
        .arg(keys.email_processing())
        .arg("RIGHT")
        .arg("LEFT")
        .arg(block.as_secs_f64())
        .query_async(conn)
        .await
}

/// Records the lease of a taken job: `id` must be finished by `deadline_ms`.
pub(crate) async fn lease(redis: &Redis, id: &str, deadline_ms: i64) -> redis::RedisResult<()> {
    redis
        .conn()
        .hset(redis.keys.email_leases(), id, deadline_ms)
        .await
}

/// How a held job ends (`email_finish.lua`).
pub(crate) struct Finish<'a> {
    /// `delivered`, `retry` or `dead`.
    pub(crate) outcome: &'a str,
    /// The job as taken (removed from the processing list).
    pub(crate) raw: &'a str,
    pub(crate) id: &'a str,
    /// The delivery record, or the job to retry or bury.
    pub(crate) payload: &'a str,
    /// When a retry is due (Unix ms; 0 otherwise).
    pub(crate) due_ms: i64,
}

/// Finishes a held job; false when it was no longer held (its lease had expired and
/// upkeep requeued it). Delivery records older than `retention` and beyond
/// `outbox_max` are dropped by the same script.
pub(crate) async fn finish(
    redis: &Redis,
    finish: &Finish<'_>,
    retention: Duration,
    outbox_max: u64,
) -> redis::RedisResult<bool> {
    let keys = &redis.keys;
    let held: i64 = scripts::EMAIL_FINISH
        .key(keys.email_processing())
        .key(keys.email_leases())
        .key(keys.email_outbox())
        .key(keys.email_retry())
        .key(keys.email_dead())
        .key(keys.email_outbox_delivered())
        .key(keys.email_outbox_total())
        .key(keys.email_outbox_adopting())
        .arg(finish.outcome)
        .arg(finish.raw)
        .arg(finish.id)
        .arg(finish.payload)
        .arg(finish.due_ms)
        .arg(time::unix_ms(time::now()))
        .arg(retention.as_millis() as u64)
        .arg(outbox_max)
        .invoke_async(&mut redis.conn())
        .await?;
    Ok(held != 0)
}

/// Requeues jobs whose lease (`lease` long) has passed and makes due retries pending:
/// (requeued, due).
pub(crate) async fn requeue(redis: &Redis, lease: Duration) -> redis::RedisResult<(u64, u64)> {
    let keys = &redis.keys;
    let counts: Vec<Value> = scripts::EMAIL_REQUEUE
        .key(keys.email_queue())
        .key(keys.email_processing())
        .key(keys.email_leases())
        .key(keys.email_retry())
        .arg(time::unix_ms(time::now()))
        .arg(lease.as_millis() as u64)
        .invoke_async(&mut redis.conn())
        .await?;
    redis::from_redis_value(Value::Array(counts)).map_err(Into::into)
}
