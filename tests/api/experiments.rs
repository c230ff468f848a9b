//! Experiments: sticky weighted assignment, also under concurrent first calls.

use std::collections::HashMap;

use redis::AsyncCommands;
use serde_json::{Value, json};

use crate::helpers::{problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn assignment_is_sticky_and_follows_the_weights() {
    let app = spawn_app().await;
    let admin = app.admin("scientist").await;
    let created = app
        .send_json(
            reqwest::Method::PUT,
            "/v1/experiments/banner",
            Some(&admin.token),
            &json!({"variants": {"a": 80, "b": 20}}),
        )
        .await;
    assert_eq!(created.status(), 200);

    let first: Value = app
        .post("/v1/experiments/banner/assignments/u1", None, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["new"], true);
    for _ in 0..5 {
        let again: Value = app
            .post("/v1/experiments/banner/assignments/u1", None, &json!({}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(again["variant"], first["variant"]);
        assert_eq!(again["new"], false);
    }

    let mut counts: HashMap<String, u32> = HashMap::new();
    for i in 0..400 {
        let a: Value = app
            .post(
                &format!("/v1/experiments/banner/assignments/s{i}"),
                None,
                &json!({}),
            )
            .await
            .json()
            .await
            .unwrap();
        *counts
            .entry(a["variant"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let a = counts["a"] as f64 / 400.0;
    assert!((0.70..=0.90).contains(&a), "share of a = {a} ({counts:?})");
}

#[tokio::test]
async fn concurrent_first_assignments_agree_on_one_variant() {
    let app = spawn_app().await;
    let admin = app.admin("scientist2").await;
    app.send_json(
        reqwest::Method::PUT,
        "/v1/experiments/race",
        Some(&admin.token),
        &json!({"variants": {"x": 1, "y": 1, "z": 1}}),
    )
    .await;

    let calls = (0..30).map(|_| async {
        app.post(
            "/v1/experiments/race/assignments/subject-1",
            None,
            &json!({}),
        )
        .await
    });
    let mut variants = Vec::new();
    let mut new = 0;
    for response in futures::future::join_all(calls).await {
        let a: Value = response.json().await.unwrap();
        variants.push(a["variant"].as_str().unwrap().to_string());
        new += (a["new"] == true) as u32;
    }

    variants.dedup();
    assert_eq!(variants.len(), 1, "{variants:?}");
    assert_eq!(new, 1, "exactly one call made the assignment");
}

#[tokio::test]
async fn experiments_need_an_admin_and_valid_variants() {
    let app = spawn_app().await;
    let user = app.user("curious").await;
    let admin = app.admin("lab").await;
    let put = |token: Option<String>, body: Value| {
        let app = &app;
        async move {
            app.send_json(
                reqwest::Method::PUT,
                "/v1/experiments/e1",
                token.as_deref(),
                &body,
            )
            .await
        }
    };

    problem(
        put(
            Some(user.token.clone()),
            json!({"variants": {"a": 1, "b": 1}}),
        )
        .await,
        403,
    )
    .await;
    problem(put(None, json!({"variants": {"a": 1, "b": 1}})).await, 401).await;
    problem(
        put(Some(admin.token.clone()), json!({"variants": {"a": 1}})).await,
        422,
    )
    .await;
    problem(
        put(
            Some(admin.token.clone()),
            json!({"variants": {"a": 0, "b{": 1}}),
        )
        .await,
        422,
    )
    .await;
    problem(
        app.post("/v1/experiments/none/assignments/u1", None, &json!({}))
            .await,
        404,
    )
    .await;
    problem(
        app.post("/v1/experiments/e1/assignments/a%20b", None, &json!({}))
            .await,
        422,
    )
    .await;
    problem(app.get("/v1/experiments/none", None).await, 404).await;
}

/// Guards finding 22 (experiments): assignments of made-up subjects were kept forever
/// in one hash. Each assignment now expires `AGORA_ASSIGNMENT_RETENTION_DAYS` after its
/// subject's last call, and every call starts that again; an assignment stored in the
/// old hash still counts (it moves into its own key).
#[tokio::test]
async fn assignments_expire_after_the_retention_refreshed_on_use() {
    let app = spawn_app_with(|s| s.assignment_retention_days = 2).await;
    let admin = app.admin("retainer").await;
    let put = app
        .send_json(
            reqwest::Method::PUT,
            "/v1/experiments/kept",
            Some(&admin.token),
            &json!({"variants": {"a": 1, "b": 1}}),
        )
        .await;
    assert_eq!(put.status(), 200);
    let retention_ms: i64 = 2 * 24 * 3600 * 1000;
    let key = app.redis.keys.experiment_assignment("kept", "visitor-1");

    let first: Value = app
        .post(
            "/v1/experiments/kept/assignments/visitor-1",
            None,
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    let ttl: i64 = app.conn().pttl(&key).await.unwrap();
    assert!(ttl > retention_ms - 60_000 && ttl <= retention_ms, "{ttl}");
    let _: () = app.conn().pexpire(&key, 5_000).await.unwrap();
    let again: Value = app
        .post(
            "/v1/experiments/kept/assignments/visitor-1",
            None,
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["variant"], first["variant"]);
    assert_eq!(again["new"], false);
    let ttl: i64 = app.conn().pttl(&key).await.unwrap();
    assert!(ttl > retention_ms - 60_000, "a call refreshes it: {ttl}");

    // An assignment from before (in the experiment's hash) is kept and moved.
    let legacy = app.redis.keys.experiment_assignments("kept");
    let _: () = app.conn().hset(&legacy, "old-visitor", "b").await.unwrap();
    let old: Value = app
        .post(
            "/v1/experiments/kept/assignments/old-visitor",
            None,
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(old["variant"], "b");
    assert_eq!(old["new"], false);
    let left: u64 = app.conn().hlen(&legacy).await.unwrap();
    assert_eq!(left, 0);
    let ttl: i64 = app
        .conn()
        .pttl(app.redis.keys.experiment_assignment("kept", "old-visitor"))
        .await
        .unwrap();
    assert!(ttl > 0, "{ttl}");
}
