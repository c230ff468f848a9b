//! Order operations that span slots: the lifecycle ([`change_status`]) and the sweeper
//! ([`sweep`]); what follows every state change is [`settle`] (in `settle.rs`).
//!
//! Every operation on an order has the same shape, ordered for crashes:
//! 1. `ZADD orders:inflight <order> <deadline>`: the operation is under way;
//! 2. one script on `order:{id}` changes its state atomically (commit, transition);
//! 3. [`settle`]: the follow-up steps, each idempotent and in its own slot, run
//!    concurrently: the user's side of a checkout (key done, orders index, cart), the
//!    stream event, the live notification, and the stock (given back on cancel,
//!    settled once shipped);
//! 4. `ZREM orders:inflight <order>`.
//!
//! A crash anywhere leaves the order in `orders:inflight` past its deadline, and the
//! sweeper finishes it by running [`settle`] again from the order's state, or rolls an
//! unfinished checkout back. Because the follow-ups are idempotent a second run changes
//! nothing but a repeated event, which the consumers tolerate (at-least-once).

use super::model::{Order, OrderStatus};
use super::repo;
use super::settle::{IdempotencyKey, give_back, settle};
use crate::error::{AppError, AppResult};
use crate::redis::Redis;
use crate::time;

/// How long a status change may take before the sweeper finishes it.
pub const TRANSITION_GRACE_MS: i64 = 30_000;

/// Moves an order to `to` (pending → paid → shipped → delivered; cancelled before
/// shipping, which gives the stock back). Asking for the status it already has is a
/// no-op that also finishes any follow-up a crash interrupted. 409 `invalid-transition`
/// for any other step.
pub async fn change_status(redis: &Redis, order_id: &str, to: OrderStatus) -> AppResult<Order> {
    let now = time::now();
    repo::mark_inflight(redis, order_id, time::unix_ms(now) + TRANSITION_GRACE_MS).await?;
    let order = match repo::transition(redis, order_id, to, &time::rfc3339(now)).await? {
        repo::Transition::Changed(order) | repo::Transition::Same(order) => order,
        repo::Transition::Invalid(current) => {
            repo::clear_inflight(redis, order_id).await?;
            return Err(AppError::Conflict {
                kind: "invalid-transition",
                detail: format!(
                    "The order is {current}; it cannot become {}. Orders go pending → paid → shipped → delivered, and can be cancelled only before they ship.",
                    to.as_str()
                ),
            });
        }
        repo::Transition::Missing => {
            repo::clear_inflight(redis, order_id).await?;
            return Err(AppError::NotFound("order"));
        }
    };
    settle(redis, &order).await?;
    order
        .view()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("order {order_id} lost its status")))
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    /// Unfinished checkouts given back (their stock returned, their order deleted).
    pub rolled_back: usize,
    /// Committed orders whose follow-up steps were finished.
    pub finished: usize,
}

/// Finishes or rolls back up to `limit` operations whose deadline passed before
/// `now_ms`: an unfinished checkout whose lease ran out is rolled back; a committed
/// order is settled. Safe to run in several processes at once.
pub async fn sweep(redis: &Redis, now_ms: i64, limit: usize) -> AppResult<SweepReport> {
    let mut report = SweepReport::default();
    for order_id in repo::overdue(redis, now_ms, limit).await? {
        match repo::abort_checkout(redis, &order_id, None, now_ms).await? {
            repo::Abort::Aborting {
                lines,
                user_id,
                idempotency_key,
            } => {
                let key = IdempotencyKey {
                    user_id: &user_id,
                    key: &idempotency_key,
                };
                give_back(redis, &order_id, &lines, Some(key)).await?;
                report.rolled_back += 1;
            }
            repo::Abort::Committed => {
                if let Some(order) = repo::get(redis, &order_id).await? {
                    settle(redis, &order).await?;
                    report.finished += 1;
                }
            }
            repo::Abort::Gone => repo::clear_inflight(redis, &order_id).await?,
            // A retry took the checkout over and moved its deadline on.
            repo::Abort::Busy => {}
        }
    }
    Ok(report)
}
