//! User types: what the API accepts and returns, and how a user hash maps to them.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::AppResult;
use crate::validate::{self, Validator};

/// A user's role: `admin`s manage products, config and other users.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[default]
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    /// Parses a stored role; anything unknown is the least privileged role.
    pub fn parse(value: &str) -> Role {
        if value == "admin" {
            Role::Admin
        } else {
            Role::User
        }
    }
}

/// A user as the API returns it. Never the password or its hash.
///
/// Every field is present unless `?fields=` asked for fewer; `bio` and `avatar` are
/// absent when not set. `email`, `role` and `login_count` are private: only the user
/// themselves and admins see them; anyone else gets the public profile
/// (the fields of `PublicUser`), whatever `?fields=` asks for.
#[derive(Debug, Clone, Default, Serialize, ToSchema, PartialEq, Eq)]
pub struct User {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Private: only for the user themselves and admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bio: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    /// Private: only for the user themselves and admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// RFC 3339 UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Successful logins (HINCRBY on each). Private: only for the user themselves and
    /// admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_count: Option<u64>,
    /// ZCARD of `user:{id}:followers`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follower_count: Option<u64>,
    /// ZCARD of `user:{id}:following`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub following_count: Option<u64>,
}

impl User {
    /// Builds a user from its hash (HGETALL or HMGET pairs) and follow counts.
    pub fn from_hash(
        hash: &HashMap<String, String>,
        follower_count: Option<u64>,
        following_count: Option<u64>,
    ) -> User {
        let text = |f: &str| hash.get(f).filter(|v| !v.is_empty()).cloned();
        User {
            id: hash.get("id").cloned().unwrap_or_default(),
            username: text("username"),
            email: text("email"),
            name: text("name"),
            bio: text("bio"),
            avatar: text("avatar"),
            role: hash.get("role").map(|r| Role::parse(r)),
            created_at: text("created_at"),
            login_count: hash.get("login_count").map(|n| n.parse().unwrap_or(0)),
            follower_count,
            following_count,
        }
    }
}

impl User {
    /// What a viewer may see of this user: everything for the user themselves and
    /// admins (`full`), else the public profile (the private fields left out).
    pub fn as_seen(self, full: bool) -> User {
        if full {
            self
        } else {
            User {
                email: None,
                role: None,
                login_count: None,
                ..self
            }
        }
    }
}

/// The public profile of a user: what anyone may see of someone else, in every list
/// of users (never e-mail, role or login count).
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct PublicUser {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bio: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    /// RFC 3339 UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// ZCARD of `user:{id}:followers`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follower_count: Option<u64>,
    /// ZCARD of `user:{id}:following`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub following_count: Option<u64>,
}

impl From<User> for PublicUser {
    fn from(user: User) -> PublicUser {
        PublicUser {
            id: user.id,
            username: user.username,
            name: user.name,
            bio: user.bio,
            avatar: user.avatar,
            created_at: user.created_at,
            follower_count: user.follower_count,
            following_count: user.following_count,
        }
    }
}

/// The fields `?fields=` may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserField {
    Hash(&'static str),
    FollowerCount,
    FollowingCount,
}

impl UserField {
    /// Hash fields a client may read (never `password_hash`).
    pub const HASH_FIELDS: [&'static str; 8] = [
        "id",
        "username",
        "email",
        "name",
        "bio",
        "avatar",
        "role",
        "created_at",
    ];

    pub fn parse(name: &str) -> Option<UserField> {
        match name {
            "login_count" => Some(UserField::Hash("login_count")),
            "follower_count" => Some(UserField::FollowerCount),
            "following_count" => Some(UserField::FollowingCount),
            other => Self::HASH_FIELDS
                .iter()
                .find(|f| **f == other)
                .map(|f| UserField::Hash(f)),
        }
    }
}

/// Query of `GET /v1/users/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Comma-separated fields to return (HMGET), e.g. `name,email`; `id` always comes.
    pub fields: Option<String>,
}

impl UserQuery {
    /// The requested fields, or `None` for the whole user; 422 names an unknown field.
    pub fn parse_fields(&self) -> AppResult<Option<Vec<UserField>>> {
        let Some(list) = &self.fields else {
            return Ok(None);
        };
        let mut fields = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let field = UserField::parse(name).ok_or_else(|| {
                crate::error::AppError::invalid(
                    "fields",
                    format!("unknown field {name:?}; known: id, username, email, name, bio, avatar, role, created_at, login_count, follower_count, following_count"),
                )
            })?;
            if !fields.contains(&field) {
                fields.push(field);
            }
        }
        Ok(Some(fields))
    }
}

