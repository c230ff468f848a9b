//! Redis URLs as they may be printed: every credential the URL parser accepts hidden.
//!
//! redis-rs takes a password from two places: the userinfo of a TCP URL
//! (`redis://user:secret@host`, `rediss://`, `valkey://`, `valkeys://`) and the `pass`
//! query parameter of a Unix-socket URL (`redis+unix:///run/redis.sock?pass=secret`,
//! `unix://`, `valkey+unix://`). Both are replaced by `***`, and so are `password`
//! query parameters (not read by redis-rs today, but a common spelling that must not
//! leak either). User names stay: they are not secrets and tell an operator which ACL
//! user is meant. A URL that does not parse is not printed at all (its password could
//! sit anywhere in it).
//!
//! [`redact_url`] is the one way a URL is printed (the serving line, start-up retry
//! warnings, the fatal line); [`scrub`] removes the same secrets from error texts that
//! might echo them.

/// Shown instead of a secret.
const MASK: &str = "***";

/// Query parameters whose value is a secret (compared case-insensitively).
const SECRET_PARAMETERS: &[&str] = &["pass", "password"];

/// `url` with every password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some(mut parsed) = redis::parse_redis_url(url) else {
        return "(unparseable Redis URL, not shown)".to_string();
    };
    if parsed.password().is_some_and(|p| !p.is_empty()) {
        // Fails only for URLs that cannot hold a password (no host), which then have none.
        let _ = parsed.set_password(Some(MASK));
    }
    let has_secret_parameter = parsed
        .query_pairs()
        .any(|(name, _)| is_secret_parameter(&name));
    if has_secret_parameter {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(name, value)| {
                let value = if is_secret_parameter(&name) {
                    MASK.to_string()
                } else {
                    value.into_owned()
                };
                (name.into_owned(), value)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

/// The secrets in `url`, as written and as decoded, for [`scrub`].
pub fn secrets(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    match redis::parse_redis_url(url) {
        Some(parsed) => {
            if let Some(password) = parsed.password() {
                found.push(password.to_string());
                found.push(
                    percent_encoding::percent_decode_str(password)
                        .decode_utf8_lossy()
                        .into_owned(),
                );
            }
            if let Some(query) = parsed.query() {
                for pair in query.split('&') {
                    if let Some((name, raw)) = pair.split_once('=')
                        && is_secret_parameter(name)
                    {
                        found.push(raw.to_string());
                    }
                }
            }
            for (name, value) in parsed.query_pairs() {
                if is_secret_parameter(&name) {
                    found.push(value.into_owned());
                }
            }
        }
        // Unparseable: nothing can be told apart, so the whole URL is the secret.
        None => found.push(url.to_string()),
    }
    found.retain(|s| !s.is_empty());
    found.sort_by_key(|s| std::cmp::Reverse(s.len()));
    found.dedup();
    found
}

/// `text` with every one of `secrets` replaced by `***` (longest first).
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut text = text.to_string();
    for secret in secrets {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), MASK);
        }
    }
    text
}

fn is_secret_parameter(name: &str) -> bool {
    SECRET_PARAMETERS
        .iter()
        .any(|secret| name.eq_ignore_ascii_case(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_userinfo_password_is_hidden_and_the_user_kept() {
        assert_eq!(
            redact_url("redis://user:secret@host:6379/0"),
            "redis://user:***@host:6379/0"
        );
        assert_eq!(
            redact_url("rediss://default:s%40cr%2Fet@host:6380#insecure"),
            "rediss://default:***@host:6380#insecure"
        );
        assert_eq!(redact_url("valkey://:secret@host"), "valkey://:***@host");
        assert_eq!(redact_url("redis://host:6379"), "redis://host:6379");
        assert_eq!(redact_url("redis://user@host"), "redis://user@host");
    }

    #[test]
    fn a_pass_or_password_query_parameter_is_hidden() {
        assert_eq!(
            redact_url("redis+unix:///run/redis.sock?db=2&pass=SECRET&user=app"),
            "redis+unix:///run/redis.sock?db=2&pass=***&user=app"
        );
        assert_eq!(
            redact_url("unix:///run/redis.sock?PASSWORD=SECRET"),
            "unix:///run/redis.sock?PASSWORD=***"
        );
        assert_eq!(
            redact_url("valkey+unix:///tmp/v.sock?pass=a%26b&password=c"),
            "valkey+unix:///tmp/v.sock?pass=***&password=***"
        );
        assert_eq!(
            redact_url("redis://u:p1@host/0?password=p2"),
            "redis://u:***@host/0?password=***"
        );
    }

    #[test]
    fn an_unparseable_url_is_not_printed() {
        let shown = redact_url("redis://user:pa ss@ho st");
        assert!(!shown.contains("pa ss"), "{shown}");
        assert!(!redact_url("http://user:secret@host").contains("secret"));
    }

    #[test]
    fn scrub_removes_encoded_and_decoded_secrets_from_error_texts() {
        let secrets = secrets("redis://u:s%40cret@host?pass=p%2Bq");
        let text = "failed: redis://u:s%40cret@host s@cret p%2Bq p+q";
        let scrubbed = scrub(text, &secrets);
        for secret in ["s%40cret", "s@cret", "p%2Bq", "p+q"] {
            assert!(!scrubbed.contains(secret), "{scrubbed}");
        }
        assert_eq!(scrub("nothing here", &secrets), "nothing here");
        assert_eq!(
            scrub("x redis://a b y", &super::secrets("redis://a b")),
            "x *** y"
        );
    }
}
