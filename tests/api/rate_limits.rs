//! Rate limits: the check endpoint (exact under concurrency, O(1) members per call,
//! bounded arguments, per-caller keys), the API's own limiter (429 + headers,
//! Retry-After that works), and hourly quotas (only successes count).

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
        .zcard(app.redis.keys.rate_limit_check(&user.id, "burst"))
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

/// Guards finding 1: a check with `limit` = `cost` = 100000 and a day-long window ran
/// 100000 ZADDs in one script (Redis blocked ~250 ms, 12.7 MB kept for a day). A request
/// is now one member carrying its cost: the key stays tiny whatever the cost.
#[tokio::test]
async fn a_check_of_the_maximum_cost_leaves_one_small_member() {
    let app = spawn_app().await;
    let user = app.user("heavy").await;
    let body = json!({"key": "big", "limit": 100_000, "window_ms": 86_400_000, "cost": 100_000});

    let started = std::time::Instant::now();
    let first: Value = app
        .post("/v1/rate-limits/check", Some(&user.token), &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["allowed"], true);
    assert_eq!(first["remaining"], 0);
    let second: Value = app
        .post("/v1/rate-limits/check", Some(&user.token), &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["allowed"], false, "the window is full: {second}");
    assert!(second["retry_after_ms"].as_u64().unwrap() > 86_000_000);
    assert!(started.elapsed() < Duration::from_secs(2));

    let key = app.redis.keys.rate_limit_check(&user.id, "big");
    let members: u64 = app.conn().zcard(&key).await.unwrap();
    assert_eq!(members, 1, "one member per request, whatever its cost");
    let bytes: u64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(&key)
        .query_async(&mut app.conn())
        .await
        .unwrap();
    assert!(bytes < 512, "MEMORY USAGE {bytes}");
}

/// Guards finding 1 (bounds): `limit`, `window_ms` and `cost` above their documented
/// maxima are 422 naming each field.
#[tokio::test]
async fn checks_above_the_maxima_are_422_naming_the_field() {
    let app = spawn_app().await;
    let user = app.user("greedy").await;
    for (body, field) in [
        (
            json!({"key": "k", "limit": 100_001, "window_ms": 1000}),
            "limit",
        ),
        (
            json!({"key": "k", "limit": 10, "window_ms": 86_400_001u64}),
            "window_ms",
        ),
        (
            json!({"key": "k", "limit": 100_000, "window_ms": 1000, "cost": 100_001}),
            "cost",
        ),
        (
            json!({"key": "k", "limit": 10, "window_ms": 1000, "cost": 11}),
            "cost",
        ),
    ] {
        let response = app
            .post("/v1/rate-limits/check", Some(&user.token), &body)
            .await;
        let problem = problem(response, 422).await;
        assert!(problem["errors"][field].is_string(), "{body}: {problem}");
    }
    let window: bool = app
        .conn()
        .exists(app.redis.keys.rate_limit_check(&user.id, "k"))
        .await
        .unwrap();
    assert!(!window, "nothing reached Redis");
}

/// Weighted entries: `retry_after_ms` must wait for the entries that free enough units,
/// counting their costs (not their number), and waiting it must be enough.
#[tokio::test]
async fn retry_after_counts_the_costs_of_the_oldest_entries() {
    let app = spawn_app().await;
    let user = app.user("weights").await;
    let check = |cost: u32| {
        let (app, user) = (&app, &user);
        async move {
            let response = app
                .post(
                    "/v1/rate-limits/check",
                    Some(&user.token),
                    &json!({"key": "w", "limit": 6, "window_ms": 1500, "cost": cost}),
                )
                .await;
            response.json::<Value>().await.unwrap()
        }
    };

    assert_eq!(check(3).await["allowed"], true); // t0: 3 units
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(check(1).await["allowed"], true); // t0+600: 1
    assert_eq!(check(2).await["allowed"], true); // t0+600: 2 → full (6)
    // 3 units are needed: the first entry (cost 3) leaving frees them, ~900 ms from now.
    let three = check(3).await;
    assert_eq!(three["allowed"], false);
    let wait3 = three["retry_after_ms"].as_u64().unwrap();
    assert!((500..=900).contains(&wait3), "{three}");
    // 4 units: the first (3) and the second (1) must leave, ~1500 ms from now.
    let four = check(4).await;
    let wait4 = four["retry_after_ms"].as_u64().unwrap();
    assert!(wait4 > wait3 + 300 && wait4 <= 1500, "{four}");
    assert_eq!(
        four["reset_ms"].as_u64().unwrap().div_ceil(100),
        wait3.div_ceil(100)
    );

    tokio::time::sleep(Duration::from_millis(wait3 + 5)).await;
    assert_eq!(
        check(3).await["allowed"],
        true,
        "waiting retry_after_ms is enough"
    );
}

