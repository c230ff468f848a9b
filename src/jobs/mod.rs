//! Background jobs: the e-mail queue (seed 001's list queue, made reliable).
//!
//! Producers `LPUSH` a JSON job onto `queue:{emails}`; the worker ([`email_worker`])
//! takes jobs from the right end with `BLMOVE` into a processing list, so the queue is
//! FIFO and a job is never only in the worker's memory: if the worker dies, the job is
//! still in the processing list, and the upkeep script puts it back once its lease has
//! passed. Failed deliveries are retried with exponential backoff (a sorted set scored
//! by due time) and go to a dead list after too many attempts. All queue keys share the
//! `{emails}` hash tag, because BLMOVE and the scripts move jobs between them.

pub mod email_worker;

use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::AppResult;
use crate::redis::Redis;

/// One e-mail to send.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EmailJob {
    /// Unique job id: deliveries are recorded once per id.
    pub id: String,
    /// Template name, e.g. `welcome`.
    pub kind: String,
    pub user_id: String,
    pub to: String,
    pub created_at: String,
    /// Failed delivery attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// The last delivery error, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// Appends `job` to `queue:{emails}` (LPUSH). Returns the queue length.
pub async fn enqueue_email(redis: &Redis, job: &EmailJob) -> redis::RedisResult<u64> {
    let payload = serde_json::to_string(job).expect("EmailJob serializes");
    redis.conn().lpush(redis.keys.email_queue(), payload).await
}

/// How many jobs are where.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct QueueStats {
    /// Waiting to be taken (LLEN queue).
    pub pending: u64,
    /// Taken by a worker, not finished (LLEN processing).
    pub processing: u64,
    /// Failed, waiting for their retry time (ZCARD retry).
    pub retrying: u64,
    /// Failed too often (LLEN dead).
    pub dead: u64,
    /// Delivered since the beginning (`outbox:{emails}:total`; the outbox itself keeps
    /// only the recent records).
    pub delivered: u64,
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
