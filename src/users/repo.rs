//! Users in Redis: the only code that names user keys.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `user:{id}` | hash | the user (seed 000/002), incl. `pw` (the password hash; `password_hash` in users stored before), `login_count` (from the first login) |
//! | `users:next_id` | string | last id handed out (INCR) |
//! | `users:{u<b>}:by_username`, `users:{e<b>}:by_email` | hash | the bucketed unique indexes (see [`super::identity`]) |
//!
//! The user hash stays a listpack (every field under Redis's 64-byte
//! `hash-max-listpack-value`, the password hash in its compact form: see
//! [`super::password`]), less than half the hash table a 97-byte PHC string turns it
//! into. Field names are short where nobody reads them by name (`pw`), and
//! `login_count` is created by the first login (HINCRBY), not stored as `0`: a
//! listpack is allocated in jemalloc size classes (…, 224, 256, …), and those bytes
//! keep a typical user in the 224-byte class.
//!
//! Registration spans three slots (the user's, the username bucket's and the e-mail
//! bucket's), so it is a sequence of single-slot steps ordered for crashes:
//! 1. `HSET user:{id}` with a 60 s TTL: a *pending* user nothing points at yet;
//! 2. claim the username, then the e-mail (`claim_identity.lua` in each bucket),
//!    releasing the username if the e-mail is taken;
//! 3. `PERSIST user:{id}`.
//!
//! A crash after 1 leaves a hash that expires by itself. A crash after 2 leaves
//! claims whose user hash expires: such a claim is *stale*, readers find no user
//! behind it, and the next registration that meets it takes it over. Deleting a user
//! runs the same steps backwards: sessions, then the user's keys, then the claims
//! (compare-and-delete).

use std::collections::HashMap;

use redis::{AsyncCommands, Value};

use super::identity;
use super::model::{Role, User, UserChanges, UserField};
use crate::error::{AppError, AppResult};
use crate::redis::keys::UserPart;
use crate::redis::scripts::IfExists;
use crate::redis::{Redis, scripts};

/// The hash field holding the password hash (compact form, or a PHC string).
pub const PASSWORD_FIELD: &str = "pw";
/// Where users stored before held their PHC string; read until their next login
/// moves it to [`PASSWORD_FIELD`].
pub const LEGACY_PASSWORD_FIELD: &str = "password_hash";

/// How long a registration may take between its first and last step.
const PENDING_TTL_MS: i64 = 60_000;

pub use super::identity::{Identity, normalize};

/// What a new user is made of (validated, password already hashed).
pub struct NewUser {
    /// A fixed id (the seed), or `None` to allocate one with INCR.
    pub id: Option<String>,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub name: String,
    pub bio: Option<String>,
    pub avatar: Option<String>,
    pub role: Role,
    pub created_at: String,
}

impl NewUser {
    /// The stored form of a new user (`user:{id}`'s fields): the one definition that
    /// [`create`] and the synthetic seed both write.
    pub(crate) fn fields(&self, id: &str) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("id", id.to_string()),
            ("username", self.username.clone()),
            ("email", self.email.clone()),
            ("name", self.name.clone()),
            ("role", self.role.as_str().to_string()),
            ("created_at", self.created_at.clone()),
            (PASSWORD_FIELD, self.password_hash.clone()),
        ];
        if let Some(bio) = self.bio.clone().filter(|b| !b.is_empty()) {
            fields.push(("bio", bio));
        }
        if let Some(avatar) = self.avatar.clone().filter(|a| !a.is_empty()) {
            fields.push(("avatar", avatar));
        }
        fields
    }
}

