//! The billing consumer group on `events:orders`: exactly one invoice per order,
//! reclaim from dead consumers, dead-lettering, and the worker's clean shutdown.

use std::collections::HashMap;

use agora::orders::events_repo;
use agora::workers::billing::GROUP;
use redis::AsyncCommands;
use serde_json::{Value, json};

use crate::commerce::{billing, drain, items, order, product};
use crate::helpers::{TestApp, spawn_app};

/// Places `n` orders (one unit each) and returns their ids.
async fn orders(app: &TestApp, n: usize) -> (Vec<String>, String, String) {
    let admin = app.admin("biller").await;
    let buyer = app.user("payer").await;
    let id = product(app, &admin.token, "BILL-1", 1250, 100).await;
    let mut ids = Vec::new();
    for i in 0..n {
        let response = order(app, &buyer.token, &format!("bill-{i}"), &items(&[(&id, 1)])).await;
        assert_eq!(response.status(), 201);
        ids.push(
            response.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    (ids, admin.token, buyer.token)
}

/// The stored invoice of each order.
async fn invoices(app: &TestApp, ids: &[String]) -> Vec<HashMap<String, String>> {
    let mut all = Vec::new();
    for id in ids {
        all.push(app.hgetall(&app.redis.keys.invoice(id)).await);
    }
    all
}

/// Every invoice key under this test's prefix.
async fn invoice_keys(app: &TestApp) -> Vec<String> {
    app.all_keys()
        .await
        .into_iter()
        .filter(|k| k.ends_with(":invoice"))
        .collect()
}

#[tokio::test]
async fn billing_writes_exactly_one_invoice_per_order_however_often_its_events_arrive() {
    let app = spawn_app().await;
    let (ids, admin, buyer) = orders(&app, 5).await;
    let invoice_path = format!("/v1/orders/{}/invoice", ids[0]);
    assert_eq!(
        app.get(&invoice_path, Some(&buyer)).await.status(),
        404,
        "no invoice before billing ran"
    );
    app.patch(
        &format!("/v1/orders/{}", ids[0]),
        Some(&admin),
        &json!({"status": "paid"}),
    )
    .await;
    app.post(
        &format!("/v1/orders/{}/cancel", ids[1]),
        Some(&buyer),
        &json!({}),
    )
    .await;
    let mut consumer = billing(&app, "billing-a");

    let report = drain(&mut consumer).await;

    assert_eq!(report.read, 7, "5 created + 2 status changes");
    assert_eq!(report.acked, 7);
    assert_eq!(report.invoices_written, 5);
    assert_eq!(invoice_keys(&app).await.len(), 5);
    assert_eq!(
        events_repo::pending_count(&app.redis, GROUP).await.unwrap(),
        0
    );
    let paid: Value = app
        .get(&invoice_path, Some(&buyer))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["order_id"], ids[0].as_str());
    assert_eq!(paid["total_cents"], 1250);
    assert_eq!(paid["items"][0]["unit_price_cents"], 1250);
    let void: Value = app
        .get(&format!("/v1/orders/{}/invoice", ids[1]), Some(&buyer))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(void["status"], "void");
    let issued: Value = app
        .get(&format!("/v1/orders/{}/invoice", ids[2]), Some(&buyer))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(issued["status"], "issued");

    // The same events again (a redelivery, a replay): still one invoice each, unchanged.
    let before = invoices(&app, &ids).await;
    for id in &ids {
        events_repo::append(
            &app.redis,
            &events_repo::OrderEvent {
                kind: agora::orders::model::EventKind::Created,
                order_id: id.clone(),
                user_id: String::new(),
                status: agora::orders::OrderStatus::Pending,
                total_cents: 0,
                at: String::new(),
            },
        )
        .await
        .unwrap();
    }
    let again = drain(&mut billing(&app, "billing-b")).await;
    assert_eq!(again.acked, 5);
    assert_eq!(again.invoices_written, 0);
    let after = invoices(&app, &ids).await;
    assert_eq!(before, after);
    assert_eq!(invoice_keys(&app).await.len(), 5);
}

#[tokio::test]
async fn entries_a_dead_consumer_held_are_reclaimed_by_another_and_invoiced_once() {
    let app = spawn_app().await;
    let (ids, _, _) = orders(&app, 3).await;
    events_repo::ensure_group(&app.redis, GROUP).await.unwrap();
    // The doomed consumer reads every entry, then dies without acknowledging any.
    let mut doomed_conn = app.redis.dedicated().await.unwrap();
    let taken = events_repo::read_new(&app.redis, &mut doomed_conn, GROUP, "doomed", 10, None)
        .await
        .unwrap();
    drop(doomed_conn);
    assert_eq!(taken.len(), 3);
    assert_eq!(
        events_repo::pending_count(&app.redis, GROUP).await.unwrap(),
        3
    );
    assert!(invoice_keys(&app).await.is_empty());

    let mut survivor = billing(&app, "survivor");
    let mut patient = agora::workers::billing::BillingConfig::new("survivor");
    patient.block_ms = 0;
    patient.claim_min_idle_ms = 60_000;
    let mut not_yet = agora::workers::billing::BillingConsumer::new(app.redis.clone(), patient);
    let early = not_yet.step().await.unwrap();
    assert_eq!(
        early.reclaimed, 0,
        "entries are not taken from a consumer that may be alive"
    );

    let report = survivor.step().await.unwrap();

    assert_eq!(report.reclaimed, 3);
    assert_eq!(report.invoices_written, 3);
    assert_eq!(
        report.consumers_forgotten, 1,
        "the dead consumer leaves the group"
    );
    let consumers: redis::streams::StreamInfoConsumersReply = app
        .conn()
        .xinfo_consumers(app.redis.keys.order_events(), GROUP)
        .await
        .unwrap();
    let names: Vec<_> = consumers
        .consumers
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, vec!["survivor"]);
    assert_eq!(
        events_repo::pending_count(&app.redis, GROUP).await.unwrap(),
        0
    );
    for id in &ids {
        let invoice = app.hgetall(&app.redis.keys.invoice(id)).await;
        assert_eq!(invoice["order_id"], *id);
    }
    assert!(drain(&mut survivor).await.is_idle());
    assert_eq!(invoice_keys(&app).await.len(), 3);
}

