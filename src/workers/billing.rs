//! The billing consumer group (`billing-service`) on `events:orders`.
//!
//! Each process runs one consumer with a name of its own. A step:
//! 1. **reclaims** entries pending longer than `claim_min_idle_ms` on any consumer
//!    (XAUTOCLAIM: their consumer died or failed them), with their delivery counts;
//! 2. otherwise **reads new** entries (XREADGROUP … BLOCK, on a dedicated connection so
//!    the block never stalls the shared one);
//! 3. **processes** each: writes the order's one invoice, or brings its status in line
//!    with the order (`write_invoice.lua`, idempotent by order id, so redelivery and
//!    reordering are harmless), then **acknowledges** it (XACK);
//! 4. an entry that fails is left pending and retried after `claim_min_idle_ms`; once
//!    it has been delivered `max_deliveries` times it is **dead-lettered**: copied to
//!    `events:orders:dead` with the error, then acknowledged. A malformed entry (no
//!    order id) can never succeed and is dead-lettered at once;
//! 5. every ten minutes, removes consumers of dead processes from the group (nothing
//!    pending, idle for an hour), so restarts do not pile up consumer names.
//!
//! [`BillingConsumer::step`] is public so tests drive the consumer one step at a time.

use std::time::Duration;

use tokio::sync::watch;

use crate::orders::events_repo::{self, Delivery, InvoiceWrite};
use crate::redis::{DedicatedConn, Redis, is_unavailable};
use crate::{time, validate};

/// The consumer group's name (seed 001's `billing-service`).
pub const GROUP: &str = "billing-service";
/// The worker's name in logs and `workers::names()`.
pub const NAME: &str = "billing";
/// How often a consumer looks for idle consumers of dead processes to remove.
const FORGET_CONSUMERS_EVERY: Duration = Duration::from_secs(600);

/// How a billing consumer behaves.
#[derive(Debug, Clone)]
pub struct BillingConfig {
    /// This consumer's name in the group (unique per process).
    pub consumer: String,
    /// Most entries handled per step.
    pub batch: usize,
    /// How long XREADGROUP waits for new entries (0 = do not wait).
    pub block_ms: usize,
    /// How long an entry must have been pending before another consumer takes it over.
    pub claim_min_idle_ms: usize,
    /// Deliveries after which a failing entry is dead-lettered.
    pub max_deliveries: usize,
    /// Consumers idle this long with nothing pending are removed from the group.
    pub forget_consumers_idle_ms: usize,
}

impl BillingConfig {
    /// Production settings for a consumer called `consumer`.
    pub fn new(consumer: impl Into<String>) -> BillingConfig {
        BillingConfig {
            consumer: consumer.into(),
            batch: 100,
            block_ms: 2_000,
            claim_min_idle_ms: 60_000,
            max_deliveries: 5,
            forget_consumers_idle_ms: 3_600_000,
        }
    }

    /// A consumer name unique to this process: `billing-<pid>-<random>`.
    pub fn for_this_process() -> BillingConfig {
        let suffix = hex::encode(rand::random::<[u8; 4]>());
        BillingConfig::new(format!("billing-{}-{suffix}", std::process::id()))
    }
}

/// What one step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StepReport {
    /// Entries taken over from idle consumers.
    pub reclaimed: usize,
    /// New entries read.
    pub read: usize,
    /// Entries processed and acknowledged.
    pub acked: usize,
    /// Invoices created (a subset of `acked`).
    pub invoices_written: usize,
    /// Entries that failed and stay pending for a retry.
    pub failed: usize,
    /// Entries moved to `events:orders:dead`.
    pub dead_lettered: usize,
    /// Idle consumers (of dead processes) removed from the group.
    pub consumers_forgotten: usize,
}

impl StepReport {
    /// True when the step found nothing to do.
    pub fn is_idle(&self) -> bool {
        self.reclaimed == 0 && self.read == 0
    }
}

/// One consumer of the billing group.
pub struct BillingConsumer {
    redis: Redis,
    config: BillingConfig,
    /// Where the next XAUTOCLAIM continues scanning the pending list.
    claim_cursor: String,
    /// The dedicated connection for XREADGROUP BLOCK, opened on first use.
    conn: Option<DedicatedConn>,
    group_ready: bool,
    /// When idle consumers were last looked for.
    last_forget: Option<tokio::time::Instant>,
}

/// What processing one entry came to.
enum Outcome {
    Done { written: bool },
    Failed(String),
    Dead(String),
}

impl BillingConsumer {
    pub fn new(redis: Redis, config: BillingConfig) -> BillingConsumer {
        BillingConsumer {
            redis,
            config,
            claim_cursor: "0-0".into(),
            conn: None,
            group_ready: false,
            last_forget: None,
        }
    }

    pub fn config(&self) -> &BillingConfig {
        &self.config
    }

    /// Reclaims or reads one batch, processes it, acknowledges what is done.
    pub async fn step(&mut self) -> anyhow::Result<StepReport> {
        if !self.group_ready {
            events_repo::ensure_group(&self.redis, GROUP).await?;
            self.group_ready = true;
        }
        let result = self.step_inner().await;
        if let Err(err) = &result
            && let Some(err) = err.downcast_ref::<redis::RedisError>()
        {
            if events_repo::is_missing_group(err) {
                self.group_ready = false;
            }
            if is_unavailable(err) {
                self.conn = None;
            }
        }
        result
    }

