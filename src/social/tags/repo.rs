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

use std::collections::HashSet;

use redis::{AsyncCommands, Value};

use crate::error::AppResult;
use crate::redis::batch::Batch;
use crate::redis::keys::{UserPart, slot};
use crate::redis::{Redis, scripts};

/// Largest number of members per SMISMEMBER.
const CHUNK: usize = 1000;

/// Tags `user_id` with `tag`; false when there is no such user (nothing written).
pub async fn add(redis: &Redis, user_id: &str, tag: &str) -> AppResult<bool> {
    let added: i64 = scripts::SADD_IF_EXISTS
        .key(redis.keys.user(user_id))
        .key(redis.keys.user_part(user_id, UserPart::Tags))
        .arg(tag)
        .invoke_async(&mut redis.conn())
        .await?;
    if added < 0 {
        return Ok(false);
    }
    let _: u64 = redis
        .conn()
        .sadd(redis.keys.tag_users(tag), user_id)
        .await?;
    Ok(true)
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

/// Ids of the users with `tag` (SMEMBERS; unordered).
pub async fn members(redis: &Redis, tag: &str) -> AppResult<Vec<String>> {
    Ok(redis.conn().smembers(redis.keys.tag_users(tag)).await?)
}

/// True when every key is in one slot (always on a single node), so one multi-key
/// command may run over them.
fn one_slot(redis: &Redis, keys: &[String]) -> bool {
    !redis.is_cluster() || keys.windows(2).all(|w| slot(&w[0]) == slot(&w[1]))
}

/// Ids of the users having every one of `tags`. SINTER when the sets share a slot;
/// on a cluster: SCARD of each, SMEMBERS of the smallest, SMISMEMBER of those ids in
/// the others (work proportional to the smallest set, never a CROSSSLOT error).
pub async fn with_all(redis: &Redis, tags: &[String]) -> AppResult<Vec<String>> {
    let keys: Vec<String> = tags.iter().map(|t| redis.keys.tag_users(t)).collect();
    if one_slot(redis, &keys) {
        return Ok(redis.conn().sinter(&keys).await?);
    }
    let mut sizes = Batch::new();
    for key in &keys {
        sizes.add(key.clone(), redis::cmd("SCARD").arg(key).clone());
    }
    let sizes: Vec<u64> = sizes
        .run(&redis.conn)
        .await?
        .into_iter()
        .map(redis::from_redis_value)
        .collect::<Result<_, _>>()?;
    let Some(smallest) = (0..keys.len()).min_by_key(|i| sizes[*i]) else {
        return Ok(Vec::new());
    };
    if sizes[smallest] == 0 {
        return Ok(Vec::new());
    }
    let mut ids: Vec<String> = redis.conn().smembers(&keys[smallest]).await?;
    if ids.is_empty() {
        return Ok(ids);
    }
    let others: Vec<&String> = keys
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != smallest)
        .map(|(_, k)| k)
        .collect();
    let mut checks = Batch::new();
    for key in &others {
        for chunk in ids.chunks(CHUNK) {
            checks.add(
                (*key).clone(),
                redis::cmd("SMISMEMBER").arg(*key).arg(chunk).clone(),
            );
        }
    }
    let mut everywhere = vec![true; ids.len()];
    let replies = checks.run(&redis.conn).await?;
    let chunks_per_key = ids.len().div_ceil(CHUNK);
    for per_key in replies.chunks(chunks_per_key) {
        let flags: Vec<bool> = per_key
            .iter()
            .map(|v| redis::from_redis_value::<Vec<bool>>(v.clone()))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect();
        for (keep, member) in everywhere.iter_mut().zip(flags) {
            *keep &= member;
        }
    }
    let mut keep = everywhere.into_iter();
    ids.retain(|_| keep.next().unwrap_or(false));
    Ok(ids)
}

/// Ids of the users having at least one of `tags`. SUNION when the sets share a slot;
/// on a cluster SMEMBERS of each (one batch) and the union in Rust.
pub async fn with_any(redis: &Redis, tags: &[String]) -> AppResult<Vec<String>> {
    let keys: Vec<String> = tags.iter().map(|t| redis.keys.tag_users(t)).collect();
    if one_slot(redis, &keys) {
        return Ok(redis.conn().sunion(&keys).await?);
    }
    let mut batch = Batch::new();
    for key in &keys {
        batch.add(key.clone(), redis::cmd("SMEMBERS").arg(key).clone());
    }
    let mut union = HashSet::new();
    for reply in batch.run(&redis.conn).await? {
        union.extend(redis::from_redis_value::<Vec<String>>(reply)?);
    }
    Ok(union.into_iter().collect())
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
