//! Sessions in Redis: the only code that names session keys.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `user:{id}:session:{sha256(token)}` | hash, PEXPIRE = idle timeout | seed 002's fields + `role`, `expires_at_ms` |
//! | `user:{id}:sessions` | sorted set, capped | session id → absolute expiry (ms), to list and revoke |
//!
//! A session belongs to its user's aggregate: the hash, the index and the user hash
//! share the `{id}` tag, so opening a session (`open_session.lua`), checking it
//! (`session_touch.lua`) and revoking them (`revoke_sessions.lua`) are each one atomic
//! script in one slot. That is what makes "revoke all", a password change and account
//! deletion final: a login racing them either lands before (and is revoked) or after
//! (and was not revoked by a request that had already answered); there is no state in
//! which a session exists that the index does not list. The token carries the user id
//! (see `token`) so a request finds that slot without a lookup.

use std::collections::HashMap;

use redis::{AsyncCommands, Value};

use super::model::SessionRecord;
use super::token::{self, SessionRef};
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
/// `password_hash` is the hash the login verified: the session is refused (401) if
/// the password changed meanwhile, or the user is gone or being deleted.
pub async fn create(
    redis: &Redis,
    new: NewSession<'_>,
    password_hash: &str,
    settings: &Settings,
) -> AppResult<(String, SessionRecord)> {
    let (token, id) = token::generate(new.user_id);
    let now = time::now();
    let now_ms = time::unix_ms(now);
    let now_text = time::rfc3339(now);
    let lifetime_ms = settings.session_lifetime().as_millis() as i64;
    let idle_ms = settings.session_idle().as_millis().min(lifetime_ms as u128) as i64;
    let expires_at_ms = now_ms + lifetime_ms;
    let record = SessionRecord {
        id: id.clone(),
        user_id: new.user_id.to_string(),
        username: new.username.to_string(),
        role: new.role,
        login_time: now_text.clone(),
        last_activity: now_text.clone(),
        ip_address: new.ip_address.to_string(),
        user_agent: new.user_agent.to_string(),
        expires_at_ms,
        idle_expires_at_ms: now_ms + idle_ms,
    };
    let expires_text = expires_at_ms.to_string();
    let fields = [
        ("user_id", record.user_id.as_str()),
        ("username", record.username.as_str()),
        ("role", record.role.as_str()),
        ("login_time", record.login_time.as_str()),
        ("last_activity", record.last_activity.as_str()),
        ("ip_address", record.ip_address.as_str()),
        ("user_agent", record.user_agent.as_str()),
        ("expires_at_ms", expires_text.as_str()),
    ];
    let mut invocation = scripts::OPEN_SESSION.key(redis.keys.user(new.user_id));
    invocation
        .key(redis.keys.user_part(new.user_id, UserPart::Sessions))
        .key(redis.keys.session(new.user_id, &id))
        .arg(&id)
        .arg(expires_at_ms)
        .arg(now_ms)
        .arg(&now_text)
        .arg(lifetime_ms)
        .arg(idle_ms)
        .arg(password_hash)
        .arg(settings.max_sessions_per_user.max(1))
        .arg(redis.keys.session_prefix(new.user_id));
    for (field, value) in fields {
        invocation.arg(field).arg(value);
    }
    let reply: Value = invocation.invoke_async(&mut redis.conn()).await?;
    match scripts::decode("open_session", reply)? {
        Opened::Opened { login_count } => {
            tracing::debug!(user_id = new.user_id, login_count, "session opened");
            Ok((token, record))
        }
        Opened::Refused => Err(AppError::Unauthorized("Invalid login or password.")),
    }
}

/// The reply of `open_session.lua`: `{'opened', login_count}` or `{'refused'}` (the
/// user is gone, being deleted, or changed password while the login was verified).
#[derive(Debug, Clone, PartialEq)]
enum Opened {
    Opened { login_count: u64 },
    Refused,
}

impl redis::FromRedisValue for Opened {
    fn from_redis_value(v: Value) -> Result<Self, redis::ParsingError> {
        let reply: scripts::Tagged = redis::from_redis_value(v)?;
        match (reply.tag.as_str(), reply.values.len()) {
            ("opened", 1) => Ok(Opened::Opened {
                login_count: reply.value(0)?,
            }),
            ("refused", 0) => Ok(Opened::Refused),
            _ => Err(reply.unexpected()),
        }
    }
}

