//! Background workers, run inside `agora serve` (unless `--no-workers`) or alone with
//! `agora worker`.
//!
//! Each worker is a loop that takes one step at a time (so tests can drive a step
//! directly) and stops when the shutdown future completes:
//! - [`billing`]: the `billing-service` consumer group on `events:orders` (invoices);
//! - [`sweeper`]: finishes or rolls back order operations a crash left unfinished.

pub mod billing;
pub mod sweeper;

use std::future::Future;

use crate::redis::Redis;

/// Names of the workers this build runs.
pub fn names() -> Vec<&'static str> {
    vec![billing::NAME, sweeper::NAME]
}

/// Runs every worker until `shutdown` completes.
pub async fn run(redis: Redis, shutdown: impl Future<Output = ()>) {
    tracing::info!(names = ?names(), "workers started");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::join!(
        billing::run(redis.clone(), stopped.clone()),
        sweeper::run(redis.clone(), stopped),
        async move {
            shutdown.await;
            let _ = stop.send(true);
        },
    );
    tracing::info!("workers stopped");
}
