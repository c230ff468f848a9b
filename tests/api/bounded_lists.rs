//! Every list over a set a stranger can grow is bounded by the page (hardening finding
//! 4). With 100k members, `limit=1` used to cost 110–240 ms of Redis time on the tag
//! lists, common followers and visitor cohorts (SMEMBERS / SINTER / SUNION / SDIFF /
//! ZINTER read whole sets), and a few anonymous clients stalled everyone else.
//!
//! The data sets are written straight into Redis with pipelines (not through HTTP);
//! the structural checks run on a private standalone Redis (so `INFO` counts only this
//! test's commands), and the exactly-once paging checks on the harness's topology.

use std::collections::{HashMap, HashSet};

use agora::redis::Topology;
use agora::redis::batch::Batch;
use agora::redis::keys::UserPart;
use redis_test::server::RedisServer;
use serde_json::Value;

use crate::helpers::{TestApp, problem, spawn_app_on, spawn_app_with, topology};

const DAY1: &str = "2026-03-01";
const DAY2: &str = "2026-03-02";
/// The two users whose common followers are listed.
const A: &str = "1";
const B: &str = "2";
const BASE: u64 = 700_000;

/// Writes `n` users and their memberships, in pipelined batches:
/// - tag `alpha`: every user; `beta`: every 2nd; `gamma`: every 3rd;
/// - every user follows A, every 2nd one also follows B;
/// - visitors `v{i}` on DAY1; on DAY2 every 2nd `v{i}` again and `w{i}`.
async fn fill(app: &TestApp, n: u64) {
    let keys = &app.redis.keys;
    let mut batch = Batch::new();
    for owner in [A, B] {
        let key = keys.user(owner);
        batch.add(key.clone(), hset_user(&key, owner));
    }
    for i in 0..n {
        let id = (BASE + i).to_string();
        let key = keys.user(&id);
        batch.add(key.clone(), hset_user(&key, &id));
        let mut sadd = |key: String, member: &str| {
            batch.add(
                key.clone(),
                redis::cmd("SADD").arg(&key).arg(member).clone(),
            );
        };
        sadd(keys.tag_users("alpha"), &id);
        if i % 2 == 0 {
            sadd(keys.tag_users("beta"), &id);
        }
        if i % 3 == 0 {
            sadd(keys.tag_users("gamma"), &id);
        }
        sadd(keys.visitors(DAY1), &format!("v{i}"));
        sadd(keys.visitors(DAY2), &format!("w{i}"));
        if i % 2 == 0 {
            sadd(keys.visitors(DAY2), &format!("v{i}"));
        }
        let at = 1_900_000_000_000u64 + i;
        for (owner, every) in [(A, 1), (B, 2)] {
            if i % every == 0 {
                let key = keys.user_part(owner, UserPart::Followers);
                batch.add(
                    key.clone(),
                    redis::cmd("ZADD").arg(&key).arg(at).arg(&id).clone(),
                );
            }
        }
        if batch.len() >= 20_000 {
            std::mem::take(&mut batch)
                .run(&app.redis.conn)
                .await
                .unwrap();
        }
    }
    batch.run(&app.redis.conn).await.unwrap();
}

fn hset_user(key: &str, id: &str) -> redis::Cmd {
    redis::cmd("HSET")
        .arg(key)
        .arg("id")
        .arg(id)
        .arg("username")
        .arg(format!("u{id}"))
        .arg("name")
        .arg(format!("User {id}"))
        .arg("created_at")
        .arg("2031-01-01T00:00:00Z")
        .clone()
}

fn user_id(i: u64) -> String {
    (BASE + i).to_string()
}

