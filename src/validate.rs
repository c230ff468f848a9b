//! Input validation, before anything reaches Redis.
//!
//! Ids, usernames and other values that end up inside key names are checked against a
//! strict charset here, so `{`, `}`, `:`, `*` or whitespace can never forge another key
//! or move a key to another cluster slot. Errors are collected per field, so one 422
//! names every bad field at once.

use std::collections::BTreeMap;

use crate::error::AppError;

/// Collects field errors; `finish` turns them into one 422.
#[derive(Default)]
pub struct Validator {
    errors: BTreeMap<String, String>,
}

impl Validator {
    pub fn new() -> Validator {
        Validator::default()
    }

    pub fn check(&mut self, field: &str, result: Result<(), String>) -> &mut Validator {
        if let Err(message) = result {
            self.errors.entry(field.to_string()).or_insert(message);
        }
        self
    }

    pub fn finish(&mut self) -> Result<(), AppError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(std::mem::take(&mut self.errors)))
        }
    }
}

/// An id used in a key: 1 to 64 of `A-Z a-z 0-9 _ -`.
pub fn id(value: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then_some(())
        .ok_or_else(|| "must be 1 to 64 characters: letters, digits, _ or -".to_string())
}

/// Validates a path id as one field, as a 422 naming it.
pub fn path_id(field: &str, value: &str) -> Result<(), AppError> {
    id(value).map_err(|message| AppError::invalid(field, message))
}

/// A username: 3 to 32 of `a-z A-Z 0-9 _ - .`, starting with a letter or digit.
pub fn username(value: &str) -> Result<(), String> {
    let ok = (3..=32).contains(&value.len())
        && value
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    ok.then_some(()).ok_or_else(|| {
        "must be 3 to 32 characters: letters, digits, _ - . (starting with a letter or digit)"
            .to_string()
    })
}

/// A pragmatic e-mail check: one `@`, a dot in the domain, no spaces, at most 254 bytes.
pub fn email(value: &str) -> Result<(), String> {
    let ok = value.len() <= 254
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    ok.then_some(())
        .ok_or_else(|| "must be an e-mail address like name@example.com".to_string())
}

/// A password: 8 to 128 characters (longer ones only cost hashing time).
pub fn password(value: &str) -> Result<(), String> {
    let n = value.chars().count();
    (8..=128)
        .contains(&n)
        .then_some(())
        .ok_or_else(|| "must be 8 to 128 characters".to_string())
}

/// Free text with a maximum length in characters and no control characters but newlines.
pub fn text(value: &str, max_chars: usize) -> Result<(), String> {
    if value.chars().count() > max_chars {
        return Err(format!("must be at most {max_chars} characters"));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err("must not contain control characters".to_string());
    }
    Ok(())
}

/// A non-empty single-line text.
pub fn required_text(value: &str, max_chars: usize) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err("must not be empty".to_string());
    }
    text(value, max_chars)?;
    if value.contains('\n') {
        return Err("must be a single line".to_string());
    }
    Ok(())
}

/// An http(s) URL for an avatar.
pub fn url(value: &str) -> Result<(), String> {
    let ok = value.len() <= 500
        && (value.starts_with("https://") || value.starts_with("http://"))
        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then_some(())
        .ok_or_else(|| "must be an http(s) URL of at most 500 characters".to_string())
}

/// A tag (already lower-cased): 1 to 32 of `a-z 0-9 _ - .`.
pub fn tag(value: &str) -> Result<(), String> {
    let ok = (1..=32).contains(&value.len())
        && value.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.')
        });
    ok.then_some(())
        .ok_or_else(|| "must be 1 to 32 characters: letters, digits, _ - .".to_string())
}

/// An optional bounded query number: `default` when absent, 422 naming `field` when out
/// of `min..=max`.
pub fn bounded(
    field: &str,
    value: Option<u32>,
    min: u32,
    max: u32,
    default: u32,
) -> Result<u32, AppError> {
    let value = value.unwrap_or(default);
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(AppError::invalid(
            field,
            format!("must be between {min} and {max}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_reject_key_syntax() {
        for bad in ["", "a:b", "{1}", "a b", "a*", "é", &"x".repeat(65)] {
            assert!(id(bad).is_err(), "{bad:?} must be rejected");
        }
        assert!(id("1001").is_ok());
        assert!(id("me").is_ok());
    }

    #[test]
    fn tags_reject_key_syntax() {
        for bad in ["", "a:b", "{t}", "a b", "t*", "Upper", &"t".repeat(33)] {
            assert!(tag(bad).is_err(), "{bad:?} must be rejected");
        }
        assert!(tag("premium").is_ok());
        assert!(tag("rust-2024.x_y").is_ok());
    }

    #[test]
    fn usernames_and_emails() {
        assert!(username("alice_01").is_ok());
        assert!(username("_alice").is_err());
        assert!(username("al").is_err());
        assert!(username("a{b}c").is_err());
        assert!(email("a@example.com").is_ok());
        assert!(email("a@b").is_err());
        assert!(email("a b@example.com").is_err());
        assert!(email("@example.com").is_err());
    }
}
