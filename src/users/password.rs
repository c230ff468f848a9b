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

/// Computes the dummy hash now, so the first unknown-user login is not faster.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}
