//! The e-mail worker: takes jobs with BLMOVE, delivers them, never loses one.
//!
//! One step ([`EmailWorker::step`]) takes at most one job and finishes it; tests call it
//! directly, `run` loops it until shutdown. [`EmailWorker::upkeep`] requeues jobs held by
//! dead workers and makes due retries pending again; `run` calls it about once a second.
//! There is no SMTP server here: [`OutboxMailer`] "sends" by recording the delivery in
//! the `outbox:{emails}` hash (once per job id). Records are kept for
//! [`WorkerConfig::outbox_retention`] and at most [`WorkerConfig::outbox_max`] of them
//! (oldest dropped first, by the script that records a delivery), so a registration
//! leaves nothing that grows for ever; `outbox:{emails}:total` counts every delivery
//! for the admin stats.

use std::future::Future;
use std::time::Duration;

use super::EmailJob;
use super::repo::{self, Finish};
use crate::redis::{DedicatedConn, Redis};
use crate::time;

/// Delivers one e-mail.
pub trait Mailer: Send + Sync + 'static {
    fn send(&self, job: &EmailJob) -> impl Future<Output = Result<(), String>> + Send;
}

/// The built-in mailer: the delivery record in `outbox:{emails}` is the e-mail.
#[derive(Debug, Clone, Copy, Default)]
pub struct OutboxMailer;

impl Mailer for OutboxMailer {
    async fn send(&self, _job: &EmailJob) -> Result<(), String> {
        Ok(())
    }
}

/// What one step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing was waiting.
    Empty,
    Delivered(String),
    /// Failed; will be retried at the given time (ms).
    Retrying(String),
    /// Failed for the last time, or could not be read: moved to the dead list.
    Dead(String),
}

/// Knobs of the worker (the defaults suit production; tests shorten them).
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// How long a taken job may stay unfinished before it is requeued.
    pub lease: Duration,
    /// Deliveries attempted before a job goes to the dead list.
    pub max_attempts: u32,
    /// Backoff before retry n is `backoff * 2^(n-1)`, capped at `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// How long one BLMOVE waits for a job (also how quickly shutdown is noticed).
    pub block: Duration,
    /// How long a delivery record stays in the outbox.
    pub outbox_retention: Duration,
    /// Most delivery records kept (the oldest go first).
    pub outbox_max: u64,
}

impl Default for WorkerConfig {
    fn default() -> WorkerConfig {
        WorkerConfig {
            lease: Duration::from_secs(60),
            max_attempts: 5,
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(300),
            block: Duration::from_secs(1),
            outbox_retention: Duration::from_secs(7 * 24 * 3600),
            outbox_max: 1_000,
        }
    }
}

pub struct EmailWorker<M: Mailer> {
    redis: Redis,
    mailer: M,
    config: WorkerConfig,
    /// The dedicated connection BLMOVE blocks on (re-made after an error).
    conn: Option<DedicatedConn>,
}

impl<M: Mailer> EmailWorker<M> {
    pub fn new(redis: Redis, mailer: M, config: WorkerConfig) -> EmailWorker<M> {
        EmailWorker {
            redis,
            mailer,
            config,
            conn: None,
        }
    }

    /// Waits up to `config.block` for a job, delivers it and records the outcome.
    pub async fn step(&mut self) -> anyhow::Result<Outcome> {
        let Some(raw) = self.take().await? else {
            return Ok(Outcome::Empty);
        };
        let job: EmailJob = match serde_json::from_str(&raw) {
            Ok(job) => job,
            Err(err) => {
                tracing::error!(error = %err, "unreadable e-mail job moved to the dead list");
                self.finish("dead", &raw, &raw, &raw, 0).await?;
                return Ok(Outcome::Dead(raw));
            }
        };
        let now = time::now();
        match self.mailer.send(&job).await {
            Ok(()) => {
                let record = serde_json::json!({
                    "job": &job,
                    "delivered_at": time::rfc3339(now),
                })
                .to_string();
                self.finish("delivered", &raw, &job.id, &record, 0).await?;
                Ok(Outcome::Delivered(job.id))
            }
            Err(error) => {
                let mut failed = job.clone();
                failed.attempts += 1;
                failed.last_error = Some(error);
                let payload = serde_json::to_string(&failed)?;
                if failed.attempts >= self.config.max_attempts {
                    tracing::warn!(job = %job.id, attempts = failed.attempts, "e-mail job is dead");
                    self.finish("dead", &raw, &job.id, &payload, 0).await?;
                    Ok(Outcome::Dead(job.id))
                } else {
                    let due = time::unix_ms(now) + self.backoff(failed.attempts).as_millis() as i64;
                    self.finish("retry", &raw, &job.id, &payload, due).await?;
                    Ok(Outcome::Retrying(job.id))
                }
            }
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.config
            .backoff
            .saturating_mul(factor)
            .min(self.config.max_backoff)
    }

    /// BLMOVE queue → processing, then lease the job. `None` after `block` with no job.
    async fn take(&mut self) -> anyhow::Result<Option<String>> {
        if self.conn.is_none() {
            self.conn = Some(self.redis.dedicated().await?);
        }
        let conn = self.conn.as_mut().expect("connection just made");
        let raw = match repo::take(&self.redis, conn, self.config.block).await {
            Ok(Some(raw)) => raw,
            Ok(None) => return Ok(None),
            Err(err) => {
                self.conn = None;
                return Err(err.into());
            }
        };
        let id = serde_json::from_str::<EmailJob>(&raw)
            .map(|job| job.id)
            .unwrap_or_else(|_| raw.clone());
        let deadline = time::unix_ms(time::now()) + self.config.lease.as_millis() as i64;
        repo::lease(&self.redis, &id, deadline).await?;
        Ok(Some(raw))
    }

    async fn finish(
        &self,
        outcome: &str,
        raw: &str,
        id: &str,
        payload: &str,
        due_ms: i64,
    ) -> anyhow::Result<()> {
        let finish = Finish {
            outcome,
            raw,
            id,
            payload,
            due_ms,
        };
        let held = repo::finish(
            &self.redis,
            &finish,
            self.config.outbox_retention,
            self.config.outbox_max,
        )
        .await?;
        if !held {
            tracing::warn!(job = id, "job was requeued while held (lease expired)");
        }
        Ok(())
    }

    /// Requeues jobs of dead workers and makes due retries pending: (requeued, due).
    pub async fn upkeep(&self) -> anyhow::Result<(u64, u64)> {
        Ok(repo::requeue(&self.redis, self.config.lease).await?)
    }

    /// Runs steps and upkeep until `shutdown` completes; a job in hand is finished
    /// first (shutdown is noticed between steps, within about `config.block`).
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut last_upkeep = tokio::time::Instant::now() - Duration::from_secs(60);
        loop {
            if last_upkeep.elapsed() >= Duration::from_secs(1) {
                if let Err(err) = self.upkeep().await {
                    tracing::warn!(error = %err, "e-mail queue upkeep failed");
                }
                last_upkeep = tokio::time::Instant::now();
            }
            // Shutdown is checked between steps, never in the middle of one, so a job
            // in hand is always finished (a step blocks for at most `config.block`).
            if futures::FutureExt::now_or_never(&mut shutdown).is_some() {
                break;
            }
            match self.step().await {
                Ok(Outcome::Empty) => {}
                Ok(outcome) => tracing::debug!(?outcome, "e-mail job finished"),
                Err(err) => {
                    tracing::warn!(error = %err, "e-mail worker step failed; retrying in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        tracing::info!("e-mail worker stopped");
    }
}
