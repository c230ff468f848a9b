//! Background workers, run inside `agora serve` (unless `--no-workers`) or alone with
//! `agora worker`.
//!
//! Each worker is a loop of single steps (so tests can drive one step at a time) that
//! stops between steps when the shutdown signal comes, so no job is dropped half done.
//! Running several processes with workers is safe: every worker takes its work from
//! Redis atomically (BLMOVE for e-mail jobs, XREADGROUP for order events).
//! - [`billing`]: the `billing-service` consumer group on `events:orders` (invoices);
//! - [`sweeper`]: finishes or rolls back order operations a crash left unfinished;
//! - `email`: the e-mail queue ([`crate::jobs::email_worker`]).

pub mod billing;
pub(crate) mod sweeper;

use std::future::Future;

use tokio::sync::watch;

use crate::jobs::email_worker::{EmailWorker, OutboxMailer, WorkerConfig};
use crate::redis::Redis;

/// Names of the workers this build runs.
pub fn names() -> Vec<&'static str> {
    vec![billing::NAME, sweeper::NAME, "email"]
}

/// Runs every worker until `shutdown` completes, then waits for each to stop.
pub async fn run(redis: Redis, shutdown: impl Future<Output = ()>) {
    tracing::info!(workers = ?names(), "workers started");
    let (stop, stopped) = watch::channel(false);
    let email_stopped = {
        let mut rx = stopped.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    };
    let email = EmailWorker::new(redis.clone(), OutboxMailer, WorkerConfig::default());
    tokio::join!(
        billing::run(redis.clone(), stopped.clone()),
        sweeper::run(redis.clone(), stopped),
        email.run(email_stopped),
        async move {
            shutdown.await;
            let _ = stop.send(true);
        },
    );
    tracing::info!("workers stopped");
}
