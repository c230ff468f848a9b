//! The unique indexes of users: username → id and e-mail → id, bucketed.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `users:{u<b>}:by_username` | hash | lower-cased username → id, for names in bucket `b` |
//! | `users:{e<b>}:by_email` | hash | lower-cased e-mail → id, for addresses in bucket `b` |
//! | `users:{identity}:by_username` / `:by_email` | hash | the old unbucketed indexes: read as a fallback until `agora migrate identity` has emptied them |
//!
//! Why buckets: one hash per index puts an entry per user in one slot, so on a
//! cluster one shard holds every name and serves every registration and login. Split
//! into [`IDENTITY_BUCKETS`] small hashes, each its own hash tag, the entries spread
//! over thousands of slots, and each bucket stays a *listpack* (a few dozen short
//! entries): about 20 bytes per entry instead of ~70 in a large hash table, the
//! memory trick Instagram used for its media → user map.
//!
//! Why the claims are two steps: a username and an e-mail land in unrelated buckets
//! (two slots), so no script can claim both atomically on a cluster. A registration
//! claims the username, then the e-mail, and releases the username when the e-mail is
//! taken; from outside that is all-or-nothing, because:
//! - every claim names its owner, and the owner's user hash is written (as a
//!   *pending* user with a 60 s TTL) before any claim points at it;
//! - a claim whose owner does not exist is *stale*: readers ignore it (a login that
//!   finds it finds no user), and the next claimant takes it over, but only that
//!   owner's claim (compare-and-set in `claim_identity.lua`), so a crash between the
//!   steps leaves nothing that blocks the name for longer than the pending TTL;
//! - releases are compare-and-delete (`release_identity.lua`): a slow loser never
//!   frees a name someone else holds by now.
//!
//! Two registrations of one name cannot both win: the bucket's script serialises them,
//! and the second sees a live (or pending) owner. Ids are never reused (INCR), so a
//! stale owner can never come back to life.

use futures::future::try_join_all;
use redis::{AsyncCommands, Value};

use crate::error::{AppError, AppResult};
use crate::redis::batch::Batch;
use crate::redis::keys::identity_bucket;
use crate::redis::scripts::IdentityClaim;
use crate::redis::{Redis, scripts};

pub use crate::redis::keys::IDENTITY_BUCKETS;

/// A unique identifier of a user, with its index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identity {
    Username,
    Email,
}

impl Identity {
    pub const ALL: [Identity; 2] = [Identity::Username, Identity::Email];

    /// What a login names: an e-mail when it contains `@`, else a username.
    pub fn of_login(login: &str) -> Identity {
        if login.contains('@') {
            Identity::Email
        } else {
            Identity::Username
        }
    }

    /// The bucket hash holding `normalised` (already [`normalize`]d).
    pub fn bucket_key(self, redis: &Redis, normalised: &str) -> String {
        let bucket = identity_bucket(normalised);
        match self {
            Identity::Username => redis.keys.username_bucket(bucket),
            Identity::Email => redis.keys.email_bucket(bucket),
        }
    }

    /// The old one-slot index of this identity.
    pub fn legacy_key(self, redis: &Redis) -> String {
        match self {
            Identity::Username => redis.keys.legacy_username_index(),
            Identity::Email => redis.keys.legacy_email_index(),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Identity::Username => "username",
            Identity::Email => "email",
        }
    }

    fn taken(self) -> AppError {
        match self {
            Identity::Username => AppError::Conflict {
                kind: "username-taken",
                detail: "That username is taken.".into(),
            },
            Identity::Email => AppError::Conflict {
                kind: "email-taken",
                detail: "That e-mail address is already registered.".into(),
            },
        }
    }
}

/// Index form of a username or e-mail: lower-cased, so `Alice` and `alice` collide.
pub fn normalize(value: &str) -> String {
    value.trim().to_lowercase()
}

/// The id registered under a username or e-mail (`login` containing `@` is an e-mail):
/// its bucket, else the old index (until the migration has run). The id may name a
/// user that is gone (a stale claim): callers read the user and treat that as none.
pub async fn find_id(redis: &Redis, login: &str) -> AppResult<Option<String>> {
    let identity = Identity::of_login(login);
    let value = normalize(login);
    let mut conn = redis.conn();
    let found: Option<String> = conn
        .hget(identity.bucket_key(redis, &value), &value)
        .await?;
    if found.is_some() {
        return Ok(found);
    }
    Ok(conn.hget(identity.legacy_key(redis), &value).await?)
}