/// Body of `POST /v1/users`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// 3 to 32 of letters, digits, `_ - .`; unique, case-insensitively.
    #[schema(example = "zed")]
    pub username: String,
    /// Unique, case-insensitively.
    #[schema(example = "zed@example.com")]
    pub email: String,
    /// 8 to 128 characters, not one of the most common passwords, not one character
    /// repeated, not the username or e-mail; stored only as an argon2id hash.
    #[schema(example = "correct horse battery staple")]
    pub password: String,
    /// Display name (defaults to the username).
    pub name: Option<String>,
    pub bio: Option<String>,
    /// http(s) URL of an avatar image.
    pub avatar: Option<String>,
}

/// Which password rule a surface applies. `/v1` refuses common, repeated-character
/// and identity passwords; the RealWorld spec (`/api`) follows NIST 800-63B as its
/// suite asserts: 8 to 128 characters, no other composition rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordRule {
    Strong,
    LengthOnly,
}

impl PasswordRule {
    pub fn check(self, password: &str, identities: &[&str]) -> Result<(), String> {
        match self {
            PasswordRule::Strong => super::password::check_strength(password, identities),
            PasswordRule::LengthOnly => validate::password(password),
        }
    }
}

impl CreateUser {
    pub fn validate(&self) -> AppResult<()> {
        self.validate_with(PasswordRule::Strong)
    }

    pub fn validate_with(&self, rule: PasswordRule) -> AppResult<()> {
        let mut v = Validator::new();
        v.check("username", validate::username(&self.username))
            .check("email", validate::email(&self.email))
            .check(
                "password",
                rule.check(&self.password, &[&self.username, &self.email]),
            );
        if let Some(name) = &self.name {
            v.check("name", validate::required_text(name, 100));
        }
        if let Some(bio) = &self.bio {
            v.check("bio", validate::text(bio, 500));
        }
        if let Some(avatar) = &self.avatar {
            v.check("avatar", validate::url(avatar));
        }
        v.finish()
    }
}

/// Body of `PATCH /v1/users/{id}`: only the given fields change. An empty `bio` or
/// `avatar` removes it.
// An absent field is `None` already: `#[serde(default)]` would change nothing but
// print `default: null` on every property of the document.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub name: Option<String>,
    pub bio: Option<String>,
    pub avatar: Option<String>,
    /// A new e-mail; claimed atomically like at registration (409 if taken). Changing
    /// your own e-mail needs `current_password` (an admin changing another user's does
    /// not).
    pub email: Option<String>,
    /// Your current password: required with `email` (re-authentication, so a stolen
    /// session cannot take the account over through a password reset by e-mail).
    #[schema(format = Password)]
    pub current_password: Option<String>,
}

/// The stored fields a PATCH changes, typed: `None` leaves a field as it is. What the
/// repository writes and what the account lifecycle reacts to (a new `name` or
/// `avatar` is copied into the user's posts) are read from this one struct.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChanges {
    pub name: Option<String>,
    pub bio: Option<String>,
    pub avatar: Option<String>,
    pub email: Option<String>,
    /// A new username, claimed like at registration (only `/api` renames: the
    /// RealWorld spec lets a user change it).
    pub username: Option<String>,
}

/// Body of `PUT /v1/users/me/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    #[schema(format = Password)]
    pub current_password: String,
    /// The new password, under the same strength rule as at registration.
    #[schema(format = Password, example = "another long passphrase")]
    pub new_password: String,
}

impl UpdateUser {
    /// The stored fields this body changes (`current_password` is not one of them).
    pub fn changes(&self) -> UserChanges {
        UserChanges {
            name: self.name.clone(),
            bio: self.bio.clone(),
            avatar: self.avatar.clone(),
            email: self.email.clone(),
            username: None,
        }
    }

    pub fn validate(&self) -> AppResult<()> {
        let mut v = Validator::new();
        if let Some(name) = &self.name {
            v.check("name", validate::required_text(name, 100));
        }
        if let Some(bio) = &self.bio {
            v.check("bio", validate::text(bio, 500));
        }
        if let Some(avatar) = self.avatar.as_deref().filter(|a| !a.is_empty()) {
            v.check("avatar", validate::url(avatar));
        }
        if let Some(email) = &self.email {
            v.check("email", validate::email(email));
        }
        if let Some(password) = &self.current_password {
            v.check("current_password", validate::text(password, 128));
        }
        if self.changes() == UserChanges::default() {
            v.check(
                "body",
                Err("send at least one of name, bio, avatar, email".into()),
            );
        }
        v.finish()
    }
}
