//! The `/api` operations: parse the spec's body, call the same service or repository
//! as `/v1`, answer the spec's shape. Each doc says which `/v1` operation it shares.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};

use super::error::{ApiError, ApiJson, ApiResult, GenericErrorModel, Reader};
use super::model::{
    ArticlesQuery, Comment, FeedQuery, LoginUserRequest, MultipleArticlesResponse,
    MultipleCommentsResponse, NewArticleRequest, NewCommentRequest, NewUserRequest, Profile,
    ProfileResponse, SingleArticleResponse, SingleCommentResponse, TagsResponse,
    UpdateArticleRequest, UpdateUserRequest, UserBody, UserResponse,
};
use super::view::{self, Paging};
use crate::accounts::{self, ClientInfo};
use crate::error::AppError;
use crate::extract::{AppQuery, ClientIp};
use crate::sessions::model::Login;
use crate::social::follows::service as follows;
use crate::social::posts::model::{NewComment, NewPost, Post, PostEdit};
use crate::social::posts::{repo as posts, service as post_service};
use crate::state::AppState;
use crate::users::model::{CreateUser, PasswordRule, UpdateUser, UserChanges};
use crate::users::repo as users;

/// A required text field: missing, null or blank is the spec's "can't be blank".
fn present(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|v| !v.trim().is_empty())
}

/// The fields of `pairs` that are not [`present`], as one 422.
fn require(pairs: &[(&'static str, &Option<String>)]) -> ApiResult<()> {
    let blank: Vec<&str> = pairs
        .iter()
        .filter(|(_, v)| !present(v))
        .map(|(f, _)| *f)
        .collect();
    ApiError::blank(&blank).map_or(Ok(()), Err)
}

/// A field of a PUT that may be absent but, when given, neither null nor blank.
fn not_blank(field: &'static str, value: Option<Option<String>>) -> ApiResult<Option<String>> {
    match value {
        None => Ok(None),
        Some(Some(v)) if !v.trim().is_empty() => Ok(Some(v)),
        Some(_) => Err(ApiError::blank(&[field]).expect("one field")),
    }
}

/// Tags as Agora stores them: trimmed and lower-cased (frontends send `Redis` and
/// `redis` alike; anything else a tag may not hold is still a 422 naming `tagList`).
fn tag_list(tags: Vec<String>) -> Vec<String> {
    tags.into_iter().map(|t| t.trim().to_lowercase()).collect()
}

/// The post a slug names, or 404 `article`.
async fn post_by_slug(state: &AppState, slug: &str) -> ApiResult<Post> {
    post_service::by_slug(&state.redis, slug)
        .await?
        .ok_or_else(|| ApiError::not_found("article"))
}

async fn article_response(
    state: &AppState,
    reader: Option<&str>,
    post: Post,
) -> ApiResult<Json<SingleArticleResponse>> {
    Ok(Json(SingleArticleResponse {
        article: view::article(&state.redis, reader, post).await?,
    }))
}

async fn user_response(
    state: &AppState,
    user_id: &str,
    token: String,
) -> ApiResult<Json<UserResponse>> {
    let user = users::get(&state.redis, user_id, None)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "token", "invalid"))?;
    Ok(Json(UserResponse {
        user: UserBody::new(user, token),
    }))
}

/// Register
///
/// `POST /v1/users` (the same registration, welcome e-mail included) under the spec's
/// password rule (8 to 128 characters), then a session opened as a login does: the
/// answer carries its token.
#[utoipa::path(post, path = "/api/users", tag = "realworld", operation_id = "realworld_register",
    request_body = NewUserRequest,
    responses(
        (status = 201, description = "Registered, with a session token", body = UserResponse),
        (status = 409, description = "Username or e-mail taken", body = GenericErrorModel),
        (status = 422, description = "A field is blank or invalid", body = GenericErrorModel)
    ))]
pub async fn register(
    State(state): State<AppState>,
    ClientIp(ip_address): ClientIp,
    headers: HeaderMap,
    ApiJson(input): ApiJson<NewUserRequest>,
) -> ApiResult<(StatusCode, Json<UserResponse>)> {
    let u = input.user;
    require(&[
        ("username", &u.username),
        ("email", &u.email),
        ("password", &u.password),
    ])?;
    let user = accounts::register_with(
        &state.redis,
        CreateUser {
            username: u.username.unwrap_or_default(),
            email: u.email.unwrap_or_default(),
            password: u.password.unwrap_or_default(),
            name: None,
            bio: None,
            avatar: None,
        },
        PasswordRule::LengthOnly,
    )
    .await?;
    let client = ClientInfo::of_request(ip_address, &headers);
    let token = accounts::open_session(&state.redis, &state.settings, &user.id, client).await?;
    Ok((
        StatusCode::CREATED,
        Json(UserResponse {
            user: UserBody::new(user, token),
        }),
    ))
}

