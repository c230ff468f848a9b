//! Orders: idempotent, all-or-nothing, crash-safe checkout; the lifecycle; visibility.

use std::collections::HashMap;

use agora::orders::model::{Line, fingerprint};
use agora::orders::repo::{self as orders_repo, Claim, NewCheckout};
use agora::orders::service::sweep;
use agora::redis::keys::UserPart;
use redis::AsyncCommands;
use serde_json::{Value, json};

use crate::commerce::{
    Shop, add_to_cart, events, inflight, items, order, post_concurrently, product, reservations,
    shop, stock,
};
use crate::helpers::{TestApp, problem, spawn_app};

/// Ids of every order hash under this test's prefix (not invoices).
async fn order_keys(app: &TestApp) -> Vec<String> {
    app.all_keys()
        .await
        .into_iter()
        .filter(|k| k.contains("order:{") && !k.ends_with(":invoice"))
        .collect()
}

#[tokio::test]
async fn checking_out_items_takes_the_stock_and_embeds_a_snapshot_of_them() {
    let Shop { app, admin, buyer } = shop().await;
    let pen = product(&app, &admin.token, "PEN-1", 250, 10).await;
    let ink = product(&app, &admin.token, "INK-1", 799, 5).await;

    let response = order(&app, &buyer.token, "key-1", &items(&[(&pen, 4), (&ink, 1)])).await;

    assert_eq!(response.status(), 201);
    assert!(response.headers().get("idempotent-replayed").is_none());
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(location, format!("/v1/orders/{id}"));
    assert_eq!(created["status"], "pending");
    assert_eq!(created["user_id"], buyer.id.as_str());
    assert_eq!(created["total_cents"], 4 * 250 + 799);
    assert_eq!(
        created["items"],
        json!([
            {"product_id": pen, "name": "Product PEN-1", "quantity": 4, "unit_price_cents": 250},
            {"product_id": ink, "name": "Product INK-1", "quantity": 1, "unit_price_cents": 799},
        ])
    );
    assert_eq!(stock(&app, &pen).await, 6);
    assert_eq!(stock(&app, &ink).await, 4);

    let keys = &app.redis.keys;
    let stored = app.hgetall(&keys.order(&id)).await;
    assert_eq!(stored["status"], "pending");
    let snapshot: Value = serde_json::from_str(&stored["items"]).unwrap();
    assert_eq!(snapshot, created["items"]);
    let ttl: i64 = app.conn().ttl(keys.order(&id)).await.unwrap();
    assert_eq!(ttl, -1, "a committed order is durable");
    assert_eq!(
        reservations(&app, &pen).await,
        HashMap::from([(id.clone(), 4)])
    );
    let mine: Vec<String> = app
        .conn()
        .zrange(keys.user_part(&buyer.id, UserPart::Orders), 0, -1)
        .await
        .unwrap();
    assert_eq!(mine, vec![id.clone()]);
    let record = app.hgetall(&keys.idempotency(&buyer.id, "key-1")).await;
    assert_eq!(record["state"], "done");
    assert_eq!(record["order_id"], id);
    let record_ttl: i64 = app
        .conn()
        .ttl(keys.idempotency(&buyer.id, "key-1"))
        .await
        .unwrap();
    assert!(record_ttl > 23 * 3600 && record_ttl <= 24 * 3600);
    assert!(inflight(&app).await.is_empty());
    let events = events(&app).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "order.created");
    assert_eq!(events[0]["order_id"], id);
    let fetched: Value = app
        .get(&location, Some(&buyer.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, created);
}

#[tokio::test]
async fn checking_out_the_cart_orders_its_lines_and_takes_them_out_of_the_cart() {
    let Shop { app, admin, buyer } = shop().await;
    let a = product(&app, &admin.token, "CART-A", 100, 10).await;
    let b = product(&app, &admin.token, "CART-B", 300, 10).await;
    for (id, quantity) in [(&a, 2), (&b, 1)] {
        add_to_cart(&app, &buyer.token, id, quantity).await;
    }

    let response = order(&app, &buyer.token, "cart-1", &json!({})).await;

    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["total_cents"], 2 * 100 + 300);
    assert_eq!(stock(&app, &a).await, 8);
    let cart_key = app.redis.keys.user_part(&buyer.id, UserPart::Cart);
    let exists: bool = app.conn().exists(&cart_key).await.unwrap();
    assert!(!exists, "the cart is empty after its checkout");

    // The retry of a successful cart checkout answers with the same order, even
    // though the cart is empty now.
    let again = order(&app, &buyer.token, "cart-1", &json!({})).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], created["id"]);
    let empty = problem(order(&app, &buyer.token, "cart-2", &json!({})).await, 422).await;
    assert!(empty["errors"]["items"].as_str().unwrap().contains("empty"));
    let keys: Vec<_> = app.all_keys().await;
    assert!(
        !keys.iter().any(|k| k.ends_with(":cart-2")),
        "an empty-cart checkout leaves no key record"
    );
}

