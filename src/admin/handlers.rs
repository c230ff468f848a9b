//! HTTP handlers for admin endpoints (admins only).

use axum::Json;
use axum::extract::{Path, State};

use super::model::{self, KeyInfo, KeyMemory, KeyPage, KeysQuery};
use crate::app::AppState;
use crate::error::{AppError, AppResult, responses};
use crate::extract::{AppQuery, AuthUser};
use crate::jobs::{self, QueueStats};
use crate::redis::batch::Batch;
use crate::validate::{Validator, bounded};

/// E-mail queue depths
///
/// Admin only. Pending, processing (taken by a worker), retrying, dead and delivered.
///
/// Redis: one pipeline in the `{emails}` slot: `LLEN queue:{emails}`, `LLEN
/// queue:{emails}:processing`, `ZCARD queue:{emails}:retry`, `LLEN queue:{emails}:dead`,
/// `GET outbox:{emails}:total`, `HLEN outbox:{emails}`.
#[utoipa::path(get, path = "/v1/admin/queues/emails", tag = "admin",
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Queue depths", body = QueueStats),
        responses::Unauthorized, responses::Forbidden, responses::Unavailable
    ))]
pub async fn email_queue(
    State(state): State<AppState>,
    auth: AuthUser,
) -> AppResult<Json<QueueStats>> {
    auth.require_admin()?;
    Ok(Json(jobs::email_stats(&state.redis).await?))
}

/// Browse keys
///
/// Admin only. One SCAN page (never KEYS) of this deployment's keys, with each key's
/// type and TTL. Iterate with `next_cursor` until it is `null`; on a cluster the cursor
/// walks every primary in turn.
///
/// Redis: `SCAN cursor MATCH prefix+pattern COUNT n` (per primary on a cluster), then
/// `TYPE` + `PTTL` of every key in one batch grouped by slot.
#[utoipa::path(get, path = "/v1/admin/keys", tag = "admin",
    params(KeysQuery),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "A page of keys", body = KeyPage),
        responses::Unauthorized, responses::Forbidden, responses::Invalid, responses::Unavailable
    ))]
pub async fn keys(
    State(state): State<AppState>,
    auth: AuthUser,
    AppQuery(query): AppQuery<KeysQuery>,
) -> AppResult<Json<KeyPage>> {
    auth.require_admin()?;
    let pattern = query.pattern.unwrap_or_else(|| "*".to_string());
    let cursor = query.cursor.unwrap_or_default();
    let mut v = Validator::new();
    v.check("match", model::key_name(&pattern));
    if !cursor.is_empty() {
        v.check("cursor", model::cursor(&cursor));
    }
    v.finish()?;
    let count = bounded("count", query.count, 10, 1000, 100)?;

    let redis = &state.redis;
    let prefix = redis.keys.prefix();
    let (keys, next_cursor) = redis
        .scan_page(
            &cursor,
            &format!("{}{}", glob_escape(prefix), pattern),
            count,
        )
        .await
        .map_err(|err| match err.downcast::<redis::RedisError>() {
            Ok(err) => AppError::from(err),
            Err(_) => AppError::invalid("cursor", "must be a cursor from a previous page"),
        })?;

    let mut batch = Batch::new();
    for key in &keys {
        batch.add(key.clone(), redis::cmd("TYPE").arg(key).clone());
        batch.add(key.clone(), redis::cmd("PTTL").arg(key).clone());
    }
    let replies = batch.run(&redis.conn).await?;
    let items = keys
        .iter()
        .zip(replies.chunks(2))
        .map(|(key, pair)| {
            let kind: String =
                redis::from_redis_value(pair[0].clone()).unwrap_or_else(|_| "none".into());
            let ttl: i64 = redis::from_redis_value(pair[1].clone()).unwrap_or(-2);
            KeyInfo {
                key: key.strip_prefix(prefix).unwrap_or(key).to_string(),
                kind,
                ttl_ms: (ttl >= 0).then_some(ttl),
            }
        })
        .collect();
    Ok(Json(KeyPage { items, next_cursor }))
}

/// Escapes glob metacharacters so the prefix matches only itself.
fn glob_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Memory of a key
///
/// Admin only. `key` is a key as listed by `GET /v1/admin/keys` (URL-encode its braces
/// and colons if your client does not).
///
/// Redis: `MEMORY USAGE key SAMPLES 0`.
#[utoipa::path(get, path = "/v1/admin/keys/{key}/memory", tag = "admin",
    params(("key" = String, Path, description = "A key as listed by GET /v1/admin/keys")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Bytes used by the key", body = KeyMemory),
        responses::Unauthorized, responses::Forbidden, responses::NotFound, responses::Invalid,
        responses::Unavailable
    ))]
pub async fn key_memory(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(key): Path<String>,
) -> AppResult<Json<KeyMemory>> {
    auth.require_admin()?;
    model::key_name(&key).map_err(|m| AppError::invalid("key", m))?;
    let full = format!("{}{}", state.redis.keys.prefix(), key);
    let bytes: Option<u64> = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(&full)
        .arg("SAMPLES")
        .arg(0)
        .query_async(&mut state.redis.conn())
        .await?;
    let bytes = bytes.ok_or(AppError::NotFound("key"))?;
    Ok(Json(KeyMemory { key, bytes }))
}
