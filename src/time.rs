//! Timestamps: RFC 3339 UTC text in the API and in Redis (readable in redis-cli),
//! Unix milliseconds where Redis computes with them (TTLs, sorted-set scores).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Now, in UTC.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Unix milliseconds of `t`.
pub fn unix_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// RFC 3339 text of `t` (UTC, `Z`), to the millisecond.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t
        .replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(t);
    t.format(&Rfc3339)
        .expect("UTC timestamps format as RFC 3339")
}

/// RFC 3339 text of a Unix-milliseconds instant.
pub fn rfc3339_from_ms(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .map(rfc3339)
        .unwrap_or_default()
}