/// Log in
///
/// `POST /v1/sessions`: the same login throttle, constant-time check and session.
#[utoipa::path(post, path = "/api/users/login", tag = "realworld", operation_id = "realworld_login",
    request_body = LoginUserRequest,
    responses(
        (status = 200, description = "Logged in", body = UserResponse),
        (status = 401, description = "Wrong e-mail or password (`credentials: invalid`)", body = GenericErrorModel),
        (status = 422, description = "A field is blank", body = GenericErrorModel)
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip_address): ClientIp,
    headers: HeaderMap,
    ApiJson(input): ApiJson<LoginUserRequest>,
) -> ApiResult<Json<UserResponse>> {
    let u = input.user;
    require(&[("email", &u.email), ("password", &u.password)])?;
    let client = ClientInfo::of_request(ip_address, &headers);
    let login = Login {
        login: u.email.unwrap_or_default(),
        password: u.password.unwrap_or_default(),
    };
    let (token, answer) = accounts::login(&state.redis, &state.settings, login, client)
        .await
        .map_err(|err| match err {
            AppError::Unauthorized(_) => {
                ApiError::new(StatusCode::UNAUTHORIZED, "credentials", "invalid")
            }
            other => ApiError::from(other),
        })?;
    Ok(Json(UserResponse {
        user: UserBody::new(answer.user, token),
    }))
}

/// Current user
///
/// `GET /v1/users/me`.
#[utoipa::path(get, path = "/api/user", tag = "realworld", operation_id = "realworld_current_user",
    security(("realworld_token" = [])),
    responses(
        (status = 200, description = "The signed-in user", body = UserResponse),
        (status = 401, description = "No token, or not a live session", body = GenericErrorModel)
    ))]
pub async fn current_user(
    State(state): State<AppState>,
    reader: Reader,
) -> ApiResult<Json<UserResponse>> {
    user_response(&state, &reader.auth.user_id, reader.token).await
}

/// Update the current user
///
/// `PATCH /v1/users/me` for `email`, `bio` and `image` (the avatar; null or empty
/// removes `bio` or `image`), a new `username` claimed like at registration (409 when
/// taken), and the password change of `/v1` for `password` without the current one
/// (the spec has no field for it; the session is the proof; every other session of
/// the user ends).
#[utoipa::path(put, path = "/api/user", tag = "realworld", operation_id = "realworld_update_user",
    request_body = UpdateUserRequest,
    security(("realworld_token" = [])),
    responses(
        (status = 200, description = "Updated", body = UserResponse),
        (status = 401, description = "No token, or not a live session", body = GenericErrorModel),
        (status = 409, description = "E-mail taken", body = GenericErrorModel),
        (status = 422, description = "A field is null, blank or invalid", body = GenericErrorModel)
    ))]
pub async fn update_user(
    State(state): State<AppState>,
    reader: Reader,
    ApiJson(input): ApiJson<UpdateUserRequest>,
) -> ApiResult<Json<UserResponse>> {
    let u = input.user;
    let email = not_blank("email", u.email)?;
    let username = not_blank("username", u.username)?;
    let password = not_blank("password", u.password)?;
    let removable = |v: Option<Option<String>>| v.map(Option::unwrap_or_default);
    let update = UpdateUser {
        name: None,
        bio: removable(u.bio),
        avatar: removable(u.image),
        email,
        current_password: None,
    };
    let mut changes = update.changes();
    if let Some(username) = &username {
        crate::validate::Validator::new()
            .check("username", crate::validate::username(username))
            .finish()?;
    }
    changes.username = username;
    let user_id = reader.auth.user_id.clone();
    if changes != UserChanges::default() {
        if update.changes() != UserChanges::default() {
            update.validate()?;
        }
        accounts::update(&state.redis, &user_id, &changes)
            .await?
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "token", "invalid"))?;
    }
    if let Some(password) = password {
        accounts::set_password(
            &state.redis,
            &user_id,
            password,
            PasswordRule::LengthOnly,
            &reader.auth.session_ref.id,
        )
        .await?;
    }
    user_response(&state, &user_id, reader.token).await
}

