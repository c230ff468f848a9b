//! The HTTP edge: what every request goes through around the router, as one service.
//!
//! Outermost first: a request id (the client's `X-Request-Id` when it is a plain token,
//! else a new one) set on the request and echoed on the response; a `request` span
//! with method, URI and id, so every log line of the request names it, and a log line
//! for each 5xx; CORS for any origin without credentials (the API authenticates with
//! bearer tokens; cookie-authenticated writes are guarded on their own, see
//! [`crate::extract`]); gzip for clients that accept it; then, around the router, a
//! panic turned into a 500 problem, the request timeout (503), and any framework error
//! that is not problem+json rewritten into one ([`crate::error::problem_for_plain_errors`]).
//!
//! Why one hand-written service instead of a stack of tower-http layers and `from_fn`
//! middlewares: each layer applied to an axum `Router` wraps every route in its own
//! boxed service, cloned and boxed again per request, and the request id was a UUID
//! from the operating system's random source (a system call per request). With the
//! eleven layers the edge used to be, `/healthz` served 55k req/s on the 2-core
//! benchmark machine (wrk -t2), against 95k without them; one service doing the same
//! work serves 63k there, 88k with one runtime worker and wrk -t1 (README "Hot path").
//!
//! The parts that are not trivial are still tower-http's: an `OPTIONS` request (a CORS
//! preflight) goes through its `Cors`, and a request with `Accept-Encoding` through its
//! `Compression`. Every other response gets the constant headers those two add to it:
//! the CORS headers, asked of tower-http's own `Cors` once at start-up (so the two
//! paths cannot drift), and `Vary: accept-encoding`.

use std::convert::Infallible;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use tower::{Layer, Service, ServiceExt};
use tower_http::compression::{Compression, CompressionLayer};
use tower_http::cors::{Cors, CorsLayer};
use tracing::Instrument;

use crate::error::AppError;

/// The future of a request through the edge.
pub type EdgeFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

/// What the edge wraps: the router (with its state) as a service. The router is always
/// ready, so the edge calls it without waiting for readiness.
pub trait Inner:
    Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> Inner for S where
    S: Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
        + Clone
        + Send
        + Sync
        + 'static
{
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest client-sent `X-Request-Id` kept.
const REQUEST_ID_MAX_LEN: usize = 64;

/// The edge around `S`; cheap to clone (the server clones it per request).
pub struct Edge<S> {
    parts: Arc<Parts<S>>,
}

impl<S> Clone for Edge<S> {
    fn clone(&self) -> Self {
        Edge {
            parts: self.parts.clone(),
        }
    }
}

struct Parts<S> {
    plain: Guarded<S>,
    compressed: Compression<Guarded<S>>,
    preflight: Cors<Guarded<S>>,
    /// What `preflight`'s CORS adds to a response that is not a preflight's, plus
    /// `Vary: accept-encoding`.
    constant_headers: HeaderMap,
}

/// CORS for any origin; no credentials (no cookies or HTTP authentication across
/// origins).
fn cors() -> CorsLayer {
    CorsLayer::permissive().allow_credentials(false)
}

impl<S: Inner> Edge<S> {
    /// The edge around `inner`, answering 503 when a request takes longer than `timeout`.
    pub fn new(inner: S, timeout: Duration) -> Edge<S> {
        let plain = Guarded { inner, timeout };
        Edge {
            parts: Arc::new(Parts {
                compressed: CompressionLayer::new().layer(plain.clone()),
                preflight: cors().layer(plain.clone()),
                plain,
                constant_headers: constant_headers(),
            }),
        }
    }
}

/// The headers tower-http's `Cors` (configured as [`cors`]) adds to a response that is
/// not a preflight's, read from it once, plus the `Vary: accept-encoding` that
/// `Compression` adds to a compressible response.
fn constant_headers() -> HeaderMap {
    let probe = cors().layer(tower::service_fn(|_: Request| async {
        Ok::<_, Infallible>(Response::new(Body::empty()))
    }));
    let request = Request::get("/")
        .header(header::ORIGIN, "https://example.com")
        .body(Body::empty())
        .expect("a static request is valid");
    let response = probe
        .oneshot(request)
        .now_or_never()
        .expect("tower-http's Cors answers a probe at once")
        .unwrap_or_else(|never| match never {});
    let mut headers = response.into_parts().0.headers;
    headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers
}

impl<S: Inner> Service<Request> for Edge<S> {
    type Response = Response;
    type Error = Infallible;
    type Future = EdgeFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request) -> EdgeFuture {
        let id = request_id(&mut request);
        let span = tracing::info_span!(
            "request",
            method = %request.method(),
            uri = %request.uri(),
            request_id = id.to_str().unwrap_or("-"),
        );
        let parts = self.parts.clone();
        let preflight = request.method() == Method::OPTIONS;
        let future: EdgeFuture = if preflight {
            Box::pin(parts.preflight.clone().call(request))
        } else if request.headers().contains_key(header::ACCEPT_ENCODING) {
            let future = parts.compressed.clone().call(request);
            Box::pin(async move { Ok(future.await?.map(Body::new)) })
        } else {
            parts.plain.clone().call(request)
        };
        let start = Instant::now();
        Box::pin(
            async move {
                let mut response = future.await?;
                let headers = response.headers_mut();
                if !preflight {
                    for (name, value) in &parts.constant_headers {
                        // As tower-http does: `Vary` adds to what the handler said.
                        if name == header::VARY {
                            headers.append(name, value.clone());
                        } else {
                            headers.insert(name, value.clone());
                        }
                    }
                }
                headers.insert(REQUEST_ID, id);
                log_answer(response.status(), start.elapsed());
                Ok(response)
            }
            .instrument(span),
        )
    }
}