#[tokio::test]
async fn a_short_product_fails_the_whole_order_names_it_and_holds_no_stock() {
    let Shop { app, admin, buyer } = shop().await;
    let plenty = product(&app, &admin.token, "PLENTY", 100, 100).await;
    let scarce = product(&app, &admin.token, "SCARCE", 100, 1).await;
    let body = items(&[(&plenty, 5), (&scarce, 2)]);

    let answer = problem(order(&app, &buyer.token, "short-1", &body).await, 409).await;

    assert_eq!(answer["type"], "/problems/insufficient-stock");
    assert!(answer["detail"].as_str().unwrap().contains(&scarce));
    assert_eq!(
        stock(&app, &plenty).await,
        100,
        "what was taken is given back"
    );
    assert_eq!(stock(&app, &scarce).await, 1);
    assert!(reservations(&app, &plenty).await.is_empty());
    assert!(order_keys(&app).await.is_empty());
    assert!(inflight(&app).await.is_empty());
    assert!(events(&app).await.is_empty());

    // The key is free again: after a restock the same request goes through.
    app.post(
        &format!("/v1/products/{scarce}/restock"),
        Some(&admin.token),
        &json!({"quantity": 5}),
    )
    .await;
    let retried = order(&app, &buyer.token, "short-1", &body).await;
    assert_eq!(retried.status(), 201);
    assert_eq!(stock(&app, &plenty).await, 95);
    assert_eq!(stock(&app, &scarce).await, 4);
}

#[tokio::test]
async fn the_same_key_returns_the_same_order_and_another_body_with_it_is_refused() {
    let Shop { app, admin, buyer } = shop().await;
    let other = app.user("buyer4b").await;
    let id = product(&app, &admin.token, "IDEM-1", 100, 10).await;
    let body = items(&[(&id, 2)]);

    let first: Value = order(&app, &buyer.token, "same-key", &body)
        .await
        .json()
        .await
        .unwrap();
    let replay = order(&app, &buyer.token, "same-key", &body).await;

    assert_eq!(replay.status(), 201);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.json::<Value>().await.unwrap(), first);
    assert_eq!(stock(&app, &id).await, 8, "no second charge");

    let reordered = order(
        &app,
        &buyer.token,
        "same-key",
        &items(&[(&id, 1), (&id, 1)]),
    )
    .await;
    assert_eq!(reordered.json::<Value>().await.unwrap()["id"], first["id"]);
    let changed = problem(
        order(&app, &buyer.token, "same-key", &items(&[(&id, 3)])).await,
        422,
    )
    .await;
    assert!(changed["errors"]["Idempotency-Key"].is_string());

    // Keys are per user: another user's same key is another order.
    let theirs: Value = order(&app, &other.token, "same-key", &body)
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(theirs["id"], first["id"]);
    assert_eq!(stock(&app, &id).await, 6);
}

#[tokio::test]
async fn ten_concurrent_requests_with_one_key_create_exactly_one_order() {
    let Shop { app, admin, buyer } = shop().await;
    let a = product(&app, &admin.token, "RACE-A", 100, 50).await;
    let b = product(&app, &admin.token, "RACE-B", 200, 50).await;
    let body = items(&[(&a, 1), (&b, 2)]);

    let attempts = (0..10).map(|_| {
        let (app, token, body) = (&app, &buyer.token, &body);
        async move {
            let response = order(app, token, "one-key", body).await;
            let status = response.status().as_u16();
            let json: Value = response.json().await.unwrap();
            (status, json["id"].as_str().map(String::from))
        }
    });
    let answers = futures::future::join_all(attempts).await;

    assert!(
        answers.iter().all(|(status, _)| *status == 201),
        "{answers:?}"
    );
    let first = answers[0].1.clone().unwrap();
    assert!(
        answers
            .iter()
            .all(|(_, id)| id.as_deref() == Some(first.as_str())),
        "{answers:?}"
    );
    assert_eq!(stock(&app, &a).await, 49);
    assert_eq!(stock(&app, &b).await, 48);
    assert_eq!(order_keys(&app).await.len(), 1);
    let mine: u64 = app
        .conn()
        .zcard(app.redis.keys.user_part(&buyer.id, UserPart::Orders))
        .await
        .unwrap();
    assert_eq!(mine, 1);
    assert!(inflight(&app).await.is_empty());
}