/// A profile
///
/// `GET /v1/users/{id}` by username, with `following` for the reader.
#[utoipa::path(get, path = "/api/profiles/{username}", tag = "realworld", operation_id = "realworld_get_profile",
    params(("username" = String, Path)),
    security((), ("realworld_token" = [])),
    responses(
        (status = 200, description = "The profile", body = ProfileResponse),
        (status = 404, description = "No such user (`profile: not found`)", body = GenericErrorModel)
    ))]
pub async fn get_profile(
    State(state): State<AppState>,
    reader: Option<Reader>,
    Path(username): Path<String>,
) -> ApiResult<Json<ProfileResponse>> {
    profile_response(
        &state,
        reader.as_ref().map(|r| r.auth.user_id.as_str()),
        &username,
    )
    .await
}

async fn profile_response(
    state: &AppState,
    reader: Option<&str>,
    username: &str,
) -> ApiResult<Json<ProfileResponse>> {
    let user = view::user_by_username(&state.redis, username)
        .await?
        .ok_or_else(|| ApiError::not_found("profile"))?;
    let profile = view::profiles(&state.redis, reader, std::slice::from_ref(&user.id))
        .await?
        .remove(&user.id)
        .ok_or_else(|| ApiError::not_found("profile"))?;
    Ok(Json(ProfileResponse { profile }))
}

/// Follow a user
///
/// `PUT /v1/users/me/following/{id}`: the same follow (both sides, the timeline
/// backfill, the notification). Idempotent.
#[utoipa::path(post, path = "/api/profiles/{username}/follow", tag = "realworld", operation_id = "realworld_follow",
    params(("username" = String, Path)),
    security(("realworld_token" = [])),
    responses(
        (status = 200, description = "Followed", body = ProfileResponse),
        (status = 401, description = "No token", body = GenericErrorModel),
        (status = 404, description = "No such user", body = GenericErrorModel),
        (status = 422, description = "Following yourself", body = GenericErrorModel)
    ))]
pub async fn follow(
    State(state): State<AppState>,
    reader: Reader,
    Path(username): Path<String>,
) -> ApiResult<Json<ProfileResponse>> {
    set_follow(&state, &reader, &username, true).await
}

/// Unfollow a user
///
/// `DELETE /v1/users/me/following/{id}`. Idempotent.
#[utoipa::path(delete, path = "/api/profiles/{username}/follow", tag = "realworld", operation_id = "realworld_unfollow",
    params(("username" = String, Path)),
    security(("realworld_token" = [])),
    responses(
        (status = 200, description = "Not followed", body = ProfileResponse),
        (status = 401, description = "No token", body = GenericErrorModel),
        (status = 404, description = "No such user", body = GenericErrorModel)
    ))]
pub async fn unfollow(
    State(state): State<AppState>,
    reader: Reader,
    Path(username): Path<String>,
) -> ApiResult<Json<ProfileResponse>> {
    set_follow(&state, &reader, &username, false).await
}

async fn set_follow(
    state: &AppState,
    reader: &Reader,
    username: &str,
    on: bool,
) -> ApiResult<Json<ProfileResponse>> {
    let target = view::user_by_username(&state.redis, username)
        .await?
        .ok_or_else(|| ApiError::not_found("profile"))?;
    let me = reader.auth.user_id.as_str();
    if on {
        follows::follow(&state.redis, me, &target.id).await?;
    } else {
        follows::unfollow(&state.redis, me, &target.id).await?;
    }
    Ok(Json(ProfileResponse {
        profile: Profile::new(&target, on),
    }))
}

/// Articles
///
/// Newest first, filtered by `tag`, `author` and `favorited` (a username), paged by
/// `offset` and `limit`, with the exact `articlesCount`. Bodies are left out.
///
/// Redis: `MULTI ZCARD ZREVRANGE EXEC` of one index (`posts:all`, `tag:{t}:posts`,
/// `user:{id}:posts` or `user:{id}:favorites`); `HGETALL post:{p}` for the page and
/// `HMGET user:{id}` for its authors (pipelined by slot); `ZMSCORE` for `favorited`
/// and `following`.
#[utoipa::path(get, path = "/api/articles", tag = "realworld", operation_id = "realworld_list_articles",
    params(ArticlesQuery),
    security((), ("realworld_token" = [])),
    responses(
        (status = 200, description = "A page of articles", body = MultipleArticlesResponse),
        (status = 422, description = "Bad paging, or filters too wide to combine", body = GenericErrorModel)
    ))]