/// A 5xx is logged as an error (its cause, when it has one, was logged by the handler
/// in the same span); anything else only at debug.
fn log_answer(status: axum::http::StatusCode, latency: Duration) {
    let latency_ms = latency.as_secs_f64() * 1000.0;
    if status.is_server_error() {
        tracing::error!(status = status.as_u16(), latency_ms, "response failed");
    } else {
        tracing::debug!(
            status = status.as_u16(),
            latency_ms,
            "finished processing request"
        );
    }
}

/// The request's id: the client's `X-Request-Id` when it is one plain token, else a new
/// one; set on the request (handlers and logs read it there) and returned for the
/// response.
///
/// A client's id is echoed in the response and written in every log line of the
/// request, so only 1 to 64 of `A-Z a-z 0-9 . _ -` is kept (UUIDs, trace ids).
/// Anything else (newlines or other log-forging text, a huge value, several headers) is
/// replaced.
fn request_id(request: &mut Request) -> HeaderValue {
    let values = request.headers().get_all(REQUEST_ID);
    let mut values = values.iter();
    if let (Some(value), None) = (values.next(), values.next())
        && is_safe_request_id(value.as_bytes())
    {
        return value.clone();
    }
    let id = new_request_id();
    request.headers_mut().insert(REQUEST_ID, id.clone());
    id
}

