//! HTTP handlers for the application config.

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::repo;
use crate::error::{AppResult, responses};
use crate::extract::{AdminUser, AppJson};
use crate::state::AppState;

/// The config: known keys with their types.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation schema only; the handlers speak serde_json maps
pub struct AppConfig {
    name: Option<String>,
    version: Option<String>,
    max_connections: Option<i64>,
    timeout: Option<i64>,
    debug: Option<bool>,
    theme: Option<String>,
}

/// Read the application config
///
/// Typed: integers and booleans come back as JSON numbers and booleans.
///
/// Redis: `HGETALL config:app`.
#[utoipa::path(get, path = "/v1/config", tag = "config",
    responses((status = 200, description = "The config", body = AppConfig), responses::Unavailable))]
pub async fn get_config(State(state): State<AppState>) -> AppResult<Json<Map<String, Value>>> {
    Ok(Json(repo::get(&state.redis).await?))
}

/// Change the application config
///
/// Admin only. Sets only the given keys; an unknown key or a value of the wrong type is
/// a 422 naming the key, and then nothing is changed.
///
/// Redis: `MULTI HSET config:app … HGETALL config:app EXEC`.
#[utoipa::path(patch, path = "/v1/config", tag = "config",
    request_body = AppConfig,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The whole config after the change", body = AppConfig),
        responses::BadRequest, responses::Unauthorized, responses::Forbidden, responses::NotJson,
        responses::Invalid, responses::Unavailable
    ))]
pub async fn patch_config(
    State(state): State<AppState>,
    _admin: AdminUser,
    AppJson(patch): AppJson<Map<String, Value>>,
) -> AppResult<Json<Map<String, Value>>> {
    let fields = repo::validate(&patch)?;
    Ok(Json(repo::set(&state.redis, &fields).await?))
}
