//! User operations that span areas: registration (hash, store, welcome e-mail) and
//! deletion (sessions first, so the user's tokens stop working before anything else).

use super::model::{CreateUser, Role, User};
use super::{password, repo};
use crate::error::{AppError, AppResult};
use crate::jobs::{self, EmailJob};
use crate::redis::Redis;
use crate::sessions;
use crate::time;

/// Registers a user and enqueues their welcome e-mail.
pub async fn register(redis: &Redis, input: CreateUser) -> AppResult<User> {
    input.validate()?;
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

/// Deletes a user: revokes every session, removes them from the social graph (their
/// posts, tag indexes, other users' follow sets), then removes the user's keys and
/// claims.
pub async fn delete(redis: &Redis, id: &str) -> AppResult<()> {
    sessions::repo::revoke_all(redis, id).await?;
    crate::social::service::remove_user(redis, id).await?;
    if repo::delete(redis, id).await? {
        Ok(())
    } else {
        Err(AppError::NotFound("user"))
    }
}

/// Changes the given fields of a user; a changed `name` or `avatar` is then copied
/// into every one of their posts (the posts carry them denormalized).
pub async fn update(
    redis: &Redis,
    id: &str,
    changes: Vec<(&'static str, String)>,
) -> AppResult<Option<User>> {
    let touches_posts = changes
        .iter()
        .any(|(field, _)| matches!(*field, "name" | "avatar"));
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