    async fn step_inner(&mut self) -> anyhow::Result<StepReport> {
        let mut report = StepReport::default();
        let (cursor, reclaimed) = events_repo::reclaim(
            &self.redis,
            GROUP,
            &self.config.consumer,
            self.config.claim_min_idle_ms,
            &self.claim_cursor,
            self.config.batch,
        )
        .await?;
        self.claim_cursor = cursor;
        report.reclaimed = reclaimed.len();

        let deliveries = if reclaimed.is_empty() {
            let new = self.read_new().await?;
            report.read = new.len();
            new
        } else {
            reclaimed
        };

        let now = time::rfc3339(time::now());
        let mut finished = Vec::new();
        for delivery in &deliveries {
            match self.process(delivery, &now).await? {
                Outcome::Done { written } => {
                    report.acked += 1;
                    report.invoices_written += usize::from(written);
                    finished.push(delivery.id.clone());
                }
                Outcome::Failed(error) if delivery.deliveries >= self.config.max_deliveries => {
                    self.dead_letter(delivery, &error, &now).await?;
                    report.dead_lettered += 1;
                    finished.push(delivery.id.clone());
                }
                Outcome::Failed(error) => {
                    tracing::warn!(entry = %delivery.id, deliveries = delivery.deliveries, %error, "billing failed an order event; it will be retried");
                    report.failed += 1;
                }
                Outcome::Dead(error) => {
                    self.dead_letter(delivery, &error, &now).await?;
                    report.dead_lettered += 1;
                    finished.push(delivery.id.clone());
                }
            }
        }
        events_repo::ack(&self.redis, GROUP, &finished).await?;

        if self
            .last_forget
            .is_none_or(|at| at.elapsed() >= FORGET_CONSUMERS_EVERY)
        {
            report.consumers_forgotten = events_repo::forget_idle_consumers(
                &self.redis,
                GROUP,
                self.config.forget_consumers_idle_ms,
                &self.config.consumer,
            )
            .await?;
            self.last_forget = Some(tokio::time::Instant::now());
        }
        Ok(report)
    }

    async fn read_new(&mut self) -> anyhow::Result<Vec<Delivery>> {
        let block = (self.config.block_ms > 0).then_some(self.config.block_ms);
        if self.conn.is_none() {
            let mut conn = self.redis.dedicated().await?;
            conn.allow_blocking_for(
                Duration::from_millis(self.config.block_ms as u64) + Duration::from_secs(5),
            );
            self.conn = Some(conn);
        }
        let conn = self.conn.as_mut().expect("connection opened above");
        Ok(events_repo::read_new(
            &self.redis,
            conn,
            GROUP,
            &self.config.consumer,
            self.config.batch,
            block,
        )
        .await?)
    }

    /// Invoices one event's order. Redis being unavailable aborts the step (the entry
    /// stays pending); anything else is this entry's failure.
    async fn process(&self, delivery: &Delivery, now: &str) -> anyhow::Result<Outcome> {
        if delivery.deliveries > self.config.max_deliveries {
            return Ok(Outcome::Dead(format!(
                "delivered {} times without success",
                delivery.deliveries
            )));
        }
        let Some(order_id) = delivery
            .fields
            .get("order_id")
            .filter(|id| validate::id(id).is_ok())
        else {
            return Ok(Outcome::Dead("malformed event: no valid order_id".into()));
        };
        match events_repo::write_invoice(&self.redis, order_id, &delivery.id, now).await {
            Ok(InvoiceWrite::NoOrder) => {
                Ok(Outcome::Failed(format!("order {order_id} does not exist")))
            }
            Ok(write) => Ok(Outcome::Done {
                written: write == InvoiceWrite::Written,
            }),
            Err(err) if is_unavailable(&err) => Err(err.into()),
            Err(err) => Ok(Outcome::Failed(err.to_string())),
        }
    }

    async fn dead_letter(&self, delivery: &Delivery, error: &str, now: &str) -> anyhow::Result<()> {
        tracing::error!(entry = %delivery.id, deliveries = delivery.deliveries, error, "order event moved to events:orders:dead");
        events_repo::dead_letter(
            &self.redis,
            delivery,
            GROUP,
            &self.config.consumer,
            error,
            now,
        )
        .await?;
        Ok(())
    }
}

/// Runs a billing consumer until `stop` turns true.
pub async fn run(redis: Redis, mut stop: watch::Receiver<bool>) {
    let mut consumer = BillingConsumer::new(redis, BillingConfig::for_this_process());
    tracing::info!(consumer = %consumer.config().consumer, group = GROUP, "billing consumer started");
    loop {
        let failed = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            result = consumer.step() => match result {
                Ok(report) => {
                    if !report.is_idle() {
                        tracing::debug!(?report, "billing step");
                    }
                    false
                }
                Err(err) => {
                    tracing::warn!(error = %err, "billing step failed; retrying in 1 s");
                    true
                }
            },
        };
        if failed {
            tokio::select! {
                _ = stop.wait_for(|stop| *stop) => break,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}