pub async fn list_articles(
    State(state): State<AppState>,
    reader: Option<Reader>,
    query: Result<AppQuery<ArticlesQuery>, AppError>,
) -> ApiResult<Json<MultipleArticlesResponse>> {
    // A query the extractor refuses is the spec's error shape too, not problem+json.
    let AppQuery(query) = query?;
    let paging = Paging::parse(query.limit.as_deref(), query.offset.as_deref())?;
    Ok(Json(
        view::list(
            &state.redis,
            reader.as_ref().map(|r| r.auth.user_id.as_str()),
            // An empty filter (`?tag=`, as some frontends send) filters nothing.
            query.tag.as_deref().filter(|v| !v.is_empty()),
            query.author.as_deref().filter(|v| !v.is_empty()),
            query.favorited.as_deref().filter(|v| !v.is_empty()),
            paging,
        )
        .await?,
    ))
}

/// Feed
///
/// The reader's home timeline (`GET /v1/feed`): posts of the people they follow (and
/// their own), newest first, paged by `offset` and `limit`, with the exact count.
#[utoipa::path(get, path = "/api/articles/feed", tag = "realworld", operation_id = "realworld_feed",
    params(FeedQuery),
    security(("realworld_token" = [])),
    responses(
        (status = 200, description = "A page of the feed", body = MultipleArticlesResponse),
        (status = 401, description = "No token", body = GenericErrorModel),
        (status = 422, description = "A bad `limit` or `offset`", body = GenericErrorModel)
    ))]
pub async fn feed(
    State(state): State<AppState>,
    reader: Reader,
    query: Result<AppQuery<FeedQuery>, AppError>,
) -> ApiResult<Json<MultipleArticlesResponse>> {
    // A query the extractor refuses is the spec's error shape too, not problem+json.
    let AppQuery(query) = query?;
    let paging = Paging::parse(query.limit.as_deref(), query.offset.as_deref())?;
    Ok(Json(
        view::feed(&state.redis, &reader.auth.user_id, paging).await?,
    ))
}

/// Create an article
///
/// `POST /v1/posts` with `body` as the content: the same post, indexes, fan-out and
/// activity; the slug comes from the title (made unique with the post number).
#[utoipa::path(post, path = "/api/articles", tag = "realworld", operation_id = "realworld_create_article",
    request_body = NewArticleRequest,
    security(("realworld_token" = [])),
    responses(
        (status = 201, description = "Created", body = SingleArticleResponse),
        (status = 401, description = "No token", body = GenericErrorModel),
        (status = 422, description = "A field is blank or invalid", body = GenericErrorModel)
    ))]
pub async fn create_article(
    State(state): State<AppState>,
    reader: Reader,
    ApiJson(input): ApiJson<NewArticleRequest>,
) -> ApiResult<(StatusCode, Json<SingleArticleResponse>)> {
    let a = input.article;
    require(&[
        ("title", &a.title),
        ("description", &a.description),
        ("body", &a.body),
    ])?;
    let post = post_service::create(
        &state.redis,
        state.settings.fanout_max_followers,
        &reader.auth.user_id,
        NewPost {
            title: a.title.unwrap_or_default(),
            content: a.body.unwrap_or_default(),
            description: a.description,
            tags: a.tag_list.map(tag_list),
        },
    )
    .await?;
    let me = reader.auth.user_id.as_str();
    Ok((
        StatusCode::CREATED,
        article_response(&state, Some(me), post).await?,
    ))
}

/// An article
///
/// `GET /v1/posts/{id}` by slug, with its body.
#[utoipa::path(get, path = "/api/articles/{slug}", tag = "realworld", operation_id = "realworld_get_article",
    params(("slug" = String, Path)),
    security((), ("realworld_token" = [])),
    responses(
        (status = 200, description = "The article", body = SingleArticleResponse),
        (status = 404, description = "No such article", body = GenericErrorModel)
    ))]
pub async fn get_article(
    State(state): State<AppState>,
    reader: Option<Reader>,
    Path(slug): Path<String>,
) -> ApiResult<Json<SingleArticleResponse>> {
    let post = post_by_slug(&state, &slug).await?;
    article_response(
        &state,
        reader.as_ref().map(|r| r.auth.user_id.as_str()),
        post,
    )
    .await
}

