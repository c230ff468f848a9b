//! Carts: a hash per user, HINCRBY to add, a 7-day TTL refreshed on every write, priced
//! in one batch, missing products shown as unavailable.

use redis::AsyncCommands;
use serde_json::{Value, json};

use crate::commerce::{Shop, add_to_cart, product, shop};
use crate::helpers::problem;

const WEEK_MS: i64 = 7 * 24 * 3600 * 1000;

#[tokio::test]
async fn adding_to_the_cart_increments_the_line_and_prices_every_line_in_cents() {
    let Shop { app, admin, buyer } = shop().await;
    let tea = product(&app, &admin.token, "TEA-1", 450, 10).await;
    let mug = product(&app, &admin.token, "MUG-1", 1299, 10).await;

    add_to_cart(&app, &buyer.token, &tea, 2).await;
    let response = add_to_cart(&app, &buyer.token, &tea, 1).await;
    assert_eq!(response.status(), 200);
    add_to_cart(&app, &buyer.token, &mug, 1).await;
    let cart: Value = app
        .get("/v1/users/me/cart", Some(&buyer.token))
        .await
        .json()
        .await
        .unwrap();

    let items = cart["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let line = items
        .iter()
        .find(|i| i["product_id"] == tea.as_str())
        .unwrap();
    assert_eq!(line["quantity"], 3);
    assert_eq!(line["price_cents"], 450);
    assert_eq!(line["line_total_cents"], 1350);
    assert_eq!(line["name"], "Product TEA-1");
    assert_eq!(line["available"], true);
    assert_eq!(cart["total_cents"], 1350 + 1299);
    assert!(cart["expires_at"].is_string());

    let key = app
        .redis
        .keys
        .user_part(&buyer.id, agora::redis::keys::UserPart::Cart);
    let stored: std::collections::HashMap<String, i64> = app.conn().hgetall(&key).await.unwrap();
    assert_eq!(stored[&tea], 3);
    let pttl: i64 = app.conn().pttl(&key).await.unwrap();
    assert!(pttl > WEEK_MS - 60_000 && pttl <= WEEK_MS, "{pttl}");
}

#[tokio::test]
async fn every_cart_write_refreshes_the_seven_day_ttl() {
    let Shop { app, admin, buyer } = shop().await;
    let id = product(&app, &admin.token, "TTL-1", 100, 5).await;
    let key = app
        .redis
        .keys
        .user_part(&buyer.id, agora::redis::keys::UserPart::Cart);
    add_to_cart(&app, &buyer.token, &id, 1).await;

    for write in 0..2 {
        let _: bool = app.conn().pexpire(&key, 5_000).await.unwrap();
        let response = if write == 0 {
            app.send_json(
                reqwest::Method::PUT,
                &format!("/v1/users/me/cart/items/{id}"),
                Some(&buyer.token),
                &json!({"quantity": 4}),
            )
            .await
        } else {
            add_to_cart(&app, &buyer.token, &id, 1).await
        };
        assert_eq!(response.status(), 200);
        let pttl: i64 = app.conn().pttl(&key).await.unwrap();
        assert!(pttl > WEEK_MS - 60_000, "write {write}: {pttl}");
    }
    let quantity: i64 = app.conn().hget(&key, &id).await.unwrap();
    assert_eq!(quantity, 5);
}

#[tokio::test]
async fn setting_zero_removes_a_line_and_deleting_clears_the_cart() {
    let Shop { app, admin, buyer } = shop().await;
    let a = product(&app, &admin.token, "RM-A", 100, 5).await;
    let b = product(&app, &admin.token, "RM-B", 200, 5).await;
    for id in [&a, &b] {
        add_to_cart(&app, &buyer.token, id, 2).await;
    }
    let key = app
        .redis
        .keys
        .user_part(&buyer.id, agora::redis::keys::UserPart::Cart);

    let set_zero = app
        .send_json(
            reqwest::Method::PUT,
            &format!("/v1/users/me/cart/items/{a}"),
            Some(&buyer.token),
            &json!({"quantity": 0}),
        )
        .await;
    let cart: Value = set_zero.json().await.unwrap();
    assert_eq!(cart["items"].as_array().unwrap().len(), 1);
    assert_eq!(cart["total_cents"], 400);

    let removed = app
        .delete(&format!("/v1/users/me/cart/items/{b}"), Some(&buyer.token))
        .await;
    assert_eq!(removed.status(), 204);
    let exists: bool = app.conn().exists(&key).await.unwrap();
    assert!(!exists, "an empty cart is no key at all");
    let again = app
        .delete(&format!("/v1/users/me/cart/items/{b}"), Some(&buyer.token))
        .await;
    assert_eq!(again.status(), 204, "removing is idempotent");

    add_to_cart(&app, &buyer.token, &a, 1).await;
    assert_eq!(
        app.delete("/v1/users/me/cart", Some(&buyer.token))
            .await
            .status(),
        204
    );
    let exists: bool = app.conn().exists(&key).await.unwrap();
    assert!(!exists);
    let empty: Value = app
        .get("/v1/users/me/cart", Some(&buyer.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        empty,
        json!({"items": [], "total_cents": 0, "expires_at": null})
    );
}

#[tokio::test]
async fn a_product_that_no_longer_exists_shows_as_unavailable_not_as_an_error() {
    let Shop { app, admin, buyer } = shop().await;
    let kept = product(&app, &admin.token, "KEPT-1", 300, 5).await;
    let gone = product(&app, &admin.token, "GONE-2", 700, 5).await;
    for id in [&kept, &gone] {
        add_to_cart(&app, &buyer.token, id, 1).await;
    }
    let _: u64 = app.conn().del(app.redis.keys.product(&gone)).await.unwrap();

    let response = app.get("/v1/users/me/cart", Some(&buyer.token)).await;

    assert_eq!(response.status(), 200);
    let cart: Value = response.json().await.unwrap();
    let line = cart["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["product_id"] == gone.as_str())
        .unwrap()
        .clone();
    assert_eq!(line["available"], false);
    assert_eq!(line["name"], Value::Null);
    assert_eq!(line["line_total_cents"], 0);
    assert_eq!(cart["total_cents"], 300);
}

#[tokio::test]
async fn cart_requests_are_checked_before_anything_is_written() {
    let Shop { app, admin, buyer } = shop().await;
    let other = app.user("owner2").await;
    let id = product(&app, &admin.token, "CHK-1", 100, 5).await;
    let add = |quantity: Value| json!({"product_id": id, "quantity": quantity});

    problem(app.get("/v1/users/me/cart", None).await, 401).await;
    problem(add_to_cart(&app, &buyer.token, "31337", 1).await, 404).await;
    problem(
        app.post(
            "/v1/users/me/cart/items",
            Some(&buyer.token),
            &add(json!(0)),
        )
        .await,
        422,
    )
    .await;
    problem(
        app.post(
            "/v1/users/me/cart/items",
            Some(&buyer.token),
            &add(json!(10_001)),
        )
        .await,
        422,
    )
    .await;
    problem(add_to_cart(&app, &buyer.token, "a:b", 1).await, 422).await;
    problem(
        app.get(&format!("/v1/users/{}/cart", other.id), Some(&buyer.token))
            .await,
        403,
    )
    .await;
    problem(
        app.get("/v1/users/x%7By%7D/cart", Some(&admin.token)).await,
        422,
    )
    .await;
    let cart_key = app
        .redis
        .keys
        .user_part(&buyer.id, agora::redis::keys::UserPart::Cart);
    let exists: bool = app.conn().exists(&cart_key).await.unwrap();
    assert!(!exists, "refused writes leave no cart");

    app.post(
        "/v1/users/me/cart/items",
        Some(&other.token),
        &add(json!(2)),
    )
    .await;
    let seen_by_admin = app
        .get(&format!("/v1/users/{}/cart", other.id), Some(&admin.token))
        .await;
    assert_eq!(seen_by_admin.status(), 200);
    assert_eq!(
        seen_by_admin.json::<Value>().await.unwrap()["total_cents"],
        200
    );

    // A full cart (50 products) refuses a 51st product, but still takes more of one it has.
    let full: Vec<(String, i64)> = (0..50).map(|i| (format!("filler{i}"), 1)).collect();
    let _: () = app.conn().hset_multiple(&cart_key, &full).await.unwrap();
    let answer = problem(
        app.post(
            "/v1/users/me/cart/items",
            Some(&buyer.token),
            &add(json!(1)),
        )
        .await,
        422,
    )
    .await;
    assert!(answer["errors"]["product_id"].is_string());
    let _: u64 = app.conn().hdel(&cart_key, "filler0").await.unwrap();
    let accepted = app
        .post(
            "/v1/users/me/cart/items",
            Some(&buyer.token),
            &add(json!(1)),
        )
        .await;
    assert_eq!(accepted.status(), 200);
}
