//! Logging: one `tracing` subscriber for the process, text or JSON.
//!
//! Every request runs in a span carrying its method, URI and request id (see
//! `crate::edge`), so a 500's cause is logged next to the request that hit it.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber; safe to call more than once (later calls are no-ops).
pub fn init(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// For the test harnesses: silent by default; with `TEST_LOG` set, the service's own
/// logs (filter from `RUST_LOG`, default `info`) go through the test writer, so
/// `TEST_LOG=1 cargo test --test api some_test -- --nocapture` shows what the service
/// did in that test (without `--nocapture`, libtest prints them for failing tests).
pub fn init_for_tests() {
    if std::env::var_os("TEST_LOG").is_none() {
        return;
    }
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_string());
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}