/// Claims every `(identity, normalised value)` for `user_id`, in order; on a conflict
/// releases what this call claimed and answers 409 naming the identity.
pub async fn claim_all(
    redis: &Redis,
    user_id: &str,
    claims: &[(Identity, String)],
) -> AppResult<()> {
    for (done, (identity, value)) in claims.iter().enumerate() {
        if let Err(err) = claim(redis, user_id, *identity, value).await {
            if let Err(release_err) = release_all(redis, user_id, &claims[..done]).await {
                // The pending user expires, which makes these claims stale anyway.
                tracing::warn!(error = %release_err, "releasing claims after a conflict failed");
            }
            return Err(err);
        }
    }
    Ok(())
}

/// Claims one identity for `user_id`, taking over a stale claim (its owner is gone).
async fn claim(redis: &Redis, user_id: &str, identity: Identity, value: &str) -> AppResult<()> {
    let mut conn = redis.conn();
    // Until `agora migrate identity` has run, the old index may still hold the name.
    let legacy: Option<String> = conn.hget(identity.legacy_key(redis), value).await?;
    if let Some(owner) = legacy
        && owner != user_id
        && user_exists(redis, &owner).await?
    {
        return Err(identity.taken());
    }
    let key = identity.bucket_key(redis, value);
    let mut stale = String::new();
    // One round may find a stale owner; the next then succeeds or meets a live one.
    for _ in 0..3 {
        let reply: Value = scripts::CLAIM_IDENTITY
            .key(&key)
            .arg(user_id)
            .arg(value)
            .arg(&stale)
            .invoke_async(&mut conn)
            .await?;
        let owner = match scripts::decode("claim_identity", reply)? {
            IdentityClaim::Claimed => return Ok(()),
            IdentityClaim::Taken { owner, .. } => owner,
        };
        if user_exists(redis, &owner).await? {
            return Err(identity.taken());
        }
        tracing::info!(
            owner,
            identity = identity.name(),
            "taking over a stale claim"
        );
        stale = owner;
    }
    Err(identity.taken())
}

async fn user_exists(redis: &Redis, id: &str) -> AppResult<bool> {
    Ok(redis.conn().exists(redis.keys.user(id)).await?)
}

/// Releases the claims still owned by `user_id` (compare-and-delete), each bucket in
/// its own round trip, concurrently.
pub async fn release_all(
    redis: &Redis,
    user_id: &str,
    claims: &[(Identity, String)],
) -> AppResult<()> {
    try_join_all(claims.iter().map(|(identity, value)| async move {
        let released: u64 = scripts::RELEASE_IDENTITY
            .key(identity.bucket_key(redis, value))
            .arg(user_id)
            .arg(value)
            .invoke_async(&mut redis.conn())
            .await?;
        Ok::<_, AppError>(released)
    }))
    .await?;
    Ok(())
}

/// Adds `(normalised value → id)` claims to `batch`, one `HSET` per bucket (the
/// synthetic seed, which writes users in bulk and knows its names are unique).
pub fn add_bulk_claims(
    redis: &Redis,
    batch: &mut Batch,
    identity: Identity,
    entries: impl IntoIterator<Item = (String, String)>,
) {
    let mut by_bucket: std::collections::BTreeMap<String, redis::Cmd> = Default::default();
    for (value, id) in entries {
        let key = identity.bucket_key(redis, &value);
        by_bucket
            .entry(key.clone())
            .or_insert_with(|| redis::cmd("HSET").arg(&key).clone())
            .arg(value)
            .arg(id);
    }
    for (key, cmd) in by_bucket {
        batch.add(key, cmd);
    }
}

/// What `agora migrate identity` did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Entries copied into their bucket (or found there already, same owner).
    pub moved: u64,
    /// Entries whose user no longer exists: dropped, not copied.
    pub dropped: u64,
    /// Entries whose bucket names another live user: left in the old index for an
    /// operator (cannot happen unless two versions served registrations at once).
    pub conflicts: Vec<(Identity, String)>,
}

impl std::fmt::Display for MigrationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "migrate identity: {} entries moved into buckets, {} stale entries dropped, {} conflicts",
            self.moved,
            self.dropped,
            self.conflicts.len()
        )?;
        for (identity, value) in &self.conflicts {
            write!(f, "\n  conflict: {} {value:?}", identity.name())?;
        }
        Ok(())
    }
}

