//! Locks: SET NX PX, compare-and-act extend and release, strictly increasing fencing
//! tokens, one holder at a time.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use redis::AsyncCommands;
use serde_json::{Value, json};

use crate::helpers::{TestApp, problem, spawn_app, spawn_app_with};

async fn release(
    app: &TestApp,
    token: &str,
    resource: &str,
    lock_token: &str,
) -> reqwest::Response {
    app.send_json(
        reqwest::Method::DELETE,
        &format!("/v1/locks/{resource}"),
        Some(token),
        &json!({"token": lock_token}),
    )
    .await
}

#[tokio::test]
async fn taking_a_free_lock_returns_its_token_and_a_fencing_token() {
    let app = spawn_app().await;
    let user = app.user("locker").await;

    let response = app
        .post(
            "/v1/locks/invoice-9",
            Some(&user.token),
            &json!({"ttl_ms": 30000}),
        )
        .await;

    assert_eq!(response.status(), 201);
    let lock: Value = response.json().await.unwrap();
    assert_eq!(lock["resource"], "invoice-9");
    // A new resource's counter starts at the Redis clock in µs (see acquire_lock.lua).
    let first = lock["fencing_token"].as_u64().unwrap();
    let now_us = agora::time::unix_ms(agora::time::now()) as u64 * 1000;
    assert!(first.abs_diff(now_us) < 60_000_000, "{first} vs {now_us}");
    assert!(lock["expires_at"].is_string());
    let token = lock["token"].as_str().unwrap();
    assert_eq!(token.len(), 32);
    let keys = &app.redis.keys;
    let stored: String = app.conn().get(keys.lock("invoice-9")).await.unwrap();
    assert_eq!(stored, token);
    let pttl: i64 = app.conn().pttl(keys.lock("invoice-9")).await.unwrap();
    assert!(pttl > 29_000 && pttl <= 30_000, "{pttl}");
    let fence: u64 = app.conn().get(keys.lock_fence("invoice-9")).await.unwrap();
    assert_eq!(fence, first);
}

