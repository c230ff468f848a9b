//! Lock types.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Shortest lock a client may take, in ms.
pub const MIN_TTL_MS: i64 = 10;
/// Longest lock a client may take (or extend to), in ms: 10 minutes.
pub const MAX_TTL_MS: i64 = 600_000;

/// Checks a TTL in ms.
pub fn check_ttl(ttl_ms: i64) -> Result<(), String> {
    (MIN_TTL_MS..=MAX_TTL_MS)
        .contains(&ttl_ms)
        .then_some(())
        .ok_or_else(|| format!("must be {MIN_TTL_MS} to {MAX_TTL_MS} ms"))
}

/// Body of `POST /v1/locks/{resource}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcquireLock {
    /// How long the lock is held unless extended or released, 10 to 600,000 ms.
    #[schema(example = 30000, minimum = 10, maximum = 600_000)]
    pub ttl_ms: i64,
}

/// Body of `PATCH /v1/locks/{resource}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendLock {
    /// The token `POST` returned.
    pub token: String,
    /// The new TTL, from now, 10 to 600,000 ms.
    #[schema(example = 30000, minimum = 10, maximum = 600_000)]
    pub ttl_ms: i64,
}

/// Body of `DELETE /v1/locks/{resource}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseLock {
    /// The token `POST` returned.
    pub token: String,
}

/// A held lock.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Lock {
    pub resource: String,
    /// Proves holding: needed to extend or release. 128 random bits, hex.
    pub token: String,
    /// Strictly increases with every acquisition of this resource; pass it to the
    /// protected storage so it can refuse writes from an older holder.
    #[schema(example = 17)]
    pub fencing_token: u64,
    /// RFC 3339 UTC: when the lock frees itself unless extended.
    pub expires_at: String,
}
