//! Rate-limit request and response types.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::AppResult;
use crate::validate::{self, Validator};

/// Longest window `POST /v1/rate-limits/check` accepts (one day).
pub const MAX_WINDOW_MS: u64 = 24 * 3600 * 1000;
/// Largest limit it accepts. A request is one sorted-set member whatever its cost, so
/// this bounds the units, not the work: a window holds at most `limit` members (all of
/// cost 1), each added by its own admitted call.
pub const MAX_LIMIT: u32 = 100_000;
/// Largest cost of one request (and never above the request's `limit`).
pub const MAX_COST: u32 = MAX_LIMIT;

/// Body of `POST /v1/rate-limits/check`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// The caller's name for what is limited, e.g. `login-ip-10_0_0_7`. Keys are per
    /// caller: the same name used by two users is two independent windows.
    #[schema(example = "export-user-42", pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub key: String,
    /// Units allowed per window, 1 to 100,000.
    #[schema(example = 10, minimum = 1, maximum = 100_000)]
    pub limit: u32,
    /// Window length in milliseconds, 1 to 86,400,000 (one day).
    #[schema(example = 60000, minimum = 1, maximum = 86_400_000)]
    pub window_ms: u64,
    /// Units this request takes (default 1), 1 to `limit` (so at most 100,000).
    #[schema(minimum = 1, maximum = 100_000)]
    pub cost: Option<u32>,
}

impl CheckRequest {
    pub fn validate(&self) -> AppResult<()> {
        let cost = self.cost.unwrap_or(1);
        Validator::new()
            .check("key", validate::id(&self.key))
            .check(
                "limit",
                (1..=MAX_LIMIT)
                    .contains(&self.limit)
                    .then_some(())
                    .ok_or_else(|| format!("must be between 1 and {MAX_LIMIT}")),
            )
            .check(
                "window_ms",
                (1..=MAX_WINDOW_MS)
                    .contains(&self.window_ms)
                    .then_some(())
                    .ok_or_else(|| format!("must be between 1 and {MAX_WINDOW_MS}")),
            )
            .check(
                "cost",
                (1..=self.limit.clamp(1, MAX_COST))
                    .contains(&cost)
                    .then_some(())
                    .ok_or_else(|| format!("must be between 1 and `limit` (at most {MAX_COST})")),
            )
            .finish()
    }
}

/// The decision.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// Units left in the window after this request.
    pub remaining: u64,
    /// Milliseconds until the oldest counted request leaves the window.
    pub reset_ms: u64,
    /// When rejected: milliseconds until the same request would be allowed; 0 if allowed.
    pub retry_after_ms: u64,
}

/// One endpoint's quota for the current hour.
#[derive(Debug, Serialize, ToSchema)]
pub struct Quota {
    /// `METHOD /route/template`.
    pub endpoint: String,
    pub limit: u64,
    pub used: u64,
    pub remaining: u64,
    /// RFC 3339 UTC: when the hour's count starts over.
    pub resets_at: String,
}

/// `{items: [...]}`: every endpoint that has a quota.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaList {
    pub items: Vec<Quota>,
}