/// Validates a session and, when due, slides its idle timeout: read-only unless the
/// refresh interval has passed. With the client-side cache live, the session hash, its
/// expiry and the user hash usually come from memory (no round trip at all); Redis
/// invalidates them on any change (a revocation, a refresh, the user's deletion).
/// Whatever must write (a due refresh, deleting a session whose user is gone or whose
/// lifetime is over) runs `session_touch.lua`: one atomic script, one round trip.
pub async fn touch(
    redis: &Redis,
    session: &SessionRef,
    settings: &Settings,
) -> AppResult<Option<SessionRecord>> {
    let now = time::now();
    if redis.cache_is_live() {
        match check_cached(redis, session, settings, time::unix_ms(now)).await? {
            Checked::Valid(record) => return Ok(Some(record)),
            Checked::Gone => return Ok(None),
            Checked::NeedsScript => {}
        }
    }
    let reply: HashMap<String, String> = scripts::SESSION_TOUCH
        .key(redis.keys.session(&session.user_id, &session.id))
        .key(redis.keys.user(&session.user_id))
        .arg(time::rfc3339(now))
        .arg(time::unix_ms(now))
        .arg(settings.session_idle().as_millis() as u64)
        .arg(settings.session_refresh().as_millis() as u64)
        .invoke_async(&mut redis.conn())
        .await?;
    let idle_expires_at_ms = reply
        .get("idle_expires_at_ms")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok(
        SessionRecord::from_hash(&session.id, &reply, idle_expires_at_ms)
            .filter(|record| record.user_id == session.user_id),
    )
}

/// What the cached check found.
enum Checked {
    Valid(SessionRecord),
    Gone,
    /// The script must run: a refresh is due, or the session must be deleted.
    NeedsScript,
}

/// The read-only part of `session_touch.lua`, on `HGETALL` of the session,
/// `PEXPIRETIME` of it (absolute, so a cached reply stays true; PTTL would not) and
/// `HGETALL` of the user, each through the cache. Decides exactly as the script does;
/// every case in which the script would write is left to it.
async fn check_cached(
    redis: &Redis,
    session: &SessionRef,
    settings: &Settings,
    now_ms: i64,
) -> AppResult<Checked> {
    let key = redis.keys.session(&session.user_id, &session.id);
    let user_key = redis.keys.user(&session.user_id);
    let replies = redis
        .read_cached(vec![
            (key.clone(), redis::cmd("HGETALL").arg(&key).clone()),
            (key.clone(), redis::cmd("PEXPIRETIME").arg(&key).clone()),
            (
                user_key.clone(),
                redis::cmd("HGETALL").arg(&user_key).clone(),
            ),
        ])
        .await?;
    let mut replies = replies.into_iter();
    let mut next = || replies.next().unwrap_or(Value::Nil);
    let hash: HashMap<String, String> = redis::from_redis_value(next())?;
    let idle_expires_at_ms: i64 = redis::from_redis_value(next())?;
    let user: HashMap<String, String> = redis::from_redis_value(next())?;

    let Some(absolute) = hash
        .get("expires_at_ms")
        .and_then(|v| v.parse::<i64>().ok())
    else {
        return Ok(Checked::Gone);
    };
    // -2: no such key; a past time: expired, not yet removed by Redis.
    if idle_expires_at_ms == -2 || (idle_expires_at_ms >= 0 && idle_expires_at_ms <= now_ms) {
        return Ok(Checked::Gone);
    }
    let user_gone = !user.contains_key("username") || user.contains_key("deleting");
    // -1: no TTL at all (the script gives it one).
    if user_gone || absolute <= now_ms || idle_expires_at_ms < 0 {
        return Ok(Checked::NeedsScript);
    }
    let idle_ms = settings.session_idle().as_millis() as i64;
    let refresh_ms = settings.session_refresh().as_millis() as i64;
    let ttl = (absolute - now_ms).min(idle_ms);
    let pttl = idle_expires_at_ms - now_ms;
    if ttl - pttl >= refresh_ms {
        return Ok(Checked::NeedsScript);
    }
    Ok(
        match SessionRecord::from_hash(&session.id, &hash, idle_expires_at_ms)
            .filter(|record| record.user_id == session.user_id)
        {
            Some(record) => Checked::Valid(record),
            None => Checked::Gone,
        },
    )
}

/// True while the session exists (a read: no refresh). Open notification streams
/// poll it to end when their session is revoked or expires.
pub async fn is_live(redis: &Redis, session: &SessionRef) -> AppResult<bool> {
    Ok(redis
        .conn()
        .exists(redis.keys.session(&session.user_id, &session.id))
        .await?)
}

