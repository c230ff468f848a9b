//! HTTP handlers for tags: parse, authorize, call the repository or service, respond.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::model::{TagSearch, UserIdPage, UserPage, parse_tag};
use super::{repo, service};
use crate::app::AppState;
use crate::error::{AppError, AppResult, responses};
use crate::extract::{AppQuery, AuthUser, resolve_user_id};
use crate::pagination::PageQuery;

/// Tag a user
///
/// Owner or admin; `me` is the session user. Idempotent. Tags are lower-cased.
///
/// Redis: `EVALSHA sadd_if_exists` (EXISTS `user:{id}`, SADD `user:{id}:tags`), then
/// `SADD tag:{tag}:users`.
#[utoipa::path(put, path = "/v1/users/{id}/tags/{tag}", tag = "tags",
    params(("id" = String, Path, description = "User id, or `me`"),
        ("tag" = String, Path, description = "1 to 32 of letters, digits, `_ - .`")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "The user has the tag"),
        responses::Unauthorized, responses::Forbidden, responses::NotFound, responses::Invalid,
        responses::Unavailable
    ))]
pub async fn tag_user(
    State(state): State<AppState>,
    auth: AuthUser,
    Path((id, tag)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let id = auth.owned_user_id(&id)?;
    let tag = parse_tag("tag", &tag)?;
    if repo::add(&state.redis, &id, &tag).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound("user"))
    }
}

/// Untag a user
///
/// Owner or admin. Idempotent: removing a tag the user does not have is a 204 too.
///
/// Redis: `SREM tag:{tag}:users`, then `SREM user:{id}:tags`.
#[utoipa::path(delete, path = "/v1/users/{id}/tags/{tag}", tag = "tags",
    params(("id" = String, Path, description = "User id, or `me`"),
        ("tag" = String, Path, description = "The tag")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "The user no longer has the tag"),
        responses::Unauthorized, responses::Forbidden, responses::Invalid, responses::Unavailable
    ))]
pub async fn untag_user(
    State(state): State<AppState>,
    auth: AuthUser,
    Path((id, tag)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let id = auth.owned_user_id(&id)?;
    let tag = parse_tag("tag", &tag)?;
    repo::remove(&state.redis, &id, &tag).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's tags
///
/// Sorted by name.
///
/// Redis: one pipeline in the user's slot: `EXISTS user:{id}`, `SMEMBERS user:{id}:tags`.
#[utoipa::path(get, path = "/v1/users/{id}/tags", tag = "tags",
    params(("id" = String, Path, description = "User id, or `me`")),
    security((), ("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The user's tags", body = Vec<String>,
            example = json!(["developer", "premium"])),
        responses::Unauthorized, responses::NotFound, responses::Invalid, responses::Unavailable
    ))]
pub async fn user_tags(
    State(state): State<AppState>,
    auth: Option<AuthUser>,
    Path(id): Path<String>,
) -> AppResult<Json<Vec<String>>> {
    let id = resolve_user_id(&id, auth.as_ref())?;
    repo::of_user(&state.redis, &id)
        .await?
        .map(Json)
        .ok_or(AppError::NotFound("user"))
}

/// Users with a tag
///
/// Their ids, in id order, a page at a time. Ids whose user is gone are skipped (and
/// removed from the index).
///
/// Redis: `SMEMBERS tag:{tag}:users`, then `HMGET user:{id} id` for the page (one
/// batch, one pipeline per slot on a cluster).
#[utoipa::path(get, path = "/v1/tags/{tag}/users", tag = "tags",
    params(("tag" = String, Path, description = "The tag"), PageQuery),
    responses(
        (status = 200, description = "Ids of the users with the tag", body = UserIdPage),
        responses::Invalid, responses::Unavailable
    ))]
pub async fn tag_members(
    State(state): State<AppState>,
    Path(tag): Path<String>,
    AppQuery(page): AppQuery<PageQuery>,
) -> AppResult<Json<UserIdPage>> {
    let tag = parse_tag("tag", &tag)?;
    let (limit, after) = page.by_id()?;
    Ok(Json(
        service::members(&state.redis, &tag, limit, after.as_deref()).await?,
    ))
}

/// Find users by tags
///
/// `?tags_all=a,b`: users with every tag; `?tags_any=a,b`: users with at least one.
/// Exactly one of the two; up to 10 tags. Users come in id order, a page at a time.
///
/// Redis: on one node (or when the tag sets share a slot) `SINTER` / `SUNION` of
/// `tag:{…}:users`; on a cluster `SCARD` of each, `SMEMBERS` of the smallest and
/// `SMISMEMBER` against the others (all) or `SMEMBERS` of each (any), combined in the
/// service. Then `HGETALL user:{id}` + `ZCARD` ×2 for the page in one batch.
#[utoipa::path(get, path = "/v1/users", tag = "tags",
    params(TagSearch, PageQuery),
    responses(
        (status = 200, description = "The matching users", body = UserPage),
        responses::Invalid, responses::Unavailable
    ))]
pub async fn find_users(
    State(state): State<AppState>,
    AppQuery(search): AppQuery<TagSearch>,
    AppQuery(page): AppQuery<PageQuery>,
) -> AppResult<Json<UserPage>> {
    let search = search.parse()?;
    let (limit, after) = page.by_id()?;
    Ok(Json(
        service::find_users(&state.redis, &search, limit, after.as_deref()).await?,
    ))
}
