//! Feeds in Redis: the only code that names timeline, activity and celebrity keys.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `user:{id}:timeline` | sorted set, capped at 800 | post id → created-at (ms): the home timeline filled by fan-out |
//! | `user:{id}:activity` | sorted set, capped at 1000 | `{"type","target_id","timestamp"}` JSON → time (ms) |
//! | `users:celebrities` | set | authors whose posts are pulled at read time instead of fanned out |
//!
//! Every write into a user's timeline or activity goes through `zadd_if_exists.lua`:
//! it adds and trims in one step, and writes nothing once the user is deleted, so a
//! fan-out racing a deletion cannot leave an orphan timeline behind.

use std::collections::HashMap;

use redis::AsyncCommands;

use super::model::{ActivityEntry, ActivityKind};
use crate::error::AppResult;
use crate::pagination::ScoreCursor;
use crate::redis::batch::Batch;
use crate::redis::keys::{UserPart, slot};
use crate::redis::paging::{Window, newest_first};
use crate::redis::scripts::IfExists;
use crate::redis::{Redis, scripts};
use crate::social::posts::repo as posts;
use crate::time;

/// Newest entries kept in a home timeline.
pub const TIMELINE_CAP: usize = 800;
/// Newest entries kept in an activity feed (seed 000).
pub const ACTIVITY_CAP: usize = 1000;
/// Timelines written per script call (and script calls per pipeline) during a
/// fan-out: bounds how long one step holds Redis (about 3 ms for 1000 timelines), so
/// other clients interleave between steps.
pub const FAN_OUT_BATCH: usize = 1000;
/// Members per ZREM when taking posts out of a timeline.
const CHUNK: usize = 1000;

/// Adds `entries` (post id, created-at ms) to the timelines of `users`, each trimmed
/// to [`TIMELINE_CAP`]: one `fan_out.lua` call per slot group (on a single node, one
/// group) of at most [`FAN_OUT_BATCH`] users, and batches of calls covering at most
/// [`FAN_OUT_BATCH`] users, run one after another. Idempotent (same ids, same
/// scores); users who no longer exist are skipped.
pub async fn push_to_timelines(
    redis: &Redis,
    users: &[String],
    entries: &[(String, i64)],
) -> AppResult<()> {
    if entries.is_empty() || users.is_empty() {
        return Ok(());
    }
    let mut groups: HashMap<u16, Vec<&String>> = HashMap::new();
    for user in users {
        let group = if redis.is_cluster() {
            slot(&redis.keys.user(user))
        } else {
            0
        };
        groups.entry(group).or_default().push(user);
    }
    let calls: Vec<&[&String]> = groups
        .values()
        .flat_map(|group| group.chunks(FAN_OUT_BATCH))
        .collect();
    // Each batch covers at most FAN_OUT_BATCH timelines, however they are split into
    // calls, and the batches run one after another.
    let mut batch = Batch::new();
    let mut in_batch = 0;
    for (n, group) in calls.iter().enumerate() {
        let mut invocation = scripts::FAN_OUT.prepare_invoke();
        for user in group.iter() {
            invocation
                .key(redis.keys.user(user))
                .key(redis.keys.user_part(user, UserPart::Timeline));
        }
        invocation.arg(TIMELINE_CAP);
        for (post_id, at_ms) in entries {
            invocation.arg(at_ms).arg(post_id);
        }
        batch.add_script(redis.keys.user(group[0]), &scripts::FAN_OUT, &invocation);
        in_batch += group.len();
        if in_batch >= FAN_OUT_BATCH || n + 1 == calls.len() {
            std::mem::take(&mut batch)
                .run_loading_scripts(&redis.conn)
                .await?;
            in_batch = 0;
        }
    }
    Ok(())
}

/// Takes `post_ids` out of the timelines of `users` (ZREM, in batches).
pub async fn remove_from_timelines(
    redis: &Redis,
    users: &[String],
    post_ids: &[String],
) -> AppResult<()> {
    if post_ids.is_empty() {
        return Ok(());
    }
    for chunk in users.chunks(FAN_OUT_BATCH) {
        let mut batch = Batch::new();
        for user in chunk {
            let timeline = redis.keys.user_part(user, UserPart::Timeline);
            for ids in post_ids.chunks(CHUNK) {
                batch.add(
                    timeline.clone(),
                    redis::cmd("ZREM").arg(&timeline).arg(ids).clone(),
                );
            }
        }
        batch.run(&redis.conn).await?;
    }
    Ok(())
}

/// A window of `user_id`'s home timeline, newest first.
pub async fn timeline_window(
    redis: &Redis,
    user_id: &str,
    after: Option<&ScoreCursor>,
    limit: usize,
) -> AppResult<Window> {
    let key = redis.keys.user_part(user_id, UserPart::Timeline);
    Ok(newest_first(redis, &key, None, after, limit)
        .await?
        .unwrap_or_default())
}

