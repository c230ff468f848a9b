//! Checkout: turning explicit items or the cart into an order, all or nothing, exactly
//! once per `Idempotency-Key`.
//!
//! A checkout touches the user's slot (key record, cart, orders index), one slot per
//! product, the order's slot, the stream and the inflight index, so it cannot be one
//! atomic step. It is a sequence of single-slot steps, each idempotent, ordered so that
//! a crash anywhere can be finished or undone:
//!
//! 1. **Claim the key** (`idem:{user}:{key}`, SET NX semantics with the request's
//!    fingerprint). Of concurrent requests with one key exactly one claims it; the
//!    others wait for its order and answer with it. The same key with another body is
//!    422 `idempotency-key-reused`.
//! 2. **Record the checkout before taking stock**: `orders:inflight` gets the order with
//!    the lease's deadline, then `order:{id}` is created as `reserving` with its lines,
//!    a lease (random token + deadline, longer than the request timeout) and a TTL.
//! 3. **Reserve every line** concurrently, one script per product (its slot), recording
//!    the order in the product's reservations hash in the same step, so a retried
//!    reservation takes nothing twice. If any product is short (or gone), every line is
//!    given back (idempotently) and the answer is 409 `insufficient-stock` naming it.
//! 4. **Commit**: one script turns the order `pending` with its item snapshot, only for
//!    the lease holder.
//! 5. **Settle** (see `settle`): the key is marked done, the order indexed for the
//!    user, the cart emptied of what was bought, the event appended, the user notified;
//!    then the order leaves `orders:inflight`.
//!
//! Order ids come from `INCR orders:next_id` before the claim, so a duplicate request
//! burns an id it never uses: ids increase but have gaps.
//!
//! A crash before 4 leaves a `reserving` order whose lease runs out: a retry with the
//! same key takes it over and completes it (its reservations are reused), or the
//! sweeper rolls it back. A crash after 4 leaves a committed order that a retry or the
//! sweeper settles.

use std::time::Duration;

use super::model::{EventKind, Line, Order, OrderItem, OrderRecord, OrderStatus, fingerprint};
use super::repo::{self, Abort, Begin, Claim, NewCheckout};
use super::settle::{IdempotencyKey, give_back, settle};
use crate::carts;
use crate::error::{AppError, AppResult};
use crate::products;
use crate::products::model::insufficient_stock;
use crate::products::repo::Reservation;
use crate::redis::Redis;
use crate::time;

/// How long a request holds a checkout before another may take it over. Longer than
/// the request timeout (10 s by default), which drops a slow request before its lease
/// ends, so two requests never work on one checkout.
pub const LEASE_MS: i64 = 30_000;
/// How long a duplicate request waits for the one holding its key before answering 409.
const WAIT_FOR_DUPLICATE: Duration = Duration::from_secs(5);
/// Pause between looks at a key another request holds.
const POLL: Duration = Duration::from_millis(20);

/// One checkout request.
pub struct CheckoutRequest {
    pub user_id: String,
    pub idempotency_key: String,
    /// Merged and sorted lines, or `None` to check out the cart.
    pub lines: Option<Vec<Line>>,
}

/// The order, and whether it was created by an earlier request with the same key.
pub struct Checkout {
    pub order: Order,
    pub replayed: bool,
}

/// What one attempt at the claimed order came to.
enum Attempt {
    Done(Box<Order>),
    /// Another request is on it: look again shortly.
    Wait,
    /// Its previous checkout was rolled back: claim the key anew.
    Restart,
}

