//! The order-event stream in Redis (seed 001's `events:orders` with consumer groups):
//! the only code that names the stream keys and runs stream commands.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `events:orders` | stream, `MAXLEN ~ 100000` | `order.created` / `order.status_changed`: type, order_id, user_id, status, total_cents, at |
//! | `events:orders:dead` | stream, `MAXLEN ~ 10000` | entries that failed too many deliveries, with the original id and fields |
//!
//! A stream, not pub/sub, because billing must not miss an event: entries persist, a
//! consumer group hands each to one consumer, and an entry stays pending until
//! acknowledged, so a consumer that dies mid-entry loses nothing (XAUTOCLAIM hands its
//! entries to a live one). Delivery is at least once; consumers are idempotent.
//! On a cluster the stream is one key in one slot; the invoices it produces live in
//! each order's slot, which is fine because writing one is idempotent.
//!
//! The stream is trimmed approximately (`~`, cheap, whole macro nodes) at 100,000
//! entries: far more than the consumer group lags behind in normal operation. An entry
//! trimmed before billing read it would be lost to billing, so the cap must stay well
//! above the worst expected lag.

use std::collections::HashMap;

use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamId, StreamMaxlen, StreamPendingCountReply,
    StreamPendingReply, StreamReadOptions, StreamReadReply,
};
use redis::{AsyncCommands, Value};

use super::model::{EventKind, OrderStatus};
use crate::redis::scripts::Tagged;
use crate::redis::{DedicatedConn, Redis, scripts};

/// Approximate cap of `events:orders`.
pub const STREAM_MAXLEN: usize = 100_000;
/// Approximate cap of `events:orders:dead`.
pub const DEAD_MAXLEN: usize = 10_000;

/// One order event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderEvent {
    pub kind: EventKind,
    pub order_id: String,
    pub user_id: String,
    pub status: OrderStatus,
    pub total_cents: i64,
    /// RFC 3339 UTC.
    pub at: String,
}

/// Appends an event (XADD with an approximate MAXLEN); returns its stream id.
pub async fn append(redis: &Redis, event: &OrderEvent) -> redis::RedisResult<String> {
    let fields = [
        ("type", event.kind.as_str()),
        ("order_id", event.order_id.as_str()),
        ("user_id", event.user_id.as_str()),
        ("status", event.status.as_str()),
        ("total_cents", &event.total_cents.to_string()),
        ("at", event.at.as_str()),
    ];
    let id: Option<String> = redis
        .conn()
        .xadd_maxlen(
            redis.keys.order_events(),
            StreamMaxlen::Approx(STREAM_MAXLEN),
            "*",
            &fields,
        )
        .await?;
    Ok(id.unwrap_or_default())
}

/// Creates the consumer group if it does not exist (from the start of the stream, so
/// events written before the first consumer ran are processed too).
pub async fn ensure_group(redis: &Redis, group: &str) -> redis::RedisResult<()> {
    let created: redis::RedisResult<()> = redis
        .conn()
        .xgroup_create_mkstream(redis.keys.order_events(), group, "0")
        .await;
    match created {
        Err(err) if err.code() == Some("BUSYGROUP") => Ok(()),
        other => other,
    }
}

/// True when an error means the group (or the stream) is gone, e.g. after a FLUSHALL.
pub fn is_missing_group(err: &redis::RedisError) -> bool {
    err.code() == Some("NOGROUP")
}

/// One entry handed to a consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The stream entry id.
    pub id: String,
    pub fields: HashMap<String, String>,
    /// How many times the group has delivered it, this time included.
    pub deliveries: usize,
}

impl Delivery {
    fn from_entry(entry: StreamId, deliveries: usize) -> Delivery {
        let fields = entry
            .map
            .into_iter()
            .map(|(k, v)| (k, redis::from_redis_value::<String>(v).unwrap_or_default()))
            .collect();
        Delivery {
            id: entry.id,
            fields,
            deliveries,
        }
    }
}

/// New entries for `consumer` (XREADGROUP … [BLOCK `block_ms`] … `>`), on a dedicated
/// connection because it may block.
pub async fn read_new(
    redis: &Redis,
    conn: &mut DedicatedConn,
    group: &str,
    consumer: &str,
    count: usize,
    block_ms: Option<usize>,
) -> redis::RedisResult<Vec<Delivery>> {
    let mut options = StreamReadOptions::default()
        .group(group, consumer)
        .count(count);
    if let Some(block_ms) = block_ms {
        options = options.block(block_ms);
    }
    let reply: Option<StreamReadReply> = conn
        .xread_options(&[redis.keys.order_events()], &[">"], &options)
        .await?;
    Ok(reply
        .into_iter()
        .flat_map(|r| r.keys)
        .flat_map(|k| k.ids)
        .map(|entry| Delivery::from_entry(entry, 1))
        .collect())
}

