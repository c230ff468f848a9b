//! Background workers, run inside `agora serve` (unless `--no-workers`) or alone with
//! `agora worker`.
//!
//! Each worker is a loop that takes one step at a time (so tests can drive a step
//! directly) and stops when the shutdown future completes. The order-event consumer
//! group and the e-mail queue worker register here as their areas land; until then the
//! set is empty and `agora worker` only waits for its shutdown signal.

use std::future::Future;

use crate::redis::Redis;

/// Names of the workers this build runs.
pub fn names() -> Vec<&'static str> {
    Vec::new()
}

/// Runs every worker until `shutdown` completes.
pub async fn run(_redis: Redis, shutdown: impl Future<Output = ()>) {
    let names = names();
    if names.is_empty() {
        tracing::info!("no background workers in this build yet");
    } else {
        tracing::info!(?names, "workers started");
    }
    shutdown.await;
    tracing::info!("workers stopped");
}
