//! Tags in Redis: the only code that names tag keys.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `user:{id}:tags` | set | the user's tags (the user's side, in the user's slot) |
//! | `tag:{name}:users` | set | ids of the users with the tag (the index side) |
//!
//! Tagging writes the user's side first (only while the user exists:
//! `sadd_if_exists.lua`), then the index; untagging removes the index entry first,
//! then the user's side. So a crash between the two steps can only leave a user who
//! lists a tag but is not yet found by it, which the retry (both steps are idempotent)
//! completes; an index entry whose user is gone can only come from a delete racing a
//! tag, and readers skip and remove such entries.

use redis::{AsyncCommands, Value};

use crate::error::{AppError, AppResult};
use crate::pagination::SetCursor;
use crate::redis::batch::Batch;
use crate::redis::keys::UserPart;
use crate::redis::scripts::Tagged;
use crate::redis::set_scan::{self, SCAN_BUDGET, ScanPos, Walk};
use crate::redis::{Redis, scripts};

/// Most tags one user may carry: `GET /v1/users/{id}/tags` answers them all in one
/// reply, so the set must stay small (a 422 naming `tag` past it).
pub const MAX_TAGS_PER_USER: usize = 50;

/// Tags `user_id` with `tag`; false when there is no such user (nothing written); 422
/// naming `tag` when the user already has [`MAX_TAGS_PER_USER`] other tags.
pub async fn add(redis: &Redis, user_id: &str, tag: &str) -> AppResult<bool> {
    let reply: redis::Value = scripts::SADD_IF_EXISTS
        .key(redis.keys.user(user_id))
        .key(redis.keys.user_part(user_id, UserPart::Tags))
        .arg(MAX_TAGS_PER_USER)
        .arg(tag)
        .invoke_async(&mut redis.conn())
        .await?;
    match scripts::decode("sadd_if_exists", reply)? {
        Capped::Done => {}
        Capped::Missing => return Ok(false),
        Capped::Full => {
            return Err(AppError::invalid(
                "tag",
                format!("a user has at most {MAX_TAGS_PER_USER} tags: remove one first"),
            ));
        }
    }
    let _: u64 = redis
        .conn()
        .sadd(redis.keys.tag_users(tag), user_id)
        .await?;
    Ok(true)
}

/// The reply of `sadd_if_exists`: `{'done', added}`, `{'missing'}` or `{'full'}`.
enum Capped {
    Done,
    Missing,
    Full,
}

impl redis::FromRedisValue for Capped {
    fn from_redis_value(v: redis::Value) -> Result<Self, redis::ParsingError> {
        let reply: Tagged = redis::from_redis_value(v)?;
        match (reply.tag.as_str(), reply.values.len()) {
            ("done", 1) => Ok(Capped::Done),
            ("missing", 0) => Ok(Capped::Missing),
            ("full", 0) => Ok(Capped::Full),
            _ => Err(reply.unexpected()),
        }
    }
}

/// Removes `tag` from `user_id`: the index entry first, then the user's side.
pub async fn remove(redis: &Redis, user_id: &str, tag: &str) -> AppResult<()> {
    let _: u64 = redis
        .conn()
        .srem(redis.keys.tag_users(tag), user_id)
        .await?;
    let _: u64 = redis
        .conn()
        .srem(redis.keys.user_part(user_id, UserPart::Tags), tag)
        .await?;
    Ok(())
}

/// The user's tags, sorted; `None` when there is no such user. One pipeline (one slot).
pub async fn of_user(redis: &Redis, user_id: &str) -> AppResult<Option<Vec<String>>> {
    let (exists, mut tags): (bool, Vec<String>) = redis::pipe()
        .exists(redis.keys.user(user_id))
        .smembers(redis.keys.user_part(user_id, UserPart::Tags))
        .query_async(&mut redis.conn())
        .await?;
    tags.sort();
    Ok(exists.then_some(tags))
}

/// Which tag sets a page combines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    /// Members of every set (`tags_all`, and one tag's members).
    All,
    /// Members of at least one set (`tags_any`).
    Any,
}

/// `COUNT` of the SSCANs of an unfiltered walk (one tag's members, the first tag of
/// `tags_any`): about a page, but not so small that sparse tables take many rounds.
const PLAIN_COUNT: usize = 20;
/// `COUNT` of the SSCANs of a filtered walk, where many members may be dropped.
const FILTERED_COUNT: usize = 200;

