//! Sessions in Redis: the only code that names session keys.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `session:{sha256(token)}` | hash, PEXPIRE = idle timeout | seed 002's fields + `role`, `expires_at_ms` |
//! | `user:{id}:sessions` | sorted set | session id → absolute expiry (ms), to list and revoke |
//!
//! Login writes the index entry *before* the session hash: a crash in between leaves an
//! index entry with no session (readers skip and prune it), never a live session that
//! "revoke all" cannot find. Validation and the sliding refresh are one script.

use std::collections::HashMap;

use redis::{AsyncCommands, Value};

use super::model::SessionRecord;
use super::token;
use crate::config::Settings;
use crate::error::{AppError, AppResult};
use crate::redis::batch::Batch;
use crate::redis::keys::UserPart;
use crate::redis::{Redis, scripts};
use crate::time;
use crate::users::Role;

/// Who is logging in, from where.
pub struct NewSession<'a> {
    pub user_id: &'a str,
    pub username: &'a str,
    pub role: Role,
    pub ip_address: &'a str,
    pub user_agent: &'a str,
}

/// Creates a session: returns the raw token (shown once) and the stored record.
pub async fn create(
    redis: &Redis,
    new: NewSession<'_>,
    settings: &Settings,
) -> AppResult<(String, SessionRecord)> {
    let (token, id) = token::generate();
    let now = time::now();
    let now_ms = time::unix_ms(now);
    let now_text = time::rfc3339(now);
    let lifetime_ms = settings.session_lifetime().as_millis() as i64;
    let idle_ms = settings.session_idle().as_millis().min(lifetime_ms as u128) as i64;
    let expires_at_ms = now_ms + lifetime_ms;
    let mut conn = redis.conn();

    // 1. The user's aggregate: index entry + login_count (refused if the user is gone).
    let login_count: u64 = scripts::RECORD_LOGIN
        .key(redis.keys.user(new.user_id))
        .key(redis.keys.user_part(new.user_id, UserPart::Sessions))
        .arg(&id)
        .arg(expires_at_ms)
        .arg(now_ms)
        .arg(&now_text)
        .arg(lifetime_ms)
        .invoke_async(&mut conn)
        .await?;
    if login_count == 0 {
        return Err(AppError::Unauthorized("Invalid login or password."));
    }

    // 2. The session itself, with its idle TTL (one slot: MULTI).
    let record = SessionRecord {
        id: id.clone(),
        user_id: new.user_id.to_string(),
        username: new.username.to_string(),
        role: new.role,
        login_time: now_text.clone(),
        last_activity: now_text,
        ip_address: new.ip_address.to_string(),
        user_agent: new.user_agent.to_string(),
        expires_at_ms,
        idle_expires_at_ms: now_ms + idle_ms,
    };
    let session_key = redis.keys.session(&id);
    let _: () = redis::pipe()
        .atomic()
        .hset_multiple(
            &session_key,
            &[
                ("user_id", record.user_id.as_str()),
                ("username", record.username.as_str()),
                ("role", record.role.as_str()),
                ("login_time", record.login_time.as_str()),
                ("last_activity", record.last_activity.as_str()),
                ("ip_address", record.ip_address.as_str()),
                ("user_agent", record.user_agent.as_str()),
                ("expires_at_ms", &expires_at_ms.to_string()),
            ],
        )
        .ignore()
        .pexpire(&session_key, idle_ms)
        .ignore()
        .query_async(&mut conn)
        .await?;
    Ok((token, record))
}

/// Validates a session and slides its idle timeout (one script, one round trip).
pub async fn touch(
    redis: &Redis,
    id: &str,
    settings: &Settings,
) -> AppResult<Option<SessionRecord>> {
    let now = time::now();
    let reply: HashMap<String, String> = scripts::SESSION_TOUCH
        .key(redis.keys.session(id))
        .arg(time::rfc3339(now))
        .arg(time::unix_ms(now))
        .arg(settings.session_idle().as_millis() as u64)
        .invoke_async(&mut redis.conn())
        .await?;
    let idle_expires_at_ms = reply
        .get("idle_expires_at_ms")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok(SessionRecord::from_hash(id, &reply, idle_expires_at_ms))
}