/// Checks out (see the module docs). `lease_ms` is [`LEASE_MS`] except in tests.
pub async fn checkout(
    redis: &Redis,
    request: CheckoutRequest,
    lease_ms: i64,
) -> AppResult<Checkout> {
    let fingerprint = fingerprint(request.lines.as_deref());
    let give_up_at = tokio::time::Instant::now() + WAIT_FOR_DUPLICATE;
    let mut candidate = repo::next_id(redis).await?;
    let mut replace: Option<String> = None;
    loop {
        let claim = repo::claim_idempotency(
            redis,
            &request.user_id,
            &request.idempotency_key,
            &fingerprint,
            &candidate,
            replace.as_deref(),
            &time::rfc3339(time::now()),
        )
        .await?;
        let (order_id, claimed) = match claim {
            Claim::Mismatch => {
                return Err(AppError::invalid(
                    "Idempotency-Key",
                    "was already used with a different request body; use a new key for a new order",
                ));
            }
            Claim::Existing {
                order_id,
                done: true,
            } => return replay(redis, &order_id).await,
            Claim::Existing { order_id, .. } => (order_id, false),
            Claim::Claimed(order_id) => (order_id, true),
        };
        match attempt(redis, &request, &order_id, claimed, lease_ms).await? {
            Attempt::Done(order) => {
                return Ok(Checkout {
                    order: *order,
                    replayed: !claimed,
                });
            }
            Attempt::Restart => {
                if claimed {
                    candidate = repo::next_id(redis).await?;
                }
                replace = Some(order_id);
            }
            Attempt::Wait => {
                if tokio::time::Instant::now() >= give_up_at {
                    return Err(AppError::Conflict {
                        kind: "idempotency-key-in-use",
                        detail: "Another request with this Idempotency-Key is still being processed; retry shortly.".into(),
                    });
                }
                tokio::time::sleep(POLL).await;
            }
        }
    }
}

/// The order an earlier request with the same key created.
async fn replay(redis: &Redis, order_id: &str) -> AppResult<Checkout> {
    let order = repo::get(redis, order_id)
        .await?
        .and_then(|o| o.view())
        .ok_or(AppError::NotFound("order"))?;
    Ok(Checkout {
        order,
        replayed: true,
    })
}

/// Works on `order_id`: starts its checkout, resumes an abandoned one, or finishes a
/// committed one, as its state says.
async fn attempt(
    redis: &Redis,
    request: &CheckoutRequest,
    order_id: &str,
    claimed: bool,
    lease_ms: i64,
) -> AppResult<Attempt> {
    let user_id = &request.user_id;
    let lines = match &request.lines {
        Some(lines) => lines.clone(),
        None => {
            let (cart, _) = carts::repo::read(redis, user_id).await?;
            cart.into_iter()
                .filter(|(_, quantity)| *quantity > 0)
                .map(|(product_id, quantity)| Line {
                    product_id,
                    quantity,
                })
                .collect()
        }
    };
    if lines.is_empty() && repo::get(redis, order_id).await?.is_none() {
        if !claimed {
            // The request that claimed the key has not recorded its checkout yet.
            return Ok(Attempt::Wait);
        }
        // Nothing to check out, and no earlier request made an order with this key.
        repo::forget_idempotency(redis, user_id, &request.idempotency_key, order_id).await?;
        return Err(AppError::invalid("items", "the cart is empty"));
    }

    let token = hex::encode(rand::random::<[u8; 16]>());
    let now = time::now();
    let now_ms = time::unix_ms(now);
    let started_at = time::rfc3339(now);
    repo::mark_inflight(redis, order_id, now_ms + lease_ms).await?;
    let new = NewCheckout {
        user_id,
        lines: &lines,
        idempotency_key: &request.idempotency_key,
        from_cart: request.lines.is_none(),
        started_at: &started_at,
    };
    let lines = match repo::begin_checkout(redis, order_id, &token, lease_ms, now_ms, &new).await? {
        Begin::Started if lines.is_empty() => {
            // The order vanished between the look above and here (rolled back): undo
            // this empty record and look again.
            give_back(redis, order_id, &[], None).await?;
            return Ok(Attempt::Wait);
        }
        Begin::Started => lines,
        Begin::Resumed(stored) => stored,
        Begin::Busy => return Ok(Attempt::Wait),
        Begin::Aborted => return Ok(Attempt::Restart),
        Begin::Committed { lease_until } => {
            if lease_until > now_ms {
                return Ok(Attempt::Wait);
            }
            // Its request died after committing: finish it here.
            let Some(order) = repo::get(redis, order_id).await? else {
                return Ok(Attempt::Restart);
            };
            settle(redis, &order).await?;
            return Ok(match order.view() {
                Some(view) => Attempt::Done(Box::new(view)),
                None => Attempt::Wait,
            });
        }
    };

    let items = match reserve_all(redis, order_id, &lines).await {
        Ok(items) => items,
        Err(err) => {
            roll_back(redis, order_id, &token).await?;
            return Err(err);
        }
    };
    let total_cents = items
        .iter()
        .map(|i| i.unit_price_cents.saturating_mul(i.quantity))
        .fold(0i64, i64::saturating_add);
    let created_at = time::rfc3339(time::now());
    if !repo::commit(redis, order_id, &token, &items, total_cents, &created_at).await? {
        // Our lease ran out and someone acted on the checkout meanwhile.
        lost_lease(redis, order_id, &lines).await?;
        return Ok(Attempt::Wait);
    }

    let record = OrderRecord {
        id: order_id.to_string(),
        user_id: user_id.clone(),
        status: Some(OrderStatus::Pending),
        lines,
        items,
        total_cents,
        idempotency_key: request.idempotency_key.clone(),
        from_cart: request.lines.is_none(),
        last_event: EventKind::Created,
        fields: [("created_at".to_string(), created_at)].into(),
    };
    settle(redis, &record).await?;
    let order = record
        .view()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("committed order has no status")))?;
    Ok(Attempt::Done(Box::new(order)))
}

