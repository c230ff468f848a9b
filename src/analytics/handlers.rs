//! HTTP handlers for analytics.

use axum::Json;
use axum::extract::{Path, State};

use super::model::{
    self, Cohort, DayVisitors, NewQuery, Pageview, PageviewCount, PageviewQuery, ReturningQuery,
    Visit, VisitRecorded,
};
use super::repo::{self, Combine};
use crate::error::{AppError, AppResult, responses};
use crate::extract::{AppJson, AppQuery};
use crate::pagination::SetCursor;
use crate::state::AppState;
use crate::validate::bounded;

/// Count a page view
///
/// A path's counter is kept `AGORA_ANALYTICS_RETENTION_DAYS` (default 90) after its
/// last view.
///
/// Redis: `MULTI INCR pageviews:{path} PEXPIRE EXEC`.
#[utoipa::path(post, path = "/v1/analytics/pageviews", tag = "analytics",
    request_body = Pageview,
    responses(
        (status = 200, description = "The new count", body = PageviewCount),
        responses::BadRequest, responses::NotJson, responses::Invalid, responses::Unavailable
    ))]
pub async fn record_pageview(
    State(state): State<AppState>,
    AppJson(input): AppJson<Pageview>,
) -> AppResult<Json<PageviewCount>> {
    model::path(&input.path).map_err(model::invalid_path)?;
    let views = repo::record_pageview(
        &state.redis,
        &input.path,
        state.settings.analytics_retention(),
    )
    .await?;
    Ok(Json(PageviewCount {
        path: input.path,
        views,
    }))
}

/// Page views of a path
///
/// Redis: `GET pageviews:{path}`.
#[utoipa::path(get, path = "/v1/analytics/pageviews", tag = "analytics",
    params(PageviewQuery),
    responses(
        (status = 200, description = "The count (0 for a path never seen)", body = PageviewCount),
        responses::Invalid, responses::Unavailable
    ))]
pub async fn get_pageviews(
    State(state): State<AppState>,
    AppQuery(query): AppQuery<PageviewQuery>,
) -> AppResult<Json<PageviewCount>> {
    model::path(&query.path).map_err(model::invalid_path)?;
    let views = repo::pageviews(&state.redis, &query.path).await?;
    Ok(Json(PageviewCount {
        path: query.path,
        views,
    }))
}

/// Record a visit
///
/// Adds the visitor to the day's set of unique visitors and to its HyperLogLog. `date`
/// may be from `AGORA_ANALYTICS_RETENTION_DAYS` (default 90) days ago to tomorrow
/// (UTC), else 422; a day's keys expire that many days after the day ends.
///
/// Redis: one MULTI in the day's slot: `SADD visitors:{date}`, `PFADD
/// visitors:{date}:hll`, `EXPIREAT` both.
#[utoipa::path(post, path = "/v1/analytics/visits", tag = "analytics",
    request_body = Visit,
    responses(
        (status = 200, description = "Recorded", body = VisitRecorded),
        responses::BadRequest, responses::NotJson, responses::Invalid, responses::Unavailable
    ))]
pub async fn record_visit(
    State(state): State<AppState>,
    AppJson(input): AppJson<Visit>,
) -> AppResult<Json<VisitRecorded>> {
    let retention_days = state.settings.analytics_retention_days;
    input.validate(retention_days)?;
    let date = input.date.unwrap_or_else(model::today);
    let expires_at = model::day_expires_at(&date, retention_days);
    let first_visit_today =
        repo::record_visit(&state.redis, &date, &input.visitor_id, expires_at).await?;
    Ok(Json(VisitRecorded {
        date,
        first_visit_today,
    }))
}

/// Unique visitors of a day
///
/// Exact (SCARD of the set) and approximate (PFCOUNT of the HyperLogLog).
///
/// Redis: one pipeline: `SCARD visitors:{date}`, `PFCOUNT visitors:{date}:hll`.
#[utoipa::path(get, path = "/v1/analytics/visitors/{date}", tag = "analytics",
    params(("date" = String, Path, description = "`YYYY-MM-DD`, from 2000-01-01 to tomorrow (UTC)")),
    responses(
        (status = 200, description = "The day's unique visitors", body = DayVisitors),
        responses::Invalid, responses::Unavailable
    ))]
pub async fn visitors_of_day(
    State(state): State<AppState>,
    Path(date): Path<String>,
) -> AppResult<Json<DayVisitors>> {
    model::date(&date).map_err(|m| AppError::invalid("date", m))?;
    let (unique, approximate_unique) = repo::unique(&state.redis, &date).await?;
    Ok(Json(DayVisitors {
        date,
        unique,
        approximate_unique,
    }))
}

fn cohort(page: repo::CohortPage) -> Cohort {
    Cohort {
        count: page.count,
        count_exact: page.count_exact,
        visitor_ids: page.visitor_ids,
        next_cursor: page.next.map(|c| c.encode()),
    }
}

/// Returning visitors
///
/// Visitors seen on day `from` and again on day `to`. Bounded (see `Cohort`): the
/// count is exact up to 1000 visitors on the smaller day, else estimated; the ids come
/// a page at a time.
///
/// Redis (both topologies, no SINTER): `SCARD` of both days; `SRANDMEMBER` of the
/// smaller (1000) and `SMISMEMBER` in the other; `SSCAN` of the smaller with
/// `SMISMEMBER` of each batch in the other.
#[utoipa::path(get, path = "/v1/analytics/visitors/returning", tag = "analytics",
    params(ReturningQuery),
    responses(
        (status = 200, description = "The returning visitors", body = Cohort),
        responses::Invalid, responses::Unavailable
    ))]
pub async fn returning_visitors(
    State(state): State<AppState>,
    AppQuery(query): AppQuery<ReturningQuery>,
) -> AppResult<Json<Cohort>> {
    model::two_dates(("from", &query.from), ("to", &query.to))?;
    let limit = bounded("limit", query.limit, 0, 1000, 100)?;
    let cursor = SetCursor::from_query(query.cursor.as_deref())?;
    let page = repo::cohort(
        &state.redis,
        &query.from,
        &query.to,
        Combine::Both,
        cursor,
        limit as usize,
    )
    .await?;
    Ok(Json(cohort(page)))
}

/// New visitors
///
/// Visitors of `day` who were not seen on `since`. Bounded (see `Cohort`): the count
/// is exact up to 1000 visitors on the smaller day, else estimated; the ids come a
/// page at a time.
///
/// Redis (both topologies, no SDIFF): `SCARD` of both days; `SRANDMEMBER` of the
/// smaller (1000) and `SMISMEMBER` in the other; `SSCAN` of `visitors:{day}` with
/// `SMISMEMBER` of each batch in `visitors:{since}`.
#[utoipa::path(get, path = "/v1/analytics/visitors/new", tag = "analytics",
    params(NewQuery),
    responses(
        (status = 200, description = "The new visitors", body = Cohort),
        responses::Invalid, responses::Unavailable
    ))]
pub async fn new_visitors(
    State(state): State<AppState>,
    AppQuery(query): AppQuery<NewQuery>,
) -> AppResult<Json<Cohort>> {
    model::two_dates(("day", &query.day), ("since", &query.since))?;
    let limit = bounded("limit", query.limit, 0, 1000, 100)?;
    let cursor = SetCursor::from_query(query.cursor.as_deref())?;
    let page = repo::cohort(
        &state.redis,
        &query.day,
        &query.since,
        Combine::FirstOnly,
        cursor,
        limit as usize,
    )
    .await?;
    Ok(Json(cohort(page)))
}
