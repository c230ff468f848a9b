//! HTTP handlers for locks. Any authenticated user may take a free lock; only the
//! holder of its token may extend or release it.

use super::model::{AcquireLock, ExtendLock, Lock, ReleaseLock, check_ttl};
use super::repo::{self, Held};
use crate::error::{AppError, AppResult, responses};
use crate::extract::{AppJson, AuthUser, ValidPath};
use crate::state::AppState;
use crate::time;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

fn not_holder() -> AppError {
    AppError::Conflict {
        kind: "not-lock-holder",
        detail: "That token does not hold this lock (it was released, or expired and may have been taken by someone else).".into(),
    }
}

fn lock(resource: String, token: String, fencing_token: u64, ttl_ms: i64) -> Lock {
    Lock {
        resource,
        token,
        fencing_token,
        expires_at: time::rfc3339_from_ms(time::unix_ms(time::now()) + ttl_ms),
    }
}

/// The lock's TTL, 422 naming `ttl_ms` when out of range (the resource was checked by
/// `ValidPath`).
fn check(ttl_ms: i64) -> AppResult<()> {
    check_ttl(ttl_ms).map_err(|m| AppError::invalid("ttl_ms", m))
}

/// Take a lock
///
/// Succeeds only if nobody holds the lock (SET NX PX, atomic). The answer carries the
/// random `token` that proves holding and a `fencing_token` that strictly increases
/// with every acquisition of the resource. 409 `lock-held` while someone holds it.
/// The fencing counter is kept `AGORA_LOCK_FENCE_RETENTION_SECS` (default 7 days)
/// after the last acquire or extend; a resource whose counter is gone (or never
/// existed) starts from the Redis clock in microseconds, so tokens never go back.
///
/// Redis: `EVALSHA acquire_lock` (`SET lock:{resource} <token> NX PX <ttl>`, then
/// `INCR lock:{resource}:fence`, or `TIME` + `SET` when it is gone, and `PEXPIRE`;
/// `PTTL` when held).
#[utoipa::path(post, path = "/v1/locks/{resource}", tag = "locks",
    params(("resource" = String, Path, description = "What is locked: 1 to 64 letters, digits, `_` or `-`")),
    request_body = AcquireLock,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 201, description = "Acquired", body = Lock),
        responses::BadRequest, responses::Unauthorized,
        (status = 409, description = "`lock-held`: someone else holds the lock",
            body = crate::error::Problem, content_type = "application/problem+json"),
        responses::NotJson, responses::Invalid, responses::Unavailable
    ))]
pub async fn acquire_lock(
    State(state): State<AppState>,
    _auth: AuthUser,
    ValidPath(resource): ValidPath<String>,
    AppJson(input): AppJson<AcquireLock>,
) -> AppResult<impl IntoResponse> {
    check(input.ttl_ms)?;
    let token = hex::encode(rand::random::<[u8; 16]>());
    match repo::acquire(
        &state.redis,
        &resource,
        &token,
        input.ttl_ms,
        state.settings.lock_fence_retention(),
    )
    .await?
    {
        Ok(fence) => Ok((
            StatusCode::CREATED,
            Json(lock(resource, token, fence, input.ttl_ms)),
        )),
        Err(Held::ByAnother { remaining_ms }) => Err(AppError::Conflict {
            kind: "lock-held",
            detail: format!("Someone else holds this lock, for up to {remaining_ms} ms more."),
        }),
    }
}

/// Extend a lock
///
/// Only the holder (compare-and-expire in one script): sets the TTL to `ttl_ms` from
/// now. 409 `not-lock-holder` for any other token, including one whose lock expired.
///
/// Redis: `EVALSHA extend_lock` (`GET lock:{resource}`, `PEXPIRE` of the lock and of
/// its fencing counter, `GET lock:{resource}:fence`).
#[utoipa::path(patch, path = "/v1/locks/{resource}", tag = "locks",
    params(("resource" = String, Path, description = "What is locked")),
    request_body = ExtendLock,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Extended", body = Lock),
        responses::BadRequest, responses::Unauthorized,
        (status = 409, description = "`not-lock-holder`: the token does not hold the lock",
            body = crate::error::Problem, content_type = "application/problem+json"),
        responses::NotJson, responses::Invalid, responses::Unavailable
    ))]
pub async fn extend_lock(
    State(state): State<AppState>,
    _auth: AuthUser,
    ValidPath(resource): ValidPath<String>,
    AppJson(input): AppJson<ExtendLock>,
) -> AppResult<Json<Lock>> {
    check(input.ttl_ms)?;
    let fence = repo::extend(
        &state.redis,
        &resource,
        &input.token,
        input.ttl_ms,
        state.settings.lock_fence_retention(),
    )
    .await?
    .ok_or_else(not_holder)?;
    Ok(Json(lock(resource, input.token, fence, input.ttl_ms)))
}

/// Release a lock
///
/// Only the holder (compare-and-delete in one script): a stale token never frees
/// someone else's lock. 409 `not-lock-holder` otherwise.
///
/// Redis: `EVALSHA release_lock` (`GET lock:{resource}`, `DEL`).
#[utoipa::path(delete, path = "/v1/locks/{resource}", tag = "locks",
    params(("resource" = String, Path, description = "What is locked")),
    request_body = ReleaseLock,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "Released"),
        responses::BadRequest, responses::Unauthorized,
        (status = 409, description = "`not-lock-holder`: the token does not hold the lock",
            body = crate::error::Problem, content_type = "application/problem+json"),
        responses::NotJson, responses::Invalid, responses::Unavailable
    ))]
pub async fn release_lock(
    State(state): State<AppState>,
    _auth: AuthUser,
    ValidPath(resource): ValidPath<String>,
    AppJson(input): AppJson<ReleaseLock>,
) -> AppResult<StatusCode> {
    if repo::release(&state.redis, &resource, &input.token).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_holder())
    }
}
