//! Analytics request and response types, and their validation.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{AppError, AppResult};
use crate::validate::{self, Validator};

/// A page path: starts with `/`, at most 200 of `A-Z a-z 0-9 / _ - . ~ %`.
pub fn path(value: &str) -> Result<(), String> {
    let ok = value.starts_with('/')
        && value.len() <= 200
        && value.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'.' | b'~' | b'%')
        });
    ok.then_some(())
        .ok_or_else(|| "must start with / and hold at most 200 of A-Z a-z 0-9 / _ - . ~ %".into())
}

/// The first day analytics know of (2000-01-01): earlier dates are 422, not a key.
pub fn first_day() -> time::Date {
    time::Date::from_calendar_date(2000, time::Month::January, 1).expect("a valid date")
}

/// Parses `YYYY-MM-DD` (a date that exists).
fn parse_date(value: &str) -> Result<time::Date, String> {
    let format = time::format_description::parse_borrowed::<2>("[year]-[month]-[day]")
        .expect("static format");
    time::Date::parse(value, &format).map_err(|_| "must be a date like 2026-04-01".into())
}

/// Today (UTC).
fn today_date() -> time::Date {
    crate::time::now().date()
}

/// A calendar date `YYYY-MM-DD` that exists, from 2000-01-01 to tomorrow (UTC): a day
/// to read. Other days have no data, and must not become key names.
pub fn date(value: &str) -> Result<(), String> {
    let day = parse_date(value)?;
    let tomorrow = today_date().next_day().unwrap_or(time::Date::MAX);
    if day < first_day() || day > tomorrow {
        return Err(format!("must be a date from {} to {tomorrow}", first_day()));
    }
    Ok(())
}

/// A day a visit may be recorded for: from `retention_days` ago to tomorrow (UTC).
/// An older day's keys have already expired (see [`day_expires_at`]); tomorrow allows
/// for clients ahead of UTC.
pub fn visit_date(value: &str, retention_days: u64) -> Result<(), String> {
    let day = parse_date(value)?;
    let today = today_date();
    let first = today
        .checked_sub(time::Duration::days(retention_days as i64))
        .unwrap_or_else(first_day)
        .max(first_day());
    let tomorrow = today.next_day().unwrap_or(time::Date::MAX);
    if day < first || day > tomorrow {
        return Err(format!(
            "must be a date from {first} to {tomorrow} (visits are kept {retention_days} days)"
        ));
    }
    Ok(())
}

/// When a day's visitor keys expire: `retention_days` after the day ends (Unix
/// seconds). `date` must be valid.
pub fn day_expires_at(date: &str, retention_days: u64) -> i64 {
    let day = parse_date(date).unwrap_or_else(|_| first_day());
    let end = day.midnight().assume_utc().unix_timestamp() + 24 * 3600;
    end + retention_days as i64 * 24 * 3600
}

/// Today's date (UTC) as `YYYY-MM-DD`.
pub fn today() -> String {
    crate::time::rfc3339(crate::time::now())[..10].to_string()
}

/// Body of `POST /v1/analytics/pageviews`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Pageview {
    #[schema(example = "/products/42")]
    pub path: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageviewQuery {
    /// The page path, e.g. `/products/42`.
    pub path: String,
}

/// A path's view count.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageviewCount {
    pub path: String,
    pub views: u64,
}

/// Body of `POST /v1/analytics/visits`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Visit {
    #[schema(example = "v-8f3a")]
    pub visitor_id: String,
    /// `YYYY-MM-DD`, from `AGORA_ANALYTICS_RETENTION_DAYS` (default 90) days ago to
    /// tomorrow (UTC); today when absent.
    pub date: Option<String>,
}

impl Visit {
    pub fn validate(&self, retention_days: u64) -> AppResult<()> {
        let mut v = Validator::new();
        v.check("visitor_id", validate::id(&self.visitor_id));
        if let Some(d) = &self.date {
            v.check("date", visit_date(d, retention_days));
        }
        v.finish()
    }
}

/// Whether the visit was the visitor's first of that day.
#[derive(Debug, Serialize, ToSchema)]
pub struct VisitRecorded {
    pub date: String,
    pub first_visit_today: bool,
}

/// Unique visitors of a day.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayVisitors {
    pub date: String,
    /// Exact (SCARD).
    pub unique: u64,
    /// HyperLogLog estimate (PFCOUNT), ~0.81% standard error.
    pub approximate_unique: u64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReturningQuery {
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Later day, `YYYY-MM-DD`.
    pub to: String,
    /// How many visitor ids to list, 0 to 1000 (default 100).
    pub limit: Option<u32>,
    /// Opaque: the `next_cursor` of the previous page; absent for the first page.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NewQuery {
    /// The day whose visitors are counted, `YYYY-MM-DD`.
    pub day: String,
    /// The earlier day they must not have been seen on, `YYYY-MM-DD`.
    pub since: String,
    /// How many visitor ids to list, 0 to 1000 (default 100).
    pub limit: Option<u32>,
    /// Opaque: the `next_cursor` of the previous page; absent for the first page.
    pub cursor: Option<String>,
}

/// A cohort of visitors: how many, and a page of (up to `limit`) their ids.
///
/// Bounded whatever the number of visitors: `count` is exact when the smaller of the
/// two days has at most 1000 visitors, else estimated from a random sample of 1000 of
/// them (`count_exact` says which; the estimate's standard error is at most about 1.6%
/// of the smaller day's visitors). The ids come a page at a time in no particular
/// order; a page may hold fewer than `limit` ids, or none, while `next_cursor` is not
/// null. Every visitor of the cohort comes exactly once while the two days do not
/// change.
#[derive(Debug, Serialize, ToSchema)]
pub struct Cohort {
    pub count: u64,
    /// False when `count` is an estimate.
    pub count_exact: bool,
    pub visitor_ids: Vec<String>,
    /// Pass as `?cursor=` for more ids; `null` when there are no more.
    pub next_cursor: Option<String>,
}

/// Validates two dates as named fields.
pub fn two_dates(first: (&str, &str), second: (&str, &str)) -> AppResult<()> {
    Validator::new()
        .check(first.0, date(first.1))
        .check(second.0, date(second.1))
        .finish()
}

pub fn invalid_path(message: String) -> AppError {
    AppError::invalid("path", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_stay_in_a_sane_range() {
        assert!(date("2026-02-30").is_err());
        assert!(date("-9999-12-31").is_err());
        assert!(date("1999-12-31").is_err());
        assert!(date("2000-01-01").is_ok());
        assert!(date(&today()).is_ok());
        assert!(date("9999-12-31").is_err());
        assert!(visit_date(&today(), 90).is_ok());
        assert!(visit_date("2000-01-01", 90).is_err());
    }

    #[test]
    fn a_day_expires_its_retention_after_it_ends() {
        // 2026-04-01T00:00:00Z = 1775001600; the day ends a day later.
        assert_eq!(day_expires_at("2026-04-01", 0), 1_775_001_600 + 86_400);
        assert_eq!(
            day_expires_at("2026-04-01", 90),
            1_775_001_600 + 86_400 * 91
        );
    }
}
