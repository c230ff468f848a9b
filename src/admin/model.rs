//! Admin types and input checks.

use crate::pagination::{Page, Paged};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A key name as an admin may give it: 1 to 512 printable ASCII characters, no spaces.
pub fn key_name(value: &str) -> Result<(), String> {
    let ok = (1..=512).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some(())
        .ok_or_else(|| "must be 1 to 512 printable ASCII characters without spaces".into())
}

/// A SCAN cursor as this API hands them out: digits, or `node:digits` on a cluster.
pub fn cursor(value: &str) -> Result<(), String> {
    let ok = value.len() <= 40 && value.bytes().all(|b| b.is_ascii_digit() || b == b':');
    ok.then_some(())
        .ok_or_else(|| "must be a cursor from a previous page".into())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeysQuery {
    /// Glob pattern (`*`, `?`, `[...]`) within this deployment's keys, e.g. `user:*`.
    #[serde(rename = "match")]
    pub pattern: Option<String>,
    /// `next_cursor` of the previous page; absent for the first page.
    pub cursor: Option<String>,
    /// SCAN COUNT hint, 10 to 1000 (default 100). A page may hold fewer or more keys.
    pub count: Option<u32>,
}

/// One key.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyInfo {
    /// The key without the deployment's `KEY_PREFIX`.
    pub key: String,
    /// `string`, `hash`, `list`, `set`, `zset`, `stream`, or `none` if it vanished.
    #[serde(rename = "type")]
    pub kind: String,
    /// Milliseconds to live; `null` when the key has no TTL.
    pub ttl_ms: Option<i64>,
}

/// A page of keys.
pub type KeyPage = Page<KeyInfo>;

impl Paged for KeyInfo {
    const PAGE_NAME: &'static str = "KeyPage";
    const PAGE_DESCRIPTION: &'static str = "A page of keys.";
}

/// `MEMORY USAGE` of one key.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyMemory {
    pub key: String,
    /// Bytes, including Redis's per-key overhead.
    pub bytes: u64,
}
