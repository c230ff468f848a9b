//! HTTP handlers for admin endpoints (admins only).

use axum::Json;
use axum::extract::{Path, State};

use super::model::{self, KeyMemory, KeyPage, KeysQuery};
use super::repo;
use crate::error::{AppError, AppResult, responses};
use crate::extract::{AdminUser, AppQuery};
use crate::jobs::{self, QueueStats};
use crate::state::AppState;
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
    _admin: AdminUser,
) -> AppResult<Json<QueueStats>> {
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
    _admin: AdminUser,
    AppQuery(query): AppQuery<KeysQuery>,
) -> AppResult<Json<KeyPage>> {
    let pattern = query.pattern.unwrap_or_else(|| "*".to_string());
    let cursor = query.cursor.unwrap_or_default();
    let mut v = Validator::new();
    v.check("match", model::key_name(&pattern));
    if !cursor.is_empty() {
        v.check("cursor", model::cursor(&cursor));
    }
    v.finish()?;
    let count = bounded("count", query.count, 10, 1000, 100)?;

    let (items, next_cursor) = repo::scan_keys(&state.redis, &cursor, &pattern, count).await?;
    Ok(Json(KeyPage { items, next_cursor }))
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
    _admin: AdminUser,
    Path(key): Path<String>,
) -> AppResult<Json<KeyMemory>> {
    model::key_name(&key).map_err(|m| AppError::invalid("key", m))?;
    let bytes = repo::memory_usage(&state.redis, &key)
        .await?
        .ok_or(AppError::NotFound("key"))?;
    Ok(Json(KeyMemory { key, bytes }))
}
