//! Prometheus metrics: recorded with the `metrics` facade, rendered by
//! metrics-exporter-prometheus from our own `/metrics` route (no second listener).
//!
//! HTTP metrics are labelled so that every label has a bounded set of values, whatever
//! a client sends: the *route template* (`/v1/users/{id}`, never the raw path; a fixed
//! `unmatched` for requests no route matched), the method among the standard ones
//! (anything else is `other`: method names are free text, and 5,000 made-up ones grew
//! `/metrics` from 0.47 to 12.5 MB), and the status code. Redis figures are read from `INFO` when
//! `/metrics` is scraped, so they cost nothing between scrapes.
//!
//! Every series is described (`# HELP`) from one table, [`SERIES`], given to the recorder
//! before it is installed; the exporter writes `# TYPE` itself. A new series must be added
//! there: the test `ops::every_metrics_series_has_help_and_type` fails otherwise.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::response::Response;
use metrics::{Counter, Histogram, KeyName, Recorder, SharedString};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tower::{Layer, Service};

use crate::redis::Redis;

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The `INFO` fields exported as gauges, per node.
const REDIS_INFO_FIELDS: &[&str] = &[
    "used_memory",
    "evicted_keys",
    "keyspace_hits",
    "keyspace_misses",
    "connected_clients",
];

/// The kind of a series, for its `# TYPE` line.
#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Every series `/metrics` exports, with its `# HELP` text.
const SERIES: &[(&str, Kind, &str)] = &[
    (
        "http_requests_total",
        Kind::Counter,
        "HTTP requests answered, by method, route template and status",
    ),
    (
        "http_request_duration_seconds",
        Kind::Histogram,
        "Time from request to response head, by method, route template and status",
    ),
    (
        "redis_up",
        Kind::Gauge,
        "1 when the last scrape could read INFO from every Redis primary, else 0",
    ),
    (
        "redis_used_memory",
        Kind::Gauge,
        "Redis INFO used_memory (bytes), per node",
    ),
    (
        "redis_evicted_keys",
        Kind::Gauge,
        "Redis INFO evicted_keys (keys evicted by maxmemory since start), per node",
    ),
    (
        "redis_keyspace_hits",
        Kind::Gauge,
        "Redis INFO keyspace_hits (successful key lookups since start), per node",
    ),
    (
        "redis_keyspace_misses",
        Kind::Gauge,
        "Redis INFO keyspace_misses (failed key lookups since start), per node",
    ),
    (
        "redis_connected_clients",
        Kind::Gauge,
        "Redis INFO connected_clients, per node",
    ),
    (
        "client_cache_hits_total",
        Kind::Counter,
        "Reads served from the client-side cache",
    ),
    (
        "client_cache_misses_total",
        Kind::Counter,
        "Cacheable reads that went to Redis",
    ),
    (
        "client_cache_invalidations_total",
        Kind::Counter,
        "Cached entries dropped because Redis reported their key changed or this process wrote it",
    ),
    (
        "client_cache_entries",
        Kind::Gauge,
        "Entries held by the client-side cache",
    ),
    (
        "client_cache_live",
        Kind::Gauge,
        "1 while the client-side cache serves (its tracking connections are up), else 0",
    ),
];

/// Gives the recorder the `# HELP` text of every series in [`SERIES`].
fn describe(recorder: &impl Recorder) {
    for &(name, kind, help) in SERIES {
        let (key, help) = (KeyName::from(name), SharedString::from(help));
        match kind {
            Kind::Counter => recorder.describe_counter(key, None, help),
            Kind::Gauge => recorder.describe_gauge(key, None, help),
            Kind::Histogram => recorder.describe_histogram(key, None, help),
        }
    }
}

/// The process-wide recorder (installed once; tests build many apps in one process).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("http_request_duration_seconds".into()),
                LATENCY_BUCKETS,
            )
            .expect("static buckets are valid")
            .build_recorder();
        describe(&recorder);
        let handle = recorder.handle();
        // Another recorder may already be installed (embedding); then ours only renders.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// How often the recorder's upkeep runs: histogram samples are kept until it (or a
/// scrape of `/metrics`) drains them, so without it an unscraped process grows by 8
/// bytes per request.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Drains the recorder's pending histogram samples every [`UPKEEP_INTERVAL`], for as
/// long as the runtime runs.
pub async fn run_upkeep() {
    let mut ticks = tokio::time::interval(UPKEEP_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        handle().run_upkeep();
    }
}

/// Layer (on every route, so the route template is known): counts each request and
/// observes its latency by method, route template and status.
///
/// A tower layer rather than a `from_fn` middleware, and the series' handles are kept
/// per thread: the request path allocates nothing and hashes no label set (with
/// `from_fn` and `metrics::counter!(name, &labels)` per request this was several
/// percent of a cached read's CPU).
#[derive(Clone, Copy)]
pub struct Track;