/// Reserves every line concurrently (one script per product, pipelined on the shared
/// connection). Returns the item snapshot, or the first problem in product order.
async fn reserve_all(redis: &Redis, order_id: &str, lines: &[Line]) -> AppResult<Vec<OrderItem>> {
    let replies = futures::future::join_all(
        lines
            .iter()
            .map(|line| products::repo::reserve(redis, &line.product_id, order_id, line.quantity)),
    )
    .await;
    let mut items = Vec::with_capacity(lines.len());
    for (line, reply) in lines.iter().zip(replies) {
        match reply? {
            Reservation::Held { name, price_cents } => items.push(OrderItem {
                product_id: line.product_id.clone(),
                name,
                quantity: line.quantity,
                unit_price_cents: price_cents,
            }),
            Reservation::Short { stock } => {
                return Err(insufficient_stock(&line.product_id, stock, line.quantity));
            }
            Reservation::Missing => {
                return Err(AppError::invalid(
                    "items",
                    format!("product {} does not exist", line.product_id),
                ));
            }
        }
    }
    Ok(items)
}

/// Rolls back this request's own checkout (it holds `token`).
async fn roll_back(redis: &Redis, order_id: &str, token: &str) -> AppResult<()> {
    let now_ms = time::unix_ms(time::now());
    if let Abort::Aborting {
        lines,
        user_id,
        idempotency_key,
    } = repo::abort_checkout(redis, order_id, Some(token), now_ms).await?
    {
        let key = IdempotencyKey {
            user_id: &user_id,
            key: &idempotency_key,
        };
        give_back(redis, order_id, &lines, Some(key)).await?;
    }
    Ok(())
}

/// After a commit refused because the lease was lost: if a retry took the checkout
/// over (or committed it) our reservations are its reservations and stay; if the
/// sweeper rolled it back, a line we reserved after its release pass would be held by a
/// dead order, so finish the rollback here (every step is idempotent).
async fn lost_lease(redis: &Redis, order_id: &str, lines: &[Line]) -> AppResult<()> {
    let now_ms = time::unix_ms(time::now());
    match repo::abort_checkout(redis, order_id, None, now_ms).await? {
        Abort::Aborting {
            lines: stored,
            user_id,
            idempotency_key,
        } => {
            let key = IdempotencyKey {
                user_id: &user_id,
                key: &idempotency_key,
            };
            give_back(redis, order_id, &stored, Some(key)).await
        }
        Abort::Gone => give_back(redis, order_id, lines, None).await,
        Abort::Busy | Abort::Committed => Ok(()),
    }
}
