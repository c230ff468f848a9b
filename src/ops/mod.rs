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

use crate::error::{AppError, AppResult, responses};
use crate::state::AppState;

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

/// Readiness: Redis answers and accepts writes
///
/// 503 `unavailable` when Redis does not answer; 503 `out-of-memory` when a primary is
/// at `maxmemory` under `noeviction` (writes are refused there; reads keep working),
/// naming the node. Redis: `PING` and `INFO memory` (on a cluster, every primary).
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, description = "Redis answers PING and has room for writes", body = Health), responses::Unavailable))]
async fn readyz(State(state): State<AppState>) -> AppResult<axum::Json<Health>> {
    state.redis.clone().ping().await?;
    let full = state.redis.full_nodes().await?;
    if !full.is_empty() {
        return Err(AppError::OutOfMemory(format!(
            "at maxmemory with noeviction: {}",
            full.join(", ")
        )));
    }
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
    metrics::record_cache(&state.redis);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics::handle().render(),
    )
}
