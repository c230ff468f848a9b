//! Pages of a set whose size a stranger controls, at a cost bounded by the page.
//!
//! `SMEMBERS`, `SINTER`, `SUNION` and `SDIFF` read whole sets: with 100k members an
//! anonymous `limit=1` request cost 100–250 ms of Redis time, and a few such clients
//! stalled every other request. So every list over a set walks it with `SSCAN` from a
//! cursor, a batch at a time, and keeps the members of each batch that are (or are
//! not) in the other sets with `SMISMEMBER` (chunks of [`CHECK_CHUNK`], one batch per
//! slot on a cluster: the same code on both topologies, never a CROSSSLOT). A request
//! stops when its page is full, when the set is exhausted, or when it has examined its
//! budget of members, and hands back a cursor; a filtered page may therefore hold
//! fewer items than asked (even none) while `next_cursor` is not null.
//!
//! The position is the SSCAN cursor of the batch being served, the `COUNT` that batch
//! was read with, and the last member served from it. A page that ends inside a batch
//! reads the same batch again next time (same cursor, same `COUNT`, so the same
//! buckets) and serves the members after that one in byte order. What SSCAN guarantees
//! carries over: a member present in the walked set for the whole walk is read at least
//! once, and exactly once while the set does not change. A filtered walk serves it if
//! it passes the filter when its batch is read, so with sets that change meanwhile a
//! member may be missed or repeated; with sets that do not, every matching member comes
//! exactly once. Pages are in no useful order. A small set (intset up to 512 or listpack up to 128 members with
//! Redis's defaults) comes back whole from one SSCAN, which bounds a batch too.

use redis::{RedisResult, Value};

use super::RedisConn;
use super::batch::Batch;

/// Members per `SMISMEMBER`.
pub const CHECK_CHUNK: usize = 1000;
/// Largest `COUNT` a (decoded, so possibly forged) cursor may ask SSCAN for.
pub const MAX_SCAN_COUNT: usize = 1000;
/// Members one request examines at most before it answers with a cursor.
pub const SCAN_BUDGET: usize = 1000;
/// SSCAN round trips one request makes at most (a sparse hash table can answer a
/// batch with no member).
pub const MAX_ROUNDS: usize = 8;

/// Where a walk stands: see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScanPos {
    /// The SSCAN cursor of the batch being served (0: the start).
    pub scan: u64,
    /// The COUNT that batch is read with.
    pub count: usize,
    /// The last member served from that batch.
    pub after: Option<String>,
}

impl ScanPos {
    /// The start of a walk that reads batches of about `count` members.
    pub fn start(count: usize) -> ScanPos {
        ScanPos {
            scan: 0,
            count: count.clamp(1, MAX_SCAN_COUNT),
            after: None,
        }
    }
}

/// A set to walk and the filter its members must pass.
pub struct Walk<'a> {
    pub key: &'a str,
    /// Keep a member only if it is in every one of these sets.
    pub in_all: &'a [String],
    /// ... and in none of these.
    pub in_none: &'a [String],
}

/// What one request's walk found.
#[derive(Debug, Default)]
pub struct Step {
    /// Members that passed the filter, at most the limit asked for.
    pub items: Vec<String>,
    /// Where to go on; `None` when the set is exhausted.
    pub next: Option<ScanPos>,
    /// Members examined (read by SSCAN and filtered).
    pub examined: usize,
}

/// Walks `walk.key` from `from`: up to `limit` members that pass the filter, having
/// examined at most about `budget` members (a batch is never split for the budget, so
/// one batch more than the budget at worst) in at most [`MAX_ROUNDS`] SSCANs.
pub async fn walk(
    conn: &RedisConn,
    walk: &Walk<'_>,
    from: ScanPos,
    limit: usize,
    budget: usize,
) -> RedisResult<Step> {
    let mut pos = from;
    let mut step = Step::default();
    for _ in 0..MAX_ROUNDS {
        let (next_scan, mut batch): (u64, Vec<String>) = redis::cmd("SSCAN")
            .arg(walk.key)
            .arg(pos.scan)
            .arg("COUNT")
            .arg(pos.count)
            .query_async(&mut conn.clone())
            .await?;
        batch.sort_unstable();
        batch.dedup();
        if let Some(after) = &pos.after {
            batch.retain(|member| member > after);
        }
        step.examined += batch.len();
        let kept = keep(conn, walk, batch).await?;
        let room = limit - step.items.len();
        if kept.len() > room {
            step.items.extend(kept.into_iter().take(room));
            step.next = Some(ScanPos {
                after: step.items.last().cloned(),
                ..pos
            });
            return Ok(step);
        }
        step.items.extend(kept);
        if next_scan == 0 {
            return Ok(step);
        }
        pos = ScanPos {
            scan: next_scan,
            count: pos.count,
            after: None,
        };
        if step.items.len() == limit || step.examined >= budget {
            break;
        }
    }
    step.next = Some(pos);
    Ok(step)
}

/// The members of `batch` (sorted) that pass `walk`'s filter, in the same order.
async fn keep(conn: &RedisConn, walk: &Walk<'_>, batch: Vec<String>) -> RedisResult<Vec<String>> {
    if batch.is_empty() || (walk.in_all.is_empty() && walk.in_none.is_empty()) {
        return Ok(batch);
    }
    let mut checks = Batch::new();
    let keys: Vec<(&String, bool)> = walk
        .in_all
        .iter()
        .map(|k| (k, true))
        .chain(walk.in_none.iter().map(|k| (k, false)))
        .collect();
    for (key, _) in &keys {
        for chunk in batch.chunks(CHECK_CHUNK) {
            checks.add(
                (*key).clone(),
                redis::cmd("SMISMEMBER").arg(*key).arg(chunk).clone(),
            );
        }
    }
    let replies = checks.run(conn).await?;
    let per_key = batch.len().div_ceil(CHECK_CHUNK);
    let mut pass = vec![true; batch.len()];
    for ((_, wanted), replies) in keys.iter().zip(replies.chunks(per_key)) {
        let flags = replies
            .iter()
            .map(|v| redis::from_redis_value::<Vec<bool>>(v.clone()))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten();
        for (ok, present) in pass.iter_mut().zip(flags) {
            *ok &= present == *wanted;
        }
    }
    let mut pass = pass.into_iter();
    Ok(batch
        .into_iter()
        .filter(|_| pass.next().unwrap_or(false))
        .collect())
}

/// `SCARD` of every key, in order (one batch, one pipeline per slot on a cluster).
pub async fn sizes(conn: &RedisConn, keys: &[String]) -> RedisResult<Vec<u64>> {
    let mut batch = Batch::new();
    for key in keys {
        batch.add(key.clone(), redis::cmd("SCARD").arg(key).clone());
    }
    Ok(redis::from_redis_value(Value::Array(
        batch.run(conn).await?,
    ))?)
}
