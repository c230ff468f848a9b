//! Orders in Redis: the only code that names order keys (the event stream is in
//! [`super::events`]).
//!
//! | key | type | holds |
//! |---|---|---|
//! | `order:{id}` | hash | the order: status, `items` (JSON snapshot), `total_cents`, timestamps; during checkout also `lines`, the lease (`lease_token`, `lease_until`) and a 24 h TTL |
//! | `order:{id}:invoice` | hash | the one invoice of the order (written by billing) |
//! | `orders:next_id` | string | last order id handed out (INCR) |
//! | `orders:inflight` | sorted set | order id → Unix ms after which the sweeper finishes or rolls back the operation under way |
//! | `user:{id}:orders` | sorted set | the user's order ids, scored by the numeric id (newest = highest) |
//! | `idem:{user}:{key}` | hash, 24 h TTL | one `Idempotency-Key`: fingerprint, order id, state |
//!
//! Order hashes are kept when their user is deleted (accounting); only the user's
//! index of them goes with the user.

use std::collections::HashMap;

use redis::{AsyncCommands, Value};

use super::model::{Line, OrderItem, OrderRecord, OrderStatus};
use crate::carts::model::CART_TTL_MS;
use crate::error::AppResult;
use crate::redis::batch::Batch;
use crate::redis::keys::UserPart;
use crate::redis::paging::IdRange;
use crate::redis::scripts::Tagged;
use crate::redis::{Redis, scripts};

/// How long an `Idempotency-Key` is remembered.
pub const IDEMPOTENCY_TTL_MS: i64 = 24 * 3600 * 1000;
/// How long an order whose checkout never completes is kept (then it expires).
pub const UNFINISHED_TTL_MS: i64 = 24 * 3600 * 1000;

/// Lines stored as JSON by a script's caller, read back from its reply.
fn json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, redis::ParsingError> {
    serde_json::from_str(text).map_err(|e| redis::ParsingError::from(format!("stored JSON: {e}")))
}

/// A fresh order id (INCR).
pub async fn next_id(redis: &Redis) -> AppResult<String> {
    let id: u64 = redis.conn().incr(redis.keys.order_ids(), 1).await?;
    Ok(id.to_string())
}

/// What claiming an `Idempotency-Key` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This request owns the key: check out as this order.
    Claimed(String),
    /// The key was used with another request body.
    Mismatch,
    /// Another request has the key, for this order; `done` once it has finished.
    Existing { order_id: String, done: bool },
}

/// Claims `key` for a checkout (`claim_idempotency.lua`, SET NX semantics).
pub async fn claim_idempotency(
    redis: &Redis,
    user_id: &str,
    key: &str,
    fingerprint: &str,
    candidate: &str,
    replace: Option<&str>,
    now: &str,
) -> AppResult<Claim> {
    let reply: Value = scripts::CLAIM_IDEMPOTENCY
        .key(redis.keys.idempotency(user_id, key))
        .arg(fingerprint)
        .arg(candidate)
        .arg(IDEMPOTENCY_TTL_MS)
        .arg(now)
        .arg(replace.unwrap_or(""))
        .invoke_async(&mut redis.conn())
        .await?;
    scripts::decode("claim_idempotency", reply)
}

/// `{'claimed', order}`, `{'mismatch'}` or `{'existing', order, 'done' | 'pending'}`.
impl redis::FromRedisValue for Claim {
    fn from_redis_value(v: Value) -> Result<Self, redis::ParsingError> {
        let reply: Tagged = redis::from_redis_value(v)?;
        match (reply.tag.as_str(), reply.values.len()) {
            ("claimed", 1) => Ok(Claim::Claimed(reply.value(0)?)),
            ("mismatch", 0) => Ok(Claim::Mismatch),
            ("existing", 2) => Ok(Claim::Existing {
                order_id: reply.value(0)?,
                done: reply.value::<String>(1)? == "done",
            }),
            _ => Err(reply.unexpected()),
        }
    }
}

