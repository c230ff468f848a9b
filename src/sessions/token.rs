//! Session tokens: 256 random bits, shown to the client once; Redis keeps only SHA-256.
//!
//! Storing the hash means a dump of the keyspace, a `MONITOR` session or a slow-log
//! entry never holds a usable token. SHA-256 (not argon2) is right here: the token is
//! already 256 bits of entropy, so there is nothing to brute-force.

use sha2::{Digest, Sha256};

/// Length of a token: 32 random bytes as lowercase hex.
pub const TOKEN_LEN: usize = 64;

/// A new token and its hash.
pub fn generate() -> (String, String) {
    let bytes: [u8; 32] = rand::random();
    let token = hex::encode(bytes);
    let hash = hash_unchecked(&token);
    (token, hash)
}

/// The hash of a well-formed token; `None` for anything that cannot be one.
pub fn hash(token: &str) -> Option<String> {
    is_hex(token, TOKEN_LEN).then(|| hash_unchecked(token))
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
    #[test]
    fn tokens_are_random_and_hash_stably() {
        let (a, ha) = super::generate();
        let (b, _) = super::generate();
        assert_ne!(a, b);
        assert_eq!(super::hash(&a).as_deref(), Some(ha.as_str()));
        assert_ne!(a, ha);
        assert!(super::hash("not-a-token").is_none());
        assert!(super::hash(&a.to_uppercase()).is_none());
    }
}