#[tokio::test]
async fn an_entry_that_keeps_failing_goes_to_the_dead_letter_stream() {
    let app = spawn_app().await;
    for order_id in ["404404", "a:b"] {
        events_repo::append(
            &app.redis,
            &events_repo::OrderEvent {
                kind: agora::orders::model::EventKind::Created,
                order_id: order_id.into(),
                user_id: "1".into(),
                status: agora::orders::OrderStatus::Pending,
                total_cents: 100,
                at: "2026-01-01T00:00:00.000Z".into(),
            },
        )
        .await
        .unwrap();
    }
    let mut consumer = billing(&app, "unlucky");

    let first = consumer.step().await.unwrap();
    assert_eq!(first.read, 2);
    assert_eq!(
        first.dead_lettered, 1,
        "a malformed order id can never succeed"
    );
    assert_eq!(first.failed, 1);
    let second = consumer.step().await.unwrap();
    assert_eq!((second.reclaimed, second.failed), (1, 1));
    let third = consumer.step().await.unwrap();
    assert_eq!(
        (third.reclaimed, third.dead_lettered),
        (1, 1),
        "the third delivery fails for good"
    );

    assert_eq!(
        events_repo::pending_count(&app.redis, GROUP).await.unwrap(),
        0
    );
    let dead: redis::streams::StreamRangeReply = app
        .conn()
        .xrange_all(app.redis.keys.order_events_dead())
        .await
        .unwrap();
    assert_eq!(dead.ids.len(), 2);
    let parked: HashMap<String, String> = dead.ids[1]
        .map
        .iter()
        .map(|(k, v)| (k.clone(), redis::from_redis_value(v.clone()).unwrap()))
        .collect();
    assert_eq!(parked["event.order_id"], "404404");
    assert_eq!(parked["deliveries"], "3");
    assert!(parked["error"].contains("404404"));
    assert!(invoice_keys(&app).await.is_empty());
    assert!(consumer.step().await.unwrap().is_idle());
}

#[tokio::test]
async fn the_workers_invoice_in_the_background_and_stop_cleanly_on_shutdown() {
    let app = spawn_app().await;
    let (ids, _, buyer) = orders(&app, 1).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let workers = tokio::spawn(agora::workers::run(app.redis.clone(), async move {
        let _ = stopped.await;
    }));

    let mut invoiced = false;
    for _ in 0..100 {
        if app
            .get(&format!("/v1/orders/{}/invoice", ids[0]), Some(&buyer))
            .await
            .status()
            == 200
        {
            invoiced = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(invoiced, "the billing worker invoiced the order");
    assert_eq!(
        agora::workers::names(),
        vec!["billing", "order-sweeper", "email"]
    );

    stop.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(3), workers)
        .await
        .expect("workers stop within 3 s of shutdown")
        .unwrap();
}
