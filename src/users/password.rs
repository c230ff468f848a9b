//! Password hashing with argon2id (argon2 crate defaults: 19 MiB, 2 passes).
//!
//! Hashing is CPU-bound on purpose, so it runs on the blocking thread pool and never
//! stalls the async workers. A login for an unknown user still verifies against a
//! dummy hash, so "no such user" and "wrong password" take about the same time and an
//! attacker cannot probe which usernames exist.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// A real hash of a random password, computed once, for unknown-user logins.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let random: [u8; 16] = rand::random();
    Argon2::default()
        .hash_password(&random)
        .expect("argon2 hashes with default parameters")
        .to_string()
});

/// Hashes `password` (PHC string, salt included).
pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    })
    .await?
}

/// Hashes `password` with a fixed `salt` (at least 8 bytes): the same PHC string on
/// every call. Only for synthetic benchmark users (`agora seed --synthetic`), where one
/// hash is shared by every user and a rerun must write the same value; real users get
/// a random salt from [`hash`].
pub fn hash_with_salt(password: &str, salt: &[u8]) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
}

/// True when `password` matches `stored`; with no stored hash, spends the same time
/// on the dummy hash and returns false.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok();
        ok && known
    })
    .await
    .unwrap_or(false)
}

/// Passwords too common to accept (see the file's header).
static COMMON: LazyLock<std::collections::HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common_passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
});

/// The minimum-strength rule for a new password (registration and password change),
/// after NIST SP 800-63B: 8 to 128 characters, and not one an attacker tries first:
/// not on the common-password list, not one character repeated, not the account's own
/// username or e-mail. No composition rules (they make passwords worse, not stronger).
pub fn check_strength(password: &str, identities: &[&str]) -> Result<(), String> {
    crate::validate::password(password)?;
    let lower = password.to_lowercase();
    let mut chars = lower.chars();
    let first = chars.next();
    if COMMON.contains(lower.as_str()) {
        return Err("is one of the most common passwords; choose another".into());
    }
    if chars.all(|c| Some(c) == first) {
        return Err("must not be one character repeated".into());
    }
    if identities
        .iter()
        .any(|identity| !identity.is_empty() && identity.to_lowercase() == lower)
    {
        return Err("must not be your username or e-mail".into());
    }
    Ok(())
}

/// Computes the dummy hash now, so the first unknown-user login is not faster.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

#[cfg(test)]
mod tests {
    use super::check_strength;

    #[test]
    fn common_short_and_self_naming_passwords_are_refused() {
        for weak in ["12345678", "Password1", "QWERTYUIOP", "zzzzzzzzzz", "short"] {
            assert!(check_strength(weak, &[]).is_err(), "{weak} accepted");
        }
        assert!(check_strength("alice-the-admin", &["Alice-The-Admin"]).is_err());
        assert!(check_strength("correct horse battery staple", &["alice"]).is_ok());
        assert!(check_strength("a long password", &[]).is_ok());
    }
}