#[tokio::test]
async fn concurrent_checkouts_over_overlapping_products_never_oversell_nor_leave_stock_held() {
    let app = spawn_app().await;
    let admin = app.admin("seller6").await;
    let mut buyers = Vec::new();
    for i in 0..3 {
        buyers.push(app.user(&format!("rush{i}")).await);
    }
    let mut ids = Vec::new();
    for sku in ["OV-A", "OV-B", "OV-C", "OV-D"] {
        ids.push(product(&app, &admin.token, sku, 100, 12).await);
    }
    // Every order takes two or three overlapping products, 1 to 3 units each.
    let carts: Vec<Vec<(String, i64)>> = (0..40)
        .map(|i: usize| {
            let first = i % 4;
            let mut lines = vec![
                (ids[first].clone(), 1 + (i % 3) as i64),
                (ids[(first + 1) % 4].clone(), 1 + (i / 3 % 3) as i64),
            ];
            if i.is_multiple_of(2) {
                lines.push((ids[(first + 2) % 4].clone(), 1));
            }
            lines
        })
        .collect();

    let attempts = carts.iter().enumerate().map(|(i, lines)| {
        let app = &app;
        let token = &buyers[i % buyers.len()].token;
        async move {
            let refs: Vec<(&str, i64)> = lines.iter().map(|(id, q)| (id.as_str(), *q)).collect();
            let response = order(app, token, &format!("rush-{i}"), &items(&refs)).await;
            let status = response.status().as_u16();
            (status, lines.clone())
        }
    });
    let results = futures::future::join_all(attempts).await;

    assert!(
        results.iter().all(|(s, _)| *s == 201 || *s == 409),
        "{results:?}"
    );
    let sold = results.iter().filter(|(s, _)| *s == 201).count();
    assert!(sold > 0, "some orders must go through");
    for id in &ids {
        let taken: i64 = results
            .iter()
            .filter(|(s, _)| *s == 201)
            .flat_map(|(_, lines)| lines.iter())
            .filter(|(p, _)| p == id)
            .map(|(_, q)| q)
            .sum();
        let left = stock(&app, id).await;
        assert!(left >= 0, "oversold {id}");
        assert_eq!(
            left,
            12 - taken,
            "product {id}: stock must be exactly what orders took"
        );
        let held: i64 = reservations(&app, id).await.values().sum();
        assert_eq!(held, taken, "only committed orders hold stock of {id}");
    }
    assert_eq!(order_keys(&app).await.len(), sold);
    assert!(inflight(&app).await.is_empty());
}

#[tokio::test]
async fn order_requests_are_checked_before_any_stock_is_taken() {
    let Shop { app, admin, buyer } = shop().await;
    let id = product(&app, &admin.token, "CHK-O", 100, 10).await;
    let body = items(&[(&id, 1)]);

    let no_key = app.post("/v1/orders", Some(&buyer.token), &body).await;
    problem(no_key, 400).await;
    for bad in ["a b", "k:1", "{k}", &"k".repeat(65)] {
        let answer = problem(order(&app, &buyer.token, bad, &body).await, 422).await;
        assert!(answer["errors"]["Idempotency-Key"].is_string());
    }
    problem(
        order(&app, &buyer.token, "v-1", &json!({"items": []})).await,
        422,
    )
    .await;
    problem(
        order(&app, &buyer.token, "v-2", &items(&[(&id, 0)])).await,
        422,
    )
    .await;
    problem(
        order(&app, &buyer.token, "v-3", &items(&[("a:b", 1)])).await,
        422,
    )
    .await;
    problem(
        order(
            &app,
            &buyer.token,
            "v-4",
            &json!({"items": [{"product_id": id}]}),
        )
        .await,
        422,
    )
    .await;
    problem(
        order(&app, &buyer.token, "v-5", &json!({"lines": []})).await,
        422,
    )
    .await;
    let unknown = problem(
        order(
            &app,
            &buyer.token,
            "v-6",
            &items(&[(&id, 1), ("404404", 1)]),
        )
        .await,
        422,
    )
    .await;
    assert!(
        unknown["errors"]["items"]
            .as_str()
            .unwrap()
            .contains("404404")
    );
    let unauthenticated = app
        .client
        .post(app.url("/v1/orders"))
        .header("idempotency-key", "v-7")
        .json(&body)
        .send()
        .await
        .unwrap();
    problem(unauthenticated, 401).await;

    assert_eq!(stock(&app, &id).await, 10);
    assert!(reservations(&app, &id).await.is_empty());
    assert!(order_keys(&app).await.is_empty());
    assert!(
        !app.all_keys().await.iter().any(|k| k.contains("idem:")),
        "no key record is left"
    );
}