/// Update an article
///
/// The author (or an admin) changes the given fields; a new title gives a new slug.
/// The same post, seen through `/v1` too.
#[utoipa::path(put, path = "/api/articles/{slug}", tag = "realworld", operation_id = "realworld_update_article",
    params(("slug" = String, Path)),
    request_body = UpdateArticleRequest,
    security(("realworld_token" = [])),
    responses(
        (status = 200, description = "Updated", body = SingleArticleResponse),
        (status = 401, description = "No token", body = GenericErrorModel),
        (status = 403, description = "Not the author", body = GenericErrorModel),
        (status = 404, description = "No such article", body = GenericErrorModel),
        (status = 422, description = "A field is null, blank or invalid", body = GenericErrorModel)
    ))]
pub async fn update_article(
    State(state): State<AppState>,
    reader: Reader,
    Path(slug): Path<String>,
    ApiJson(input): ApiJson<UpdateArticleRequest>,
) -> ApiResult<Json<SingleArticleResponse>> {
    let a = input.article;
    let post = post_by_slug(&state, &slug).await?;
    let tags = match a.tag_list {
        None => None,
        Some(Some(tags)) => Some(tag_list(tags)),
        Some(None) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "tagList",
                "can't be null",
            ));
        }
    };
    let edit = PostEdit {
        title: not_blank("title", a.title)?,
        content: not_blank("body", a.body)?,
        description: not_blank("description", a.description)?,
        tags,
    };
    let auth = &reader.auth;
    let post = post_service::update(&state.redis, &post.id, edit, |author| {
        auth.may_act_for(author)
    })
    .await
    .map_err(|err| ApiError::from_app(err, "article"))?;
    article_response(&state, Some(&auth.user_id), post).await
}

/// Delete an article
///
/// `DELETE /v1/posts/{id}`: the author or an admin.
#[utoipa::path(delete, path = "/api/articles/{slug}", tag = "realworld", operation_id = "realworld_delete_article",
    params(("slug" = String, Path)),
    security(("realworld_token" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No token", body = GenericErrorModel),
        (status = 403, description = "Not the author", body = GenericErrorModel),
        (status = 404, description = "No such article", body = GenericErrorModel)
    ))]
pub async fn delete_article(
    State(state): State<AppState>,
    reader: Reader,
    Path(slug): Path<String>,
) -> ApiResult<StatusCode> {
    let post = post_by_slug(&state, &slug).await?;
    let auth = &reader.auth;
    post_service::delete(
        &state.redis,
        state.settings.fanout_max_followers,
        &post.id,
        |author| auth.may_act_for(author),
    )
    .await
    .map_err(|err| ApiError::from_app(err, "article"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Favorite an article
///
/// `PUT /v1/posts/{id}/like`: a favorite is a like. Idempotent.
#[utoipa::path(post, path = "/api/articles/{slug}/favorite", tag = "realworld", operation_id = "realworld_favorite",
    params(("slug" = String, Path)),
    security(("realworld_token" = [])),
    responses(
        (status = 200, description = "Favorited", body = SingleArticleResponse),
        (status = 401, description = "No token", body = GenericErrorModel),
        (status = 404, description = "No such article", body = GenericErrorModel)
    ))]
pub async fn favorite(
    State(state): State<AppState>,
    reader: Reader,
    Path(slug): Path<String>,
) -> ApiResult<Json<SingleArticleResponse>> {
    set_favorite(&state, &reader, &slug, true).await
}

/// Unfavorite an article
///
/// `DELETE /v1/posts/{id}/like`. Idempotent.
#[utoipa::path(delete, path = "/api/articles/{slug}/favorite", tag = "realworld", operation_id = "realworld_unfavorite",
    params(("slug" = String, Path)),
    security(("realworld_token" = [])),
    responses(
        (status = 200, description = "Not favorited", body = SingleArticleResponse),
        (status = 401, description = "No token", body = GenericErrorModel),
        (status = 404, description = "No such article", body = GenericErrorModel)
    ))]
pub async fn unfavorite(
    State(state): State<AppState>,
    reader: Reader,
    Path(slug): Path<String>,
) -> ApiResult<Json<SingleArticleResponse>> {
    set_favorite(&state, &reader, &slug, false).await
}

async fn set_favorite(
    state: &AppState,
    reader: &Reader,
    slug: &str,
    on: bool,
) -> ApiResult<Json<SingleArticleResponse>> {
    let post = post_by_slug(state, slug).await?;
    let me = reader.auth.user_id.as_str();
    post_service::set_like(&state.redis, &post.id, me, on).await?;
    let post = posts::get(&state.redis, &post.id)
        .await?
        .ok_or_else(|| ApiError::not_found("article"))?;
    article_response(state, Some(me), post).await
}

