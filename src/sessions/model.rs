//! Session types: the stored record and what the API shows.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::time;
use crate::users::{Role, User};

/// A session as stored in `user:{id}:session:{hash}` (seed 002's fields plus role and
/// expiry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The token's SHA-256: the session's id.
    pub id: String,
    pub user_id: String,
    pub username: String,
    pub role: Role,
    pub login_time: String,
    pub last_activity: String,
    pub ip_address: String,
    pub user_agent: String,
    /// End of the absolute lifetime (Unix ms).
    pub expires_at_ms: i64,
    /// When the idle timeout ends if the session is not used again (Unix ms).
    pub idle_expires_at_ms: i64,
}

impl SessionRecord {
    /// From HGETALL pairs; `None` when the hash is missing or incomplete.
    pub fn from_hash(
        id: &str,
        hash: &HashMap<String, String>,
        idle_expires_at_ms: i64,
    ) -> Option<SessionRecord> {
        let text = |f: &str| hash.get(f).cloned().unwrap_or_default();
        Some(SessionRecord {
            id: id.to_string(),
            user_id: hash.get("user_id")?.clone(),
            username: text("username"),
            role: Role::parse(&text("role")),
            login_time: text("login_time"),
            last_activity: text("last_activity"),
            ip_address: text("ip_address"),
            user_agent: text("user_agent"),
            expires_at_ms: hash.get("expires_at_ms")?.parse().ok()?,
            idle_expires_at_ms,
        })
    }

    /// The instant the session ends if unused: the idle expiry, capped by the lifetime.
    pub fn expires_at_ms(&self) -> i64 {
        self.idle_expires_at_ms.min(self.expires_at_ms)
    }

    pub fn view(&self, current_id: &str) -> Session {
        Session {
            id: self.id.clone(),
            user_id: self.user_id.clone(),
            username: self.username.clone(),
            login_time: self.login_time.clone(),
            last_activity: self.last_activity.clone(),
            ip_address: self.ip_address.clone(),
            user_agent: self.user_agent.clone(),
            expires_at: time::rfc3339_from_ms(self.expires_at_ms()),
            absolute_expires_at: time::rfc3339_from_ms(self.expires_at_ms),
            current: self.id == current_id,
        }
    }
}

/// A session as the API shows it (never the token).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Session {
    /// Session id: the SHA-256 of the token (safe to show; it cannot be used to log in).
    pub id: String,
    pub user_id: String,
    pub username: String,
    /// RFC 3339 UTC.
    pub login_time: String,
    /// RFC 3339 UTC; refreshed by authenticated requests at most once per
    /// `AGORA_SESSION_REFRESH_SECS` (60 s by default), so exact to within that.
    pub last_activity: String,
    pub ip_address: String,
    pub user_agent: String,
    /// When the session ends unless used again (sliding idle timeout, capped by the
    /// absolute lifetime).
    pub expires_at: String,
    /// When the session ends however active it is.
    pub absolute_expires_at: String,
    /// True for the session making this request.
    pub current: bool,
}

/// `{items: [...]}` of the user's sessions, newest login first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    pub items: Vec<Session>,
}

/// Body of `POST /v1/sessions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// Username or e-mail.
    #[schema(example = "bob")]
    pub login: String,
    /// The example is the seed's demo user `bob` (migrations-free-seed/README.md), so the
    /// example logs in on a seeded service.
    #[schema(example = "bob-demo-password")]
    pub password: String,
}

/// Answer of `POST /v1/sessions`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// The bearer token: send `Authorization: Bearer <token>`. Shown only here.
    pub token: String,
    /// When the session ends unless used (sliding idle timeout).
    pub expires_at: String,
    /// When the session ends however active it is.
    pub absolute_expires_at: String,
    pub user: User,
}
