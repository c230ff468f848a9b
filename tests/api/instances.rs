//! Two Agora instances on one Redis (and, with `AGORA_TEST_CLUSTER=1`, on one
//! cluster), requests spread over both: every guarantee is made in Redis, so it holds
//! across processes exactly as within one. Each test starts two apps with the same
//! key prefix (two independent connection sets, hubs and limiters, as two processes
//! have) and alternates its requests between them.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use agora::config::Settings;
use agora::workers::billing::{BillingConfig, BillingConsumer};
use serde_json::{Value, json};

use crate::commerce::{count, items, order, product, stock};
use crate::helpers::{TestApp, spawn_app_with, unique_prefix};
use crate::notifications::{open_stream, read_until};

/// Two apps sharing one key prefix, with `adjust` applied to both.
async fn two_instances(adjust: impl Fn(&mut Settings)) -> [TestApp; 2] {
    let prefix = unique_prefix();
    let first = spawn_app_with(|s| {
        s.key_prefix = prefix.clone();
        adjust(s);
    })
    .await;
    let second = spawn_app_with(|s| {
        s.key_prefix = prefix.clone();
        adjust(s);
    })
    .await;
    [first, second]
}

#[tokio::test]
async fn purchases_spread_over_two_instances_never_oversell() {
    let apps = two_instances(|_| {}).await;
    let admin = apps[0].admin("stocker").await;
    let buyer = apps[1].user("shopper").await;
    let id = product(&apps[0], &admin.token, "TWO-1", 100, 25).await;
    let path = format!("/v1/products/{id}/purchase");

    let purchases = (0..80).map(|i| {
        let (app, path, token) = (&apps[i % 2], &path, &buyer.token);
        async move {
            app.post(path, Some(token), &json!({"quantity": 1}))
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures::future::join_all(purchases).await;

    assert_eq!(count(&statuses, 200), 25, "{statuses:?}");
    assert_eq!(count(&statuses, 409), 55, "{statuses:?}");
    assert_eq!(stock(&apps[1], &id).await, 0);
}

#[tokio::test]
async fn a_lock_contended_through_two_instances_has_one_holder_and_rising_fences() {
    let apps = two_instances(|_| {}).await;
    let user = apps[0].user("contender").await;
    let inside = AtomicBool::new(false);
    let fences: Mutex<Vec<u64>> = Mutex::new(Vec::new());

    let tasks = (0..12).map(|task| {
        let (apps, token, inside, fences) = (&apps, &user.token, &inside, &fences);
        async move {
            for round in 0..10 {
                // Acquire through one instance, release through the other.
                let (taker, releaser) = (&apps[(task + round) % 2], &apps[(task + round + 1) % 2]);
                let response = taker
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
                        tokio::time::sleep(Duration::from_millis(2)).await;
                        inside.store(false, Ordering::SeqCst);
                        let released = releaser
                            .send_json(
                                reqwest::Method::DELETE,
                                "/v1/locks/shared",
                                Some(token),
                                &json!({"token": lock["token"]}),
                            )
                            .await;
                        assert_eq!(released.status(), 204);
                    }
                    409 => tokio::time::sleep(Duration::from_millis(1)).await,
                    other => panic!("unexpected {other}"),
                }
            }
        }
    });
    futures::future::join_all(tasks).await;

    let fences = fences.into_inner().unwrap();
    assert!(fences.len() >= 2, "the lock changed hands: {fences:?}");
    assert!(
        fences.windows(2).all(|w| w[0] < w[1]),
        "fencing tokens rise in acquisition order: {fences:?}"
    );
}

#[tokio::test]
async fn one_idempotency_key_sent_to_both_instances_makes_one_order() {
    let apps = two_instances(|_| {}).await;
    let admin = apps[0].admin("seller").await;
    let buyer = apps[1].user("twice").await;
    let id = product(&apps[0], &admin.token, "IDEM-2", 700, 10).await;
    let body = items(&[(&id, 2)]);

    let attempts = (0..10).map(|i| {
        let (app, token, body) = (&apps[i % 2], &buyer.token, &body);
        async move {
            let response = order(app, token, "checkout-once", body).await;
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    });
    let answers = futures::future::join_all(attempts).await;

    let order_ids: std::collections::BTreeSet<String> = answers
        .iter()
        .filter(|(status, _)| *status == 201 || *status == 200)
        .map(|(_, body)| body["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(order_ids.len(), 1, "{answers:?}");
    for (status, body) in &answers {
        // A retry while the first is still running is told to wait (409), never a
        // second order.
        assert!(
            [200, 201, 409].contains(status),
            "unexpected {status}: {body}"
        );
    }
    assert_eq!(stock(&apps[0], &id).await, 8, "the stock was taken once");
    let listed = apps[0]
        .get_ok("/v1/users/me/orders", Some(&buyer.token))
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
}

#[tokio::test]
async fn one_client_has_one_api_budget_across_both_instances() {
    let apps = two_instances(|s| {
        s.rate_limit = 12;
        s.rate_limit_window_ms = 60_000;
    })
    .await;

    let requests = (0..40).map(|i| apps[i % 2].get("/v1/config", None));
    let statuses: Vec<u16> = futures::future::join_all(requests)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();

    assert_eq!(count(&statuses, 200), 12, "{statuses:?}");
    assert_eq!(count(&statuses, 429), 28, "{statuses:?}");
}

#[tokio::test]
async fn a_follow_handled_by_one_instance_reaches_a_stream_held_by_the_other() {
    let apps = two_instances(|_| {}).await;
    let star = apps[1].user("star").await;
    let fan = apps[0].user("fan").await;
    let mut stream = open_stream(&apps[1], &star.token).await.bytes_stream();
    read_until(&mut stream, "event: ready").await;

    let follow = apps[0]
        .put(
            &format!("/v1/users/me/following/{}", star.id),
            Some(&fan.token),
        )
        .await;
    assert_eq!(follow.status(), 204);

    let text = read_until(&mut stream, "new_follower").await;
    assert!(text.contains(&fan.id), "{text}");
}

#[tokio::test]
async fn billing_consumers_of_two_instances_invoice_every_order_event_once() {
    let apps = two_instances(|_| {}).await;
    let admin = apps[0].admin("biller").await;
    let buyer = apps[1].user("payer").await;
    let id = product(&apps[0], &admin.token, "BILL-2", 1250, 100).await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let response = order(
            &apps[i % 2],
            &buyer.token,
            &format!("two-{i}"),
            &items(&[(&id, 1)]),
        )
        .await;
        assert_eq!(response.status(), 201);
        ids.push(
            response.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let events = crate::commerce::events(&apps[0]).await.len();
    assert!(events >= ids.len());

    let consume = |app: &TestApp, name: &str| {
        let mut config = BillingConfig::new(name);
        config.batch = 3;
        config.block_ms = 0;
        let mut consumer = BillingConsumer::new(app.redis.clone(), config);
        async move {
            let (mut read, mut invoices) = (0, 0);
            // Small batches, so the two consumers interleave on the group.
            for _ in 0..100 {
                let report = consumer.step().await.unwrap();
                if report.is_idle() && read > 0 {
                    break;
                }
                read += report.read;
                invoices += report.invoices_written;
                tokio::task::yield_now().await;
            }
            (read, invoices)
        }
    };
    let (a, b) = tokio::join!(
        consume(&apps[0], "instance-a"),
        consume(&apps[1], "instance-b")
    );

    assert_eq!(
        a.0 + b.0,
        events,
        "every event delivered to exactly one consumer: {a:?} {b:?}"
    );
    assert_eq!(a.1 + b.1, ids.len(), "one invoice per order: {a:?} {b:?}");
    for (i, id) in ids.iter().enumerate() {
        let invoice = apps[i % 2]
            .get(&format!("/v1/orders/{id}/invoice"), Some(&buyer.token))
            .await;
        assert_eq!(invoice.status(), 200, "order {id} invoiced");
    }
}
