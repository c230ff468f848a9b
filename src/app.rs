//! The application: the router with its middleware, and `run`. Assembly only: the
//! state every handler reaches lives in [`crate::state`], so no area imports this module
//! (it imports every area's router; the arrows point one way).
//!
//! `run` takes its listener and a shutdown future from the caller, so tests bind port 0
//! and stop the server when they are done, and `main` wires SIGTERM/ctrl-c.

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, Response};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::CorsLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

use crate::error::AppError;
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

/// The complete HTTP application.
pub fn router(state: AppState) -> Router {
    let (api, _) = api_router().split_for_parts();
    let doc = openapi();
    let limiter_on = state.settings.rate_limit > 0;
    let limiter = ApiLimiter::new(state.clone());
    let request_id = HeaderName::from_static("x-request-id");
    let timeout = state.settings.request_timeout();
    // Install the recorder before the first request, so no request goes uncounted.
    metrics::handle();

    let mut api = api.merge(crate::docs::router(doc));
    // With `AGORA_RATE_LIMIT=0` the limiter is not installed at all (no per-request cost).
    if limiter_on {
        api = api.route_layer(middleware::from_fn_with_state(limiter, api_limiter::limit));
    }
    api.fallback(crate::error::route_not_found)
        .method_not_allowed_fallback(crate::error::method_not_allowed)
        // A layer, not a route layer: requests no route matched are counted too, as
        // route `unmatched`.
        .layer(middleware::from_fn(metrics::track))
        .layer(middleware::from_fn_with_state(timeout, request_timeout))
        .layer(middleware::from_fn(crate::error::problem_for_plain_errors))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(
            ServiceBuilder::new()
                .layer(middleware::map_request(drop_unsafe_request_id))
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(
                    |req: &Request| {
                        let id = req
                            .headers()
                            .get("x-request-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-");
                        tracing::info_span!("request", method = %req.method(), uri = %req.uri(), request_id = %id)
                    },
                ))
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
                    AppError::Internal(anyhow::anyhow!("handler panicked")).into_response()
                }))
                .layer(CompressionLayer::new())
                .layer(CorsLayer::permissive().allow_credentials(false)),
        )
        .with_state(state)
}

/// Longest client-sent `X-Request-Id` kept.
const REQUEST_ID_MAX_LEN: usize = 64;

/// A client's `X-Request-Id` is echoed in the response and written in every log line of
/// the request, so only a plain token is kept: 1 to 64 of `A-Z a-z 0-9 . _ -` (UUIDs,
/// trace ids). Anything else (newlines or other log-forging text, a huge value, several
/// headers) is dropped, and `SetRequestIdLayer` then generates a UUID.
async fn drop_unsafe_request_id(mut request: Request) -> Request {
    let values = request.headers().get_all("x-request-id");
    let mut values = values.iter();
    let safe = match (values.next(), values.next()) {
        (Some(value), None) => is_safe_request_id(value.as_bytes()),
        (None, _) => true,
        (Some(_), Some(_)) => false,
    };
    if !safe {
        request.headers_mut().remove("x-request-id");
    }
    request
}

fn is_safe_request_id(id: &[u8]) -> bool {
    (1..=REQUEST_ID_MAX_LEN).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Answers 503 problem+json when a request runs past the request timeout, so a slow
/// Redis can never hold a client forever.
async fn request_timeout(
    State(timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Response<axum::body::Body> {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => AppError::Timeout.into_response(),
    }
}

/// Serves `state` on `listener` until `shutdown` completes, then drains requests.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let limits = ConnectionLimits::from_settings(&state.settings);
    crate::server::serve(listener, router(state), limits, shutdown).await;
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

#[cfg(test)]
mod tests {
    #[test]
    fn request_ids_are_plain_tokens_of_at_most_64_characters() {
        for id in [
            "a",
            "3f2b0c1e-6a0e-4d6c-9a43-7f1f7d6c9c1e",
            "req.1_2-3",
            &"x".repeat(64),
        ] {
            assert!(super::is_safe_request_id(id.as_bytes()), "{id}");
        }
        for id in ["", "a b", "a\nb", "a\"b", "x=1", "é", &"x".repeat(65)] {
            assert!(!super::is_safe_request_id(id.as_bytes()), "{id}");
        }
    }
}