/// Registers a user (see the module docs for the step order). 409 when the username or
/// e-mail is taken; nothing of the attempt is left behind then.
pub async fn create(redis: &Redis, new: NewUser) -> AppResult<User> {
    let mut conn = redis.conn();
    let id = match new.id.clone() {
        Some(id) => id,
        None => conn
            .incr::<_, _, u64>(redis.keys.user_ids(), 1)
            .await?
            .to_string(),
    };
    let user_key = redis.keys.user(&id);
    let fields = new.fields(&id);
    // Step 1: the pending user (same slot: one MULTI).
    let _: () = redis::pipe()
        .atomic()
        .hset_multiple(&user_key, &fields)
        .ignore()
        .pexpire(&user_key, PENDING_TTL_MS)
        .ignore()
        .query_async(&mut conn)
        .await?;

    // Step 2: the unique claims; on conflict remove the pending user.
    let claims = [
        (Identity::Username, normalize(&new.username)),
        (Identity::Email, normalize(&new.email)),
    ];
    if let Err(err) = identity::claim_all(redis, &id, &claims).await {
        let _: redis::RedisResult<()> = conn.del(&user_key).await;
        return Err(err);
    }

    // Step 3: the user is real now. If the pending hash is gone (the steps took longer
    // than its TTL), the claims point at nothing: free them and fail.
    if !conn.persist::<_, bool>(&user_key).await? {
        identity::release_all(redis, &id, &claims).await?;
        return Err(AppError::Internal(anyhow::anyhow!(
            "registration of user {id} outlived its pending TTL"
        )));
    }
    let hash: HashMap<String, String> = fields
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    Ok(with_login_count(User::from_hash(&hash, Some(0), Some(0))))
}

/// A whole user as read: no `login_count` field means no login yet.
fn with_login_count(mut user: User) -> User {
    user.login_count.get_or_insert(0);
    user
}

/// The whole user, or only `fields` (HMGET), with follow counts when asked; `None` if
/// there is no such user. Served from the client-side cache when it holds the hash
/// and counts, else one round trip (every key is in the user's slot).
pub async fn get(redis: &Redis, id: &str, fields: Option<&[UserField]>) -> AppResult<Option<User>> {
    Ok(get_many(redis, &[id.to_string()], fields)
        .await?
        .pop()
        .flatten())
}

/// The hash fields to HMGET for `fields`: `id` first, so a missing user shows.
fn hmget_names(fields: &[UserField]) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = vec!["id"];
    names.extend(fields.iter().filter_map(|f| match f {
        UserField::Hash(name) if *name != "id" => Some(*name),
        _ => None,
    }));
    names
}

/// The user from HMGET `values` of `names`, with the counts `fields` asks for; `None`
/// when the user does not exist.
fn user_from_hmget(
    names: &[&str],
    values: Vec<Option<String>>,
    fields: &[UserField],
    follower_count: u64,
    following_count: u64,
) -> Option<User> {
    if values.first().is_none_or(|id| id.is_none()) {
        return None;
    }
    let mut hash: HashMap<String, String> = names
        .iter()
        .zip(values)
        .filter_map(|(name, value)| Some((name.to_string(), value?)))
        .collect();
    if names.contains(&"login_count") {
        // Created by the first login: none yet is zero.
        hash.entry("login_count".into())
            .or_insert_with(|| "0".into());
    }
    Some(User::from_hash(
        &hash,
        fields
            .contains(&UserField::FollowerCount)
            .then_some(follower_count),
        fields
            .contains(&UserField::FollowingCount)
            .then_some(following_count),
    ))
}

/// One reply of a user read, decoded once: the cache keeps it and hits share it.
enum UserReply {
    /// `HGETALL user:{id}`.
    Hash(HashMap<String, String>),
    /// `HMGET user:{id} …`.
    Fields(Vec<Option<String>>),
    /// `ZCARD` of the followers or following set.
    Count(u64),
}

