//! Helpers shared by the commerce tests: products, orders, stock, the billing consumer.

use agora::workers::billing::{BillingConfig, BillingConsumer, StepReport};
use redis::AsyncCommands;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, spawn_app};

/// A running app with an admin (who manages products) and a shopper, the cast of most
/// commerce tests.
pub struct Shop {
    pub app: TestApp,
    pub admin: TestUser,
    pub buyer: TestUser,
}

/// Starts an app and registers its admin and shopper.
pub async fn shop() -> Shop {
    let app = spawn_app().await;
    let admin = app.admin("admin").await;
    let buyer = app.user("buyer").await;
    Shop { app, admin, buyer }
}

/// Creates a product as `admin` and returns its id.
pub async fn product(
    app: &TestApp,
    admin: &str,
    sku: &str,
    price_cents: i64,
    stock: i64,
) -> String {
    product_in(app, admin, sku, "test", price_cents, stock).await
}

/// Creates a product in `category` as `admin` and returns its id.
pub async fn product_in(
    app: &TestApp,
    admin: &str,
    sku: &str,
    category: &str,
    price_cents: i64,
    stock: i64,
) -> String {
    let response = app
        .post(
            "/v1/products",
            Some(admin),
            &json!({
                "name": format!("Product {sku}"),
                "price_cents": price_cents,
                "stock": stock,
                "category": category,
                "sku": sku,
            }),
        )
        .await;
    assert_eq!(response.status(), 201, "creating product {sku}");
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_string()
}

/// `POST /v1/users/me/cart/items`: adds `quantity` of `product_id` to the caller's cart.
pub async fn add_to_cart(
    app: &TestApp,
    token: &str,
    product_id: &str,
    quantity: i64,
) -> reqwest::Response {
    app.post(
        "/v1/users/me/cart/items",
        Some(token),
        &json!({"product_id": product_id, "quantity": quantity}),
    )
    .await
}

/// `POST /v1/orders` with an `Idempotency-Key`.
pub async fn order(app: &TestApp, token: &str, key: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url("/v1/orders"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// `{"items": [{product_id, quantity}, ...]}`.
pub fn items(lines: &[(&str, i64)]) -> Value {
    json!({
        "items": lines
            .iter()
            .map(|(id, quantity)| json!({"product_id": id, "quantity": quantity}))
            .collect::<Vec<_>>()
    })
}

/// The stock in Redis.
pub async fn stock(app: &TestApp, product_id: &str) -> i64 {
    app.conn()
        .hget(app.redis.keys.product(product_id), "stock")
        .await
        .unwrap()
}

/// Order id → units held, from the product's reservations hash.
pub async fn reservations(
    app: &TestApp,
    product_id: &str,
) -> std::collections::HashMap<String, i64> {
    app.conn()
        .hgetall(app.redis.keys.product_reservations(product_id))
        .await
        .unwrap()
}

/// Entries of `events:orders` as field maps.
pub async fn events(app: &TestApp) -> Vec<std::collections::HashMap<String, String>> {
    let reply: redis::streams::StreamRangeReply = app
        .conn()
        .xrange_all(app.redis.keys.order_events())
        .await
        .unwrap();
    reply
        .ids
        .into_iter()
        .map(|entry| {
            entry
                .map
                .into_iter()
                .map(|(k, v)| (k, redis::from_redis_value(v).unwrap()))
                .collect()
        })
        .collect()
}

/// Members of `orders:inflight`.
pub async fn inflight(app: &TestApp) -> Vec<String> {
    app.conn()
        .zrange(app.redis.keys.orders_inflight(), 0, -1)
        .await
        .unwrap()
}

/// A billing consumer for tests: no blocking, quick reclaim, three deliveries.
pub fn billing(app: &TestApp, name: &str) -> BillingConsumer {
    let mut config = BillingConfig::new(name);
    config.block_ms = 0;
    config.claim_min_idle_ms = 0;
    config.max_deliveries = 3;
    config.forget_consumers_idle_ms = 0;
    BillingConsumer::new(app.redis.clone(), config)
}

/// Steps `consumer` until a step finds nothing; returns the sum of the reports.
pub async fn drain(consumer: &mut BillingConsumer) -> StepReport {
    let mut total = StepReport::default();
    for _ in 0..50 {
        let report = consumer.step().await.unwrap();
        if report.is_idle() {
            return total;
        }
        total.reclaimed += report.reclaimed;
        total.read += report.read;
        total.acked += report.acked;
        total.invoices_written += report.invoices_written;
        total.failed += report.failed;
        total.dead_lettered += report.dead_lettered;
        total.consumers_forgotten += report.consumers_forgotten;
    }
    panic!("billing never went idle: {total:?}");
}

/// Sends `n` copies of one POST at once; returns their statuses.
pub async fn post_concurrently(
    app: &TestApp,
    n: usize,
    path: &str,
    token: &str,
    body: &Value,
) -> Vec<u16> {
    let requests =
        (0..n).map(|_| async { app.post(path, Some(token), body).await.status().as_u16() });
    futures::future::join_all(requests).await
}

/// How many of `statuses` are `status`.
pub fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}
