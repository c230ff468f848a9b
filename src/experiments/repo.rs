//! Experiments in Redis.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `experiment:{name}` | hash | variant → weight |
//! | `experiment:{name}:assigned:<subject>` | string, PX = the retention, refreshed on every call | the subject's variant (sticky) |
//! | `experiment:{name}:assignments` | hash | subject → variant as stored before assignments expired; only read and emptied |
//!
//! Anyone may ask for an assignment of any subject, so assignments cannot be kept
//! forever: each is its own string key (Redis 7.0 has no TTL per hash field) with
//! `AGORA_ASSIGNMENT_RETENTION_DAYS` that every call for the subject starts again.

use std::collections::BTreeMap;

use redis::{AsyncCommands, Value};

use super::model::Experiment;
use crate::error::AppResult;
use crate::redis::scripts::IfExists;
use crate::redis::{Redis, scripts};

pub async fn get(redis: &Redis, name: &str) -> AppResult<Option<Experiment>> {
    let variants: BTreeMap<String, u32> = redis.conn().hgetall(redis.keys.experiment(name)).await?;
    Ok((!variants.is_empty()).then_some(Experiment { variants }))
}

/// Replaces the variants and weights (one MULTI). Existing assignments stay.
pub async fn put(redis: &Redis, name: &str, experiment: &Experiment) -> AppResult<()> {
    let key = redis.keys.experiment(name);
    let fields: Vec<(&String, &u32)> = experiment.variants.iter().collect();
    let _: () = redis::pipe()
        .atomic()
        .del(&key)
        .ignore()
        .hset_multiple(&key, &fields)
        .ignore()
        .query_async(&mut redis.conn())
        .await?;
    Ok(())
}

/// Creates the experiment only if it does not exist yet (for the seed).
pub async fn create_if_missing(
    redis: &Redis,
    name: &str,
    experiment: &Experiment,
) -> AppResult<bool> {
    if get(redis, name).await?.is_some() {
        return Ok(false);
    }
    put(redis, name, experiment).await?;
    Ok(true)
}

/// The subject's variant: the stored one, or `proposed` if this call is the first.
/// `None` when the experiment does not have `proposed` (deleted or changed meanwhile).
pub async fn assign(
    redis: &Redis,
    name: &str,
    subject: &str,
    proposed: &str,
    retention: std::time::Duration,
) -> AppResult<Option<(String, bool)>> {
    let reply: Value = scripts::ASSIGN_VARIANT
        .key(redis.keys.experiment(name))
        .key(redis.keys.experiment_assignments(name))
        .key(redis.keys.experiment_assignment(name, subject))
        .arg(subject)
        .arg(proposed)
        .arg(retention.as_millis() as u64)
        .invoke_async(&mut redis.conn())
        .await?;
    let reply: IfExists<(String, u8)> = scripts::decode("assign_variant", reply)?;
    Ok(reply
        .done()
        .map(|(variant, created)| (variant, created == 1)))
}
