//! HTTP handlers for tags: parse, authorize, call the repository or service, respond.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::model::{TagSearch, UserIdPage, UserPage, parse_tag};
use super::{repo, service};
use crate::error::{AppError, AppResult, responses};
use crate::extract::{AppQuery, AuthUser, ValidPath, resolve_user_id};
use crate::pagination::{PageQuery, SetCursor};
use crate::state::AppState;

/// Tag a user
///
/// Owner or admin; `me` is the session user. Idempotent. Tags are lower-cased. A user
/// carries at most 50 tags (422 naming `tag` past that).
///
/// Redis: `EVALSHA sadd_if_exists` (EXISTS `user:{id}`, SISMEMBER + SCARD for the cap,
/// SADD `user:{id}:tags`), then
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
    ValidPath(id): ValidPath<String>,
) -> AppResult<Json<Vec<String>>> {
    let id = resolve_user_id(&id, auth.as_ref())?;
    repo::of_user(&state.redis, &id)
        .await?
        .map(Json)
        .ok_or(AppError::NotFound("user"))
}

/// Users with a tag
///
/// Their ids, a page at a time, in no particular order (the set is walked with SSCAN,
/// so a page costs about its size however many users carry the tag). Every user with
/// the tag for the whole walk comes at least once, and exactly once while the tag's set
/// does not change.
/// Ids whose user is gone are skipped (and removed from the index), so a page may hold
/// fewer than `limit` ids, or none, while `next_cursor` is not null.
///
/// Redis: `SSCAN tag:{tag}:users <cursor> COUNT n` (about `limit`, at most 8 per
/// request), then `HMGET user:{id} id` for the page (one batch, one pipeline per slot
/// on a cluster).
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
    let limit = page.limit()?;
    let cursor = SetCursor::from_query(page.cursor.as_deref())?;
    Ok(Json(
        service::members(&state.redis, &tag, limit, cursor).await?,
    ))
}

/// Find users by tags
///
/// `?tags_all=a,b`: users with every tag; `?tags_any=a,b`: users with at least one.
/// Exactly one of the two; up to 10 tags. Public profiles only (no e-mail, role or
/// login count), a page at a time, in no particular order.
///
/// Bounded: a request examines at most about 1000 index entries whatever the sizes of
/// the tag sets, so a page may hold fewer than `limit` users, or none, while
/// `next_cursor` is not null: keep following it. Every user matching for the whole
/// walk comes exactly once while the sets do not change (a user tagged or untagged
/// meanwhile may be missed or repeated).
///
/// Redis (both topologies, no SINTER/SUNION): `tags_all`: `SCARD` of each set (first
/// page), then `SSCAN` of the smallest and `SMISMEMBER` of each batch in the others;
/// `tags_any`: `SSCAN` of each set in turn, dropping members that an earlier set of
/// the query holds (`SMISMEMBER`). Then `HGETALL user:{id}` + `ZCARD` ×2 for the page
/// in one batch.
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
    let limit = page.limit()?;
    let cursor = SetCursor::from_query(page.cursor.as_deref())?;
    Ok(Json(
        service::find_users(&state.redis, &search, limit, cursor).await?,
    ))
}
