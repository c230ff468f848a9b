//! The admin key browser: SCAN pages (never KEYS) with type and TTL, MEMORY USAGE.

use std::collections::HashSet;

use serde_json::Value;

use crate::helpers::{problem, spawn_app};

#[tokio::test]
async fn scanning_every_page_lists_every_key_once_with_type_and_ttl() {
    let app = spawn_app().await;
    let admin = app.admin("keeper").await;
    for i in 0..150 {
        let _: () = redis::cmd("SET")
            .arg(app.redis.keys.pageviews(&format!("/p{i}")))
            .arg(i)
            .query_async(&mut app.conn())
            .await
            .unwrap();
    }

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/admin/keys?match=pageviews:*&count=20&cursor={c}"),
            None => "/v1/admin/keys?match=pageviews:*&count=20".to_string(),
        };
        let page: Value = app
            .get(&path, Some(&admin.token))
            .await
            .json()
            .await
            .unwrap();
        for item in page["items"].as_array().unwrap() {
            assert_eq!(item["type"], "string");
            assert!(item["ttl_ms"].is_null());
            seen.push(item["key"].as_str().unwrap().to_string());
        }
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
        assert!(pages < 200, "iteration does not end");
    }

    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(
        unique.len(),
        150,
        "{} keys seen in {pages} pages",
        seen.len()
    );
    assert!(
        seen.iter().all(|k| k.starts_with("pageviews:{")),
        "keys are shown without the prefix"
    );
}

#[tokio::test]
async fn memory_usage_of_a_key_and_admin_only_access() {
    let app = spawn_app().await;
    let admin = app.admin("measurer").await;
    let user = app.user("nosy").await;

    let path = format!("/v1/admin/keys/user%3A%7B{}%7D/memory", admin.id);
    let memory: Value = app
        .get(&path, Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert!(memory["bytes"].as_u64().unwrap() > 100, "{memory}");
    assert_eq!(memory["key"], format!("user:{{{}}}", admin.id));

    problem(
        app.get("/v1/admin/keys/missing/memory", Some(&admin.token))
            .await,
        404,
    )
    .await;
    problem(app.get(&path, Some(&user.token)).await, 403).await;
    problem(app.get("/v1/admin/keys", Some(&user.token)).await, 403).await;
    problem(
        app.get("/v1/admin/keys?cursor=abc", Some(&admin.token))
            .await,
        422,
    )
    .await;
    problem(
        app.get("/v1/admin/keys?count=5", Some(&admin.token)).await,
        422,
    )
    .await;
}
