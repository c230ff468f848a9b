//! `agora seed`: loads the demo data in `migrations-free-seed/` into Redis.
//!
//! Redis has no schema, so there are no migrations: the seed is data. Loading is
//! idempotent: a record that already exists is left exactly as it is (a user is
//! skipped when its username is claimed), so running the seed twice leaves Redis as
//! after once (no new password salts, no new timestamps, no duplicate jobs).
//!
//! `agora seed --synthetic --users N ...` writes large generated data sets instead
//! (see [`synthetic`]), for benchmarks and memory figures.

pub(crate) mod progress;
pub mod synthetic;

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
    /// Config fields, leaderboard entries and experiments written (0 on a re-run).
    pub platform_created: usize,
    pub products: crate::products::seed::Loaded,
}

/// One entry of `leaderboards.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedPlayer {
    player_id: String,
    score: i64,
    username: String,
    level: u32,
    wins: u64,
    losses: u64,
    last_played: String,
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
    report.platform_created = seed_platform(redis, dir).await?;
    if let Some(max) = seed_users.iter().map(|u| u.id).max() {
        users::repo::reserve_ids_through(redis, max)
            .await
            .map_err(|e| anyhow::anyhow!("reserving seeded ids: {e}"))?;
    }
    let social = crate::social::seed::load(redis, dir).await?;
    tracing::info!(
        tags = social.tags,
        follows = social.follows,
        posts = social.posts,
        "social seed loaded"
    );
    report.products = crate::products::seed::load(redis, dir).await?;
    Ok(report)
}

/// Reads a JSON seed file; `None` when it does not exist.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<Option<T>> {
    if !path.exists() {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Some(
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?,
    ))
}

/// Config (`config.json`), leaderboards (`leaderboards.json`) and experiments
/// (`experiments.json`); only what is missing is written (HSETNX, ZADD NX).
async fn seed_platform(redis: &Redis, dir: &Path) -> anyhow::Result<usize> {
    let mut created = 0;

    if let Some(config) =
        read_json::<serde_json::Map<String, serde_json::Value>>(&dir.join("config.json"))?
    {
        let fields = crate::app_config::repo::validate(&config)
            .map_err(|e| anyhow::anyhow!("config.json: {e:?}"))?;
        created += crate::app_config::repo::seed_defaults(redis, &fields)
            .await
            .map_err(|e| anyhow::anyhow!("seeding config: {e}"))?;
    }

    let boards: Option<std::collections::BTreeMap<String, Vec<SeedPlayer>>> =
        read_json(&dir.join("leaderboards.json"))?;
    for (board, players) in boards.unwrap_or_default() {
        crate::validate::id(&board)
            .map_err(|e| anyhow::anyhow!("leaderboards.json: board {board}: {e}"))?;
        for p in players {
            crate::validate::id(&p.player_id)
                .map_err(|e| anyhow::anyhow!("leaderboards.json: {e}"))?;
            let entry = crate::leaderboards::repo::Entry {
                username: Some(p.username),
                level: Some(u64::from(p.level)),
                wins: Some(p.wins),
                losses: Some(p.losses),
                last_played: Some(p.last_played),
            };
            let added =
                crate::leaderboards::repo::seed_entry(redis, &board, &p.player_id, p.score, &entry)
                    .await?;
            created += added as usize;
        }
    }

    let experiments: Option<
        std::collections::BTreeMap<String, crate::experiments::model::Experiment>,
    > = read_json(&dir.join("experiments.json"))?;
    for (name, experiment) in experiments.unwrap_or_default() {
        crate::validate::id(&name).map_err(|e| anyhow::anyhow!("experiments.json: {name}: {e}"))?;
        experiment
            .validate()
            .map_err(|e| anyhow::anyhow!("experiments.json: {name}: {e:?}"))?;
        if crate::experiments::repo::create_if_missing(redis, &name, &experiment)
            .await
            .map_err(|e| anyhow::anyhow!("seeding experiment {name}: {e}"))?
        {
            created += 1;
        }
    }
    Ok(created)
}
