//! Rate limits: the check endpoint (exact under concurrency), the API's own limiter
//! (429 + headers, Retry-After that works), and hourly quotas.

use std::time::Duration;

use redis::AsyncCommands;
use serde_json::{Value, json};

use crate::helpers::{problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn fifty_concurrent_checks_at_limit_ten_allow_exactly_ten() {
    let app = spawn_app().await;
    let user = app.user("checker").await;
    let body = json!({"key": "burst", "limit": 10, "window_ms": 60000});

    let checks = (0..50).map(|_| app.post("/v1/rate-limits/check", Some(&user.token), &body));
    let mut allowed = 0;
    for response in futures::future::join_all(checks).await {
        let decision: Value = response.json().await.unwrap();
        if decision["allowed"] == true {
            allowed += 1;
        } else {
            assert!(decision["retry_after_ms"].as_u64().unwrap() > 0);
        }
    }

    assert_eq!(allowed, 10);
    let members: u64 = app
        .conn()
        .zcard(app.redis.keys.rate_limit_check("burst"))
        .await
        .unwrap();
    assert_eq!(members, 10, "rejected requests are not counted");
}

#[tokio::test]
async fn waiting_retry_after_ms_is_enough_and_cost_takes_several_units() {
    let app = spawn_app().await;
    let user = app.user("patient").await;
    let check = |cost: u32| {
        let (app, user) = (&app, &user);
        async move {
            app.post(
                "/v1/rate-limits/check",
                Some(&user.token),
                &json!({"key": "slow", "limit": 3, "window_ms": 800, "cost": cost}),
            )
            .await
        }
    };

    let first: Value = check(2).await.json().await.unwrap();
    assert_eq!(first["allowed"], true);
    assert_eq!(first["remaining"], 1);
    let second: Value = check(2).await.json().await.unwrap();
    assert_eq!(second["allowed"], false);
    assert_eq!(second["remaining"], 1);
    let wait = second["retry_after_ms"].as_u64().unwrap();
    assert!(wait > 0 && wait <= 800, "{wait}");

    tokio::time::sleep(Duration::from_millis(wait + 5)).await;
    let third: Value = check(2).await.json().await.unwrap();
    assert_eq!(
        third["allowed"], true,
        "waiting retry_after_ms must be enough"
    );
}

#[tokio::test]
async fn invalid_checks_are_422() {
    let app = spawn_app().await;
    let user = app.user("sloppy").await;
    let bad = app
        .post(
            "/v1/rate-limits/check",
            Some(&user.token),
            &json!({"key": "a b", "limit": 0, "window_ms": 0, "cost": 5}),
        )
        .await;
    let body = problem(bad, 422).await;
    for field in ["key", "limit", "window_ms"] {
        assert!(body["errors"][field].is_string(), "{field}: {body}");
    }
    let cost = app
        .post(
            "/v1/rate-limits/check",
            Some(&user.token),
            &json!({"key": "k", "limit": 2, "window_ms": 10, "cost": 3}),
        )
        .await;
    assert!(problem(cost, 422).await["errors"]["cost"].is_string());
    problem(
        app.post(
            "/v1/rate-limits/check",
            None,
            &json!({"key": "k", "limit": 1, "window_ms": 1}),
        )
        .await,
        401,
    )
    .await;
}

#[tokio::test]
async fn the_api_limiter_answers_429_with_headers_and_its_retry_after_works() {
    let app = spawn_app_with(|s| {
        s.rate_limit = 3;
        s.rate_limit_window_ms = 1500;
    })
    .await;

    for remaining in [2, 1, 0] {
        let ok = app.get("/v1/config", None).await;
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.headers()["ratelimit-limit"], "3");
        assert_eq!(
            ok.headers()["ratelimit-remaining"],
            remaining.to_string().as_str()
        );
        assert!(ok.headers().contains_key("ratelimit-reset"));
    }
    let limited = app.get("/v1/config", None).await;
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert_eq!(limited.headers()["ratelimit-remaining"], "0");
    let body = problem(limited, 429).await;
    assert_eq!(body["type"], "/problems/rate-limited");

    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(
        app.get("/v1/config", None).await.status(),
        200,
        "waiting Retry-After is enough"
    );
    assert_eq!(
        app.get("/healthz", None).await.status(),
        200,
        "probes are never limited"
    );
}

#[tokio::test]
async fn the_api_limiter_is_exact_under_concurrency_and_per_user() {
    let app = spawn_app_with(|s| s.rate_limit = 10).await;
    let user = app.user("crowd").await; // registration + login: 2 anonymous requests

    let requests = (0..30).map(|_| app.get("/v1/users/me", Some(&user.token)));
    let statuses: Vec<u16> = futures::future::join_all(requests)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();

    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 20);
    // The user's bucket is their own: anonymous requests from the same IP still pass.
    assert_eq!(app.get("/v1/config", None).await.status(), 200);
}

#[tokio::test]
async fn a_limit_of_zero_turns_the_limiter_off() {
    let app = spawn_app_with(|s| s.rate_limit = 0).await;
    let response = app.get("/v1/config", None).await;
    assert_eq!(response.status(), 200);
    assert!(!response.headers().contains_key("ratelimit-limit"));
}

#[tokio::test]
async fn quotas_count_per_endpoint_and_stop_at_the_limit() {
    let app = spawn_app().await;
    let user = app.user("quota").await;
    let body = json!({"key": "q", "limit": 100, "window_ms": 1000});
    app.post("/v1/rate-limits/check", Some(&user.token), &body)
        .await;

    let quotas: Value = app
        .get("/v1/users/me/quotas", Some(&user.token))
        .await
        .json()
        .await
        .unwrap();
    let check = quotas["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["endpoint"] == "POST /v1/rate-limits/check")
        .unwrap()
        .clone();
    assert_eq!(check["used"], 1);
    assert_eq!(check["remaining"], check["limit"].as_u64().unwrap() - 1);

    // Use the rest of the hour's quota directly in Redis, then try once more.
    let now_ms = agora::time::unix_ms(agora::time::now());
    let (hour, _) = agora::rate_limits::quotas::current_hour(now_ms);
    let key = app.redis.keys.user_quotas(&user.id, hour);
    let _: () = app
        .conn()
        .hset(
            &key,
            "POST /v1/rate-limits/check",
            check["limit"].as_u64().unwrap(),
        )
        .await
        .unwrap();
    let over = app
        .post("/v1/rate-limits/check", Some(&user.token), &body)
        .await;
    assert!(
        over.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    let body = problem(over, 429).await;
    assert!(body["detail"].as_str().unwrap().contains("quota"));
    problem(app.get("/v1/users/me/quotas", None).await, 401).await;
}
