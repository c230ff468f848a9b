//! HTTP handlers for the home and activity feeds.

use axum::Json;
use axum::extract::State;

use super::model::ActivityPage;
use super::service;
use crate::error::{AppResult, responses};
use crate::extract::{AppQuery, AuthUser, ValidPath, resolve_user_id};
use crate::pagination::PageQuery;
use crate::social::posts::model::PostPage;
use crate::state::AppState;

/// Home feed
///
/// `{id}` is `me` (or, for an admin, any user). Posts of the people the user follows
/// and their own, newest first: the fanned-out timeline (its newest 800 entries)
/// merged with the posts of followed authors who have too many followers to be fanned
/// out. Deleted posts never show.
///
/// Redis: `ZRANGE user:{id}:timeline <cursor> -inf BYSCORE REV LIMIT … WITHSCORES` and
/// `SMEMBERS users:celebrities` (together); if any: `ZMSCORE user:{id}:following …`,
/// then `ZRANGE user:{c}:posts …` for each followed one (one batch); `HGETALL
/// post:{p}` for the page (one batch); `ZREM` of ids whose post is gone.
#[utoipa::path(get, path = "/v1/users/{id}/feed", tag = "feeds",
    params(("id" = String, Path, description = "`me`"), PageQuery),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The home feed, newest first", body = PostPage),
        responses::Unauthorized, responses::Forbidden, responses::Invalid, responses::Unavailable
    ))]
pub async fn home_feed(
    State(state): State<AppState>,
    auth: AuthUser,
    ValidPath(id): ValidPath<String>,
    AppQuery(page): AppQuery<PageQuery>,
) -> AppResult<Json<PostPage>> {
    let id = auth.owned_user_id(&id)?;
    let (limit, after) = page.by_score()?;
    Ok(Json(
        service::home(&state.redis, &id, limit, after.as_ref()).await?,
    ))
}

/// Activity feed
///
/// What the user did (`post`, `like`, `comment`, `follow`), newest first; the last
/// 1000 entries are kept.
///
/// Redis: one pipeline in the user's slot: `EXISTS user:{id}`, `ZRANGE
/// user:{id}:activity <cursor> -inf BYSCORE REV LIMIT … WITHSCORES`.
#[utoipa::path(get, path = "/v1/users/{id}/activity", tag = "feeds",
    params(("id" = String, Path, description = "User id, or `me`"), PageQuery),
    security((), ("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The user's activity, newest first", body = ActivityPage),
        responses::Unauthorized, responses::NotFound, responses::Invalid, responses::Unavailable
    ))]
pub async fn activity(
    State(state): State<AppState>,
    auth: Option<AuthUser>,
    ValidPath(id): ValidPath<String>,
    AppQuery(page): AppQuery<PageQuery>,
) -> AppResult<Json<ActivityPage>> {
    let id = resolve_user_id(&id, auth.as_ref())?;
    let (limit, after) = page.by_score()?;
    Ok(Json(
        service::activity(&state.redis, &id, limit, after.as_ref()).await?,
    ))
}