#[tokio::test]
async fn a_held_lock_is_refused_and_only_its_holder_extends_or_releases_it() {
    let app = spawn_app().await;
    let holder = app.user("holder").await;
    let rival = app.user("rival").await;
    let taken: Value = app
        .post(
            "/v1/locks/report",
            Some(&holder.token),
            &json!({"ttl_ms": 1000}),
        )
        .await
        .json()
        .await
        .unwrap();
    let token = taken["token"].as_str().unwrap();
    let first = taken["fencing_token"].as_u64().unwrap();

    let refused = problem(
        app.post(
            "/v1/locks/report",
            Some(&rival.token),
            &json!({"ttl_ms": 1000}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(refused["type"], "/problems/lock-held");
    let wrong = app
        .patch(
            "/v1/locks/report",
            Some(&rival.token),
            &json!({"token": "0".repeat(32), "ttl_ms": 60000}),
        )
        .await;
    assert_eq!(
        problem(wrong, 409).await["type"],
        "/problems/not-lock-holder"
    );
    let extended = app
        .patch(
            "/v1/locks/report",
            Some(&holder.token),
            &json!({"token": token, "ttl_ms": 60000}),
        )
        .await;
    assert_eq!(extended.status(), 200);
    let extended: Value = extended.json().await.unwrap();
    assert_eq!(extended["fencing_token"], taken["fencing_token"]);
    let pttl: i64 = app
        .conn()
        .pttl(app.redis.keys.lock("report"))
        .await
        .unwrap();
    assert!(pttl > 59_000, "{pttl}");

    problem(
        release(&app, &rival.token, "report", "not-the-token").await,
        409,
    )
    .await;
    let still: bool = app
        .conn()
        .exists(app.redis.keys.lock("report"))
        .await
        .unwrap();
    assert!(still, "a wrong token frees nothing");
    assert_eq!(
        release(&app, &holder.token, "report", token).await.status(),
        204
    );
    let gone: bool = app
        .conn()
        .exists(app.redis.keys.lock("report"))
        .await
        .unwrap();
    assert!(!gone);
    problem(release(&app, &holder.token, "report", token).await, 409).await;

    let next: Value = app
        .post(
            "/v1/locks/report",
            Some(&rival.token),
            &json!({"ttl_ms": 1000}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(next["fencing_token"], first + 1);
}

#[tokio::test]
async fn a_stale_token_never_frees_or_extends_the_next_holders_lock() {
    let app = spawn_app().await;
    let slow = app.user("slowpoke").await;
    let next = app.user("nextone").await;
    let stale: Value = app
        .post(
            "/v1/locks/batch-7",
            Some(&slow.token),
            &json!({"ttl_ms": 50}),
        )
        .await
        .json()
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(120)).await;
    let current: Value = app
        .post(
            "/v1/locks/batch-7",
            Some(&next.token),
            &json!({"ttl_ms": 10000}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(current["fencing_token"].as_u64() > stale["fencing_token"].as_u64());

    problem(
        release(
            &app,
            &slow.token,
            "batch-7",
            stale["token"].as_str().unwrap(),
        )
        .await,
        409,
    )
    .await;
    let extend = app
        .patch(
            "/v1/locks/batch-7",
            Some(&slow.token),
            &json!({"token": stale["token"], "ttl_ms": 10000}),
        )
        .await;
    problem(extend, 409).await;

    let holder: String = app
        .conn()
        .get(app.redis.keys.lock("batch-7"))
        .await
        .unwrap();
    assert_eq!(holder, current["token"].as_str().unwrap());
}

#[tokio::test]
async fn contending_tasks_never_hold_one_lock_together_and_fencing_tokens_strictly_increase() {
    let app = spawn_app().await;
    let user = app.user("contender").await;
    let inside = AtomicBool::new(false);
    let acquired = AtomicUsize::new(0);
    let fences: Mutex<Vec<u64>> = Mutex::new(Vec::new());

    let tasks = (0..20).map(|_| {
        let (app, token, inside, acquired, fences) =
            (&app, &user.token, &inside, &acquired, &fences);
        async move {
            for _ in 0..15 {
                let response = app
                    .post("/v1/locks/shared", Some(token), &json!({"ttl_ms": 10000}))
                    .await;
                match response.status().as_u16() {
                    201 => {
                        let lock: Value = response.json().await.unwrap();
                        assert!(!inside.swap(true, Ordering::SeqCst), "two holders at once");
                        fences
                            .lock()
                            .unwrap()
                            .push(lock["fencing_token"].as_u64().unwrap());
                        acquired.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                        inside.store(false, Ordering::SeqCst);
                        let released =
                            release(app, token, "shared", lock["token"].as_str().unwrap()).await;
                        assert_eq!(released.status(), 204);
                    }
                    409 => tokio::time::sleep(std::time::Duration::from_millis(1)).await,
                    other => panic!("unexpected {other}"),
                }
            }
        }
    });
    futures::future::join_all(tasks).await;

    let fences = fences.into_inner().unwrap();
    assert!(fences.len() >= 2, "the lock changed hands: {fences:?}");
    assert_eq!(fences.len(), acquired.load(Ordering::SeqCst));
    assert!(fences.windows(2).all(|w| w[0] < w[1]), "{fences:?}");
    let counter: u64 = app
        .conn()
        .get(app.redis.keys.lock_fence("shared"))
        .await
        .unwrap();
    assert_eq!(
        counter - fences[0] + 1,
        fences.len() as u64,
        "one fencing token per acquisition"
    );
    assert_eq!(*fences.last().unwrap(), counter);
}

#[tokio::test]
async fn lock_requests_are_validated_before_redis() {
    let app = spawn_app().await;
    let user = app.user("validator").await;

    problem(
        app.post("/v1/locks/r1", None, &json!({"ttl_ms": 1000}))
            .await,
        401,
    )
    .await;
    for ttl in [0, 5, 600_001, -1] {
        problem(
            app.post("/v1/locks/r1", Some(&user.token), &json!({"ttl_ms": ttl}))
                .await,
            422,
        )
        .await;
    }
    problem(
        app.post("/v1/locks/a:b", Some(&user.token), &json!({"ttl_ms": 1000}))
            .await,
        422,
    )
    .await;
    problem(
        app.post(
            "/v1/locks/%7Bx%7D",
            Some(&user.token),
            &json!({"ttl_ms": 1000}),
        )
        .await,
        422,
    )
    .await;
    problem(
        app.patch("/v1/locks/r1", Some(&user.token), &json!({"ttl_ms": 1000}))
            .await,
        422,
    )
    .await;
    problem(
        app.send_json(
            reqwest::Method::DELETE,
            "/v1/locks/r1",
            Some(&user.token),
            &json!({}),
        )
        .await,
        422,
    )
    .await;
    assert!(!app.all_keys().await.iter().any(|k| k.contains("lock:")));
}

/// Guards finding 22 (locks): a fencing counter was created per resource name and kept
/// forever. It now expires `AGORA_LOCK_FENCE_RETENTION_SECS` after the last acquire or
/// extend, and a counter that is gone restarts from the Redis clock, so the next token
/// is still larger than every token handed out before (a paused holder's included).
#[tokio::test]
async fn fence_counters_expire_and_tokens_keep_increasing_after_they_do() {
    let app = spawn_app_with(|s| s.lock_fence_retention_secs = 7200).await;
    let user = app.user("fencer").await;
    let fence = app.redis.keys.lock_fence("printer");
    let take = |ttl_ms: u64| {
        let (app, user) = (&app, &user);
        async move {
            let response = app
                .post(
                    "/v1/locks/printer",
                    Some(&user.token),
                    &json!({"ttl_ms": ttl_ms}),
                )
                .await;
            assert_eq!(response.status(), 201);
            response.json::<Value>().await.unwrap()
        }
    };

    let first = take(1000).await;
    let ttl: i64 = app.conn().pttl(&fence).await.unwrap();
    assert!(ttl > 7_100_000 && ttl <= 7_200_000, "{ttl}");
    // Extending starts the retention again.
    let _: () = app.conn().pexpire(&fence, 60_000).await.unwrap();
    let extended = app
        .patch(
            "/v1/locks/printer",
            Some(&user.token),
            &json!({"token": first["token"], "ttl_ms": 1000}),
        )
        .await;
    assert_eq!(extended.status(), 200);
    let ttl: i64 = app.conn().pttl(&fence).await.unwrap();
    assert!(ttl > 7_100_000, "{ttl}");
    release(
        &app,
        &user.token,
        "printer",
        first["token"].as_str().unwrap(),
    )
    .await;

    // The counter expires (simulated): the next token is still larger than all before.
    let before = take(1000).await;
    assert_eq!(
        before["fencing_token"].as_u64(),
        first["fencing_token"].as_u64().map(|f| f + 1)
    );
    let _: () = app.conn().del(&fence).await.unwrap();
    release(
        &app,
        &user.token,
        "printer",
        before["token"].as_str().unwrap(),
    )
    .await;
    let after = take(1000).await;
    assert!(
        after["fencing_token"].as_u64() > before["fencing_token"].as_u64(),
        "{after} after {before}"
    );
    release(
        &app,
        &user.token,
        "printer",
        after["token"].as_str().unwrap(),
    )
    .await;

    // A counter from before retentions (durable, small) still counts up, and gets one.
    let _: () = app.conn().set(&fence, 41).await.unwrap();
    let legacy = take(1000).await;
    assert_eq!(legacy["fencing_token"], 42);
    assert!(app.conn().pttl::<_, i64>(&fence).await.unwrap() > 0);
}
