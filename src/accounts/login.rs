//! Login: find the user, take a slot in the login throttle, check the password in
//! constant-ish time, open a session.

use crate::config::Settings;
use crate::error::{AppError, AppResult};
use crate::redis::Redis;
use crate::sessions::model::{Login, LoginResponse};
use crate::sessions::repo::{self, NewSession};
use crate::sessions::throttle::Attempt;
use crate::time;
use crate::users::{self, password};
use crate::validate;

/// The same answer for an unknown login and a wrong password.
const INVALID: AppError = AppError::Unauthorized("Invalid login or password.");

/// Where a login request came from.
pub(crate) struct ClientInfo {
    pub ip_address: String,
    pub user_agent: String,
}

impl ClientInfo {
    /// The client address (`ClientIp`: the peer, or what a trusted proxy says) and
    /// the first 256 characters of the `User-Agent`.
    pub fn of_request(ip_address: String, headers: &axum::http::HeaderMap) -> ClientInfo {
        ClientInfo {
            ip_address,
            user_agent: headers
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|ua| ua.chars().take(256).collect())
                .unwrap_or_default(),
        }
    }
}

pub(crate) async fn login(
    redis: &Redis,
    settings: &Settings,
    input: Login,
    client: ClientInfo,
) -> AppResult<(String, LoginResponse)> {
    validate::Validator::new()
        .check("login", validate::required_text(&input.login, 254))
        .check(
            "password",
            // Any character, as at registration (`validate::password`): a password is
            // hashed, never shown, so the text rules of names and bodies do not apply.
            if input.password.is_empty() {
                Err("must not be empty".into())
            } else if input.password.chars().count() > 128 {
                Err("must be at most 128 characters".into())
            } else {
                Ok(())
            },
        )
        .finish()?;

    let id = users::repo::find_id(redis, &input.login).await?;
    let attempt = Attempt::new(redis, id.as_deref(), &input.login, &client.ip_address);
    attempt.begin(redis, settings).await?;
    let credentials = match &id {
        Some(id) => users::repo::credentials(redis, id).await?,
        None => None,
    };
    let stored_hash = credentials.as_ref().map(|(_, _, hash)| hash.clone());
    // A hash stored before the compact form is rewritten once the password is known.
    let to_upgrade = stored_hash
        .as_deref()
        .is_some_and(|stored| !password::is_compact(stored))
        .then(|| input.password.clone());
    // Runs argon2 either way, so unknown users cost the same time as wrong passwords.
    if !password::verify(input.password, stored_hash).await {
        return Err(INVALID);
    }
    let (Some(user_id), Some((username, role, password_hash))) = (id, credentials) else {
        return Err(INVALID);
    };

    let (token, record) = repo::create(
        redis,
        NewSession {
            user_id: &user_id,
            username: &username,
            role,
            ip_address: &client.ip_address,
            user_agent: &client.user_agent,
        },
        &password_hash,
        settings,
    )
    .await?;
    attempt.succeeded(redis).await?;
    if let Some(plain) = to_upgrade {
        upgrade_password_hash(redis, &user_id, plain, &password_hash).await;
    }
    let user = users::repo::get(redis, &user_id, None)
        .await?
        .ok_or(INVALID)?;
    Ok((
        token,
        LoginResponse {
            token: String::new(),
            expires_at: time::rfc3339_from_ms(record.expires_at_ms()),
            absolute_expires_at: time::rfc3339_from_ms(record.expires_at_ms),
            user,
        },
    ))
}

/// Opens a session for a user who just registered (RealWorld answers a registration
/// with a token): the same session as a login's, bound to the stored hash.
pub(crate) async fn open_session(
    redis: &Redis,
    settings: &Settings,
    user_id: &str,
    client: ClientInfo,
) -> AppResult<String> {
    let (username, role, password_hash) = users::repo::credentials(redis, user_id)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let (token, _) = repo::create(
        redis,
        NewSession {
            user_id,
            username: &username,
            role,
            ip_address: &client.ip_address,
            user_agent: &client.user_agent,
        },
        &password_hash,
        settings,
    )
    .await?;
    Ok(token)
}

/// Rewrites a password hash stored before the compact form (see `password`), after a
/// login proved `plain` matches `stored`: compare-and-set, so a password change that
/// won meanwhile is kept. Best effort: the login has succeeded whatever happens here.
async fn upgrade_password_hash(redis: &Redis, user_id: &str, plain: String, stored: &str) {
    let upgraded = match password::upgrade(plain, stored).await {
        Ok(Some(upgraded)) => upgraded,
        Ok(None) => return,
        Err(err) => {
            tracing::warn!(error = %err, "hashing the password again failed");
            return;
        }
    };
    match users::repo::replace_password_hash(redis, user_id, stored, &upgraded).await {
        Ok(true) => tracing::info!(user_id, "password hash rewritten in the compact form"),
        Ok(false) => {}
        Err(err) => tracing::warn!(error = %err, "rewriting the password hash failed"),
    }
}
