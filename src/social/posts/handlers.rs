//! HTTP handlers for posts, likes and comments.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::model::{Comment, CommentPage, NewComment, NewPost, Post, PostPage};
use super::{repo, service};
use crate::error::{AppError, AppResult, responses};
use crate::extract::{AppJson, AppQuery, AuthUser, ValidPath, resolve_user_id};
use crate::pagination::PageQuery;
use crate::state::AppState;

/// Publish a post
///
/// The author's name and avatar are copied into the post. The post is pushed into the
/// home timeline of the author and of each follower, unless the author has more
/// followers than `AGORA_FANOUT_MAX_FOLLOWERS` (their followers' feeds pull it).
///
/// Redis: `HMGET user:{id}` + `ZCARD`/`ZRANGE user:{id}:followers 0 <max>` (together);
/// `INCR posts:next_id`; `HSET post:{p}`; (`SADD users:celebrities`); `EVALSHA
/// zadd_if_exists` on `user:{id}:posts`; `MULTI ZADD ZREMRANGEBYRANK posts:recent
/// EXEC`; `EVALSHA zadd_if_exists` (ZADD + ZREMRANGEBYRANK 800) on every
/// `user:{f}:timeline`, 1000 per batch, one pipeline per slot; `EVALSHA
/// zadd_if_exists` on `user:{id}:activity`.
#[utoipa::path(post, path = "/v1/posts", tag = "posts",
    request_body = NewPost,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 201, description = "Published; `Location` names the post", body = Post,
            headers(("Location" = String, description = "/v1/posts/{id}"))),
        responses::BadRequest, responses::Unauthorized, responses::TooLarge, responses::NotJson,
        responses::Invalid, responses::Unavailable
    ))]
pub async fn create_post(
    State(state): State<AppState>,
    auth: AuthUser,
    AppJson(input): AppJson<NewPost>,
) -> AppResult<impl IntoResponse> {
    let fan_out_max = state.settings.fanout_max_followers;
    let post = service::create(&state.redis, fan_out_max, &auth.user_id, input).await?;
    let location = format!("/v1/posts/{}", post.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(post),
    ))
}

/// Recent posts
///
/// Every author's posts, newest first (the newest 10,000 are indexed).
///
/// Redis: `ZRANGE posts:recent <cursor> -inf BYSCORE REV LIMIT … WITHSCORES`, then
/// `HGETALL post:{p}` for the whole page in one pipeline (one per slot on a cluster):
/// two round trips whatever the page size.
#[utoipa::path(get, path = "/v1/posts", tag = "posts",
    params(PageQuery),
    responses(
        (status = 200, description = "Posts, newest first", body = PostPage),
        responses::Invalid, responses::Unavailable
    ))]
pub async fn list_posts(
    State(state): State<AppState>,
    AppQuery(page): AppQuery<PageQuery>,
) -> AppResult<Json<PostPage>> {
    let (limit, after) = page.by_score()?;
    Ok(Json(
        service::recent(&state.redis, limit, after.as_ref()).await?,
    ))
}

/// A post
///
/// Redis: `HGETALL post:{p}`.
#[utoipa::path(get, path = "/v1/posts/{id}", tag = "posts",
    params(("id" = String, Path, description = "Post id")),
    responses(
        (status = 200, description = "The post", body = Post),
        responses::NotFound, responses::Invalid, responses::Unavailable
    ))]
pub async fn get_post(
    State(state): State<AppState>,
    ValidPath(id): ValidPath<String>,
) -> AppResult<Json<Post>> {
    repo::get(&state.redis, &id)
        .await?
        .map(Json)
        .ok_or(AppError::NotFound("post"))
}

/// Delete a post
///
/// Its author or an admin. The post leaves every index and timeline, with its likes
/// and comments.
///
/// Redis: `HGET post:{p} author_id`; `ZCARD`/`ZRANGE user:{a}:followers 0 <max>`;
/// `ZREM posts:recent`, `ZREM user:{a}:posts`; `ZREM user:{f}:timeline` for the author
/// and each follower (batched by slot); `DEL post:{p} post:{p}:likes post:{p}:comments`.
#[utoipa::path(delete, path = "/v1/posts/{id}", tag = "posts",
    params(("id" = String, Path, description = "Post id")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "Deleted"),
        responses::Unauthorized, responses::Forbidden, responses::NotFound, responses::Invalid,
        responses::Unavailable
    ))]