/// Comment on an article
///
/// `POST /v1/posts/{id}/comments`.
#[utoipa::path(post, path = "/api/articles/{slug}/comments", tag = "realworld", operation_id = "realworld_add_comment",
    params(("slug" = String, Path)),
    request_body = NewCommentRequest,
    security(("realworld_token" = [])),
    responses(
        (status = 201, description = "Added", body = SingleCommentResponse),
        (status = 401, description = "No token", body = GenericErrorModel),
        (status = 404, description = "No such article", body = GenericErrorModel),
        (status = 422, description = "Blank body", body = GenericErrorModel)
    ))]
pub async fn add_comment(
    State(state): State<AppState>,
    reader: Reader,
    Path(slug): Path<String>,
    ApiJson(input): ApiJson<NewCommentRequest>,
) -> ApiResult<(StatusCode, Json<SingleCommentResponse>)> {
    let post = post_by_slug(&state, &slug).await?;
    require(&[("body", &input.comment.body)])?;
    let me = reader.auth.user_id.as_str();
    let comment = post_service::comment(
        &state.redis,
        &post.id,
        me,
        NewComment {
            content: input.comment.body.unwrap_or_default(),
        },
    )
    .await?;
    let mut authors = view::profiles(&state.redis, Some(me), &[me.to_string()]).await?;
    let author = authors
        .remove(me)
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "token", "invalid"))?;
    let comment = Comment::new(comment, author).ok_or_else(|| {
        ApiError::from(AppError::Internal(anyhow::anyhow!(
            "comment id is not c<n>"
        )))
    })?;
    Ok((StatusCode::CREATED, Json(SingleCommentResponse { comment })))
}

/// Comments of an article
///
/// The newest 1000, newest first (`GET /v1/posts/{id}/comments` pages them).
#[utoipa::path(get, path = "/api/articles/{slug}/comments", tag = "realworld", operation_id = "realworld_list_comments",
    params(("slug" = String, Path)),
    security((), ("realworld_token" = [])),
    responses(
        (status = 200, description = "The comments", body = MultipleCommentsResponse),
        (status = 404, description = "No such article", body = GenericErrorModel)
    ))]
pub async fn list_comments(
    State(state): State<AppState>,
    reader: Option<Reader>,
    Path(slug): Path<String>,
) -> ApiResult<Json<MultipleCommentsResponse>> {
    let post = post_by_slug(&state, &slug).await?;
    let all = posts::all_comments(&state.redis, &post.id, view::COMMENTS_MAX)
        .await?
        .ok_or_else(|| ApiError::not_found("article"))?;
    let authors: Vec<String> = all.iter().map(|c| c.author_id.clone()).collect();
    let reader = reader.as_ref().map(|r| r.auth.user_id.as_str());
    let profiles = view::profiles(&state.redis, reader, &authors).await?;
    let comments = all
        .into_iter()
        .filter_map(|c| {
            let author = profiles.get(&c.author_id)?.clone();
            Comment::new(c, author)
        })
        .collect();
    Ok(Json(MultipleCommentsResponse { comments }))
}

/// Delete a comment
///
/// Its author or an admin; check and removal in one script.
#[utoipa::path(delete, path = "/api/articles/{slug}/comments/{id}", tag = "realworld", operation_id = "realworld_delete_comment",
    params(("slug" = String, Path), ("id" = u64, Path)),
    security(("realworld_token" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No token", body = GenericErrorModel),
        (status = 403, description = "Not the comment's author", body = GenericErrorModel),
        (status = 404, description = "No such article or comment", body = GenericErrorModel)
    ))]
pub async fn delete_comment(
    State(state): State<AppState>,
    reader: Reader,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let post = post_by_slug(&state, &slug).await?;
    let number: u64 = id.parse().map_err(|_| ApiError::not_found("comment"))?;
    let auth = &reader.auth;
    post_service::delete_comment(
        &state.redis,
        &post.id,
        &format!("c{number}"),
        &auth.user_id,
        auth.is_admin(),
    )
    .await
    .map_err(|err| ApiError::from_app(err, "comment"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Tags
///
/// The tags articles carry, most used first (at most 1000).
#[utoipa::path(get, path = "/api/tags", tag = "realworld", operation_id = "realworld_tags",
    responses((status = 200, description = "The tags", body = TagsResponse)))]
pub async fn tags(State(state): State<AppState>) -> ApiResult<Json<TagsResponse>> {
    Ok(Json(TagsResponse {
        tags: posts::popular_tags(&state.redis, view::TAGS_MAX).await?,
    }))
}
