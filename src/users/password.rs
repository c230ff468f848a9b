//! Password hashing with argon2id (argon2 crate defaults: 19 MiB, 2 passes).
//!
//! Stored form: a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) is 97
//! bytes, over Redis's 64-byte `hash-max-listpack-value`, and one such field turns the
//! whole user hash from a listpack (~300 B) into a hash table (~700 B). So a hash made
//! with the default parameters is stored *compact*: the base64 (no padding) of its
//! 16-byte salt followed by its 32-byte output, exactly 64 characters. The parameters
//! are implied: a value that does not start with `$` is this compact form, and any
//! other hash (other parameters, another salt length, a user stored before) stays a
//! full PHC string, which is always recognised. [`expand`] turns the compact form
//! back into the PHC string the argon2 crate verifies; logins rewrite old PHC values
//! compactly ([`upgrade`]).
//!
//! Hashing is CPU-bound on purpose, so it runs on the blocking thread pool and never
//! stalls the async workers. A login for an unknown user still verifies against a
//! dummy hash, so "no such user" and "wrong password" take about the same time and an
//! attacker cannot probe which usernames exist.

use std::sync::LazyLock;

use std::borrow::Cow;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64ct::{Base64Unpadded, Encoding};

/// The PHC prefix of every hash made with the default parameters: what the compact
/// form leaves out.
const COMPACT_PREFIX: &str = "$argon2id$v=19$m=19456,t=2,p=1$";
/// Salt and output lengths of the compact form.
const SALT_LEN: usize = 16;
const OUTPUT_LEN: usize = 32;

/// The compact form of `phc` (see the module docs), or `None` when it was not made
/// with the default parameters, a 16-byte salt and a 32-byte output.
pub fn compact(phc: &str) -> Option<String> {
    let (salt, output) = phc.strip_prefix(COMPACT_PREFIX)?.split_once('$')?;
    let mut bytes = Base64Unpadded::decode_vec(salt).ok()?;
    let output = Base64Unpadded::decode_vec(output).ok()?;
    if bytes.len() != SALT_LEN || output.len() != OUTPUT_LEN {
        return None;
    }
    bytes.extend_from_slice(&output);
    Some(Base64Unpadded::encode_string(&bytes))
}

/// True when `stored` is in the compact form (not a `$`-prefixed PHC string).
pub fn is_compact(stored: &str) -> bool {
    !stored.starts_with('$')
}

/// The PHC string of a stored hash: compact values expanded, PHC strings as they are.
/// A value that is neither stays as it is (and never verifies).
pub fn expand(stored: &str) -> Cow<'_, str> {
    if !is_compact(stored) {
        return Cow::Borrowed(stored);
    }
    match Base64Unpadded::decode_vec(stored) {
        Ok(bytes) if bytes.len() == SALT_LEN + OUTPUT_LEN => {
            let (salt, output) = bytes.split_at(SALT_LEN);
            Cow::Owned(format!(
                "{COMPACT_PREFIX}{}${}",
                Base64Unpadded::encode_string(salt),
                Base64Unpadded::encode_string(output)
            ))
        }
        _ => Cow::Borrowed(stored),
    }
}

/// The form to store instead of `stored` after `password` matched it, or `None` when
/// it is already compact: a PHC string of the default parameters is converted as it
/// is; any other is hashed again with the defaults (one more argon2 run, once).
pub async fn upgrade(password: String, stored: &str) -> anyhow::Result<Option<String>> {
    if is_compact(stored) {
        return Ok(None);
    }
    if let Some(compacted) = compact(stored) {
        return Ok(Some(compacted));
    }
    hash(password).await.map(Some)
}

/// How a fresh PHC string is stored: compact when it can be.
fn stored_form(phc: String) -> String {
    compact(&phc).unwrap_or(phc)
}

/// A real hash of a random password, computed once, for unknown-user logins.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let random: [u8; 16] = rand::random();
    Argon2::default()
        .hash_password(&random)
        .expect("argon2 hashes with default parameters")
        .to_string()
});

/// Hashes `password` with a random salt, in the stored (compact) form.
pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| stored_form(h.to_string()))
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    })
    .await?
}

/// Hashes `password` with a fixed `salt` (at least 8 bytes; 16 gives the compact
/// form): the same stored value on every call. Only for synthetic benchmark users (`agora seed --synthetic`), where one
/// hash is shared by every user and a rerun must write the same value; real users get
/// a random salt from [`hash`].
pub fn hash_with_salt(password: &str, salt: &[u8]) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), salt)
        .map(|h| stored_form(h.to_string()))
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
}

/// True when `password` matches `stored` (compact or PHC); with no stored hash, spends
/// the same time on the dummy hash and returns false.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), expand(&hash).as_ref())
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
    use super::*;

    #[tokio::test]
    async fn new_hashes_are_compact_and_verify() {
        let stored = hash("a long passphrase".into()).await.unwrap();
        assert_eq!(stored.len(), 64, "{stored}");
        assert!(is_compact(&stored));
        assert!(verify("a long passphrase".into(), Some(stored.clone())).await);
        assert!(!verify("another passphrase".into(), Some(stored.clone())).await);
        assert_eq!(compact(&expand(&stored)), Some(stored));
    }

    #[tokio::test]
    async fn old_phc_strings_still_verify_and_upgrade() {
        let phc = Argon2::default()
            .hash_password(b"a long passphrase")
            .unwrap()
            .to_string();
        assert!(!is_compact(&phc));
        assert!(verify("a long passphrase".into(), Some(phc.clone())).await);
        let upgraded = upgrade("a long passphrase".into(), &phc)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(expand(&upgraded), phc);
        // Other parameters cannot be compacted as they are: hashed again.
        let custom = Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(8192, 1, 1, None).unwrap(),
        )
        .hash_password(b"a long passphrase")
        .unwrap()
        .to_string();
        assert!(compact(&custom).is_none());
        assert!(verify("a long passphrase".into(), Some(custom.clone())).await);
        let rehashed = upgrade("a long passphrase".into(), &custom)
            .await
            .unwrap()
            .unwrap();
        assert!(is_compact(&rehashed));
        assert!(verify("a long passphrase".into(), Some(rehashed.clone())).await);
        assert_eq!(upgrade("x".into(), &rehashed).await.unwrap(), None);
        assert!(!verify("a long passphrase".into(), Some("garbage".into())).await);
    }

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
