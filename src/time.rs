//! Timestamps: RFC 3339 UTC text in the API and in Redis (readable in redis-cli),
//! Unix milliseconds where Redis computes with them (TTLs, sorted-set scores).
//!
//! Text is always to the millisecond with a `Z` (`2026-11-21T12:25:54.287Z`): a fixed
//! width, so timestamps sort correctly as strings.

use std::sync::LazyLock;

use time::OffsetDateTime;
use time::format_description::OwnedFormatItem;

static FORMAT: LazyLock<OwnedFormatItem> = LazyLock::new(|| {
    time::format_description::parse_owned::<2>(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z",
    )
    .expect("static format description")
});

/// Now, in UTC.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Unix milliseconds of `t`.
pub fn unix_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// RFC 3339 text of `t` in UTC, to the millisecond.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&*FORMAT)
        .expect("UTC timestamps format")
}

/// RFC 3339 text of a Unix-milliseconds instant.
pub fn rfc3339_from_ms(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .map(rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn fixed_width_milliseconds() {
        assert_eq!(super::rfc3339_from_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            super::rfc3339_from_ms(1_795_000_000_287),
            "2026-11-18T11:06:40.287Z"
        );
    }
}
