//! Operations endpoints: liveness, readiness and Prometheus metrics.
//!
//! `/healthz` says the process is up (no Redis call, so an orchestrator does not
//! restart a healthy process because Redis blinked); `/readyz` PINGs Redis (every
//! primary on a cluster), so a load balancer stops sending traffic while it is down.

pub mod metrics;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::error::{AppResult, responses};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics_endpoint))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    status: &'static str,
}

/// Liveness: the process is up
///
/// No Redis command.
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, description = "The process is up", body = Health)))]
async fn healthz() -> axum::Json<Health> {
    axum::Json(Health { status: "ok" })
}

/// Readiness: Redis answers
///
/// Redis: `PING` (on a cluster, every primary).
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, description = "Redis answers PING", body = Health), responses::Unavailable))]
async fn readyz(State(state): State<AppState>) -> AppResult<axum::Json<Health>> {
    state.redis.clone().ping().await?;
    Ok(axum::Json(Health { status: "ok" }))
}

/// Prometheus metrics
///
/// HTTP request counts and latency histograms by route and status, plus Redis
/// `used_memory`, `evicted_keys`, `keyspace_hits`, `keyspace_misses` and
/// `connected_clients` per node. Redis: `INFO` (every primary on a cluster).
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain")))]
async fn metrics_endpoint(State(state): State<AppState>) -> impl IntoResponse {
    metrics::record_redis_info(&state.redis).await;
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics::handle().render(),
    )
}