fn is_safe_request_id(id: &[u8]) -> bool {
    (1..=REQUEST_ID_MAX_LEN).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A new id in the shape of a random (version 4) UUID: a counter mixed with a key drawn
/// once per process, so ids never repeat within a process and are unlikely to across
/// processes, without a system call per request. They identify; they are not secrets.
fn new_request_id() -> HeaderValue {
    static KEY: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let key = *KEY.get_or_init(|| {
        std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish()
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let high = splitmix64(key ^ n);
    let low = splitmix64(high ^ key.rotate_left(32));
    let mut bits = (u128::from(high) << 64) | u128::from(low);
    // Version 4, variant 10xx (RFC 9562).
    bits = (bits & !(0xf << 76)) | (0x4 << 76);
    bits = (bits & !(0x3 << 62)) | (0x2 << 62);
    // Written in place: 32 hex digits, dashes after the 8th, 12th, 16th and 20th.
    let mut id = [b'-'; 36];
    let mut digits = (0..36).filter(|i| !matches!(i, 8 | 13 | 18 | 23));
    for shift in (0..32).rev() {
        let digit = ((bits >> (shift * 4)) & 0xf) as usize;
        id[digits.next().expect("32 digit places")] = b"0123456789abcdef"[digit];
    }
    HeaderValue::from_bytes(&id).expect("hex digits and dashes are a valid header value")
}

/// SplitMix64's output function: a bijection of `u64` that spreads every input bit.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The router with what guards every answer: a panic becomes a 500 problem, a request
/// past `timeout` a 503 problem, and a framework error that is not problem+json one.
#[derive(Clone)]
struct Guarded<S> {
    inner: S,
    timeout: Duration,
}

impl<S: Inner> Service<Request> for Guarded<S> {
    type Response = Response;
    type Error = Infallible;
    type Future = EdgeFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> EdgeFuture {
        let timeout = self.timeout;
        let future = std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(request)));
        Box::pin(async move {
            let answer = match future {
                Ok(future) => {
                    tokio::time::timeout(timeout, AssertUnwindSafe(future).catch_unwind()).await
                }
                Err(panic) => Ok(Err(panic)),
            };
            let response = match answer {
                Ok(Ok(Ok(response))) => response,
                Ok(Ok(Err(never))) => match never {},
                Ok(Err(_panic)) => {
                    AppError::Internal(anyhow::anyhow!("handler panicked")).into_response()
                }
                Err(_elapsed) => AppError::Timeout.into_response(),
            };
            Ok(crate::error::problem_for_plain_errors(response).await)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_plain_tokens_of_at_most_64_characters() {
        for id in [
            "a",
            "3f2b0c1e-6a0e-4d6c-9a43-7f1f7d6c9c1e",
            "req.1_2-3",
            &"x".repeat(64),
        ] {
            assert!(is_safe_request_id(id.as_bytes()), "{id}");
        }
        for id in ["", "a b", "a\nb", "a\"b", "x=1", "é", &"x".repeat(65)] {
            assert!(!is_safe_request_id(id.as_bytes()), "{id}");
        }
    }

    #[test]
    fn new_request_ids_are_distinct_version_4_uuids() {
        let ids: std::collections::HashSet<String> = (0..10_000)
            .map(|_| new_request_id().to_str().unwrap().to_string())
            .collect();
        assert_eq!(ids.len(), 10_000);
        for id in ids.iter().take(100) {
            let groups: Vec<usize> = id.split('-').map(str::len).collect();
            assert_eq!(groups, [8, 4, 4, 4, 12], "{id}");
            assert!(
                id.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()),
                "{id}"
            );
            // Version 4 and the RFC variant (8, 9, a or b).
            assert_eq!(&id[14..15], "4", "{id}");
            assert!("89ab".contains(&id[19..20]), "{id}");
            assert!(is_safe_request_id(id.as_bytes()));
        }
    }

    async fn answer(edge: Edge<impl Inner>) -> Response {
        let request = Request::get("/x").body(Body::empty()).unwrap();
        edge.oneshot(request)
            .await
            .unwrap_or_else(|never| match never {})
    }

    #[tokio::test]
    async fn a_panicking_handler_is_a_500_problem_with_the_edge_headers() {
        let panics = tower::service_fn(|_: Request| async {
            if true {
                panic!("a handler bug");
            }
            Ok::<Response, Infallible>(Response::new(Body::empty()))
        });
        let response = answer(Edge::new(panics, Duration::from_secs(5))).await;
        assert_eq!(response.status(), 500);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        assert!(response.headers().contains_key("x-request-id"));
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
    }

    #[tokio::test]
    async fn a_request_past_the_timeout_is_a_503_problem() {
        let slow = tower::service_fn(|_: Request| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<Response, Infallible>(Response::new(Body::empty()))
        });
        let started = Instant::now();
        let response = answer(Edge::new(slow, Duration::from_millis(50))).await;
        assert_eq!(response.status(), 503);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_plain_text_framework_error_becomes_problem_json() {
        let plain = tower::service_fn(|_: Request| async {
            let response = (axum::http::StatusCode::BAD_REQUEST, "bad query").into_response();
            Ok::<Response, Infallible>(response)
        });
        let response = answer(Edge::new(plain, Duration::from_secs(5))).await;
        assert_eq!(response.status(), 400);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }

    #[test]
    fn the_constant_headers_are_the_cors_ones_and_vary() {
        let headers = constant_headers();
        assert_eq!(headers["access-control-allow-origin"], "*");
        assert_eq!(headers["access-control-expose-headers"], "*");
        let vary: Vec<_> = headers.get_all("vary").iter().collect();
        assert_eq!(vary.len(), 2, "{vary:?}");
        assert_eq!(vary[1], "accept-encoding");
    }
}
