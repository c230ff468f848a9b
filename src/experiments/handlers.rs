//! HTTP handlers for experiments.

use axum::Json;
use axum::extract::State;

use super::model::{Assignment, Experiment};
use super::repo;
use crate::error::{AppError, AppResult, responses};
use crate::extract::{AdminUser, AppJson, ValidPath};
use crate::state::AppState;

/// Create or replace an experiment
///
/// Admin only. Variants and their relative weights; subjects already assigned keep
/// their variant.
///
/// Redis: `MULTI DEL HSET experiment:{name} EXEC`.
#[utoipa::path(put, path = "/v1/experiments/{name}", tag = "experiments",
    params(("name" = String, Path, description = "Experiment name")),
    request_body = Experiment,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The experiment", body = Experiment),
        responses::BadRequest, responses::Unauthorized, responses::Forbidden, responses::NotJson,
        responses::Invalid, responses::Unavailable
    ))]
pub async fn put_experiment(
    State(state): State<AppState>,
    _admin: AdminUser,
    ValidPath(name): ValidPath<String>,
    AppJson(input): AppJson<Experiment>,
) -> AppResult<Json<Experiment>> {
    input.validate()?;
    repo::put(&state.redis, &name, &input).await?;
    Ok(Json(input))
}

/// Read an experiment
///
/// Redis: `HGETALL experiment:{name}`.
#[utoipa::path(get, path = "/v1/experiments/{name}", tag = "experiments",
    params(("name" = String, Path, description = "Experiment name")),
    responses(
        (status = 200, description = "The experiment", body = Experiment),
        responses::NotFound, responses::Invalid, responses::Unavailable
    ))]
pub async fn get_experiment(
    State(state): State<AppState>,
    ValidPath(name): ValidPath<String>,
) -> AppResult<Json<Experiment>> {
    repo::get(&state.redis, &name)
        .await?
        .map(Json)
        .ok_or(AppError::NotFound("experiment"))
}

/// Assign a subject to a variant
///
/// Sticky: the first call picks a variant by weight and stores it; every later call
/// returns the same variant, also when first calls race each other. An assignment is
/// kept `AGORA_ASSIGNMENT_RETENTION_DAYS` (default 90) after the subject's last call;
/// a subject not seen for longer is assigned afresh.
///
/// Redis: `HGETALL experiment:{name}`, then `EVALSHA assign_variant` (HEXISTS, GET
/// `experiment:{name}:assigned:<subject>`, SET … PX).
#[utoipa::path(post, path = "/v1/experiments/{name}/assignments/{subject}", tag = "experiments",
    params(("name" = String, Path, description = "Experiment name"), ("subject" = String, Path, description = "Who is assigned, e.g. a user or visitor id")),
    responses(
        (status = 200, description = "The subject's variant", body = Assignment),
        responses::NotFound, responses::Invalid, responses::Unavailable
    ))]
pub async fn assign(
    State(state): State<AppState>,
    ValidPath((name, subject)): ValidPath<(String, String)>,
) -> AppResult<Json<Assignment>> {
    // Two tries: the weights may change between reading them and assigning.
    for _ in 0..2 {
        let experiment = repo::get(&state.redis, &name)
            .await?
            .ok_or(AppError::NotFound("experiment"))?;
        let proposed = experiment
            .pick(rand::random::<f64>())
            .unwrap_or_default()
            .to_string();
        if let Some((variant, new)) = repo::assign(
            &state.redis,
            &name,
            &subject,
            &proposed,
            state.settings.assignment_retention(),
        )
        .await?
        {
            return Ok(Json(Assignment {
                experiment: name,
                subject,
                variant,
                new,
            }));
        }
    }
    Err(AppError::NotFound("experiment"))
}