/// Many users at once, in the order of `ids` (`None` where there is no such user): the
/// whole users, or only `fields`, with the follow counts only when they are asked for.
/// Through the client-side cache; what it does not hold is read in one batch (one
/// pipeline per slot on a cluster).
pub async fn get_many(
    redis: &Redis,
    ids: &[String],
    fields: Option<&[UserField]>,
) -> AppResult<Vec<Option<User>>> {
    let names = fields.map(hmget_names);
    let with_counts = fields.is_none_or(|f| {
        f.contains(&UserField::FollowerCount) || f.contains(&UserField::FollowingCount)
    });
    let mut reads = Vec::with_capacity(ids.len() * 3);
    for id in ids {
        let key = redis.keys.user(id);
        let read = match &names {
            None => redis::cmd("HGETALL").arg(&key).clone(),
            Some(names) => redis::cmd("HMGET").arg(&key).arg(names).clone(),
        };
        reads.push((key, read));
        if with_counts {
            for part in [UserPart::Followers, UserPart::Following] {
                let counted = redis.keys.user_part(id, part);
                let zcard = redis::cmd("ZCARD").arg(&counted).clone();
                reads.push((counted, zcard));
            }
        }
    }
    let per_user = if with_counts { 3 } else { 1 };
    let replies = redis
        .read_cached_decoded(reads, |index, value| {
            Ok(match (index % per_user, &names) {
                (0, None) => UserReply::Hash(redis::from_redis_value(value)?),
                (0, Some(_)) => UserReply::Fields(redis::from_redis_value(value)?),
                _ => UserReply::Count(redis::from_redis_value(value)?),
            })
        })
        .await?;
    let mut users = Vec::with_capacity(ids.len());
    for replies in replies.chunks(per_user) {
        let count = |i: usize| match replies.get(i).map(|r| r.as_ref()) {
            Some(UserReply::Count(n)) => *n,
            _ => 0,
        };
        let (followers, following) = (count(1), count(2));
        users.push(match (replies[0].as_ref(), &names, fields) {
            (UserReply::Fields(values), Some(names), Some(fields)) => {
                user_from_hmget(names, values.clone(), fields, followers, following)
            }
            (UserReply::Hash(hash), ..) => (!hash.is_empty())
                .then(|| with_login_count(User::from_hash(hash, Some(followers), Some(following)))),
            _ => None,
        });
    }
    Ok(users)
}

/// Changes the given fields (an empty value removes one). A new e-mail or username is
/// claimed first and the old one released after, so the user is never without a
/// claimed name or address.
pub async fn update(redis: &Redis, id: &str, changes: &UserChanges) -> AppResult<Option<User>> {
    let wanted = [
        (Identity::Username, "username", changes.username.as_deref()),
        (Identity::Email, "email", changes.email.as_deref()),
    ];
    let mut moving: Vec<(Identity, String, String)> = Vec::new();
    for (identity, field, new) in wanted {
        let Some(new) = new else { continue };
        let old: Option<String> = redis.conn().hget(redis.keys.user(id), field).await?;
        let Some(old) = old else { return Ok(None) };
        if normalize(new) != normalize(&old) {
            moving.push((identity, normalize(new), normalize(&old)));
        }
    }
    let claims: Vec<(Identity, String)> =
        moving.iter().map(|(i, new, _)| (*i, new.clone())).collect();
    if !claims.is_empty() {
        identity::claim_all(redis, id, &claims).await?;
    }

    let mut invocation = scripts::PATCH_HASH.prepare_invoke();
    invocation
        .key(redis.keys.user(id))
        .key(redis.keys.user_part(id, UserPart::Followers))
        .key(redis.keys.user_part(id, UserPart::Following));
    let fields = [
        ("name", &changes.name),
        ("bio", &changes.bio),
        ("avatar", &changes.avatar),
        ("email", &changes.email),
        ("username", &changes.username),
    ];
    for (field, value) in fields {
        if let Some(value) = value {
            invocation.arg(field).arg(value);
        }
    }
    let reply: Value = invocation.invoke_async(&mut redis.conn()).await?;
    let reply: IfExists<(HashMap<String, String>, u64, u64)> =
        scripts::decode("patch_hash", reply)?;
    let Some((hash, followers, following)) = reply.done() else {
        // The user went away meanwhile: free what was claimed for them.
        if !claims.is_empty() {
            identity::release_all(redis, id, &claims).await?;
        }
        return Ok(None);
    };

    let released: Vec<(Identity, String)> =
        moving.into_iter().map(|(i, _, old)| (i, old)).collect();
    if !released.is_empty() {
        identity::release_all(redis, id, &released).await?;
    }
    Ok(Some(with_login_count(User::from_hash(
        &hash,
        Some(followers),
        Some(following),
    ))))
}

