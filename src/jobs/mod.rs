//! Background jobs: the e-mail queue (seed 001's list queue).
//!
//! Producers `LPUSH` a JSON job onto `queue:emails`; a worker moves jobs from the right
//! end with `BLMOVE` into a processing list, so the queue is FIFO and a worker that dies
//! mid-job loses nothing. Registration enqueues the welcome e-mail here; the worker that
//! drains the queue belongs to the platform work (see the README's status table).

use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use crate::redis::Redis;

/// One e-mail to send.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EmailJob {
    /// Unique job id, so a retried delivery can be recognised.
    pub id: String,
    /// Template name, e.g. `welcome`.
    pub kind: String,
    pub user_id: String,
    pub to: String,
    pub created_at: String,
}

/// Appends `job` to `queue:emails` (LPUSH). Returns the queue length.
pub async fn enqueue_email(redis: &Redis, job: &EmailJob) -> redis::RedisResult<u64> {
    let payload = serde_json::to_string(job).expect("EmailJob serializes");
    redis.conn().lpush(redis.keys.email_queue(), payload).await
}