/// Simulates a request that claimed its key, recorded the checkout, reserved `reserved`
/// and then died: what a crash between steps 3 and 4 leaves behind.
async fn crashed_checkout(
    app: &TestApp,
    user_id: &str,
    key: &str,
    lines: &[Line],
    reserved: &[Line],
) -> String {
    let redis = &app.redis;
    let candidate = orders_repo::next_id(redis).await.unwrap();
    let claim = orders_repo::claim_idempotency(
        redis,
        user_id,
        key,
        &fingerprint(Some(lines)),
        &candidate,
        None,
        "2026-01-01T00:00:00.000Z",
    )
    .await
    .unwrap();
    let Claim::Claimed(order_id) = claim else {
        panic!("{claim:?}")
    };
    let now_ms = agora::time::unix_ms(agora::time::now());
    orders_repo::mark_inflight(redis, &order_id, now_ms + 1)
        .await
        .unwrap();
    let begun = orders_repo::begin_checkout(
        redis,
        &order_id,
        "dead-request",
        1,
        now_ms,
        &NewCheckout {
            user_id,
            lines,
            idempotency_key: key,
            from_cart: false,
            started_at: "2026-01-01T00:00:00.000Z",
        },
    )
    .await
    .unwrap();
    assert_eq!(begun, orders_repo::Begin::Started);
    for line in reserved {
        agora::products::repo::reserve(redis, &line.product_id, &order_id, line.quantity)
            .await
            .unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    order_id
}

fn line(product_id: &str, quantity: i64) -> Line {
    Line {
        product_id: product_id.to_string(),
        quantity,
    }
}

#[tokio::test]
async fn a_checkout_that_died_after_reserving_is_completed_by_a_retry_with_its_key() {
    let Shop { app, admin, buyer } = shop().await;
    let a = product(&app, &admin.token, "CRASH-A", 100, 10).await;
    let b = product(&app, &admin.token, "CRASH-B", 200, 10).await;
    let lines = [line(&a, 3), line(&b, 1)];
    let order_id = crashed_checkout(&app, &buyer.id, "crash-key", &lines, &lines[..1]).await;
    assert_eq!(stock(&app, &a).await, 7, "the dead request had taken A");

    let retry = order(&app, &buyer.token, "crash-key", &items(&[(&a, 3), (&b, 1)])).await;

    assert_eq!(retry.status(), 201);
    let created: Value = retry.json().await.unwrap();
    assert_eq!(created["id"], order_id.as_str());
    assert_eq!(created["status"], "pending");
    assert_eq!(
        stock(&app, &a).await,
        7,
        "A's reservation is reused, not taken twice"
    );
    assert_eq!(stock(&app, &b).await, 9);
    assert_eq!(
        reservations(&app, &a).await,
        HashMap::from([(order_id.clone(), 3)])
    );
    assert!(inflight(&app).await.is_empty());
    assert_eq!(events(&app).await.len(), 1);
}

#[tokio::test]
async fn a_checkout_that_died_after_reserving_is_rolled_back_by_the_sweeper() {
    let Shop { app, admin, buyer } = shop().await;
    let a = product(&app, &admin.token, "SWEEP-A", 100, 10).await;
    let b = product(&app, &admin.token, "SWEEP-B", 200, 10).await;
    let lines = [line(&a, 4), line(&b, 2)];
    let order_id = crashed_checkout(&app, &buyer.id, "swept-key", &lines, &lines).await;
    assert_eq!((stock(&app, &a).await, stock(&app, &b).await), (6, 8));

    let now_ms = agora::time::unix_ms(agora::time::now());
    let report = sweep(&app.redis, now_ms, 100).await.unwrap();

    assert_eq!(report.rolled_back, 1);
    assert_eq!((stock(&app, &a).await, stock(&app, &b).await), (10, 10));
    assert!(reservations(&app, &a).await.is_empty());
    assert!(reservations(&app, &b).await.is_empty());
    let exists: bool = app
        .conn()
        .exists(app.redis.keys.order(&order_id))
        .await
        .unwrap();
    assert!(!exists);
    assert!(inflight(&app).await.is_empty());
    assert!(!app.all_keys().await.iter().any(|k| k.contains("swept-key")));
    assert_eq!(sweep(&app.redis, now_ms, 100).await.unwrap().rolled_back, 0);

    let retry = order(&app, &buyer.token, "swept-key", &items(&[(&a, 4), (&b, 2)])).await;
    assert_eq!(retry.status(), 201, "the key is usable again");
    assert_eq!((stock(&app, &a).await, stock(&app, &b).await), (6, 8));
}

#[tokio::test]
async fn a_checkout_that_died_after_committing_is_finished_by_the_sweeper() {
    let Shop { app, admin, buyer } = shop().await;
    let a = product(&app, &admin.token, "COMMIT-A", 150, 10).await;
    let lines = [line(&a, 2)];
    let order_id = crashed_checkout(&app, &buyer.id, "late-key", &lines, &lines).await;
    let items_json = vec![agora::orders::model::OrderItem {
        product_id: a.clone(),
        name: "Product COMMIT-A".into(),
        quantity: 2,
        unit_price_cents: 150,
    }];
    assert!(
        orders_repo::commit(
            &app.redis,
            &order_id,
            "dead-request",
            &items_json,
            300,
            "2026-01-01T00:00:01.000Z"
        )
        .await
        .unwrap()
    );

    let now_ms = agora::time::unix_ms(agora::time::now());
    let report = sweep(&app.redis, now_ms, 100).await.unwrap();

    assert_eq!(report.finished, 1);
    assert!(inflight(&app).await.is_empty());
    let mine: Vec<String> = app
        .conn()
        .zrange(app.redis.keys.user_part(&buyer.id, UserPart::Orders), 0, -1)
        .await
        .unwrap();
    assert_eq!(mine, vec![order_id.clone()]);
    assert_eq!(events(&app).await.len(), 1);
    let replay = order(&app, &buyer.token, "late-key", &items(&[(&a, 2)])).await;
    assert_eq!(replay.status(), 201);
    assert_eq!(
        replay.json::<Value>().await.unwrap()["id"],
        order_id.as_str()
    );
    assert_eq!(stock(&app, &a).await, 8);
}

/// `POST /v1/orders/{id}/cancel`.
async fn cancel(app: &TestApp, token: &str, order_id: &str) -> reqwest::Response {
    app.post(
        &format!("/v1/orders/{order_id}/cancel"),
        Some(token),
        &json!({}),
    )
    .await
}

/// Places one order of `quantity` units of `product_id` and returns its id.
async fn place(app: &TestApp, token: &str, key: &str, product_id: &str, quantity: i64) -> String {
    let response = order(app, token, key, &items(&[(product_id, quantity)])).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_string()
}

/// Guards finding 16: `{"status": null}` was a 400 "not valid JSON" (serde_json calls
/// a null enum a syntax error); it is valid JSON with a wrong value: 422 naming
/// `status`, and the order is unchanged.
#[tokio::test]
async fn a_null_or_numeric_status_is_422_naming_the_field() {
    let Shop { app, admin, buyer } = shop().await;
    let id = product(&app, &admin.token, "NULL-1", 100, 10).await;
    let order_id = place(&app, &buyer.token, "null-1", &id, 1).await;
    let path = format!("/v1/orders/{order_id}");
    for body in [
        json!({"status": null}),
        json!({"status": 3}),
        json!({"status": {}}),
    ] {
        let response = app.patch(&path, Some(&admin.token), &body).await;
        let problem = problem(response, 422).await;
        assert!(problem["errors"]["status"].is_string(), "{body}: {problem}");
    }
    let broken = app
        .client
        .patch(app.url(&path))
        .bearer_auth(&admin.token)
        .header("content-type", "application/json")
        .body(r#"{"status": nul"#)
        .send()
        .await
        .unwrap();
    problem(broken, 400).await;
    let order = app.get_ok(&path, Some(&buyer.token)).await;
    assert_eq!(order["status"], "pending");
}

#[tokio::test]
async fn the_lifecycle_only_moves_forward_and_every_change_is_an_event() {
    let Shop { app, admin, buyer } = shop().await;
    let id = product(&app, &admin.token, "LIFE-1", 100, 10).await;
    let order_id = place(&app, &buyer.token, "life-1", &id, 2).await;
    let path = format!("/v1/orders/{order_id}");
    let set = |status: &str| json!({"status": status});

    let skipped = problem(
        app.patch(&path, Some(&admin.token), &set("shipped")).await,
        409,
    )
    .await;
    assert_eq!(skipped["type"], "/problems/invalid-transition");
    problem(
        app.patch(&path, Some(&buyer.token), &set("paid")).await,
        403,
    )
    .await;
    problem(
        app.patch(&path, Some(&admin.token), &set("pending")).await,
        422,
    )
    .await;
    problem(
        app.patch(&path, Some(&admin.token), &set("lost")).await,
        422,
    )
    .await;
    problem(
        app.patch("/v1/orders/8888888", Some(&admin.token), &set("paid"))
            .await,
        404,
    )
    .await;
    for status in ["paid", "shipped", "delivered"] {
        let response = app.patch(&path, Some(&admin.token), &set(status)).await;
        assert_eq!(response.status(), 200, "{status}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], status);
        assert!(body[format!("{status}_at")].is_string());
    }
    let again = app
        .patch(&path, Some(&admin.token), &set("delivered"))
        .await;
    assert_eq!(
        again.status(),
        200,
        "asking for the current status is a no-op"
    );
    problem(
        app.patch(&path, Some(&admin.token), &set("paid")).await,
        409,
    )
    .await;

    let kinds: Vec<(String, String)> = events(&app)
        .await
        .into_iter()
        .map(|e| (e["type"].clone(), e["status"].clone()))
        .collect();
    assert_eq!(
        kinds[..4],
        [
            ("order.created".to_string(), "pending".to_string()),
            ("order.status_changed".to_string(), "paid".to_string()),
            ("order.status_changed".to_string(), "shipped".to_string()),
            ("order.status_changed".to_string(), "delivered".to_string()),
        ]
    );
    assert!(
        reservations(&app, &id).await.is_empty(),
        "shipping settles the reservation"
    );
    assert_eq!(stock(&app, &id).await, 8);
    assert!(inflight(&app).await.is_empty());
    assert!(!app.all_keys().await.iter().any(|k| k.contains("8888888")));
}

#[tokio::test]
async fn cancelling_gives_the_stock_back_exactly_once_and_only_before_shipping() {
    let Shop { app, admin, buyer } = shop().await;
    let stranger = app.user("stranger12").await;
    let id = product(&app, &admin.token, "CANCEL-1", 100, 10).await;
    let first = place(&app, &buyer.token, "cancel-1", &id, 3).await;
    let second = place(&app, &buyer.token, "cancel-2", &id, 2).await;
    assert_eq!(stock(&app, &id).await, 5);

    problem(cancel(&app, &stranger.token, &first).await, 403).await;
    let cancelled = cancel(&app, &buyer.token, &first).await;
    assert_eq!(cancelled.status(), 200);
    assert_eq!(
        cancelled.json::<Value>().await.unwrap()["status"],
        "cancelled"
    );
    assert_eq!(stock(&app, &id).await, 8);
    let repeated = cancel(&app, &buyer.token, &first).await;
    assert_eq!(repeated.status(), 200);
    assert_eq!(
        stock(&app, &id).await,
        8,
        "a repeated cancel gives nothing back twice"
    );

    let path = format!("/v1/orders/{second}/cancel");
    let statuses = post_concurrently(&app, 5, &path, &buyer.token, &json!({})).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(stock(&app, &id).await, 10);

    let third = place(&app, &buyer.token, "cancel-3", &id, 1).await;
    for status in ["paid", "shipped"] {
        app.patch(
            &format!("/v1/orders/{third}"),
            Some(&admin.token),
            &json!({"status": status}),
        )
        .await;
    }
    let late = problem(cancel(&app, &buyer.token, &third).await, 409).await;
    assert_eq!(late["type"], "/problems/invalid-transition");
    assert_eq!(stock(&app, &id).await, 9, "a shipped order keeps its stock");
    problem(
        app.post("/v1/orders/x:y/cancel", Some(&buyer.token), &json!({}))
            .await,
        422,
    )
    .await;
}

#[tokio::test]
async fn orders_are_shown_to_their_owner_and_admins_newest_first_a_page_at_a_time() {
    let Shop { app, admin, buyer } = shop().await;
    let stranger = app.user("stranger13").await;
    let id = product(&app, &admin.token, "LIST-1", 100, 100).await;
    let mut placed = Vec::new();
    for i in 0..5 {
        placed.push(place(&app, &buyer.token, &format!("list-{i}"), &id, 1).await);
    }

    let mut seen = Vec::new();
    let mut path = "/v1/users/me/orders?limit=2".to_string();
    loop {
        let page: Value = app
            .get(&path, Some(&buyer.token))
            .await
            .json()
            .await
            .unwrap();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/users/me/orders?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    placed.reverse();
    assert_eq!(seen, placed, "newest first, each order once");

    let order_path = format!("/v1/orders/{}", placed[0]);
    problem(app.get(&order_path, Some(&stranger.token)).await, 403).await;
    problem(app.get(&order_path, None).await, 401).await;
    assert_eq!(app.get(&order_path, Some(&admin.token)).await.status(), 200);
    problem(
        app.get("/v1/orders/123456789", Some(&buyer.token)).await,
        404,
    )
    .await;
    problem(app.get("/v1/orders/a%20b", Some(&buyer.token)).await, 422).await;
    problem(
        app.get(
            &format!("/v1/users/{}/orders", buyer.id),
            Some(&stranger.token),
        )
        .await,
        403,
    )
    .await;
    let by_admin = app
        .get(
            &format!("/v1/users/{}/orders", buyer.id),
            Some(&admin.token),
        )
        .await;
    assert_eq!(
        by_admin.json::<Value>().await.unwrap()["items"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    problem(
        app.get("/v1/users/me/orders?limit=500", Some(&buyer.token))
            .await,
        422,
    )
    .await;
}

#[tokio::test]
async fn deleting_a_user_keeps_their_orders_for_accounting_but_drops_their_index() {
    let Shop { app, admin, buyer } = shop().await;
    let id = product(&app, &admin.token, "KEEP-O", 100, 10).await;
    let order_id = place(&app, &buyer.token, "keep-1", &id, 1).await;

    assert_eq!(
        app.delete("/v1/users/me", Some(&buyer.token))
            .await
            .status(),
        204
    );

    let index_exists: bool = app
        .conn()
        .exists(app.redis.keys.user_part(&buyer.id, UserPart::Orders))
        .await
        .unwrap();
    assert!(!index_exists);
    let kept = app
        .get(&format!("/v1/orders/{order_id}"), Some(&admin.token))
        .await;
    assert_eq!(kept.status(), 200);
    // A later change of the order does not re-create the deleted user's index.
    let paid = app
        .patch(
            &format!("/v1/orders/{order_id}"),
            Some(&admin.token),
            &json!({"status": "paid"}),
        )
        .await;
    assert_eq!(paid.status(), 200);
    let index_exists: bool = app
        .conn()
        .exists(app.redis.keys.user_part(&buyer.id, UserPart::Orders))
        .await
        .unwrap();
    assert!(!index_exists);
}

#[tokio::test]
async fn status_changes_are_published_live_to_the_owner() {
    let Shop { app, admin, buyer } = shop().await;
    let id = product(&app, &admin.token, "LIVE-1", 100, 10).await;
    let order_id = place(&app, &buyer.token, "live-1", &id, 1).await;
    let stream = crate::notifications::open_stream(&app, &buyer.token).await;
    let mut stream = stream.bytes_stream();
    crate::notifications::read_until(&mut stream, "event: ready").await;

    app.patch(
        &format!("/v1/orders/{order_id}"),
        Some(&admin.token),
        &json!({"status": "paid"}),
    )
    .await;

    let text = crate::notifications::read_until(&mut stream, "order_status").await;
    let data = text
        .lines()
        .find_map(|line| {
            line.strip_prefix("data: ")
                .filter(|d| d.contains("order_status"))
        })
        .expect("a data line");
    let payload: Value = serde_json::from_str(data).unwrap();
    assert_eq!(payload["type"], "order_status");
    assert_eq!(payload["data"]["order_id"], order_id.as_str());
    assert_eq!(payload["data"]["status"], "paid");
}
