//! The account operations that span areas: registration (hash, store, welcome
//! e-mail), deletion (sessions first, so the user's tokens stop working before anything
//! else, then the social graph, then the user's keys), a rename copied into the user's
//! posts, the password change and the admin grant.

use crate::config::Settings;
use crate::error::{AppError, AppResult};
use crate::jobs::{self, EmailJob};
use crate::redis::Redis;
use crate::sessions;
use crate::sessions::throttle::Attempt;
use crate::time;
use crate::users::model::{ChangePassword, CreateUser, PasswordRule, Role, User, UserChanges};
use crate::users::{password, repo};

/// Registers a user and enqueues their welcome e-mail.
pub(crate) async fn register(redis: &Redis, input: CreateUser) -> AppResult<User> {
    register_with(redis, input, PasswordRule::Strong).await
}

/// [`register`] under the password rule of the calling surface.
pub(crate) async fn register_with(
    redis: &Redis,
    input: CreateUser,
    rule: PasswordRule,
) -> AppResult<User> {
    input.validate_with(rule)?;
    let password_hash = password::hash(input.password).await?;
    let created_at = time::rfc3339(time::now());
    let user = repo::create(
        redis,
        repo::NewUser {
            id: None,
            name: input.name.unwrap_or_else(|| input.username.clone()),
            username: input.username,
            email: input.email,
            password_hash,
            bio: input.bio,
            avatar: input.avatar,
            role: Role::User,
            created_at: created_at.clone(),
        },
    )
    .await?;
    let job = EmailJob {
        id: format!("welcome-{}", user.id),
        kind: "welcome".into(),
        user_id: user.id.clone(),
        to: user.email.clone().unwrap_or_default(),
        created_at,
        attempts: 0,
        last_error: None,
    };
    jobs::enqueue_email(redis, &job).await?;
    Ok(user)
}

/// Deletes a user: ends every session and marks the account as being deleted (one
/// script: no login racing the deletion can open a session that outlives it, and no
/// old token works from here on), removes them from the social graph (their posts, tag
/// indexes, other users' follow sets), then removes the user's keys and claims.
pub(crate) async fn delete(redis: &Redis, id: &str) -> AppResult<()> {
    sessions::repo::close_account(redis, id).await?;
    crate::social::service::remove_user(redis, id).await?;
    if repo::delete(redis, id).await? {
        Ok(())
    } else {
        Err(AppError::NotFound("user"))
    }
}

/// Changes the given fields of a user; a changed `name` or `avatar` is then copied
/// into every one of their posts (the posts carry them denormalized).
pub(crate) async fn update(
    redis: &Redis,
    id: &str,
    changes: &UserChanges,
) -> AppResult<Option<User>> {
    let touches_posts = changes.name.is_some() || changes.avatar.is_some();
    let user = repo::update(redis, id, changes).await?;
    if let Some(user) = &user
        && touches_posts
    {
        let name = user.name.as_deref().unwrap_or_default();
        crate::social::posts::service::propagate_author(redis, id, name, user.avatar.as_deref())
            .await?;
    }
    Ok(user)
}

/// Checks `password` against the user's current one, counted by the login throttle
/// (a wrong current password is a failed login: 429 after too many). Returns the
/// username and the stored hash it matched, for a compare-and-set. 404 when there is
/// no such user.
pub(crate) async fn verify_current_password(
    redis: &Redis,
    settings: &Settings,
    user_id: &str,
    password: String,
    ip: &str,
) -> AppResult<(String, String)> {
    let attempt = Attempt::new(redis, Some(user_id), "", ip);
    attempt.begin(redis, settings).await?;
    let (username, _, stored) = repo::credentials(redis, user_id)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    if !password::verify(password, Some(stored.clone())).await {
        return Err(AppError::invalid(
            "current_password",
            "is not your current password",
        ));
    }
    attempt.succeeded(redis).await?;
    Ok((username, stored))
}

/// Changes a user's password: needs the current one, applies the strength rule, and
/// ends every other session of the user (`keep_session` — the one making the change —
/// stays valid). The new hash is written only if the stored one is still the hash the
/// current password matched (409 if it changed meanwhile); a login that verified the
/// old password while this ran cannot open a session afterwards (`open_session.lua`
/// checks the hash it verified).
pub(crate) async fn change_password(
    redis: &Redis,
    settings: &Settings,
    user_id: &str,
    change: ChangePassword,
    keep_session: &str,
    ip: &str,
) -> AppResult<u64> {
    crate::validate::Validator::new()
        .check(
            "current_password",
            crate::validate::text(&change.current_password, 128),
        )
        .check(
            "new_password",
            if change.new_password == change.current_password {
                Err("must differ from the current password".into())
            } else {
                crate::validate::password(&change.new_password)
            },
        )
        .finish()?;
    let (username, verified) =
        verify_current_password(redis, settings, user_id, change.current_password, ip).await?;
    // The rule that needs the account (not the username) runs once the caller is known.
    crate::validate::Validator::new()
        .check(
            "new_password",
            password::check_strength(&change.new_password, &[&username]),
        )
        .finish()?;
    let new_hash = password::hash(change.new_password).await?;
    if !repo::replace_password_hash(redis, user_id, &verified, &new_hash).await? {
        return Err(AppError::Conflict {
            kind: "password-changed",
            detail: "The password was changed by another request meanwhile; log in again."
                .to_string(),
        });
    }
    sessions::repo::revoke_others(redis, user_id, keep_session).await
}

/// Sets a new password for a signed-in user without the current one (the RealWorld
/// `PUT /api/user`, whose spec has no field for it; the session is the proof), under
/// `rule`; every other session of the user ends, `keep_session` stays. Compare-and-set
/// on the stored hash, like [`change_password`].
pub(crate) async fn set_password(
    redis: &Redis,
    user_id: &str,
    new_password: String,
    rule: PasswordRule,
    keep_session: &str,
) -> AppResult<u64> {
    let (username, _, stored) = repo::credentials(redis, user_id)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    crate::validate::Validator::new()
        .check("password", rule.check(&new_password, &[&username]))
        .finish()?;
    let new_hash = password::hash(new_password).await?;
    if !repo::replace_password_hash(redis, user_id, &stored, &new_hash).await? {
        return Err(AppError::Conflict {
            kind: "password-changed",
            detail: "The password was changed by another request meanwhile; log in again."
                .to_string(),
        });
    }
    sessions::repo::revoke_others(redis, user_id, keep_session).await
}

/// Gives the user `username` the admin role, also in their live sessions.
pub async fn grant_admin(redis: &Redis, username: &str) -> AppResult<String> {
    let id = repo::find_id(redis, username)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    if !repo::set_role(redis, &id, Role::Admin).await? {
        return Err(AppError::NotFound("user"));
    }
    sessions::repo::set_role(redis, &id, Role::Admin).await?;
    Ok(id)
}
