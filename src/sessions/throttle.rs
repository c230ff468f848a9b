//! The login throttle: failed attempts counted per account and per client address.
//!
//! Argon2 makes each guess cost the server ~50 ms, but without a cap an attacker
//! still gets thousands of guesses an hour at one account. Each attempt first takes a
//! slot in two fixed-window counters (INCR, then PEXPIRE NX so the window starts at
//! the first failure): the account's (`user:{id}:login_attempts`, or one keyed by the
//! hash of a login that names no account, so unknown and known logins behave the
//! same) and the client address's. The slot is taken *before* the password is
//! checked, so 200 concurrent guesses cannot all slip in before the first failure is
//! counted; a successful login gives its slot back (the account's counter is reset,
//! the address's decremented). Over either cap the answer is 429 with `Retry-After` =
//! the rest of that window, and argon2 does not run.
//!
//! The per-account cap lets a stranger lock an account's password logins for one
//! window (15 minutes by default); existing sessions keep working. That is the
//! usual trade-off of account throttling and why the window is short.

use sha2::{Digest, Sha256};

use super::repo;
use crate::config::Settings;
use crate::error::{AppError, AppResult};
use crate::redis::Redis;

/// The two counters one login attempt takes a slot in.
pub struct Attempt {
    account_key: String,
    ip_key: String,
}

impl Attempt {
    /// The counters for a login of `user_id` (or of `login` when it names no account)
    /// from `ip`.
    pub fn new(redis: &Redis, user_id: Option<&str>, login: &str, ip: &str) -> Attempt {
        let account_key = match user_id {
            Some(id) => redis.keys.login_attempts_user(id),
            None => redis
                .keys
                .login_attempts_unknown(&hex::encode(Sha256::digest(
                    login.trim().to_lowercase().as_bytes(),
                ))),
        };
        let ip = if ip.is_empty() { "unknown" } else { ip };
        Attempt {
            account_key,
            ip_key: redis
                .keys
                .login_attempts_ip(&hex::encode(Sha256::digest(ip.as_bytes()))),
        }
    }

    /// Takes a slot in both counters; 429 (with the rest of the window as
    /// `Retry-After`) when either is over its cap. One round trip (one pipeline per
    /// slot on a cluster).
    pub async fn begin(&self, redis: &Redis, settings: &Settings) -> AppResult<()> {
        let window_ms = settings.login_throttle().as_millis() as u64;
        let counts =
            repo::count_attempts(redis, [&self.account_key, &self.ip_key], window_ms).await?;
        let caps = [
            settings.login_max_failures,
            settings.login_max_failures_per_ip,
        ];
        for ((count, ttl_ms), cap) in counts.into_iter().zip(caps) {
            if count > cap {
                let wait_ms = ttl_ms.max(1) as u64;
                return Err(AppError::RateLimited {
                    retry_after_secs: wait_ms.div_ceil(1000),
                    detail: "Too many failed logins.".to_string(),
                });
            }
        }
        Ok(())
    }

    /// The login succeeded: the account's failures are forgotten and the address gets
    /// its slot back.
    pub async fn succeeded(&self, redis: &Redis) -> AppResult<()> {
        repo::forget_attempts(redis, &self.account_key, &self.ip_key).await
    }
}
