//! Session tokens: `<user id>.<256 random bits as hex>`, shown to the client once;
//! Redis keeps only the SHA-256 of the whole token.
//!
//! Storing the hash means a dump of the keyspace, a `MONITOR` session or a slow-log
//! entry never holds a usable token. SHA-256 (not argon2) is right here: the random
//! part is already 256 bits of entropy, so there is nothing to brute-force.
//!
//! The user id in front is not a secret (ids are public) and grants nothing on its
//! own: it only says which user's slot holds the session (`user:{id}:session:<sha>`),
//! so the session lives in the user's aggregate and every check of it, every login and
//! every revocation is one atomic script there (see `sessions::repo`). A forged token
//! with someone else's id still needs the 256 random bits to hash to a live session.

use sha2::{Digest, Sha256};

use crate::validate;

/// Length of the random part: 32 random bytes as lowercase hex.
const SECRET_LEN: usize = 64;

/// Where a token's session is: its user and its id (the token's SHA-256).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRef {
    pub user_id: String,
    pub id: String,
}

/// A new token for `user_id` and its session id.
pub fn generate(user_id: &str) -> (String, String) {
    let bytes: [u8; 32] = rand::random();
    let token = format!("{user_id}.{}", hex::encode(bytes));
    let id = hash_unchecked(&token);
    (token, id)
}

/// The session a well-formed token names; `None` for anything that cannot be a token
/// (so malformed input never reaches Redis as a key fragment).
pub fn parse(token: &str) -> Option<SessionRef> {
    let (user_id, secret) = token.split_once('.')?;
    (validate::id(user_id).is_ok() && is_hex(secret, SECRET_LEN)).then(|| SessionRef {
        user_id: user_id.to_string(),
        id: hash_unchecked(token),
    })
}

/// True for a session id (a token hash) as shown by the sessions list.
pub fn is_session_id(value: &str) -> bool {
    is_hex(value, 64)
}

fn is_hex(value: &str, len: usize) -> bool {
    value.len() == len
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn hash_unchecked(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_stably() {
        let (a, ha) = generate("42");
        let (b, _) = generate("42");
        assert_ne!(a, b);
        assert!(a.starts_with("42."));
        let parsed = parse(&a).unwrap();
        assert_eq!(parsed.user_id, "42");
        assert_eq!(parsed.id, ha);
        assert!(is_session_id(&ha));
        assert_ne!(a, ha);
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let (a, _) = generate("42");
        assert!(parse("not-a-token").is_none());
        assert!(parse(&a.to_uppercase()).is_none());
        assert!(parse(&a.replace("42.", "4{2}.")).is_none());
        assert!(parse(&a.replace("42.", ".")).is_none());
        assert!(parse(&a[..a.len() - 1]).is_none());
        // The former format (64 hex without a user) is no longer a token.
        assert!(parse(&a[3..]).is_none());
    }
}
