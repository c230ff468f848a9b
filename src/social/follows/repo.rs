//! Follows in Redis: the only code that names the follow keys.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `user:{id}:following` | sorted set | followed user id → followed-at (ms): the follower's side |
//! | `user:{id}:followers` | sorted set | follower id → followed-at (ms): the followed user's side |
//!
//! A follow is the follower's own decision, so the follower's side is the record and
//! the followed user's side the index: **follow** writes `following` first, then
//! `followers` (each with `zadd_if_exists.lua`: only while that user exists, `NX` so a
//! repeated follow keeps its original time); **unfollow** removes `followers` first,
//! then `following`. The only half-done state either can leave is therefore "A's
//! following lists B, B's followers lack A": A sees B in their list and B's new posts
//! are not fanned out to A until the follow is retried (PUT again completes it; every
//! step is idempotent) or undone (DELETE removes the half). No crash can make B push
//! posts to someone who does not follow them. Deleting a user removes them from the
//! other side of each of their edges first (see [`remove_user`]); list readers skip
//! and remove entries whose user is gone.

use redis::{AsyncCommands, Value};

use crate::error::AppResult;
use crate::pagination::{PartScoreCursor, ScoreCursor};
use crate::redis::batch::Batch;
use crate::redis::keys::UserPart;
use crate::redis::paging::{Window, newest_first};
use crate::redis::scripts::IfExists;
use crate::redis::set_scan::{MAX_ROUNDS, SCAN_BUDGET};
use crate::redis::{Redis, scripts};

/// Largest number of members per ZMSCORE / ZREM.
const CHUNK: usize = 1000;

/// Which side of the relationship.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Followers,
    Following,
}

impl Side {
    fn part(self) -> UserPart {
        match self {
            Side::Followers => UserPart::Followers,
            Side::Following => UserPart::Following,
        }
    }

    fn other(self) -> Side {
        match self {
            Side::Followers => Side::Following,
            Side::Following => Side::Followers,
        }
    }
}

/// How long a pair lock lives if its holder dies (a follow takes milliseconds).
const PAIR_LOCK_TTL_MS: u64 = 5_000;
/// How long a follow or unfollow waits for a concurrent one on the same pair.
const PAIR_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A held pair lock (see [`lock_pair`]).
pub struct PairLock {
    key: String,
    token: String,
}