pub async fn delete_post(
    State(state): State<AppState>,
    auth: AuthUser,
    ValidPath(id): ValidPath<String>,
) -> AppResult<StatusCode> {
    let fan_out_max = state.settings.fanout_max_followers;
    service::delete(&state.redis, fan_out_max, &id, |author| {
        auth.may_act_for(author)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's posts
///
/// Newest first.
///
/// Redis: one pipeline in the user's slot: `EXISTS user:{id}`, `ZRANGE
/// user:{id}:posts <cursor> -inf BYSCORE REV LIMIT … WITHSCORES`; then `HGETALL
/// post:{p}` for the page in one batch.
#[utoipa::path(get, path = "/v1/users/{id}/posts", tag = "posts",
    params(("id" = String, Path, description = "User id, or `me`"), PageQuery),
    security((), ("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The user's posts, newest first", body = PostPage),
        responses::Unauthorized, responses::NotFound, responses::Invalid, responses::Unavailable
    ))]
pub async fn author_posts(
    State(state): State<AppState>,
    auth: Option<AuthUser>,
    ValidPath(id): ValidPath<String>,
    AppQuery(page): AppQuery<PageQuery>,
) -> AppResult<Json<PostPage>> {
    let id = resolve_user_id(&id, auth.as_ref())?;
    let (limit, after) = page.by_score()?;
    Ok(Json(
        service::by_author(&state.redis, &id, limit, after.as_ref()).await?,
    ))
}

/// Like a post
///
/// `{user}` is `me`. Idempotent: each user counts once. A new like is recorded in the
/// user's activity.
///
/// Redis: `EVALSHA set_like` (EXISTS, SADD `post:{p}:likes`, SCARD, HSET `likes` in
/// the post's slot); `EVALSHA zadd_if_exists` on `user:{id}:activity`.
#[utoipa::path(put, path = "/v1/posts/{id}/likes/{user}", tag = "posts",
    params(("id" = String, Path, description = "Post id"),
        ("user" = String, Path, description = "`me`")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "Liked"),
        responses::Unauthorized, responses::Forbidden, responses::NotFound, responses::Invalid,
        responses::Unavailable
    ))]
pub async fn like(
    State(state): State<AppState>,
    auth: AuthUser,
    ValidPath((id, user)): ValidPath<(String, String)>,
) -> AppResult<StatusCode> {
    set_like(state, auth, id, user, true).await
}

/// Unlike a post
///
/// `{user}` is `me`. Idempotent.
///
/// Redis: `EVALSHA set_like` (EXISTS, SREM `post:{p}:likes`, SCARD, HSET `likes`).
#[utoipa::path(delete, path = "/v1/posts/{id}/likes/{user}", tag = "posts",
    params(("id" = String, Path, description = "Post id"),
        ("user" = String, Path, description = "`me`")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "Not liked"),
        responses::Unauthorized, responses::Forbidden, responses::NotFound, responses::Invalid,
        responses::Unavailable
    ))]
pub async fn unlike(
    State(state): State<AppState>,
    auth: AuthUser,
    ValidPath((id, user)): ValidPath<(String, String)>,
) -> AppResult<StatusCode> {
    set_like(state, auth, id, user, false).await
}

async fn set_like(
    state: AppState,
    auth: AuthUser,
    id: String,
    user: String,
    like: bool,
) -> AppResult<StatusCode> {
    let user = auth.owned_user_id(&user)?;
    service::set_like(&state.redis, &id, &user, like).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Comment on a post
///
/// Recorded in the commenter's activity.
///
/// Redis: `EVALSHA add_comment` (EXISTS, ZADD `post:{p}:comments`, ZCARD, HSET
/// `comments_count`); `EVALSHA zadd_if_exists` on `user:{id}:activity`.
#[utoipa::path(post, path = "/v1/posts/{id}/comments", tag = "posts",
    params(("id" = String, Path, description = "Post id")),
    request_body = NewComment,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 201, description = "The comment", body = Comment),
        responses::BadRequest, responses::Unauthorized, responses::NotFound,
        responses::TooLarge, responses::NotJson, responses::Invalid, responses::Unavailable
    ))]
pub async fn add_comment(
    State(state): State<AppState>,
    auth: AuthUser,
    ValidPath(id): ValidPath<String>,
    AppJson(input): AppJson<NewComment>,
) -> AppResult<(StatusCode, Json<Comment>)> {
    let comment = service::comment(&state.redis, &id, &auth.user_id, input).await?;
    Ok((StatusCode::CREATED, Json(comment)))
}

/// A post's comments
///
/// Newest first.
///
/// Redis: one pipeline in the post's slot: `EXISTS post:{p}`, `ZRANGE
/// post:{p}:comments <cursor> -inf BYSCORE REV LIMIT … WITHSCORES`.
#[utoipa::path(get, path = "/v1/posts/{id}/comments", tag = "posts",
    params(("id" = String, Path, description = "Post id"), PageQuery),
    responses(
        (status = 200, description = "Comments, newest first", body = CommentPage),
        responses::NotFound, responses::Invalid, responses::Unavailable
    ))]
pub async fn list_comments(
    State(state): State<AppState>,
    ValidPath(id): ValidPath<String>,
    AppQuery(page): AppQuery<PageQuery>,
) -> AppResult<Json<CommentPage>> {
    let (limit, after) = page.by_score()?;
    Ok(Json(
        service::comments(&state.redis, &id, limit, after.as_ref()).await?,
    ))
}