/// Guards finding 10: check keys were global, so one user could exhaust another's
/// bucket of the same name. They are per caller now.
#[tokio::test]
async fn one_users_key_never_touches_another_users_key_of_the_same_name() {
    let app = spawn_app().await;
    let (a, b) = (app.user("bucket-a").await, app.user("bucket-b").await);
    let body = json!({"key": "shared-name", "limit": 3, "window_ms": 60_000});
    for _ in 0..5 {
        app.post("/v1/rate-limits/check", Some(&a.token), &body)
            .await;
    }
    let a_again: Value = app
        .post("/v1/rate-limits/check", Some(&a.token), &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(a_again["allowed"], false);

    let b_first: Value = app
        .post("/v1/rate-limits/check", Some(&b.token), &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(b_first["allowed"], true);
    assert_eq!(b_first["remaining"], 2, "B's window is B's own");
}

/// The quota used by `POST /v1/orders` this hour, from `GET /v1/users/me/quotas`.
async fn used(app: &crate::helpers::TestApp, token: &str, endpoint: &str) -> u64 {
    let quotas = app.get_ok("/v1/users/me/quotas", Some(token)).await;
    quotas["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["endpoint"] == endpoint)
        .unwrap()["used"]
        .as_u64()
        .unwrap()
}

/// Guards finding 17: rejected requests and idempotent replays used up hourly quotas
/// (60 invalid orders, then the first valid one got 429). Only successes count.
#[tokio::test]
async fn only_successful_requests_use_a_quota_and_replays_do_not() {
    let app = spawn_app().await;
    let buyer = app.user("quota-buyer").await;
    let admin = app.admin("quota-admin").await;
    let product: Value = app
        .post(
            "/v1/products",
            Some(&admin.token),
            &json!({"name": "Pen", "price_cents": 100, "stock": 10, "category": "office", "sku": "QUOTA-PEN"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let order = |quantity: i64, key: &str| {
        let (app, buyer, product, key) = (&app, &buyer, &product, key.to_string());
        async move {
            app.client
                .post(app.url("/v1/orders"))
                .bearer_auth(&buyer.token)
                .header("idempotency-key", key)
                .json(&json!({"items": [{"product_id": product["id"], "quantity": quantity}]}))
                .send()
                .await
                .unwrap()
        }
    };

    for n in 0..60 {
        let invalid = order(0, &format!("bad-{n}")).await;
        assert_eq!(invalid.status(), 422);
    }
    assert_eq!(used(&app, &buyer.token, "POST /v1/orders").await, 0);
    let valid = order(1, "good").await;
    assert_eq!(valid.status(), 201, "the 61st request is the first success");
    for _ in 0..3 {
        let replay = order(1, "good").await;
        assert_eq!(replay.status(), 201);
        assert_eq!(replay.headers()["idempotent-replayed"], "true");
    }
    assert_eq!(
        used(&app, &buyer.token, "POST /v1/orders").await,
        1,
        "replays of one order use no quota"
    );
}

/// Finding 17, atomicity: the quota unit is reserved with the decision and given back
/// on failure, so concurrent requests never pass the quota together.
#[tokio::test]
async fn concurrent_requests_at_the_edge_of_a_quota_never_pass_it() {
    let app = spawn_app().await;
    let author = app.user("quota-author").await;
    let limit = agora::rate_limits::quotas::quota_for("POST /v1/posts").unwrap();
    let now_ms = agora::time::unix_ms(agora::time::now());
    let (hour, _) = agora::rate_limits::quotas::current_hour(now_ms);
    let key = app.redis.keys.user_quotas(&author.id, hour);
    let _: () = app
        .conn()
        .hset(&key, "POST /v1/posts", limit - 5)
        .await
        .unwrap();
    let _: () = app.conn().expire(&key, 3600).await.unwrap();

    // 20 valid posts and 20 invalid ones at once. At most 5 posts are created (an
    // invalid request in flight holds a unit until its 422, so fewer may pass now).
    let posts = (0..40).map(|i| {
        let body = if i % 2 == 0 {
            json!({"title": format!("t{i}"), "content": "c"})
        } else {
            json!({"title": "", "content": "c"})
        };
        let (app, author) = (&app, &author);
        async move {
            app.post("/v1/posts", Some(&author.token), &body)
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures::future::join_all(posts).await;
    // (Once the quota is taken, invalid requests are refused by it too: 429, not 422.)
    let created = statuses.iter().filter(|s| **s == 201).count() as u64;
    assert!(created <= 5, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [201, 422, 429].contains(s)),
        "{statuses:?}"
    );
    // Only the successes are counted: the invalid and refused gave their units back.
    let stored: u64 = app.conn().hget(&key, "POST /v1/posts").await.unwrap();
    assert_eq!(stored, limit - 5 + created);

    // One at a time, the rest of the quota is there, and not one unit more.
    let mut more = 0;
    loop {
        let body = json!({"title": "later", "content": "c"});
        match app
            .post("/v1/posts", Some(&author.token), &body)
            .await
            .status()
            .as_u16()
        {
            201 => more += 1,
            429 => break,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(created + more, 5);
    assert_eq!(used(&app, &author.token, "POST /v1/posts").await, limit);
}
