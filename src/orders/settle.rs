//! What follows a change of an order: [`settle`] after a commit or a status change,
//! [`give_back`] after a checkout is abandoned. Both are idempotent, so the request that
//! made the change, a retry and the sweeper may all run them.
//!
//! Its own module because both the checkout ([`super::checkout`]) and the lifecycle
//! and sweeper ([`super::service`]) need them: with the steps here, neither of those
//! imports the other.

use super::events_repo::{self, OrderEvent};
use super::model::{Line, OrderRecord, OrderStatus};
use super::repo;
use crate::error::AppResult;
use crate::notifications;
use crate::products;
use crate::redis::Redis;
use crate::time;

/// The `Idempotency-Key` record a checkout claimed: whose, and which key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdempotencyKey<'a> {
    pub user_id: &'a str,
    pub key: &'a str,
}

/// The follow-up steps of an order's last change (see the module docs); idempotent.
pub(crate) async fn settle(redis: &Redis, order: &OrderRecord) -> AppResult<()> {
    let Some(status) = order.status() else {
        return Ok(());
    };
    let at = time::rfc3339(time::now());
    let event = OrderEvent {
        kind: order.last_event,
        order_id: order.id.clone(),
        user_id: order.user_id.clone(),
        status,
        total_cents: order.total_cents,
        at: at.clone(),
    };
    let notification = serde_json::json!({
        "order_id": order.id,
        "status": status,
        "at": at,
    });
    let stock = async {
        let steps = order.lines.iter().map(|line| async move {
            if status == OrderStatus::Cancelled {
                products::repo::release(redis, &line.product_id, &order.id)
                    .await
                    .map(drop)
            } else if status.is_shipped() {
                products::repo::settle_reservation(redis, &line.product_id, &order.id).await
            } else {
                Ok(())
            }
        });
        futures::future::try_join_all(steps).await.map(drop)
    };
    let live = async {
        notifications::notify(redis, &order.user_id, "order_status", notification).await;
        Ok::<(), redis::RedisError>(())
    };
    tokio::try_join!(
        repo::finish_checkout(redis, order),
        events_repo::append(redis, &event),
        live,
        stock,
    )?;
    repo::clear_inflight(redis, &order.id).await?;
    Ok(())
}

/// The rest of a rollback once the order is `aborting`: every line's stock back
/// (idempotent), then the order, its key record and its inflight entry go. Used by the
/// request that failed and by the sweeper.
pub(crate) async fn give_back(
    redis: &Redis,
    order_id: &str,
    lines: &[Line],
    key: Option<IdempotencyKey<'_>>,
) -> AppResult<()> {
    futures::future::try_join_all(
        lines
            .iter()
            .map(|line| products::repo::release(redis, &line.product_id, order_id)),
    )
    .await?;
    repo::delete(redis, order_id).await?;
    if let Some(key) = key {
        repo::forget_idempotency(redis, key.user_id, key.key, order_id).await?;
    }
    repo::clear_inflight(redis, order_id).await?;
    Ok(())
}