/// Takes the lock of the pair (`user_id` follows `target`), waiting while another
/// follow or unfollow of the same pair holds it; `None` when it stays held past the
/// wait. Follow and unfollow each write both sides in sequence (two slots, so no
/// single script can); run concurrently, their steps interleave and leave the sides
/// disagreeing (A's `following` without B, B's `followers` with A). Holding the lock
/// for the whole sequence serialises them per pair; other pairs never wait.
pub async fn lock_pair(redis: &Redis, user_id: &str, target: &str) -> AppResult<Option<PairLock>> {
    let key = redis.keys.follow_pair_lock(user_id, target);
    let token = hex::encode(rand::random::<[u8; 16]>());
    let deadline = tokio::time::Instant::now() + PAIR_LOCK_WAIT;
    loop {
        let taken: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(&token)
            .arg("NX")
            .arg("PX")
            .arg(PAIR_LOCK_TTL_MS)
            .query_async(&mut redis.conn())
            .await?;
        if taken.is_some() {
            return Ok(Some(PairLock { key, token }));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// Releases a pair lock (compare-and-delete: never another holder's).
pub async fn unlock_pair(redis: &Redis, lock: PairLock) -> AppResult<()> {
    let _: i64 = scripts::RELEASE_LOCK
        .key(&lock.key)
        .arg(&lock.token)
        .invoke_async(&mut redis.conn())
        .await?;
    Ok(())
}

/// True when the user exists.
pub async fn user_exists(redis: &Redis, user_id: &str) -> AppResult<bool> {
    Ok(redis.conn().exists(redis.keys.user(user_id)).await?)
}

/// Adds `member` to `owner`'s `side` at `at_ms` unless already there (NX). `None` when
/// `owner` does not exist (nothing written), else whether the entry is new and the
/// time it holds (the original one when it was already there).
pub async fn add(
    redis: &Redis,
    owner: &str,
    side: Side,
    member: &str,
    at_ms: i64,
) -> AppResult<Option<(bool, i64)>> {
    let reply: Value = scripts::ZADD_IF_EXISTS
        .key(redis.keys.user(owner))
        .key(redis.keys.user_part(owner, side.part()))
        .arg(0)
        .arg("NX")
        .arg(at_ms)
        .arg(member)
        .invoke_async(&mut redis.conn())
        .await?;
    let reply: IfExists<(u64, u64, f64)> = scripts::decode("zadd_if_exists", reply)?;
    Ok(reply
        .done()
        .map(|(added, _card, score)| (added == 1, score as i64)))
}

/// Removes `members` from `owner`'s `side` (an unfollow, or entries of users that no
/// longer exist, found by a reader).
pub async fn remove(redis: &Redis, owner: &str, side: Side, members: &[String]) -> AppResult<()> {
    if !members.is_empty() {
        let _: u64 = redis
            .conn()
            .zrem(redis.keys.user_part(owner, side.part()), members)
            .await?;
    }
    Ok(())
}

/// A window of `user_id`'s `side`, newest first; `None` when there is no such user.
pub async fn window(
    redis: &Redis,
    user_id: &str,
    side: Side,
    after: Option<&ScoreCursor>,
    limit: usize,
) -> AppResult<Option<Window>> {
    let key = redis.keys.user_part(user_id, side.part());
    newest_first(redis, &key, Some(&redis.keys.user(user_id)), after, limit).await
}

/// Who gets `author`'s posts pushed into their timeline: `None` when the author has
/// more than `max` followers (a celebrity: followers pull at read time), else every
/// follower. One pipeline in the author's slot (`ZRANGE 0 max` returns at most
/// `max + 1`, so a celebrity's set is never read whole).
pub async fn fan_out_targets(
    redis: &Redis,
    author: &str,
    max: u64,
) -> AppResult<Option<Vec<String>>> {
    let key = redis.keys.user_part(author, UserPart::Followers);
    let (count, followers): (u64, Vec<String>) = redis::pipe()
        .zcard(&key)
        .zrange(&key, 0, max as isize)
        .query_async(&mut redis.conn())
        .await?;
    Ok((count <= max).then_some(followers))
}

/// Which of `candidates` `user_id` follows (ZMSCORE on their following set).
pub async fn followed_among(
    redis: &Redis,
    user_id: &str,
    candidates: &[String],
) -> AppResult<Vec<String>> {
    let key = redis.keys.user_part(user_id, UserPart::Following);
    let mut followed = Vec::new();
    for chunk in candidates.chunks(CHUNK) {
        let scores: Vec<Option<f64>> = redis::cmd("ZMSCORE")
            .arg(&key)
            .arg(chunk)
            .query_async(&mut redis.conn())
            .await?;
        followed.extend(
            chunk
                .iter()
                .zip(scores)
                .filter(|(_, score)| score.is_some())
                .map(|(id, _)| id.clone()),
        );
    }
    Ok(followed)
}

/// Entries of the walked followers set read per round of [`common_followers`].
const COMMON_WINDOW: usize = 200;

/// One page of the users who follow both `a` and `b`, each with the later of their two
/// follow times, and the cursor after it. Bounded whatever the sizes of the two sets:
/// the first page picks the smaller followers set (ZCARD of both) and the cursor keeps
/// to it (`part` 0 is `a`'s, 1 is `b`'s); it is walked newest first in windows of
/// [`COMMON_WINDOW`] (`ZRANGE … BYSCORE REV LIMIT`) and each window's members are
/// looked up in the other set with `ZMSCORE`, until the page is full or
/// [`SCAN_BUDGET`] entries have been examined (then a page may be short, or empty,
/// while the cursor is not `None`). The same on both topologies (no ZINTER, which would
/// read both sets whole). Pages come newest first by the time of the follow of the
/// walked set.
pub async fn common_followers(
    redis: &Redis,
    a: &str,
    b: &str,
    cursor: Option<PartScoreCursor>,
    limit: usize,
) -> AppResult<(Vec<(String, i64)>, Option<PartScoreCursor>)> {
    let keys = [
        redis.keys.user_part(a, UserPart::Followers),
        redis.keys.user_part(b, UserPart::Followers),
    ];
    let (part, mut after) = match cursor {
        Some(cursor) => (cursor.part, Some(cursor.at)),
        None => {
            let mut sizes = Batch::new();
            for key in &keys {
                sizes.add(key.clone(), redis::cmd("ZCARD").arg(key).clone());
            }
            let sizes: Vec<u64> =
                redis::from_redis_value(Value::Array(sizes.run(&redis.conn).await?))?;
            let part = usize::from(sizes[1] < sizes[0]);
            if sizes[part] == 0 {
                return Ok((Vec::new(), None));
            }
            (part, None)
        }
    };
    let (walked, other) = (&keys[part], &keys[1 - part]);
    let at = |(member, score): &(String, i64)| PartScoreCursor {
        part,
        at: ScoreCursor::new(*score, member.clone()),
    };
    let mut items: Vec<(String, i64)> = Vec::new();
    // The walked set's entry of the last item served: where the next page starts.
    let mut served: Option<(String, i64)> = None;
    let mut examined = 0;
    for _ in 0..MAX_ROUNDS {
        let window = newest_first(redis, walked, None, after.as_ref(), COMMON_WINDOW)
            .await?
            .unwrap_or_default();
        let Some(last) = window.entries.last().cloned() else {
            return Ok((items, None));
        };
        let ids: Vec<&str> = window.entries.iter().map(|(id, _)| id.as_str()).collect();
        let scores: Vec<Option<f64>> = redis::cmd("ZMSCORE")
            .arg(other)
            .arg(&ids)
            .query_async(&mut redis.conn())
            .await?;
        for (entry, theirs) in window.entries.iter().zip(scores) {
            let Some(theirs) = theirs else { continue };
            if let Some(served) = served.as_ref().filter(|_| items.len() == limit) {
                // Another match follows the full page: it starts the next one.
                return Ok((items, Some(at(served))));
            }
            items.push((entry.0.clone(), entry.1.max(theirs as i64)));
            served = Some(entry.clone());
        }
        examined += window.entries.len();
        if !window.truncated {
            return Ok((items, None));
        }
        after = Some(ScoreCursor::new(last.1, last.0.clone()));
        if examined >= SCAN_BUDGET {
            return Ok((items, Some(at(&last))));
        }
    }
    let next = after.map(|at| PartScoreCursor { part, at });
    Ok((items, next))
}

/// Removes `user_id` from the other side of every edge they have (the followers sets
/// of whom they follow, the following sets of who follows them), in batches. Their own
/// two sets are deleted with the rest of their keys afterwards.
pub async fn remove_user(redis: &Redis, user_id: &str) -> AppResult<()> {
    for side in [Side::Following, Side::Followers] {
        let key = redis.keys.user_part(user_id, side.part());
        let others: Vec<String> = redis.conn().zrange(&key, 0, -1).await?;
        for chunk in others.chunks(CHUNK) {
            let mut batch = Batch::new();
            for other in chunk {
                let their_key = redis.keys.user_part(other, side.other().part());
                batch.add(
                    their_key.clone(),
                    redis::cmd("ZREM").arg(&their_key).arg(user_id).clone(),
                );
            }
            batch.run(&redis.conn).await?;
        }
    }
    Ok(())
}

/// The routing key and one `ZADD` of `owner`'s `side` with every `(at_ms, user id)`
/// entry: what that many follows would have left, for bulk writers (the synthetic
/// seed). `entries` must not be empty.
pub fn bulk_add(
    keys: &crate::redis::Keys,
    owner: &str,
    side: Side,
    entries: impl IntoIterator<Item = (i64, String)>,
) -> (String, redis::Cmd) {
    let key = keys.user_part(owner, side.part());
    let cmd = crate::redis::batch::zadd_all(&key, entries);
    (key, cmd)
}
