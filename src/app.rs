//! The application: the router with its middleware, and `run`. Assembly only: the
//! state every handler reaches lives in [`crate::state`], so no area imports this module
//! (it imports every area's router; the arrows point one way).
//!
//! `run` takes its listener and a shutdown future from the caller, so tests bind port 0
//! and stop the server when they are done, and `main` wires SIGTERM/ctrl-c.

use axum::extract::DefaultBodyLimit;
use axum::middleware;
use tokio::net::TcpListener;
use tower::Layer;
use utoipa_axum::router::OpenApiRouter;

use crate::edge::{self, Edge};
use crate::ops::metrics;
use crate::rate_limits::api_limiter::{self, ApiLimiter};
use crate::server::ConnectionLimits;
pub use crate::state::AppState;

/// Largest request body accepted (JSON bodies here are small).
const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// Every API route with its OpenAPI operation, registered together so they cannot drift.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(crate::openapi::base())
        .merge(crate::users::router())
        .merge(crate::sessions::router())
        .merge(crate::social::router())
        .merge(crate::ops::router())
        .merge(crate::leaderboards::router())
        .merge(crate::app_config::router())
        .merge(crate::rate_limits::router())
        .merge(crate::analytics::router())
        .merge(crate::experiments::router())
        .merge(crate::admin::router())
        .merge(crate::notifications::router())
        .merge(crate::products::router())
        .merge(crate::carts::router())
        .merge(crate::orders::router())
        .merge(crate::locks::router())
        .merge(crate::realworld::router())
}

/// The OpenAPI document, as served at `/openapi.json` and printed by `agora openapi`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = api_router().split_for_parts().1;
    crate::error::responses::add_rate_limit_responses(&mut doc);
    crate::openapi::document_path_patterns(&mut doc);
    doc
}

/// The complete HTTP application: the router inside the edge ([`crate::edge`]).
pub fn router(state: AppState) -> Edge<impl edge::Inner> {
    let (api, _) = api_router().split_for_parts();
    let doc = openapi();
    let limiter_on = state.settings.rate_limit > 0;
    let limiter = ApiLimiter::new(state.clone());
    let timeout = state.settings.request_timeout();
    // Install the recorder before the first request, so no request goes uncounted.
    metrics::handle();

    let mut api = api.merge(crate::docs::router(doc));
    // With `AGORA_RATE_LIMIT=0` the limiter is not installed at all (no per-request cost).
    if limiter_on {
        api = api.route_layer(middleware::from_fn_with_state(limiter, api_limiter::limit));
    }
    let router = api
        .fallback(crate::error::route_not_found)
        .method_not_allowed_fallback(crate::error::method_not_allowed)
        // A layer, not a route layer: requests no route matched are counted too, as
        // route `unmatched`. The only layer on the routes: each one costs every request
        // a boxed service (see `crate::edge`).
        .layer(metrics::Track)
        .with_state(state);
    Edge::new(
        DefaultBodyLimit::max(BODY_LIMIT_BYTES).layer(router),
        timeout,
    )
}

/// Serves `state` on `listener` until `shutdown` completes, then drains requests.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let limits = ConnectionLimits::from_settings(&state.settings);
    let upkeep = tokio::spawn(metrics::run_upkeep());
    crate::server::serve(listener, router(state), limits, shutdown).await;
    upkeep.abort();
    Ok(())
}

/// Completes on ctrl-c or SIGTERM.
///
/// The handlers are registered when this is called, not when the future is first
/// polled: a SIGTERM that arrives while the server is still starting (before the
/// graceful-shutdown task has run) must shut it down cleanly, not kill it.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let (mut terminate, mut interrupt) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate()).ok(),
            signal(SignalKind::interrupt()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(terminate.take()) => {},
                _ = wait(interrupt.take()) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutdown signal received, draining requests");
    }
}
