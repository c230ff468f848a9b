//! The order sweeper: finishes or rolls back order operations that a crash left
//! unfinished (see `orders::service::sweep`, which is its step function).
//!
//! Every few seconds it looks at `orders:inflight` for entries past their deadline: an
//! unfinished checkout whose lease ran out is rolled back (its stock given back), a
//! committed order gets its follow-up steps (user index, cart, event) finished. Any
//! number of processes may sweep at once: each order's state changes in one script,
//! and every follow-up is idempotent.

use std::time::Duration;

use tokio::sync::watch;

use crate::orders::service::sweep;
use crate::redis::Redis;
use crate::time;

/// The worker's name in logs and `workers::names()`.
pub const NAME: &str = "order-sweeper";
/// Time between sweeps.
pub const EVERY: Duration = Duration::from_secs(5);
/// Most orders handled per sweep.
const BATCH: usize = 100;

/// Sweeps every [`EVERY`] until `stop` turns true.
pub async fn run(redis: Redis, mut stop: watch::Receiver<bool>) {
    loop {
        match sweep(&redis, time::unix_ms(time::now()), BATCH).await {
            Ok(report) if report.rolled_back + report.finished > 0 => {
                tracing::info!(?report, "swept unfinished order operations");
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "order sweep failed; retrying"),
        }
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
}