/// Takes every post of `author` out of `user_id`'s timeline. Only posts at least as
/// new as the timeline's oldest entry can be in it, so only those are read.
pub async fn remove_author_from_timeline(
    redis: &Redis,
    user_id: &str,
    author: &str,
) -> AppResult<()> {
    let timeline = redis.keys.user_part(user_id, UserPart::Timeline);
    let oldest: Vec<(String, f64)> = redis.conn().zrange_withscores(&timeline, 0, 0).await?;
    let Some((_, oldest_ms)) = oldest.first() else {
        return Ok(());
    };
    let ids = posts::ids_of_author_since(redis, author, *oldest_ms as i64).await?;
    remove_from_timelines(redis, &[user_id.to_string()], &ids).await
}

/// Records an activity of `user_id` and trims the feed to [`ACTIVITY_CAP`], in one
/// script (nothing is written if the user is gone).
pub async fn record_activity(
    redis: &Redis,
    user_id: &str,
    kind: ActivityKind,
    target_id: &str,
    at_ms: i64,
) -> AppResult<()> {
    let member = activity_member(kind, target_id, at_ms);
    let reply: redis::Value = scripts::ZADD_IF_EXISTS
        .key(redis.keys.user(user_id))
        .key(redis.keys.user_part(user_id, UserPart::Activity))
        .arg(ACTIVITY_CAP)
        .arg("")
        .arg(at_ms)
        .arg(member)
        .invoke_async(&mut redis.conn())
        .await?;
    // A user deleted meanwhile has no activity feed to write to: nothing to do.
    let _: IfExists<(u64, u64, f64)> = scripts::decode("zadd_if_exists", reply)?;
    Ok(())
}

/// A window of `user_id`'s activity feed; `None` when there is no such user.
pub async fn activity_window(
    redis: &Redis,
    user_id: &str,
    after: Option<&ScoreCursor>,
    limit: usize,
) -> AppResult<Option<Window>> {
    let key = redis.keys.user_part(user_id, UserPart::Activity);
    newest_first(redis, &key, Some(&redis.keys.user(user_id)), after, limit).await
}

/// Every author whose posts are pulled at read time.
pub async fn celebrities(redis: &Redis) -> AppResult<Vec<String>> {
    let key = redis.keys.celebrities();
    let read = redis::cmd("SMEMBERS").arg(&key).clone();
    let reply = redis.read_cached(vec![(key, read)]).await?;
    Ok(redis::from_redis_value(
        reply.into_iter().next().unwrap_or(redis::Value::Nil),
    )?)
}

/// Marks `user_id` as an author whose posts are pulled at read time.
pub async fn add_celebrity(redis: &Redis, user_id: &str) -> AppResult<()> {
    let _: u64 = redis.conn().sadd(redis.keys.celebrities(), user_id).await?;
    Ok(())
}

/// Forgets `user_id` as a celebrity (user deletion).
pub async fn remove_celebrity(redis: &Redis, user_id: &str) -> AppResult<()> {
    let _: u64 = redis.conn().srem(redis.keys.celebrities(), user_id).await?;
    Ok(())
}

/// The routing key and one `ZADD` of `user_id`'s timeline with the newest
/// [`TIMELINE_CAP`] of `(at_ms, post id)` entries: the timeline the fan-out would
/// have built, for bulk writers (the synthetic seed). `entries` must not be empty.
pub fn timeline_fill(
    keys: &crate::redis::Keys,
    user_id: &str,
    entries: &mut [(i64, String)],
) -> (String, redis::Cmd) {
    let key = keys.user_part(user_id, UserPart::Timeline);
    let cmd = zadd_newest(&key, entries, TIMELINE_CAP);
    (key, cmd)
}

/// The routing key and one `ZADD` of `user_id`'s activity with the newest
/// [`ACTIVITY_CAP`] of `(at_ms, entry)` pairs, each entry as [`activity_member`]
/// encodes it, for bulk writers (the synthetic seed). `entries` must not be empty.
pub fn activity_fill(
    keys: &crate::redis::Keys,
    user_id: &str,
    entries: &mut [(i64, String)],
) -> (String, redis::Cmd) {
    let key = keys.user_part(user_id, UserPart::Activity);
    let cmd = zadd_newest(&key, entries, ACTIVITY_CAP);
    (key, cmd)
}

/// The activity-log member of `kind` on `target` at `at_ms`, as
/// [`record_activity`] stores it.
pub fn activity_member(kind: ActivityKind, target: &str, at_ms: i64) -> String {
    serde_json::to_string(&ActivityEntry {
        kind,
        target_id: target.to_string(),
        timestamp: time::rfc3339_from_ms(at_ms),
    })
    .expect("activity entries serialize")
}

/// `ZADD key` of the newest `cap` of `entries` (the trim the capped writers apply;
/// ties broken by member, newest first, as ZREVRANGE orders them).
fn zadd_newest(key: &str, entries: &mut [(i64, String)], cap: usize) -> redis::Cmd {
    entries.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
    crate::redis::batch::zadd_all(key, entries.iter().take(cap).map(|(at, m)| (*at, m)))
}