/// One page of the ids of users having all / any of `tags`, and the cursor after it;
/// work bounded by the page and [`SCAN_BUDGET`] whatever the sets' sizes (see
/// [`crate::redis::set_scan`]). A page may hold fewer than `limit` ids, or none, while
/// the cursor is not `None`.
///
/// - **All**: the first page picks the smallest set (SCARD of each) and the cursor
///   keeps to it; its members are walked with SSCAN and kept when `SMISMEMBER` finds
///   them in every other set.
/// - **Any**: the sets are walked one after another, in the order of the query; a
///   member of set *i* is kept unless one of the sets before it holds it (it was
///   served there), so every user comes once.
pub async fn page(
    redis: &Redis,
    tags: &[String],
    combine: Combine,
    cursor: Option<SetCursor>,
    limit: usize,
) -> AppResult<(Vec<String>, Option<SetCursor>)> {
    let keys: Vec<String> = tags.iter().map(|t| redis.keys.tag_users(t)).collect();
    if let Some(cursor) = &cursor
        && cursor.part >= keys.len()
    {
        return Err(AppError::invalid(
            "cursor",
            "is not a cursor this list handed out; use `next_cursor` unchanged",
        ));
    }
    match combine {
        Combine::All => {
            let (part, from) = match cursor {
                Some(cursor) => (cursor.part, cursor.pos),
                None => {
                    let sizes = set_scan::sizes(&redis.conn, &keys).await?;
                    let Some(smallest) = (0..keys.len()).min_by_key(|i| sizes[*i]) else {
                        return Ok((Vec::new(), None));
                    };
                    if sizes[smallest] == 0 {
                        return Ok((Vec::new(), None));
                    }
                    let count = if keys.len() == 1 {
                        PLAIN_COUNT
                    } else {
                        FILTERED_COUNT
                    };
                    (smallest, ScanPos::start(count.max(limit)))
                }
            };
            let others: Vec<String> = keys
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != part)
                .map(|(_, k)| k.clone())
                .collect();
            let walk = Walk {
                key: &keys[part],
                in_all: &others,
                in_none: &[],
            };
            let step = set_scan::walk(&redis.conn, &walk, from, limit, SCAN_BUDGET).await?;
            Ok((step.items, step.next.map(|pos| SetCursor { part, pos })))
        }
        Combine::Any => {
            let count = |part: usize| {
                if part == 0 {
                    PLAIN_COUNT
                } else {
                    FILTERED_COUNT
                }
            };
            let (mut part, mut pos) = match cursor {
                Some(cursor) => (cursor.part, cursor.pos),
                None => (0, ScanPos::start(count(0).max(limit))),
            };
            let mut items = Vec::new();
            let mut examined = 0;
            loop {
                let walk = Walk {
                    key: &keys[part],
                    in_all: &[],
                    in_none: &keys[..part],
                };
                let budget = SCAN_BUDGET.saturating_sub(examined);
                let step =
                    set_scan::walk(&redis.conn, &walk, pos, limit - items.len(), budget).await?;
                items.extend(step.items);
                examined += step.examined;
                if let Some(next) = step.next {
                    return Ok((items, Some(SetCursor { part, pos: next })));
                }
                part += 1;
                if part == keys.len() {
                    return Ok((items, None));
                }
                pos = ScanPos::start(count(part).max(limit));
                if items.len() == limit || examined >= SCAN_BUDGET {
                    return Ok((items, Some(SetCursor { part, pos })));
                }
            }
        }
    }
}

/// Removes index entries of users that no longer exist (found by a reader).
pub async fn prune(redis: &Redis, tags: &[String], gone: &[String]) -> AppResult<()> {
    if gone.is_empty() {
        return Ok(());
    }
    let mut batch = Batch::new();
    for tag in tags {
        let key = redis.keys.tag_users(tag);
        batch.add(key.clone(), redis::cmd("SREM").arg(&key).arg(gone).clone());
    }
    batch.run(&redis.conn).await?;
    Ok(())
}

/// Removes `user_id` from the index of every tag they carry (user deletion; the
/// user's own set goes with the rest of their keys afterwards).
pub async fn remove_user(redis: &Redis, user_id: &str) -> AppResult<()> {
    let tags: Vec<String> = redis
        .conn()
        .smembers(redis.keys.user_part(user_id, UserPart::Tags))
        .await?;
    let mut batch = Batch::new();
    for tag in &tags {
        let key = redis.keys.tag_users(tag);
        batch.add(
            key.clone(),
            redis::cmd("SREM").arg(&key).arg(user_id).clone(),
        );
    }
    let _: Vec<Value> = batch.run(&redis.conn).await?;
    Ok(())
}
