//! HTTP handlers for users: parse, authorize, call the repository, shape the response.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::model::{ChangePassword, CreateUser, UpdateUser, User, UserQuery};
use super::repo;
use crate::accounts;
use crate::error::{AppError, AppResult, responses};
use crate::extract::{AppJson, AppQuery, AuthUser, ClientIp, ValidPath, resolve_user_id};
use crate::state::AppState;

/// Register a user
///
/// Stores the user as a hash and claims the username, then the e-mail, each in its
/// bucket of the unique indexes (409 if either is taken, and nothing is left behind),
/// then enqueues a welcome e-mail job.
///
/// Redis: `INCR users:next_id`; `MULTI HSET user:{id} … PEXPIRE EXEC`; per identity
/// `HGET` of the old one-slot index (while it exists) and `EVALSHA claim_identity`
/// (HGET/HSET on `users:{u<b>}:by_username`, then `users:{e<b>}:by_email`; `EVALSHA
/// release_identity` of the username if the e-mail is taken); `PERSIST user:{id}`;
/// `LPUSH queue:{emails}`.
#[utoipa::path(post, path = "/v1/users", tag = "users",
    request_body = CreateUser,
    responses(
        (status = 201, description = "Created; `Location` names the user", body = User,
            headers(("Location" = String, description = "/v1/users/{id}"))),
        responses::BadRequest, responses::Conflict, responses::TooLarge, responses::NotJson,
        responses::Invalid, responses::Unavailable
    ))]
pub async fn create_user(
    State(state): State<AppState>,
    AppJson(input): AppJson<CreateUser>,
) -> AppResult<impl IntoResponse> {
    let user = accounts::register(&state.redis, input).await?;
    let location = format!("/v1/users/{}", user.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(user),
    ))
}

/// Get a user
///
/// The whole user, or only the fields named in `?fields=`. `me` is the session user.
/// Anyone but the user themselves and admins sees the public profile: `email`, `role`
/// and `login_count` are left out (also when `?fields=` names them).
///
/// Redis: one pipeline in the user's slot: `HGETALL user:{id}` (or `HMGET` with
/// `?fields=`), `ZCARD user:{id}:followers`, `ZCARD user:{id}:following`.
#[utoipa::path(get, path = "/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "User id, or `me`"), UserQuery),
    security((), ("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The user; strangers get the public profile (no `email`, `role`, `login_count`)", body = User),
        responses::Unauthorized, responses::NotFound, responses::Invalid, responses::Unavailable
    ))]
pub async fn get_user(
    State(state): State<AppState>,
    auth: Option<AuthUser>,
    ValidPath(id): ValidPath<String>,
    AppQuery(query): AppQuery<UserQuery>,
) -> AppResult<Json<User>> {
    let id = resolve_user_id(&id, auth.as_ref())?;
    let fields = query.parse_fields()?;
    let full = auth.as_ref().is_some_and(|a| a.may_act_for(&id));
    repo::get(&state.redis, &id, fields.as_deref())
        .await?
        .map(|user| Json(user.as_seen(full)))
        .ok_or(AppError::NotFound("user"))
}

/// Update a user
///
/// Changes only the given fields (owner or admin). A new e-mail is claimed atomically
/// like at registration (409 if taken) and the old one released. Changing your own
/// e-mail needs `current_password` (422 naming it when missing or wrong; wrong ones
/// count as failed logins, 429 after too many); an admin changing another user's
/// e-mail does not.
///
/// Redis: `EVALSHA patch_hash` (EXISTS, HSET/HDEL, HGETALL, ZCARD ×2 in the user's
/// slot); for an e-mail change also `HGET` and `EVALSHA claim_identity` /
/// `release_identity`.
#[utoipa::path(patch, path = "/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "User id, or `me`")),
    request_body = UpdateUser,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The updated user", body = User),
        responses::BadRequest, responses::Unauthorized, responses::Forbidden, responses::NotFound,
        responses::Conflict, responses::NotJson, responses::Invalid, responses::Unavailable
    ))]
pub async fn update_user(
    State(state): State<AppState>,
    auth: AuthUser,
    ClientIp(ip): ClientIp,
    ValidPath(id): ValidPath<String>,
    AppJson(input): AppJson<UpdateUser>,
) -> AppResult<Json<User>> {
    let id = auth.owned_user_id(&id)?;
    input.validate()?;
    // Changing one's own e-mail re-authenticates: a stolen session must not be able to
    // point the account's e-mail (and so its recovery) elsewhere.
    if input.email.is_some() && id == auth.user_id {
        let password = input.current_password.clone().ok_or_else(|| {
            AppError::invalid("current_password", "is required to change your e-mail")
        })?;
        accounts::verify_current_password(&state.redis, &state.settings, &id, password, &ip)
            .await?;
    }
    accounts::update(&state.redis, &id, &input.changes())
        .await?
        .map(Json)
        .ok_or(AppError::NotFound("user"))
}

/// Change your password
///
/// Needs the current password (422 naming `current_password` when wrong; wrong ones
/// count as failed logins for the login throttle, 429 after too many). The new one
/// must pass the strength rule (8–128 characters, not a common password, not one
/// character repeated, not your username). Every other session of the user ends; the
/// session making the change stays valid. 409 if the password was changed by another
/// request meanwhile.
///
/// Redis: `INCR`/`PEXPIRE NX`/`PTTL` on the login throttle counters, `HMGET
/// user:{id}`, `EVALSHA set_password` (compare-and-set of the password hash), `EVALSHA
/// revoke_sessions` (ZRANGE `user:{id}:sessions`, DEL `user:{id}:session:…`).
#[utoipa::path(put, path = "/v1/users/me/password", tag = "users",
    request_body = ChangePassword,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "Changed; every other session of the user has ended"),
        responses::BadRequest, responses::Unauthorized, responses::Conflict, responses::NotJson,
        responses::Invalid, responses::Unavailable
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    auth: AuthUser,
    ClientIp(ip): ClientIp,
    AppJson(input): AppJson<ChangePassword>,
) -> AppResult<StatusCode> {
    accounts::change_password(
        &state.redis,
        &state.settings,
        &auth.user_id,
        input,
        &auth.session_ref.id,
        &ip,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete a user
///
/// Owner or admin. First ends every session and marks the account as being deleted,
/// in one script (so no token works from then on and no racing login can open a
/// session), then removes the user from the social graph, deletes the user's hash and
/// every key of their aggregate in one DEL, then frees the username and e-mail.
///
/// Redis: `EVALSHA revoke_sessions` (ZRANGE `user:{id}:sessions`, DEL
/// `user:{id}:session:…`, HSET `deleting`), `HMGET user:{id}`, `DEL user:{id}
/// user:{id}:…`, `EVALSHA release_identity` in the username and e-mail buckets.
#[utoipa::path(delete, path = "/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "User id, or `me`")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "Deleted"),
        responses::Unauthorized, responses::Forbidden, responses::NotFound, responses::Invalid,
        responses::Unavailable
    ))]
pub async fn delete_user(
    State(state): State<AppState>,
    auth: AuthUser,
    ValidPath(id): ValidPath<String>,
) -> AppResult<StatusCode> {
    let id = auth.owned_user_id(&id)?;
    accounts::delete(&state.redis, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