/// Entries read from the old index per round.
const MIGRATION_PAGE: usize = 500;

/// Moves every entry of the old one-slot indexes into the buckets, then removes it
/// from the old index (which disappears once empty). Idempotent and safe to run while
/// the service runs (the service reads and checks the old index until it is gone): an
/// entry is copied with `HSETNX` (an entry already in its bucket stays) before it is
/// deleted, so every name is findable at every moment. Running it again finds nothing
/// left to do.
pub async fn migrate_legacy(redis: &Redis) -> AppResult<MigrationReport> {
    let mut report = MigrationReport::default();
    for identity in Identity::ALL {
        let legacy = identity.legacy_key(redis);
        let mut conn = redis.conn();
        // Fields are deleted as they move; a pass that moves nothing (only conflicts
        // are left, or the index is gone) ends the migration of this identity.
        loop {
            let before = (report.moved, report.dropped);
            let mut cursor: u64 = 0;
            loop {
                let (next, page): (u64, Vec<(String, String)>) = redis::cmd("HSCAN")
                    .arg(&legacy)
                    .arg(cursor)
                    .arg("COUNT")
                    .arg(MIGRATION_PAGE)
                    .query_async(&mut conn)
                    .await?;
                migrate_page(redis, identity, page, &mut report).await?;
                if next == 0 {
                    break;
                }
                cursor = next;
            }
            if (report.moved, report.dropped) == before {
                break;
            }
        }
    }
    Ok(report)
}

/// Moves one HSCAN page of the old index of `identity` (see [`migrate_legacy`]).
async fn migrate_page(
    redis: &Redis,
    identity: Identity,
    page: Vec<(String, String)>,
    report: &mut MigrationReport,
) -> AppResult<()> {
    let page: Vec<(String, String)> = page
        .into_iter()
        .filter(|(value, _)| !report.conflicts.contains(&(identity, value.clone())))
        .collect();
    if page.is_empty() {
        return Ok(());
    }
    let mut exists = Batch::new();
    for (_, owner) in &page {
        let user = redis.keys.user(owner);
        exists.add(user.clone(), redis::cmd("EXISTS").arg(&user).clone());
    }
    let exists = exists.run(&redis.conn).await?;
    let mut copy = Batch::new();
    let mut live = Vec::new();
    let mut done = Vec::new();
    for ((value, owner), exists) in page.into_iter().zip(exists) {
        if redis::from_redis_value::<bool>(exists)? {
            let key = identity.bucket_key(redis, &value);
            copy.add(
                key.clone(),
                redis::cmd("HSETNX")
                    .arg(&key)
                    .arg(&value)
                    .arg(&owner)
                    .clone(),
            );
            copy.add(
                key.clone(),
                redis::cmd("HGET").arg(&key).arg(&value).clone(),
            );
            live.push((value, owner));
        } else {
            report.dropped += 1;
            done.push(value);
        }
    }
    let copied = copy.run(&redis.conn).await?;
    let mut conn = redis.conn();
    for ((value, owner), replies) in live.into_iter().zip(copied.chunks(2)) {
        let holder: Option<String> = redis::from_redis_value(replies[1].clone())?;
        let holder_is_owner = holder.as_deref() == Some(owner.as_str());
        if holder_is_owner || !user_exists(redis, holder.as_deref().unwrap_or_default()).await? {
            if !holder_is_owner {
                // The bucket's owner is gone (a stale claim): the old entry wins.
                let key = identity.bucket_key(redis, &value);
                let _: () = conn.hset(&key, &value, &owner).await?;
            }
            report.moved += 1;
            done.push(value);
        } else {
            report.conflicts.push((identity, value));
        }
    }
    if !done.is_empty() {
        let _: u64 = conn.hdel(identity.legacy_key(redis), &done).await?;
    }
    Ok(())
}

/// True when an old one-slot index still exists (the service then warns at start).
pub async fn legacy_present(redis: &Redis) -> AppResult<bool> {
    let mut batch = Batch::new();
    for identity in Identity::ALL {
        let key = identity.legacy_key(redis);
        batch.add(key.clone(), redis::cmd("EXISTS").arg(&key).clone());
    }
    let found = batch.run(&redis.conn).await?;
    Ok(found
        .into_iter()
        .any(|v| redis::from_redis_value::<bool>(v).unwrap_or(false)))
}
