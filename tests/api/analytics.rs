//! Analytics: counters, unique visitors (set + HyperLogLog), cohorts on any topology;
//! dates in a sane range, and a retention on every key anyone can create.

use redis::AsyncCommands;
use serde_json::{Value, json};

use crate::helpers::{problem, spawn_app, spawn_app_with};

/// The UTC day `offset` days from today, `YYYY-MM-DD` (visits are recorded only for
/// recent days, so the tests use days relative to today).
fn day(offset: i64) -> String {
    (agora::time::now().date() + time::Duration::days(offset)).to_string()
}

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
    let (first, second) = (day(-2), day(-1));
    for v in ["v1", "v2", "v3", "v1"] {
        visit(&app, v, &first).await;
    }
    for v in ["v1", "v3", "v4"] {
        visit(&app, v, &second).await;
    }
    let again = visit(&app, "v4", &second).await;
    assert_eq!(again["first_visit_today"], false);

    let stats: Value = app
        .get(&format!("/v1/analytics/visitors/{first}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        stats,
        json!({"date": first, "unique": 3, "approximate_unique": 3})
    );
    let returning: Value = app
        .get(
            &format!("/v1/analytics/visitors/returning?from={first}&to={second}"),
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
            &format!("/v1/analytics/visitors/new?day={second}&since={first}&limit=10"),
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

/// Guards finding 22 (dates): any date was a key (`visitors:{-9999-12-31}` was
/// accepted). Reads take 2000-01-01 to tomorrow; visits only days still within the
/// retention, up to tomorrow. Anything else is 422 naming the field, and no key.
#[tokio::test]
async fn dates_out_of_range_are_422_and_never_a_key() {
    let app = spawn_app_with(|s| s.analytics_retention_days = 30).await;
    for date in [
        "-9999-12-31",
        "1999-12-31",
        "+10000-01-01",
        &day(2),
        "9999-12-31",
    ] {
        let read = app
            .get(&format!("/v1/analytics/visitors/{date}"), None)
            .await;
        assert!(
            problem(read, 422).await["errors"]["date"].is_string(),
            "{date}"
        );
        let write = app
            .post(
                "/v1/analytics/visits",
                None,
                &json!({"visitor_id": "v1", "date": date}),
            )
            .await;
        assert!(
            problem(write, 422).await["errors"]["date"].is_string(),
            "{date}"
        );
    }
    let stale = app
        .post(
            "/v1/analytics/visits",
            None,
            &json!({"visitor_id": "v1", "date": day(-31)}),
        )
        .await;
    assert!(problem(stale, 422).await["errors"]["date"].is_string());
    let cohort = app
        .get(
            &format!(
                "/v1/analytics/visitors/returning?from=1999-01-01&to={}",
                day(0)
            ),
            None,
        )
        .await;
    assert!(problem(cohort, 422).await["errors"]["from"].is_string());
    assert!(
        app.all_keys().await.is_empty(),
        "{:?}",
        app.all_keys().await
    );

    // The edges are accepted: the oldest day of the retention, and tomorrow.
    for date in [day(-30), day(1)] {
        let ok = visit(&app, "v1", &date).await;
        assert_eq!(ok["date"], date);
    }
    assert_eq!(
        app.get(&format!("/v1/analytics/visitors/{}", day(-400)), None)
            .await
            .status(),
        200
    );
}

/// Guards finding 22 (retention): `pageviews:{path}` for any path and `visitors:{date}`
/// never expired. A day's set and HyperLogLog expire the retention after the day ends;
/// a page counter the retention after its last view.
#[tokio::test]
async fn analytics_keys_expire_after_the_retention() {
    let app = spawn_app_with(|s| s.analytics_retention_days = 10).await;
    let yesterday = day(-1);
    visit(&app, "v1", &yesterday).await;
    // Yesterday ended at today's midnight: its keys live 10 days from then.
    let midnight = agora::time::now()
        .date()
        .midnight()
        .assume_utc()
        .unix_timestamp();
    let expected = midnight + 10 * 24 * 3600;
    for key in [
        app.redis.keys.visitors(&yesterday),
        app.redis.keys.visitors_hll(&yesterday),
    ] {
        let at: i64 = redis::cmd("EXPIRETIME")
            .arg(&key)
            .query_async(&mut app.conn())
            .await
            .unwrap();
        assert_eq!(at, expected, "{key}");
    }

    app.post(
        "/v1/analytics/pageviews",
        None,
        &json!({"path": "/made/up/page"}),
    )
    .await;
    let key = app.redis.keys.pageviews("/made/up/page");
    let _: () = app.conn().pexpire(&key, 5_000).await.unwrap();
    let viewed: Value = app
        .post(
            "/v1/analytics/pageviews",
            None,
            &json!({"path": "/made/up/page"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(viewed["views"], 2);
    let ttl: i64 = app.conn().pttl(&key).await.unwrap();
    let retention_ms: i64 = 10 * 24 * 3600 * 1000;
    assert!(
        ttl > retention_ms - 60_000 && ttl <= retention_ms,
        "a view refreshes it: {ttl}"
    );
}