impl<S> Layer<S> for Track {
    type Service = Tracked<S>;

    fn layer(&self, inner: S) -> Tracked<S> {
        Tracked { inner }
    }
}

/// A service whose requests [`Track`] counts.
#[derive(Clone)]
pub struct Tracked<S> {
    inner: S,
}

impl<S> Service<Request> for Tracked<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = TrackedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        TrackedFuture {
            route: request.extensions().get::<MatchedPath>().cloned(),
            method: method_label(request.method()),
            start: Instant::now(),
            inner: self.inner.call(request),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`Tracked`]: records the answer when it is ready.
    pub struct TrackedFuture<F> {
        #[pin]
        inner: F,
        route: Option<MatchedPath>,
        method: &'static str,
        start: Instant,
    }
}

impl<F, E> Future for TrackedFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answer = std::task::ready!(this.inner.poll(cx));
        if let Ok(response) = &answer {
            let route = this.route.as_ref().map_or("unmatched", |p| p.as_str());
            let (requests, latency) = series(this.method, route, response.status().as_u16());
            requests.increment(1);
            latency.record(this.start.elapsed().as_secs_f64());
        }
        Poll::Ready(answer)
    }
}

/// The request counter and latency histogram of one (method, route, status), created
/// on first use and then kept by each thread (a bounded set: every label is).
fn series(method: &'static str, route: &str, status: u16) -> (Counter, Histogram) {
    type BySeries = HashMap<(&'static str, u16), HashMap<Box<str>, (Counter, Histogram)>>;
    thread_local! {
        static SERIES_HANDLES: RefCell<BySeries> = RefCell::new(HashMap::new());
    }
    SERIES_HANDLES.with_borrow_mut(|handles| {
        let by_route = handles.entry((method, status)).or_default();
        if let Some(found) = by_route.get(route) {
            return found.clone();
        }
        let labels = [
            ("method", method.to_owned()),
            ("route", route.to_owned()),
            ("status", status.to_string()),
        ];
        let made = (
            metrics::counter!("http_requests_total", &labels),
            metrics::histogram!("http_request_duration_seconds", &labels),
        );
        by_route.insert(route.into(), made.clone());
        made
    })
}

/// The `method` label: a standard method's name, else `other`.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// Reads `INFO` from every primary and sets `redis_<field>{node=...}` gauges.
pub async fn record_redis_info(redis: &Redis) {
    let _ = handle();
    match redis.info_per_node().await {
        Ok(nodes) => {
            metrics::gauge!("redis_up").set(1.0);
            for (node, info) in nodes {
                for (field, value) in parse_info(&info) {
                    metrics::gauge!(format!("redis_{field}"), "node" => node.clone()).set(value);
                }
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, "INFO failed while rendering metrics");
            metrics::gauge!("redis_up").set(0.0);
        }
    }
}

/// Sets the client-side cache's figures (`client_cache_*`) from this process's cache:
/// hits, misses and invalidations since start (counters), entries held and whether it
/// is serving (tracking up). Nothing when the cache is off.
pub fn record_cache(redis: &Redis) {
    let _ = handle();
    let Some(stats) = redis.cache_stats() else {
        return;
    };
    metrics::counter!("client_cache_hits_total").absolute(stats.hits);
    metrics::counter!("client_cache_misses_total").absolute(stats.misses);
    metrics::counter!("client_cache_invalidations_total").absolute(stats.invalidations);
    metrics::gauge!("client_cache_entries").set(stats.entries as f64);
    metrics::gauge!("client_cache_live").set(if stats.live { 1.0 } else { 0.0 });
}

fn parse_info(info: &str) -> impl Iterator<Item = (&str, f64)> {
    info.lines().filter_map(|line| {
        let (field, value) = line.trim().split_once(':')?;
        if !REDIS_INFO_FIELDS.contains(&field) {
            return None;
        }
        Some((field, value.parse().ok()?))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn methods_outside_the_standard_ones_are_other() {
        use axum::http::Method;
        assert_eq!(super::method_label(&Method::PATCH), "PATCH");
        let made_up = Method::from_bytes(b"XYZZY").unwrap();
        assert_eq!(super::method_label(&made_up), "other");
    }

    /// Each `INFO` field exported has its description (the series are named from them).
    #[test]
    fn every_exported_info_field_is_described() {
        for field in super::REDIS_INFO_FIELDS {
            let name = format!("redis_{field}");
            assert!(
                super::SERIES.iter().any(|(series, ..)| *series == name),
                "{name} has no # HELP text in SERIES"
            );
        }
    }

    #[test]
    fn parses_only_known_numeric_fields() {
        let info = "# Memory\r\nused_memory:1024\r\nused_memory_human:1K\r\nevicted_keys:3\r\n";
        let parsed: Vec<_> = super::parse_info(info).collect();
        assert_eq!(parsed, vec![("used_memory", 1024.0), ("evicted_keys", 3.0)]);
    }
}
