//! HTTP handlers for sessions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::model::{Login, LoginResponse, Session, SessionList};
use super::{repo, token};
use crate::accounts::{self, ClientInfo};
use crate::error::{AppError, AppResult, responses};
use crate::extract::{AppJson, AuthUser, ClientIp, SESSION_COOKIE, ValidPath};
use crate::state::AppState;

/// Log in
///
/// `login` is a username or an e-mail. Unknown users and wrong passwords get the same
/// 401 and take about the same time (argon2 runs either way). The answer carries the
/// bearer token (shown only here) and sets it as an HttpOnly, SameSite=Lax cookie.
///
/// Failed logins are throttled per account and per client address: over
/// `AGORA_LOGIN_MAX_FAILURES` (10) per account or `AGORA_LOGIN_MAX_FAILURES_PER_IP`
/// (100) per address within `AGORA_LOGIN_THROTTLE_SECS` (900), the answer is 429 with
/// `Retry-After`, whatever the password. A user holds at most
/// `AGORA_MAX_SESSIONS_PER_USER` (100) sessions; a login beyond it ends the oldest.
///
/// Redis: `HGET users:{u<b>}:by_username|users:{e<b>}:by_email` (the name's bucket;
/// on a miss the old one-slot index while it exists), `INCR`/`PEXPIRE NX`/`PTTL` on
/// the throttle counters, `HMGET user:{id}`, `EVALSHA open_session` (the index entry,
/// the session hash `user:{id}:session:{sha256}` and HINCRBY `login_count`, in one
/// step), `DEL`/`EVALSHA give_back_attempt`, for a password hash stored before the
/// compact form `EVALSHA set_password` (rewrites it), `HGETALL user:{id}`.
#[utoipa::path(post, path = "/v1/sessions", tag = "sessions",
    request_body = Login,
    responses(
        (status = 201, description = "Logged in", body = LoginResponse,
            headers(("Set-Cookie" = String, description = "agora_session=<token>; HttpOnly; SameSite=Lax"))),
        (status = 401, description = "Unknown login or wrong password (same answer for both)",
            body = crate::error::Problem, content_type = "application/problem+json"),
        responses::BadRequest, responses::NotJson, responses::Invalid, responses::Unavailable
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip_address): ClientIp,
    headers: HeaderMap,
    AppJson(input): AppJson<Login>,
) -> AppResult<Response> {
    let client = ClientInfo::of_request(ip_address, &headers);
    let (token, mut body) = accounts::login(&state.redis, &state.settings, input, client).await?;
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        state.settings.session_lifetime_secs,
        if state.settings.secure_cookies {
            "; Secure"
        } else {
            ""
        }
    );
    body.token = token;
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// The current session
///
/// Also slides the idle timeout when the refresh is due, as every authenticated
/// request does (at most once per `AGORA_SESSION_REFRESH_SECS`).
///
/// Redis: `EVALSHA session_touch` (HGET, HMGET `user:{id}`, PTTL, HGETALL on
/// `user:{id}:session:{sha256}`; HSET last_activity + PEXPIRE when due).
#[utoipa::path(get, path = "/v1/sessions/current", tag = "sessions",
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The session making this request", body = Session),
        responses::Unauthorized, responses::Unavailable
    ))]
pub async fn current_session(auth: AuthUser) -> Json<Session> {
    Json(auth.session.view(&auth.session_ref.id))
}

/// Log out
///
/// The token stops working at once; the session cookie is cleared.
///
/// Redis: `MULTI DEL user:{id}:session:{sha256} ZREM user:{id}:sessions EXEC`.
#[utoipa::path(delete, path = "/v1/sessions/current", tag = "sessions",
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "Logged out"),
        responses::Unauthorized, responses::Unavailable
    ))]
pub async fn logout(State(state): State<AppState>, auth: AuthUser) -> AppResult<Response> {
    repo::revoke(&state.redis, &auth.user_id, &auth.session_ref.id).await?;
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// List a user's sessions
///
/// Owner or admin; `me` is the session user. Newest login first; expired entries are
/// pruned from the index on the way.
///
/// Redis: `ZREMRANGEBYSCORE` + `ZRANGE user:{id}:sessions`, then `HGETALL` + `PTTL`
/// of every session in one batch (one pipeline per slot on a cluster).
#[utoipa::path(get, path = "/v1/users/{id}/sessions", tag = "sessions",
    params(("id" = String, Path, description = "User id, or `me`")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The user's live sessions", body = SessionList),
        responses::Unauthorized, responses::Forbidden, responses::Invalid, responses::Unavailable
    ))]
pub async fn list_sessions(
    State(state): State<AppState>,
    auth: AuthUser,
    ValidPath(id): ValidPath<String>,
) -> AppResult<Json<SessionList>> {
    let user_id = auth.owned_user_id(&id)?;
    let items = repo::list(&state.redis, &user_id)
        .await?
        .iter()
        .map(|s| s.view(&auth.session_ref.id))
        .collect();
    Ok(Json(SessionList { items }))
}

/// Revoke all of a user's sessions
///
/// Owner or admin; includes the session making the request.
///
/// Redis: `EVALSHA revoke_sessions` (ZRANGE `user:{id}:sessions`, DEL
/// `user:{id}:session:{…}` for each, in one step),
/// `DEL user:{id}:sessions`.
#[utoipa::path(delete, path = "/v1/users/{id}/sessions", tag = "sessions",
    params(("id" = String, Path, description = "User id, or `me`")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "Every session revoked"),
        responses::Unauthorized, responses::Forbidden, responses::Invalid, responses::Unavailable
    ))]
pub async fn revoke_all_sessions(
    State(state): State<AppState>,
    auth: AuthUser,
    ValidPath(id): ValidPath<String>,
) -> AppResult<StatusCode> {
    let user_id = auth.owned_user_id(&id)?;
    repo::revoke_all(&state.redis, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revoke one session
///
/// Owner or admin; `session_id` is an `id` from the sessions list.
///
/// Redis: `MULTI DEL user:{id}:session:{session_id} ZREM user:{id}:sessions EXEC`.
#[utoipa::path(delete, path = "/v1/users/{id}/sessions/{session_id}", tag = "sessions",
    params(
        ("id" = String, Path, description = "User id, or `me`"),
        ("session_id" = String, Path, description = "A session `id` (64 hex characters)")
    ),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "Revoked"),
        responses::Unauthorized, responses::Forbidden, responses::NotFound, responses::Invalid,
        responses::Unavailable
    ))]
pub async fn revoke_session(
    State(state): State<AppState>,
    auth: AuthUser,
    Path((id, session_id)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let user_id = auth.owned_user_id(&id)?;
    if !token::is_session_id(&session_id) {
        return Err(AppError::invalid(
            "session_id",
            "must be 64 lowercase hex characters",
        ));
    }
    if repo::revoke(&state.redis, &user_id, &session_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound("session"))
    }
}