/// Forgets `key` if it still points at the rolled-back `order_id` (compare-and-delete).
pub async fn forget_idempotency(
    redis: &Redis,
    user_id: &str,
    key: &str,
    order_id: &str,
) -> redis::RedisResult<()> {
    let _: i64 = scripts::FORGET_IDEMPOTENCY
        .key(redis.keys.idempotency(user_id, key))
        .arg(order_id)
        .invoke_async(&mut redis.conn())
        .await?;
    Ok(())
}

/// What a new checkout records before it takes any stock.
pub struct NewCheckout<'a> {
    pub user_id: &'a str,
    pub lines: &'a [Line],
    pub idempotency_key: &'a str,
    pub from_cart: bool,
    pub started_at: &'a str,
}

/// What `begin_checkout` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// New order, held by this token: reserve its lines.
    Started,
    /// An unfinished checkout whose lease had run out, held by this token now: reserve
    /// these (its own) lines.
    Resumed(Vec<Line>),
    /// Another request holds the checkout.
    Busy,
    /// Past checkout; `lease_until` is when its holder's time to finish runs out.
    Committed { lease_until: i64 },
    /// Being rolled back.
    Aborted,
}

/// Records (or takes over) the checkout of `order_id` under `token` (`begin_checkout.lua`).
pub async fn begin_checkout(
    redis: &Redis,
    order_id: &str,
    token: &str,
    lease_ms: i64,
    now_ms: i64,
    new: &NewCheckout<'_>,
) -> AppResult<Begin> {
    let lines = serde_json::to_string(new.lines).map_err(anyhow::Error::from)?;
    let reply: Value = scripts::BEGIN_CHECKOUT
        .key(redis.keys.order(order_id))
        .arg(now_ms)
        .arg(lease_ms)
        .arg(token)
        .arg(UNFINISHED_TTL_MS)
        .arg("id")
        .arg(order_id)
        .arg("user_id")
        .arg(new.user_id)
        .arg("lines")
        .arg(lines)
        .arg("idempotency_key")
        .arg(new.idempotency_key)
        .arg("from_cart")
        .arg(if new.from_cart { "1" } else { "0" })
        .arg("started_at")
        .arg(new.started_at)
        .invoke_async(&mut redis.conn())
        .await?;
    scripts::decode("begin_checkout", reply)
}

/// `{'started'}`, `{'resumed', lines}`, `{'busy', lease_until}`,
/// `{'committed', status, lease_until}` or `{'aborted'}`.
impl redis::FromRedisValue for Begin {
    fn from_redis_value(v: Value) -> Result<Self, redis::ParsingError> {
        let reply: Tagged = redis::from_redis_value(v)?;
        match (reply.tag.as_str(), reply.values.len()) {
            ("started", 0) => Ok(Begin::Started),
            ("resumed", 1) => Ok(Begin::Resumed(json(&reply.value::<String>(0)?)?)),
            ("busy", _) => Ok(Begin::Busy),
            ("committed", 2) => Ok(Begin::Committed {
                lease_until: reply.value(1)?,
            }),
            ("aborted", 0) => Ok(Begin::Aborted),
            _ => Err(reply.unexpected()),
        }
    }
}

/// Commits a fully reserved checkout (`commit_order.lua`); false when this token no
/// longer holds it.
pub async fn commit(
    redis: &Redis,
    order_id: &str,
    token: &str,
    items: &[OrderItem],
    total_cents: i64,
    now: &str,
) -> AppResult<bool> {
    let items = serde_json::to_string(items).map_err(anyhow::Error::from)?;
    let committed: i64 = scripts::COMMIT_ORDER
        .key(redis.keys.order(order_id))
        .arg(token)
        .arg(items)
        .arg(total_cents)
        .arg(now)
        .invoke_async(&mut redis.conn())
        .await?;
    Ok(committed == 1)
}

