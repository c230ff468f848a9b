//! The application config hash: typed reads, admin-only typed patches.

use serde_json::{Value, json};

use crate::helpers::{problem, spawn_app};

#[tokio::test]
async fn admins_patch_known_keys_and_everyone_reads_them_typed() {
    let app = spawn_app().await;
    let admin = app.admin("ops").await;
    let user = app.user("viewer").await;

    let patched: Value = app
        .patch(
            "/v1/config",
            Some(&admin.token),
            &json!({"theme": "light", "max_connections": 500, "debug": true}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        patched,
        json!({"theme": "light", "max_connections": 500, "debug": true})
    );

    let read: Value = app.get("/v1/config", None).await.json().await.unwrap();
    assert_eq!(read["max_connections"], 500);
    assert_eq!(read["debug"], true);
    let stored = app.hgetall(&app.redis.keys.config_app()).await;
    assert_eq!(stored["debug"], "true");

    problem(
        app.patch("/v1/config", Some(&user.token), &json!({"theme": "x"}))
            .await,
        403,
    )
    .await;
    problem(
        app.patch("/v1/config", None, &json!({"theme": "x"})).await,
        401,
    )
    .await;
}

#[tokio::test]
async fn unknown_keys_and_wrong_types_are_422_and_change_nothing() {
    let app = spawn_app().await;
    let admin = app.admin("ops2").await;
    app.patch("/v1/config", Some(&admin.token), &json!({"timeout": 30}))
        .await;

    let response = app
        .patch(
            "/v1/config",
            Some(&admin.token),
            &json!({"timeout": "soon", "colour": "red", "theme": "dark"}),
        )
        .await;

    let body = problem(response, 422).await;
    assert!(body["errors"]["timeout"].is_string());
    assert!(body["errors"]["colour"].is_string());
    let read: Value = app.get("/v1/config", None).await.json().await.unwrap();
    assert_eq!(
        read,
        json!({"timeout": 30}),
        "a rejected patch changes nothing"
    );
    problem(
        app.patch("/v1/config", Some(&admin.token), &json!({}))
            .await,
        422,
    )
    .await;
}
