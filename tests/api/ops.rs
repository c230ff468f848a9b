//! Ops endpoints, docs, and the middleware every response passes through.

use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let health: Value = app.get("/healthz", None).await.json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn metrics_show_requests_by_route_and_redis_figures() {
    let app = spawn_app().await;
    app.get("/v1/users/12345", None).await;

    let text = app.get("/metrics", None).await.text().await.unwrap();

    assert!(
        text.lines().any(|l| l.starts_with("http_requests_total{")
            && l.contains("route=\"/v1/users/{id}\"")
            && l.contains("status=\"404\"")),
        "{text}"
    );
    assert!(
        text.contains("http_request_duration_seconds_bucket{"),
        "a histogram, not a summary"
    );
    for gauge in [
        "redis_used_memory{",
        "redis_evicted_keys{",
        "redis_keyspace_hits{",
        "redis_keyspace_misses{",
        "redis_connected_clients{",
    ] {
        assert!(text.contains(gauge), "{gauge} missing");
    }
}

/// `/metrics` had no `# HELP` or `# TYPE` lines: every series now has both, the HELP
/// text non-empty, and each sample belongs to a described series (a histogram's
/// `_bucket`, `_sum` and `_count` to its own).
#[tokio::test]
async fn every_metrics_series_has_help_and_type() {
    let app = spawn_app().await;
    app.get("/v1/users/12345", None).await;
    let text = app.get("/metrics", None).await.text().await.unwrap();

    let described = |prefix: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix(prefix))
            .filter_map(|rest| rest.split_once(' '))
            .filter(|(_, tail)| !tail.trim().is_empty())
            .map(|(name, _)| name.to_owned())
            .collect()
    };
    let helped = described("# HELP ");
    let typed = described("# TYPE ");
    assert!(typed.len() >= 8, "{text}");
    for name in &typed {
        assert!(helped.contains(name), "no # HELP for {name}:\n{text}");
    }
    for sample in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let name = sample.split(['{', ' ']).next().unwrap();
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|b| typed.iter().any(|t| t == b))
            })
            .unwrap_or(name);
        assert!(
            typed.iter().any(|t| t == base),
            "{name} has no # TYPE line:\n{text}"
        );
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let generated = app.get("/healthz", None).await;
    assert!(!generated.headers()["x-request-id"].is_empty());

    let echoed = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "trace-me-42");
}

#[tokio::test]
async fn docs_are_served_without_any_cdn() {
    let app = spawn_app().await;
    let page = app.get("/docs/", None).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger"), "{html}");
    assert!(
        !html.contains("https://"),
        "docs must not load assets from the internet"
    );
    let bundle = app.get("/docs/swagger-ui-bundle.js", None).await;
    assert_eq!(bundle.status(), 200);

    let doc: Value = app.get("/openapi.json", None).await.json().await.unwrap();
    assert!(doc["paths"]["/v1/users"].is_object());
}

#[tokio::test]
async fn unknown_paths_get_404() {
    let app = spawn_app().await;
    assert_eq!(app.get("/v1/nothing-here", None).await.status(), 404);
}
