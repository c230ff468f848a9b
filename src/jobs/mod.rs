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
mod repo;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use repo::{email_stats, enqueue_email};

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