/// Takes over entries pending longer than `min_idle_ms` (from a consumer that died or
/// failed them), scanning the pending list from `cursor` (XAUTOCLAIM), with each
/// entry's delivery count (XPENDING over the claimed range). Returns the cursor to
/// continue from (`0-0` once the whole list has been scanned).
pub async fn reclaim(
    redis: &Redis,
    group: &str,
    consumer: &str,
    min_idle_ms: usize,
    cursor: &str,
    count: usize,
) -> redis::RedisResult<(String, Vec<Delivery>)> {
    let stream = redis.keys.order_events();
    let mut conn = redis.conn();
    let reply: StreamAutoClaimReply = conn
        .xautoclaim_options(
            &stream,
            group,
            consumer,
            min_idle_ms,
            cursor,
            StreamAutoClaimOptions::default().count(count),
        )
        .await?;
    let (Some(first), Some(last)) = (reply.claimed.first(), reply.claimed.last()) else {
        return Ok((reply.next_stream_id, Vec::new()));
    };
    let pending: StreamPendingCountReply = conn
        .xpending_consumer_count(
            &stream,
            group,
            &first.id,
            &last.id,
            reply.claimed.len(),
            consumer,
        )
        .await?;
    let counts: HashMap<String, usize> = pending
        .ids
        .into_iter()
        .map(|p| (p.id, p.times_delivered))
        .collect();
    let deliveries = reply
        .claimed
        .into_iter()
        .map(|entry| {
            let times = counts.get(&entry.id).copied().unwrap_or(1);
            Delivery::from_entry(entry, times)
        })
        .collect();
    Ok((reply.next_stream_id, deliveries))
}

/// Acknowledges processed entries (XACK): they leave the pending list.
pub async fn ack(redis: &Redis, group: &str, ids: &[String]) -> redis::RedisResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let _: u64 = redis
        .conn()
        .xack(redis.keys.order_events(), group, ids)
        .await?;
    Ok(())
}

/// Parks an entry on `events:orders:dead` with why and how often it failed. The
/// caller acknowledges it afterwards (a crash in between parks it twice, never zero
/// times).
pub async fn dead_letter(
    redis: &Redis,
    delivery: &Delivery,
    group: &str,
    consumer: &str,
    error: &str,
    at: &str,
) -> redis::RedisResult<()> {
    let mut fields: Vec<(String, String)> = vec![
        ("original_id".into(), delivery.id.clone()),
        ("group".into(), group.into()),
        ("consumer".into(), consumer.into()),
        ("deliveries".into(), delivery.deliveries.to_string()),
        ("error".into(), error.into()),
        ("dead_at".into(), at.into()),
    ];
    let mut original: Vec<_> = delivery.fields.iter().collect();
    original.sort();
    fields.extend(
        original
            .into_iter()
            .map(|(k, v)| (format!("event.{k}"), v.clone())),
    );
    let _: Option<String> = redis
        .conn()
        .xadd_maxlen(
            redis.keys.order_events_dead(),
            StreamMaxlen::Approx(DEAD_MAXLEN),
            "*",
            &fields,
        )
        .await?;
    Ok(())
}

/// Deletes the group's consumers that hold no pending entries and have been idle for
/// `idle_ms`, except `keep` (`forget_idle_consumers.lua`, atomic). Returns how many.
pub async fn forget_idle_consumers(
    redis: &Redis,
    group: &str,
    idle_ms: usize,
    keep: &str,
) -> redis::RedisResult<usize> {
    scripts::FORGET_IDLE_CONSUMERS
        .key(redis.keys.order_events())
        .arg(group)
        .arg(idle_ms)
        .arg(keep)
        .invoke_async(&mut redis.conn())
        .await
}

/// How many entries the group has delivered but not acknowledged (XPENDING summary).
pub async fn pending_count(redis: &Redis, group: &str) -> redis::RedisResult<usize> {
    let reply: StreamPendingReply = redis
        .conn()
        .xpending(redis.keys.order_events(), group)
        .await?;
    Ok(reply.count())
}

/// What writing an invoice did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvoiceWrite {
    Written,
    Updated,
    Unchanged,
    /// No committed order of that id.
    NoOrder,
}

/// Writes the order's one invoice, or brings its status in line with the order
/// (`write_invoice.lua`, idempotent).
pub async fn write_invoice(
    redis: &Redis,
    order_id: &str,
    event_id: &str,
    now: &str,
) -> redis::RedisResult<InvoiceWrite> {
    let reply: Value = scripts::WRITE_INVOICE
        .key(redis.keys.order(order_id))
        .key(redis.keys.invoice(order_id))
        .arg(order_id)
        .arg(now)
        .arg(event_id)
        .invoke_async(&mut redis.conn())
        .await?;
    // The billing worker, not a request, reads this: an unexpected reply is a failed
    // delivery (retried, then dead-lettered with this message), named like in
    // `scripts::decode`.
    redis::from_redis_value(reply.clone()).map_err(|err| {
        redis::ParsingError::from(format!("unexpected write_invoice reply {reply:?}: {err}")).into()
    })
}

/// `{'written' | 'updated' | 'unchanged', invoice status}` or `{'missing'}`.
impl redis::FromRedisValue for InvoiceWrite {
    fn from_redis_value(v: Value) -> Result<Self, redis::ParsingError> {
        let reply: Tagged = redis::from_redis_value(v)?;
        match (reply.tag.as_str(), reply.values.len()) {
            ("written", 1) => Ok(InvoiceWrite::Written),
            ("updated", 1) => Ok(InvoiceWrite::Updated),
            ("unchanged", 1) => Ok(InvoiceWrite::Unchanged),
            ("missing", 0) => Ok(InvoiceWrite::NoOrder),
            _ => Err(reply.unexpected()),
        }
    }
}