/// What `abort_checkout` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Abort {
    /// The caller must give back these lines, then delete the order and its key record.
    Aborting {
        lines: Vec<Line>,
        user_id: String,
        idempotency_key: String,
    },
    /// Another request holds the checkout.
    Busy,
    /// Past checkout: finish it instead.
    Committed,
    /// No such order.
    Gone,
}

/// Marks a checkout as rolling back (`abort_checkout.lua`): by its holder (`token`) or,
/// with `None`, by the sweeper once the lease has run out.
pub async fn abort_checkout(
    redis: &Redis,
    order_id: &str,
    token: Option<&str>,
    now_ms: i64,
) -> AppResult<Abort> {
    let reply: Value = scripts::ABORT_CHECKOUT
        .key(redis.keys.order(order_id))
        .arg(token.unwrap_or(""))
        .arg(now_ms)
        .invoke_async(&mut redis.conn())
        .await?;
    scripts::decode("abort_checkout", reply)
}

/// `{'aborting', lines, user_id, idempotency_key}`, `{'busy'}`,
/// `{'committed', status, lease_until}` or `{'gone'}`.
impl redis::FromRedisValue for Abort {
    fn from_redis_value(v: Value) -> Result<Self, redis::ParsingError> {
        let reply: Tagged = redis::from_redis_value(v)?;
        match (reply.tag.as_str(), reply.values.len()) {
            ("aborting", 3) => Ok(Abort::Aborting {
                lines: json(&reply.value::<String>(0)?)?,
                user_id: reply.value(1)?,
                idempotency_key: reply.value(2)?,
            }),
            ("busy", 0) => Ok(Abort::Busy),
            ("committed", _) => Ok(Abort::Committed),
            ("gone", 0) => Ok(Abort::Gone),
            _ => Err(reply.unexpected()),
        }
    }
}

/// Deletes a rolled-back order (only ever called once its stock is all given back).
pub async fn delete(redis: &Redis, order_id: &str) -> redis::RedisResult<()> {
    let _: u64 = redis.conn().del(redis.keys.order(order_id)).await?;
    Ok(())
}

/// The user's side of a committed checkout (`finish_checkout.lua`, idempotent): marks
/// the key done, indexes the order, takes the cart lines out of the cart.
pub async fn finish_checkout(redis: &Redis, order: &OrderRecord) -> redis::RedisResult<()> {
    let user = &order.user_id;
    let mut invocation = scripts::FINISH_CHECKOUT.prepare_invoke();
    invocation
        .key(redis.keys.idempotency(user, &order.idempotency_key))
        .key(redis.keys.user(user))
        .key(redis.keys.user_part(user, UserPart::Orders))
        .key(redis.keys.user_part(user, UserPart::Cart))
        .arg(&order.id)
        .arg(order.id.parse::<u64>().unwrap_or(0))
        .arg(CART_TTL_MS);
    if order.from_cart {
        for line in &order.lines {
            invocation.arg(&line.product_id).arg(line.quantity);
        }
    }
    let _: i64 = invocation.invoke_async(&mut redis.conn()).await?;
    Ok(())
}

/// Records that an operation on `order_id` is under way until `deadline_ms`.
pub async fn mark_inflight(redis: &Redis, order_id: &str, deadline_ms: i64) -> AppResult<()> {
    let _: u64 = redis
        .conn()
        .zadd(redis.keys.orders_inflight(), order_id, deadline_ms)
        .await?;
    Ok(())
}

/// The operation on `order_id` is complete.
pub async fn clear_inflight(redis: &Redis, order_id: &str) -> redis::RedisResult<()> {
    let _: u64 = redis
        .conn()
        .zrem(redis.keys.orders_inflight(), order_id)
        .await?;
    Ok(())
}

