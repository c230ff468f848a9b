//! Analytics: counters, unique visitors (set + HyperLogLog), cohorts on any topology.

use serde_json::{Value, json};

use crate::helpers::{problem, spawn_app};

#[tokio::test]
async fn page_views_are_counted_per_path() {
    let app = spawn_app().await;
    for _ in 0..3 {
        app.post(
            "/v1/analytics/pageviews",
            None,
            &json!({"path": "/products/42"}),
        )
        .await;
    }
    let concurrent = (0..20).map(|_| async {
        app.post("/v1/analytics/pageviews", None, &json!({"path": "/home"}))
            .await
    });
    futures::future::join_all(concurrent).await;

    let product: Value = app
        .get("/v1/analytics/pageviews?path=/products/42", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(product, json!({"path": "/products/42", "views": 3}));
    let home: Value = app
        .get("/v1/analytics/pageviews?path=/home", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(home["views"], 20);
    let never: Value = app
        .get("/v1/analytics/pageviews?path=/nowhere", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(never["views"], 0);
    problem(
        app.post("/v1/analytics/pageviews", None, &json!({"path": "{x}"}))
            .await,
        422,
    )
    .await;
    problem(app.get("/v1/analytics/pageviews", None).await, 422).await;
}

async fn visit(app: &crate::helpers::TestApp, visitor: &str, date: &str) -> Value {
    app.post(
        "/v1/analytics/visits",
        None,
        &json!({"visitor_id": visitor, "date": date}),
    )
    .await
    .json()
    .await
    .unwrap()
}

#[tokio::test]
async fn unique_returning_and_new_visitors() {
    let app = spawn_app().await;
    for v in ["v1", "v2", "v3", "v1"] {
        visit(&app, v, "2026-04-01").await;
    }
    for v in ["v1", "v3", "v4"] {
        visit(&app, v, "2026-04-02").await;
    }
    let again = visit(&app, "v4", "2026-04-02").await;
    assert_eq!(again["first_visit_today"], false);

    let day: Value = app
        .get("/v1/analytics/visitors/2026-04-01", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        day,
        json!({"date": "2026-04-01", "unique": 3, "approximate_unique": 3})
    );
    let returning: Value = app
        .get(
            "/v1/analytics/visitors/returning?from=2026-04-01&to=2026-04-02",
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        returning,
        json!({"count": 2, "count_exact": true, "visitor_ids": ["v1", "v3"], "next_cursor": null})
    );
    let new: Value = app
        .get(
            "/v1/analytics/visitors/new?day=2026-04-02&since=2026-04-01&limit=10",
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        new,
        json!({"count": 1, "count_exact": true, "visitor_ids": ["v4"], "next_cursor": null})
    );
}

#[tokio::test]
async fn the_hyperloglog_stays_close_to_the_exact_count() {
    let app = spawn_app().await;
    let mut pipe = redis::pipe();
    for i in 0..20_000 {
        let id = format!("visitor-{i}");
        pipe.sadd(app.redis.keys.visitors("2026-05-01"), &id)
            .ignore();
        pipe.pfadd(app.redis.keys.visitors_hll("2026-05-01"), &id)
            .ignore();
    }
    let _: () = pipe.query_async(&mut app.conn()).await.unwrap();

    let day: Value = app
        .get("/v1/analytics/visitors/2026-05-01", None)
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(day["unique"], 20_000);
    let approx = day["approximate_unique"].as_f64().unwrap();
    assert!((approx - 20_000.0).abs() / 20_000.0 < 0.03, "{approx}");
}

#[tokio::test]
async fn dates_and_visitor_ids_are_validated() {
    let app = spawn_app().await;
    problem(
        app.get("/v1/analytics/visitors/2026-02-30", None).await,
        422,
    )
    .await;
    problem(app.get("/v1/analytics/visitors/today", None).await, 422).await;
    let bad = app
        .get(
            "/v1/analytics/visitors/returning?from=2026-04-01&to=x",
            None,
        )
        .await;
    assert!(problem(bad, 422).await["errors"]["to"].is_string());
    let missing = app
        .get("/v1/analytics/visitors/new?day=2026-04-01", None)
        .await;
    problem(missing, 422).await;
    let bad_visitor = app
        .post("/v1/analytics/visits", None, &json!({"visitor_id": "a:b"}))
        .await;
    assert!(problem(bad_visitor, 422).await["errors"]["visitor_id"].is_string());
    let today = app
        .post("/v1/analytics/visits", None, &json!({"visitor_id": "v9"}))
        .await;
    let today: Value = today.json().await.unwrap();
    assert_eq!(today["date"].as_str().unwrap().len(), 10);
}
