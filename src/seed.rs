//! `agora seed`: loads the demo data in `migrations-free-seed/` into Redis.
//!
//! Redis has no schema, so there are no migrations: the seed is data. Loading is
//! idempotent: a record that already exists is left exactly as it is (a user is
//! skipped when its username is claimed), so running the seed twice leaves Redis as
//! after once (no new password salts, no new timestamps, no duplicate jobs).

use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;

use crate::redis::Redis;
use crate::users::{self, Role};

/// One user of `users.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedUser {
    id: u64,
    username: String,
    email: String,
    /// Plain demo password, hashed on load (documented in the seed README).
    password: String,
    name: String,
    #[serde(default)]
    bio: Option<String>,
    #[serde(default)]
    avatar: Option<String>,
    #[serde(default)]
    role: Option<Role>,
    created_at: String,
}

/// What a seed run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub users_created: usize,
    pub users_existing: usize,
    pub products: crate::products::seed::Loaded,
}

/// Loads every seed file under `dir`.
pub async fn run(redis: &Redis, dir: &Path) -> anyhow::Result<SeedReport> {
    let mut report = SeedReport::default();
    let path = dir.join("users.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let seed_users: Vec<SeedUser> =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;

    for user in &seed_users {
        let input = users::model::CreateUser {
            username: user.username.clone(),
            email: user.email.clone(),
            password: user.password.clone(),
            name: Some(user.name.clone()),
            bio: user.bio.clone(),
            avatar: user.avatar.clone(),
        };
        input
            .validate()
            .map_err(|e| anyhow::anyhow!("{}: user {}: {e:?}", path.display(), user.username))?;
        if users::repo::find_id(redis, &user.username).await?.is_some() {
            report.users_existing += 1;
            continue;
        }
        let password_hash = users::password::hash(user.password.clone()).await?;
        users::repo::create(
            redis,
            users::repo::NewUser {
                id: Some(user.id.to_string()),
                username: user.username.clone(),
                email: user.email.clone(),
                password_hash,
                name: user.name.clone(),
                bio: user.bio.clone(),
                avatar: user.avatar.clone(),
                role: user.role.unwrap_or_default(),
                created_at: user.created_at.clone(),
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("seeding user {}: {e}", user.username))?;
        report.users_created += 1;
    }
    if let Some(max) = seed_users.iter().map(|u| u.id).max() {
        users::repo::reserve_ids_through(redis, max)
            .await
            .map_err(|e| anyhow::anyhow!("reserving seeded ids: {e}"))?;
    }
    report.products = crate::products::seed::load(redis, dir).await?;
    Ok(report)
}