/// Ends one session of `user_id` (logout, or revoking one from the list): the hash and
/// its index entry in one MULTI (one slot). False when the user has no such session
/// (another user's session is never touched: the key is in this user's aggregate).
pub async fn revoke(redis: &Redis, user_id: &str, id: &str) -> AppResult<bool> {
    let (deleted, unlisted): (u64, u64) = redis::pipe()
        .atomic()
        .del(redis.keys.session(user_id, id))
        .zrem(redis.keys.user_part(user_id, UserPart::Sessions), id)
        .query_async(&mut redis.conn())
        .await?;
    Ok(deleted + unlisted > 0)
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
        let key = redis.keys.session(user_id, id);
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

/// Ends every session of the user (one script: atomic against concurrent logins).
pub async fn revoke_all(redis: &Redis, user_id: &str) -> AppResult<u64> {
    revoke_sessions(redis, user_id, None, false).await
}

/// Ends every session of the user but `keep` (after a password change, the session
/// that made it stays valid).
pub async fn revoke_others(redis: &Redis, user_id: &str, keep: &str) -> AppResult<u64> {
    revoke_sessions(redis, user_id, Some(keep), false).await
}

/// First step of deleting an account: ends every session and marks the user as being
/// deleted, so no login and no old token works while the rest of the account goes.
pub async fn close_account(redis: &Redis, user_id: &str) -> AppResult<u64> {
    revoke_sessions(redis, user_id, None, true).await
}

async fn revoke_sessions(
    redis: &Redis,
    user_id: &str,
    keep: Option<&str>,
    deleting: bool,
) -> AppResult<u64> {
    Ok(scripts::REVOKE_SESSIONS
        .key(redis.keys.user_part(user_id, UserPart::Sessions))
        .key(redis.keys.user(user_id))
        .arg(redis.keys.session_prefix(user_id))
        .arg(keep.unwrap_or(""))
        .arg(if deleting { "1" } else { "0" })
        .invoke_async(&mut redis.conn())
        .await?)
}

/// Updates the role copied into each live session of the user (after `admin grant`).
pub async fn set_role(redis: &Redis, user_id: &str, role: Role) -> AppResult<()> {
    let ids: Vec<String> = redis
        .conn()
        .zrange(redis.keys.user_part(user_id, UserPart::Sessions), 0, -1)
        .await?;
    for id in ids {
        let _: Value = scripts::HSET_IF_EXISTS
            .key(redis.keys.session(user_id, &id))
            .arg("role")
            .arg(role.as_str())
            .invoke_async(&mut redis.conn())
            .await?;
    }
    Ok(())
}

/// Takes a slot in each login-attempt counter (`sessions::throttle`): INCR, then
/// PEXPIRE NX so the window starts at the first attempt. Answers each counter's
/// (count, ms left in its window), in the order given. One round trip (one pipeline
/// per slot on a cluster).
pub(crate) async fn count_attempts(
    redis: &Redis,
    keys: [&String; 2],
    window_ms: u64,
) -> AppResult<[(u64, i64); 2]> {
    let mut batch = Batch::new();
    for key in keys {
        batch.add(key.clone(), redis::cmd("INCR").arg(key).clone());
        batch.add(
            key.clone(),
            redis::cmd("PEXPIRE")
                .arg(key)
                .arg(window_ms)
                .arg("NX")
                .clone(),
        );
        batch.add(key.clone(), redis::cmd("PTTL").arg(key).clone());
    }
    let replies = batch.run(&redis.conn).await?;
    let number = |v: &Value| redis::from_redis_value::<i64>(v.clone()).unwrap_or(0);
    let counter = |i: usize| (number(&replies[3 * i]) as u64, number(&replies[3 * i + 2]));
    Ok([counter(0), counter(1)])
}

/// After a successful login: forgets the account's attempts and gives the address
/// its slot back (`give_back_attempt.lua`), concurrently.
pub(crate) async fn forget_attempts(
    redis: &Redis,
    account_key: &str,
    ip_key: &str,
) -> AppResult<()> {
    let forget = async {
        redis::cmd("DEL")
            .arg(account_key)
            .query_async::<i64>(&mut redis.conn())
            .await
    };
    let give_back = async {
        scripts::GIVE_BACK_ATTEMPT
            .key(ip_key)
            .invoke_async::<Value>(&mut redis.conn())
            .await
    };
    let (_, reply) = tokio::try_join!(forget, give_back)?;
    // An expired counter has nothing to give back: both outcomes are fine.
    let _: scripts::IfExists<(i64,)> = scripts::decode("give_back_attempt", reply)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(tag: &str, values: &[i64]) -> Value {
        let mut items = vec![Value::BulkString(tag.as_bytes().to_vec())];
        items.extend(values.iter().map(|v| Value::Int(*v)));
        Value::Array(items)
    }

    #[test]
    fn open_session_replies_decode_and_the_old_zero_is_a_500_not_a_401() {
        let opened: Opened = scripts::decode("open_session", reply("opened", &[3])).unwrap();
        assert_eq!(opened, Opened::Opened { login_count: 3 });
        let refused: Opened = scripts::decode("open_session", reply("refused", &[])).unwrap();
        assert_eq!(refused, Opened::Refused);
        for odd in [Value::Int(0), reply("opened", &[]), reply("refused", &[1])] {
            match scripts::decode::<Opened>("open_session", odd.clone()) {
                Err(AppError::Internal(err)) => {
                    assert!(err.to_string().contains("open_session"), "{err}")
                }
                other => panic!("{odd:?} gave {other:?}"),
            }
        }
    }
}