/// Orders whose operation should have finished by `now_ms`, oldest first.
pub async fn overdue(redis: &Redis, now_ms: i64, limit: usize) -> AppResult<Vec<String>> {
    let ids: Vec<String> = redis
        .conn()
        .zrangebyscore_limit(
            redis.keys.orders_inflight(),
            "-inf",
            now_ms,
            0,
            limit as isize,
        )
        .await?;
    Ok(ids)
}

/// The stored order (including a checkout in progress), or `None`.
pub async fn get(redis: &Redis, order_id: &str) -> AppResult<Option<OrderRecord>> {
    let hash: HashMap<String, String> = redis.conn().hgetall(redis.keys.order(order_id)).await?;
    Ok(OrderRecord::from_hash(hash))
}

/// A page of the user's orders, newest first: the index, then every order in one batch.
/// Orders still being checked out (or gone) are skipped.
pub async fn list_for_user(
    redis: &Redis,
    user_id: &str,
    page: IdRange,
) -> AppResult<(Vec<OrderRecord>, Option<String>)> {
    let index = redis.keys.user_part(user_id, UserPart::Orders);
    let ids: Vec<String> = page
        .zrange(&index, true)
        .query_async(&mut redis.conn())
        .await?;
    let (ids, next_cursor) = page.split(ids);
    let mut batch = Batch::new();
    for id in &ids {
        let key = redis.keys.order(id);
        batch.add(key.clone(), redis::cmd("HGETALL").arg(&key).clone());
    }
    let orders = batch
        .run(&redis.conn)
        .await?
        .into_iter()
        .filter_map(|reply| OrderRecord::from_hash(redis::from_redis_value(reply).ok()?))
        .filter(|order| order.status().is_some())
        .collect();
    Ok((orders, next_cursor))
}

/// What a status change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Moved; the order afterwards.
    Changed(OrderRecord),
    /// Already in that status; the order as it is.
    Same(OrderRecord),
    /// Not allowed from the current status (named).
    Invalid(String),
    /// No such (committed) order.
    Missing,
}

/// Moves an order to `to` if its current status is one `to` may follow
/// (`order_transition.lua`).
pub async fn transition(
    redis: &Redis,
    order_id: &str,
    to: OrderStatus,
    now: &str,
) -> AppResult<Transition> {
    let mut invocation = scripts::ORDER_TRANSITION.prepare_invoke();
    invocation
        .key(redis.keys.order(order_id))
        .arg(to.as_str())
        .arg(now);
    for from in to.follows() {
        invocation.arg(from.as_str());
    }
    let reply: Value = invocation.invoke_async(&mut redis.conn()).await?;
    scripts::decode("order_transition", reply)
}

/// `{'changed', old status, flat HGETALL}`, `{'same', flat HGETALL}`,
/// `{'invalid', current status}` or `{'missing'}`.
impl redis::FromRedisValue for Transition {
    fn from_redis_value(v: Value) -> Result<Self, redis::ParsingError> {
        let reply: Tagged = redis::from_redis_value(v)?;
        let record = |i: usize| {
            OrderRecord::from_hash(reply.value::<HashMap<String, String>>(i)?).ok_or_else(|| {
                redis::ParsingError::from("an order hash without id or status".to_string())
            })
        };
        match (reply.tag.as_str(), reply.values.len()) {
            ("changed", 2) => Ok(Transition::Changed(record(1)?)),
            ("same", 1) => Ok(Transition::Same(record(0)?)),
            ("invalid", 1) => Ok(Transition::Invalid(reply.value(0)?)),
            ("missing", 0) => Ok(Transition::Missing),
            _ => Err(reply.unexpected()),
        }
    }
}

/// The order's invoice, once billing has written it.
pub async fn invoice(redis: &Redis, order_id: &str) -> AppResult<Option<super::model::Invoice>> {
    let hash: HashMap<String, String> = redis.conn().hgetall(redis.keys.invoice(order_id)).await?;
    Ok(super::model::Invoice::from_hash(&hash))
}
