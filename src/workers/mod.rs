//! Background workers, run inside `agora serve` (unless `--no-workers`) or alone with
//! `agora worker`.
//!
//! Each worker is a loop of single steps (so tests can drive one step at a time) that
//! stops between steps when the shutdown signal comes, so no job is dropped half done.
//! Running several processes with workers is safe: every worker takes its work from
//! Redis atomically (BLMOVE for e-mail jobs).

use std::future::Future;

use futures::future::join_all;
use tokio::sync::watch;

use crate::jobs::email_worker::{EmailWorker, OutboxMailer, WorkerConfig};
use crate::redis::Redis;

/// Names of the workers this build runs.
pub fn names() -> Vec<&'static str> {
    vec!["email"]
}

/// Runs every worker until `shutdown` completes, then waits for each to stop.
pub async fn run(redis: Redis, shutdown: impl Future<Output = ()>) {
    let (stop, stopped) = watch::channel(false);
    let signal = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let email = EmailWorker::new(redis, OutboxMailer, WorkerConfig::default());
    let tasks = vec![tokio::spawn(email.run(signal(stopped.clone())))];
    tracing::info!(workers = ?names(), "workers started");
    shutdown.await;
    let _ = stop.send(true);
    join_all(tasks).await;
    tracing::info!("workers stopped");
}