/// Deletes the user's hash and every key of their aggregate, then frees their username
/// and e-mail. Sessions must already be revoked (see `accounts::lifecycle`). Returns false
/// when there was no such user.
pub async fn delete(redis: &Redis, id: &str) -> AppResult<bool> {
    let user_key = redis.keys.user(id);
    let mut conn = redis.conn();
    let (username, email): (Option<String>, Option<String>) =
        conn.hmget(&user_key, &["username", "email"]).await?;
    let (Some(username), Some(email)) = (username, email) else {
        return Ok(false);
    };
    let mut keys = vec![user_key];
    keys.extend(
        UserPart::ALL
            .iter()
            .map(|part| redis.keys.user_part(id, *part)),
    );
    // One slot: a single DEL removes the whole aggregate atomically.
    let _: u64 = conn.del(&keys).await?;
    identity::release_all(
        redis,
        id,
        &[
            (Identity::Username, normalize(&username)),
            (Identity::Email, normalize(&email)),
        ],
    )
    .await?;
    Ok(true)
}

/// The id registered under a username or e-mail (`login` containing `@` is an e-mail).
pub async fn find_id(redis: &Redis, login: &str) -> AppResult<Option<String>> {
    identity::find_id(redis, login).await
}

/// What login needs: username, role and password hash (from `pw`, else the legacy
/// `password_hash`), or `None`.
pub async fn credentials(redis: &Redis, id: &str) -> AppResult<Option<(String, Role, String)>> {
    let (username, role, hash, legacy): (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    ) = redis
        .conn()
        .hmget(
            redis.keys.user(id),
            &["username", "role", PASSWORD_FIELD, LEGACY_PASSWORD_FIELD],
        )
        .await?;
    Ok(match (username, hash.or(legacy)) {
        (Some(username), Some(hash)) => {
            Some((username, Role::parse(role.as_deref().unwrap_or("")), hash))
        }
        _ => None,
    })
}

/// Replaces the password hash if it is still `expected` (`set_password.lua`); false
/// when it changed meanwhile or the user is gone or being deleted.
pub async fn replace_password_hash(
    redis: &Redis,
    id: &str,
    expected: &str,
    new_hash: &str,
) -> AppResult<bool> {
    let reply: Value = scripts::SET_PASSWORD
        .key(redis.keys.user(id))
        .arg(expected)
        .arg(new_hash)
        .invoke_async(&mut redis.conn())
        .await?;
    let swap: scripts::PasswordSwap = scripts::decode("set_password", reply)?;
    Ok(swap == scripts::PasswordSwap::Replaced)
}

/// Sets a user's role; false when there is no such user.
pub async fn set_role(redis: &Redis, id: &str, role: Role) -> AppResult<bool> {
    let updated: i64 = scripts::HSET_IF_EXISTS
        .key(redis.keys.user(id))
        .arg("role")
        .arg(role.as_str())
        .invoke_async(&mut redis.conn())
        .await?;
    Ok(updated == 1)
}

/// Makes sure INCR never hands out an id at or below `id` (used by the seed).
pub async fn reserve_ids_through(redis: &Redis, id: u64) -> AppResult<()> {
    let _: u64 = scripts::RAISE_COUNTER
        .key(redis.keys.user_ids())
        .arg(id)
        .invoke_async(&mut redis.conn())
        .await?;
    Ok(())
}

/// The routing key and the `HSET` of `user`'s hash under `id`, the fields
/// [`create`] writes, for bulk writers (the synthetic seed; the identity claims go
/// through `identity::add_bulk_claims`).
pub(crate) fn store_cmd(
    keys: &crate::redis::Keys,
    user: &NewUser,
    id: &str,
) -> (String, redis::Cmd) {
    let key = keys.user(id);
    let mut hset = redis::cmd("HSET");
    hset.arg(&key).arg(user.fields(id));
    (key, hset)
}