/// `INFO <section>` of a standalone server as field → value.
async fn info(url: &str, section: &str) -> HashMap<String, String> {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let text: String = redis::cmd("INFO")
        .arg(section)
        .query_async(&mut conn)
        .await
        .unwrap();
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn reset_stats(url: &str) {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(&mut conn)
        .await
        .unwrap();
}

/// Guards finding 4: with 40,000 members per set, a `limit=1` page of every list over
/// a set runs no whole-set command (SMEMBERS, SINTER, SUNION, SDIFF, ZINTER and their
/// STORE/CARD forms: `calls` 0 in `INFO commandstats`), a bounded number of commands,
/// and Redis sends back a bounded number of bytes (one SMEMBERS of such a set alone
/// is about 500 KB).
#[tokio::test]
async fn limit_1_pages_of_huge_sets_do_bounded_redis_work() {
    let mut server = tokio::task::spawn_blocking(RedisServer::new).await.unwrap();
    let url = format!("redis://{}", server.client_addr());
    let app = spawn_app_on(&Topology::Standalone(url.clone()), |s| s.rate_limit = 0).await;
    fill(&app, 40_000).await;

    let endpoints = [
        "/v1/tags/alpha/users?limit=1".to_string(),
        "/v1/users?tags_all=alpha,beta,gamma&limit=1".into(),
        "/v1/users?tags_any=gamma,beta,alpha&limit=1".into(),
        format!("/v1/users/{A}/common-followers?with={B}&limit=1"),
        format!("/v1/analytics/visitors/returning?from={DAY1}&to={DAY2}&limit=1"),
        format!("/v1/analytics/visitors/new?day={DAY2}&since={DAY1}&limit=1"),
    ];
    for path in &endpoints {
        reset_stats(&url).await;
        let before: u64 = info(&url, "stats").await["total_net_output_bytes"]
            .parse()
            .unwrap();
        let page = app.get_ok(path, None).await;
        let after: u64 = info(&url, "stats").await["total_net_output_bytes"]
            .parse()
            .unwrap();
        let commands = info(&url, "commandstats").await;

        let items = page
            .get("items")
            .or_else(|| page.get("visitor_ids"))
            .unwrap();
        assert_eq!(items.as_array().unwrap().len(), 1, "{path}: {page}");
        assert!(page["next_cursor"].is_string(), "{path}: {page}");
        for whole in [
            "smembers",
            "sinter",
            "sinterstore",
            "sintercard",
            "sunion",
            "sunionstore",
            "sdiff",
            "sdiffstore",
            "zinter",
            "zinterstore",
            "zintercard",
            "zunion",
            "zdiff",
        ] {
            assert!(
                !commands.contains_key(&format!("cmdstat_{whole}")),
                "{path} ran {whole}: {:?}",
                commands.get(&format!("cmdstat_{whole}"))
            );
        }
        let calls: u64 = commands
            .iter()
            .filter(|(k, _)| k.starts_with("cmdstat_") && *k != "cmdstat_info")
            .map(|(_, v)| {
                v.split(',')
                    .find_map(|f| f.strip_prefix("calls="))
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
            })
            .sum();
        assert!(calls <= 40, "{path}: {calls} commands: {commands:?}");
        let sent = after - before;
        assert!(sent < 64 * 1024, "{path}: Redis sent {sent} bytes");
    }

    // A forged cursor cannot ask SSCAN for a whole set at once.
    let forged = hex_encode("0|0|1000000|");
    let response = app
        .get(&format!("/v1/tags/alpha/users?cursor={forged}"), None)
        .await;
    assert!(problem(response, 422).await["errors"]["cursor"].is_string());
    server.stop();
}

fn hex_encode(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Follows `next_cursor` from `first` until it is null; every item (the `items`, or
/// `visitor_ids` of a cohort) of every page, and the number of pages.
async fn every_item(app: &TestApp, first: &str) -> (Vec<Value>, usize) {
    let mut url = first.to_string();
    let mut items = Vec::new();
    let mut pages = 0;
    loop {
        let page = app.get_ok(&url, None).await;
        pages += 1;
        let list = page
            .get("items")
            .or_else(|| page.get("visitor_ids"))
            .unwrap();
        items.extend(list.as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => url = format!("{first}&cursor={cursor}"),
            None => return (items, pages),
        }
        assert!(pages < 10_000, "{first} does not end");
    }
}

/// Asserts that `items` are exactly `expected`, each once.
fn exactly_once(path: &str, items: Vec<String>, expected: HashSet<String>) {
    let mut seen = HashSet::new();
    for item in &items {
        assert!(seen.insert(item.clone()), "{path}: {item} came twice");
    }
    assert_eq!(seen.len(), expected.len(), "{path}: wrong number of items");
    assert_eq!(seen, expected, "{path}: wrong items");
}

fn ids(items: Vec<Value>, field: Option<&str>) -> Vec<String> {
    items
        .into_iter()
        .map(|v| {
            let v = field.map_or(v.clone(), |f| v[f].clone());
            v.as_str().unwrap().to_string()
        })
        .collect()
}

/// Guards finding 4: the bounded walks (SSCAN with a cursor, SMISMEMBER / ZMSCORE
/// filters, per-tag cursors for `tags_any`, the walked side kept by the cursor of
/// common followers) still list every member exactly once, on both topologies, over
/// sets large enough to be hash tables and to span many batches.
#[tokio::test]
async fn paging_through_large_sets_lists_every_member_exactly_once() {
    let app = spawn_app_with(|s| s.rate_limit = 0).await;
    let _ = topology().await;
    let n = 2_000;
    fill(&app, n).await;
    let all = |keep: &dyn Fn(u64) -> bool| -> HashSet<String> {
        (0..n).filter(|i| keep(*i)).map(user_id).collect()
    };

    for limit in [7, 100] {
        let path = format!("/v1/tags/alpha/users?limit={limit}");
        let (items, _) = every_item(&app, &path).await;
        exactly_once(&path, ids(items, None), all(&|_| true));

        let path = format!("/v1/users?tags_all=alpha,gamma,beta&limit={limit}");
        let (items, _) = every_item(&app, &path).await;
        exactly_once(&path, ids(items, Some("id")), all(&|i| i % 6 == 0));

        let path = format!("/v1/users?tags_any=gamma,beta&limit={limit}");
        let (items, _) = every_item(&app, &path).await;
        exactly_once(
            &path,
            ids(items, Some("id")),
            all(&|i| i % 2 == 0 || i % 3 == 0),
        );

        let path = format!("/v1/users/{A}/common-followers?with={B}&limit={limit}");
        let (items, _) = every_item(&app, &path).await;
        let times: Vec<String> = items
            .iter()
            .map(|v| v["followed_at"].as_str().unwrap().to_string())
            .collect();
        assert!(
            times.windows(2).all(|w| w[0] >= w[1]),
            "newest first: {times:?}"
        );
        exactly_once(&path, ids(items, Some("user_id")), all(&|i| i % 2 == 0));

        let path = format!("/v1/analytics/visitors/returning?from={DAY1}&to={DAY2}&limit={limit}");
        let (items, _) = every_item(&app, &path).await;
        let expected = (0..n).filter(|i| i % 2 == 0).map(|i| format!("v{i}"));
        exactly_once(&path, ids(items, None), expected.collect());

        let path = format!("/v1/analytics/visitors/new?day={DAY2}&since={DAY1}&limit={limit}");
        let (items, _) = every_item(&app, &path).await;
        exactly_once(
            &path,
            ids(items, None),
            (0..n).map(|i| format!("w{i}")).collect(),
        );
    }

    // Counts: exact while the smaller day holds at most 1000 visitors, an estimate
    // (flagged) beyond.
    let cohort = app
        .get_ok(
            &format!("/v1/analytics/visitors/returning?from={DAY1}&to={DAY2}&limit=0"),
            None,
        )
        .await;
    assert_eq!(cohort["count_exact"], false, "{cohort}");
    let estimate = cohort["count"].as_u64().unwrap();
    assert!((800..=1200).contains(&estimate), "{cohort}");
    assert!(cohort["next_cursor"].is_null());
}

/// Guards finding 4 for `GET /v1/users/{id}/tags`, which answers a user's tags whole
/// (SMEMBERS): the set is capped at 50 tags, so a stranger cannot make it large. The
/// 51st tag is a 422 naming `tag` and writes nothing; re-adding a tag the user has is
/// still a 204.
#[tokio::test]
async fn a_user_carries_at_most_50_tags() {
    let app = spawn_app_with(|s| s.rate_limit = 0).await;
    let user = app.user("tagger").await;
    for i in 0..50 {
        let path = format!("/v1/users/me/tags/t{i}");
        assert_eq!(
            app.put(&path, Some(&user.token)).await.status(),
            204,
            "{path}"
        );
    }
    let response = app
        .put("/v1/users/me/tags/one-more", Some(&user.token))
        .await;
    assert!(problem(response, 422).await["errors"]["tag"].is_string());
    assert_eq!(
        app.put("/v1/users/me/tags/t7", Some(&user.token))
            .await
            .status(),
        204
    );
    let tags = app
        .get_ok(&format!("/v1/users/{}/tags", user.id), None)
        .await;
    assert_eq!(tags.as_array().unwrap().len(), 50);
    assert!(!tags.as_array().unwrap().contains(&Value::from("one-more")));
    let members = app.get_ok("/v1/tags/one-more/users", None).await;
    assert_eq!(members["items"], serde_json::json!([]));
}