/// Ends one session of `user_id` (logout, or revoking one from the list). False when
/// the session is not theirs (another user's session is never touched) or is gone.
pub async fn revoke(redis: &Redis, user_id: &str, id: &str) -> AppResult<bool> {
    let mut conn = redis.conn();
    let index = redis.keys.user_part(user_id, UserPart::Sessions);
    let session_key = redis.keys.session(id);
    let listed: Option<f64> = conn.zscore(&index, id).await?;
    let owner: Option<String> = conn.hget(&session_key, "user_id").await?;
    let owned = owner.as_deref() == Some(user_id);
    if owned {
        let _: u64 = conn.del(&session_key).await?;
    }
    if listed.is_some() {
        let _: u64 = conn.zrem(&index, id).await?;
    }
    Ok(owned || (listed.is_some() && owner.is_none()))
}

/// The user's live sessions, newest login first. Index entries whose session has
/// expired are pruned on the way.
pub async fn list(redis: &Redis, user_id: &str) -> AppResult<Vec<SessionRecord>> {
    let index = redis.keys.user_part(user_id, UserPart::Sessions);
    let mut conn = redis.conn();
    let now_ms = time::unix_ms(time::now());
    let (_, ids): (u64, Vec<String>) = redis::pipe()
        .zrembyscore(&index, "-inf", now_ms)
        .zrange(&index, 0, -1)
        .query_async(&mut conn)
        .await?;

    // HGETALL + PTTL for every session, grouped by slot on a cluster.
    let mut batch = Batch::new();
    for id in &ids {
        let key = redis.keys.session(id);
        batch.add(key.clone(), redis::cmd("HGETALL").arg(&key).clone());
        batch.add(key.clone(), redis::cmd("PTTL").arg(&key).clone());
    }
    let replies = batch.run(&redis.conn).await?;

    let mut sessions = Vec::new();
    let mut gone = Vec::new();
    for (id, pair) in ids.iter().zip(replies.chunks(2)) {
        let hash: HashMap<String, String> =
            redis::from_redis_value(pair[0].clone()).unwrap_or_default();
        let pttl: i64 = redis::from_redis_value(pair[1].clone()).unwrap_or(-2);
        match SessionRecord::from_hash(id, &hash, now_ms + pttl.max(0)) {
            Some(record) if pttl > 0 => sessions.push(record),
            _ => gone.push(id.clone()),
        }
    }
    if !gone.is_empty() {
        let _: u64 = conn.zrem(&index, &gone).await?;
    }
    sessions.sort_by(|a, b| b.login_time.cmp(&a.login_time));
    Ok(sessions)
}

/// Ends every session of the user: session hashes first, then the index.
pub async fn revoke_all(redis: &Redis, user_id: &str) -> AppResult<u64> {
    let index = redis.keys.user_part(user_id, UserPart::Sessions);
    let ids: Vec<String> = redis.conn().zrange(&index, 0, -1).await?;
    let mut batch = Batch::new();
    for id in &ids {
        let key = redis.keys.session(id);
        batch.add(key.clone(), redis::cmd("DEL").arg(&key).clone());
    }
    let replies = batch.run(&redis.conn).await?;
    let _: u64 = redis.conn().del(&index).await?;
    Ok(replies
        .into_iter()
        .map(|v| redis::from_redis_value::<u64>(v).unwrap_or(0))
        .sum())
}

/// Updates the role copied into each live session of the user (after `admin grant`).
pub async fn set_role(redis: &Redis, user_id: &str, role: Role) -> AppResult<()> {
    let ids: Vec<String> = redis
        .conn()
        .zrange(redis.keys.user_part(user_id, UserPart::Sessions), 0, -1)
        .await?;
    for id in ids {
        let _: Value = scripts::HSET_IF_EXISTS
            .key(redis.keys.session(&id))
            .arg("role")
            .arg(role.as_str())
            .invoke_async(&mut redis.conn())
            .await?;
    }
    Ok(())
}
