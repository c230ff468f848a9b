//! HTTP handlers for follows.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::model::{CommonQuery, FollowPage};
use super::repo::Side;
use super::service;
use crate::error::{AppError, AppResult, responses};
use crate::extract::{AppQuery, AuthUser, ValidPath, resolve_user_id};
use crate::pagination::{PageQuery, PartScoreCursor};
use crate::state::AppState;
use crate::validate;

/// Follow a user
///
/// `{id}` is `me` (or, for an admin, any user). Idempotent: following again keeps the
/// original time. Also merges the target's newest posts (up to 200) into the home
/// timeline and records a `follow` activity.
///
/// Redis: `EXISTS user:{target}`; `EVALSHA zadd_if_exists` on `user:{id}:following`
/// (ZADD NX), then on `user:{target}:followers`; `ZRANGE user:{target}:posts … REV`;
/// `EVALSHA zadd_if_exists` on `user:{id}:timeline` (ZADD + ZREMRANGEBYRANK cap 800)
/// and on `user:{id}:activity` (cap 1000).
#[utoipa::path(put, path = "/v1/users/{id}/following/{target}", tag = "follows",
    params(("id" = String, Path, description = "`me`"),
        ("target" = String, Path, description = "The user to follow")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "Following"),
        responses::Unauthorized, responses::Forbidden, responses::NotFound,
        (status = 422, description = "Invalid id, or following oneself",
            body = crate::error::Problem, content_type = "application/problem+json"),
        responses::Unavailable
    ))]
pub async fn follow(
    State(state): State<AppState>,
    auth: AuthUser,
    ValidPath((id, target)): ValidPath<(String, String)>,
) -> AppResult<StatusCode> {
    let (id, target) = user_and_target(&auth, &id, &target)?;
    service::follow(&state.redis, &id, &target).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unfollow a user
///
/// Idempotent. The target's posts leave the home timeline.
///
/// Redis: `ZREM user:{target}:followers`, `ZREM user:{id}:following`; `ZRANGE
/// user:{id}:timeline 0 0 WITHSCORES`, `ZRANGE user:{target}:posts <oldest> +inf
/// BYSCORE`, `ZREM user:{id}:timeline`.
#[utoipa::path(delete, path = "/v1/users/{id}/following/{target}", tag = "follows",
    params(("id" = String, Path, description = "`me`"),
        ("target" = String, Path, description = "The user to unfollow")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "Not following"),
        responses::Unauthorized, responses::Forbidden, responses::Invalid, responses::Unavailable
    ))]
pub async fn unfollow(
    State(state): State<AppState>,
    auth: AuthUser,
    ValidPath((id, target)): ValidPath<(String, String)>,
) -> AppResult<StatusCode> {
    let (id, target) = user_and_target(&auth, &id, &target)?;
    service::unfollow(&state.redis, &id, &target).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The acting user (`me`, or any user for an admin) and the validated target (`me`
/// meaning the session user, which the service then refuses as a self-follow).
fn user_and_target(auth: &AuthUser, id: &str, target: &str) -> AppResult<(String, String)> {
    let id = auth.owned_user_id(id)?;
    if target == "me" {
        return Ok((id, auth.user_id.clone()));
    }
    Ok((id, target.to_string()))
}

/// A user's followers
///
/// Newest first, with the time each follow happened.
///
/// Redis: one pipeline in the user's slot: `EXISTS user:{id}`, `ZRANGE
/// user:{id}:followers <cursor> -inf BYSCORE REV LIMIT … WITHSCORES`; then `HMGET
/// user:{follower} id username name avatar` for the page (one batch).
#[utoipa::path(get, path = "/v1/users/{id}/followers", tag = "follows",
    params(("id" = String, Path, description = "User id, or `me`"), PageQuery),
    security((), ("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Who follows the user, newest first", body = FollowPage),
        responses::Unauthorized, responses::NotFound, responses::Invalid, responses::Unavailable
    ))]
pub async fn followers(
    State(state): State<AppState>,
    auth: Option<AuthUser>,
    ValidPath(id): ValidPath<String>,
    AppQuery(page): AppQuery<PageQuery>,
) -> AppResult<Json<FollowPage>> {
    list(state, auth, id, page, Side::Followers).await
}

/// Whom a user follows
///
/// Newest first, with the time each follow happened.
///
/// Redis: one pipeline in the user's slot: `EXISTS user:{id}`, `ZRANGE
/// user:{id}:following <cursor> -inf BYSCORE REV LIMIT … WITHSCORES`; then `HMGET
/// user:{followed} id username name avatar` for the page (one batch).
#[utoipa::path(get, path = "/v1/users/{id}/following", tag = "follows",
    params(("id" = String, Path, description = "User id, or `me`"), PageQuery),
    security((), ("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Whom the user follows, newest first", body = FollowPage),
        responses::Unauthorized, responses::NotFound, responses::Invalid, responses::Unavailable
    ))]
pub async fn following(
    State(state): State<AppState>,
    auth: Option<AuthUser>,
    ValidPath(id): ValidPath<String>,
    AppQuery(page): AppQuery<PageQuery>,
) -> AppResult<Json<FollowPage>> {
    list(state, auth, id, page, Side::Following).await
}

async fn list(
    state: AppState,
    auth: Option<AuthUser>,
    id: String,
    page: PageQuery,
    side: Side,
) -> AppResult<Json<FollowPage>> {
    let id = resolve_user_id(&id, auth.as_ref())?;
    let (limit, after) = page.by_score()?;
    Ok(Json(
        service::list(&state.redis, &id, side, limit, after.as_ref()).await?,
    ))
}

/// Common followers
///
/// Users who follow both `{id}` and `?with=`; `followed_at` is the later of their two
/// follows. Pages come newest first by the time they followed whichever of the two
/// users had fewer followers when the first page was asked for (the cursor keeps to
/// that side).
///
/// Bounded: a request examines at most about 1000 followers whatever the sizes of the
/// two sets, so a page may hold fewer than `limit` users, or none, while `next_cursor`
/// is not null: keep following it.
///
/// Redis (both topologies): `EXISTS` of both users; `ZCARD` of both followers sets
/// (first page); then per round `ZRANGE user:{x}:followers <cursor> -inf BYSCORE REV
/// LIMIT 0 200 WITHSCORES` of the smaller and `ZMSCORE` of those members in the other;
/// then `HMGET` of the page's users (one batch).
#[utoipa::path(get, path = "/v1/users/{id}/common-followers", tag = "follows",
    params(("id" = String, Path, description = "User id, or `me`"), CommonQuery, PageQuery),
    security((), ("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Users who follow both", body = FollowPage),
        responses::Unauthorized, responses::NotFound, responses::Invalid, responses::Unavailable
    ))]
pub async fn common_followers(
    State(state): State<AppState>,
    auth: Option<AuthUser>,
    ValidPath(id): ValidPath<String>,
    AppQuery(common): AppQuery<CommonQuery>,
    AppQuery(page): AppQuery<PageQuery>,
) -> AppResult<Json<FollowPage>> {
    let id = resolve_user_id(&id, auth.as_ref())?;
    let with = common
        .with
        .ok_or_else(|| AppError::invalid("with", "name the other user: ?with=<id>"))?;
    let with = if with == "me" {
        resolve_user_id(&with, auth.as_ref())?
    } else {
        validate::path_id("with", &with)?;
        with
    };
    let limit = page.limit()?;
    let cursor = page
        .cursor
        .as_deref()
        .map(PartScoreCursor::decode)
        .transpose()?;
    Ok(Json(
        service::common_followers(&state.redis, &id, &with, limit, cursor).await?,
    ))
}
