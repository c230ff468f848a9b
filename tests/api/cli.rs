//! The command line, run as the real binary: `seed` (idempotent), `admin grant`,
//! `openapi`.

use agora::redis::Topology;
use redis::Value;
use serde_json::Value as Json;

use crate::helpers::{spawn_app, topology, unique_prefix};

/// `agora <args>` set up for this binary's test Redis under `prefix`.
async fn command(args: &[&str], prefix: &str) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_agora"));
    command
        .args(args)
        .env("KEY_PREFIX", prefix)
        .env("RUST_LOG", "warn")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    match topology().await {
        Topology::Standalone(url) => command
            .env("REDIS_URL", url)
            .env_remove("REDIS_CLUSTER_URLS"),
        Topology::Cluster(urls) => command.env("REDIS_CLUSTER_URLS", urls.join(",")),
    };
    command
}

/// Runs `agora <args>` to completion.
async fn agora(args: &[&str], prefix: &str) -> std::process::Output {
    command(args, prefix).await.output().await.unwrap()
}

/// Every key under `prefix` with its serialized value and TTL.
async fn snapshot(app: &crate::helpers::TestApp) -> Vec<(String, Value, i64)> {
    let mut state = Vec::new();
    for key in app.all_keys().await {
        let mut conn = app.conn();
        let dump: Value = redis::cmd("DUMP")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        state.push((key, dump, ttl));
    }
    state
}

#[tokio::test]
async fn seeding_twice_leaves_redis_exactly_as_seeding_once() {
    let app = spawn_app().await;
    let prefix = app.redis.keys.prefix().to_string();

    let first = agora(&["seed"], &prefix).await;
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8_lossy(&first.stdout).contains("5 users created"));
    let after_once = snapshot(&app).await;
    let second = agora(&["seed"], &prefix).await;
    assert!(second.status.success());
    assert!(String::from_utf8_lossy(&second.stdout).contains("0 users created, 5 already present"));
    let after_twice = snapshot(&app).await;

    assert_eq!(after_once, after_twice);
    assert!(
        after_once.iter().all(|(_, _, ttl)| *ttl == -1),
        "seed data is durable"
    );
    let alice: Json = app.get("/v1/users/1", None).await.json().await.unwrap();
    assert_eq!(alice["username"], "alice");
    // The role is private (not in the public profile): read it where it is stored.
    assert_eq!(
        app.hgetall(&app.redis.keys.user("1")).await["role"],
        "admin"
    );
    let next = app.register_raw("newcomer", "newcomer@example.com").await;
    let newcomer: Json = next.json().await.unwrap();
    assert_eq!(newcomer["id"], "6", "new ids start after the seeded ones");
    assert_eq!(app.login("bob", "bob-demo-password").await.status(), 201);
}

#[tokio::test]
async fn admin_grant_promotes_an_existing_user_and_refuses_an_unknown_one() {
    let app = spawn_app().await;
    let prefix = app.redis.keys.prefix().to_string();
    let user = app.user("promoted").await;

    let granted = agora(&["admin", "grant", "promoted"], &prefix).await;
    assert!(
        granted.status.success(),
        "{}",
        String::from_utf8_lossy(&granted.stderr)
    );
    let me: Json = app
        .get("/v1/users/me", Some(&user.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "admin");

    let unknown = agora(&["admin", "grant", "ghost"], &prefix).await;
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("not found"));
}

#[tokio::test]
async fn the_openapi_command_prints_the_document() {
    let output = agora(&["openapi"], &unique_prefix()).await;
    assert!(output.status.success());
    let doc: Json = serde_json::from_slice(&output.stdout).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
}

#[tokio::test]
async fn serve_stops_cleanly_on_sigterm() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let mut child = command(&["serve", "--addr", &address], &unique_prefix())
        .await
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/healthz");
    let mut up = false;
    for _ in 0..100 {
        if reqwest::get(&url).await.is_ok_and(|r| r.status() == 200) {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(up, "serve did not come up");

    unsafe { libc::kill(child.id().unwrap() as i32, libc::SIGTERM) };
    let status = tokio::time::timeout(std::time::Duration::from_secs(5), child.wait())
        .await
        .expect("serve must stop within 5 s of SIGTERM")
        .unwrap();

    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn a_synthetic_data_set_logs_in_shows_in_the_api_and_rerunning_changes_nothing() {
    let app = spawn_app().await;
    let prefix = app.redis.keys.prefix().to_string();
    let args = [
        "seed",
        "--synthetic",
        "--users",
        "40",
        "--posts-per-user",
        "3",
        "--follows-per-user",
        "4",
        "--products",
        "6",
        "--cart-items",
        "2",
    ];
    let first = agora(&args, &prefix).await;
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let printed = String::from_utf8_lossy(&first.stdout);
    assert!(
        printed.contains("40 users, 160 follows, 120 posts, 6 products, 40 carts"),
        "{printed}"
    );
    // Progress on stderr: no terminal here, so plain lines rather than a bar.
    let progress = String::from_utf8_lossy(&first.stderr);
    assert!(
        progress.contains("seed --synthetic: 40/40 users (100%)"),
        "{progress}"
    );
    assert!(!progress.contains('\r'), "no bar redraws: {progress:?}");
    // Carts keep their 7-day TTL from the last write (a rerun starts it again). Hashes
    // are compared by content: a large hash's DUMP follows its table's iteration
    // order, which a rewrite of the same fields may change.
    let conn = app.conn();
    let without_cart_ttl = |state: Vec<(String, Value, i64)>| {
        let mut conn = conn.clone();
        async move {
            let mut out = Vec::new();
            for (key, dump, ttl) in state {
                let ttl = if key.ends_with(":cart") {
                    ttl > 0
                } else {
                    ttl == -1
                };
                let kind: String = redis::cmd("TYPE")
                    .arg(&key)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                let content = if kind == "hash" {
                    let fields: std::collections::BTreeMap<String, String> = redis::cmd("HGETALL")
                        .arg(&key)
                        .query_async(&mut conn)
                        .await
                        .unwrap();
                    format!("{fields:?}")
                } else {
                    format!("{dump:?}")
                };
                out.push((key, content, ttl));
            }
            out
        }
    };
    let after_once = without_cart_ttl(snapshot(&app).await).await;
    assert!(
        after_once.iter().all(|(_, _, ttl)| *ttl),
        "TTLs as the API sets them"
    );
    let second = agora(&args, &prefix).await;
    assert!(second.status.success());
    let after_twice = without_cart_ttl(snapshot(&app).await).await;
    let changed: Vec<&String> = after_once
        .iter()
        .zip(&after_twice)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| &a.0)
        .collect();
    assert_eq!(after_once.len(), after_twice.len());
    assert!(changed.is_empty(), "a rerun changed {changed:?}");

    let login = app.login("synth1", agora::seed::synthetic::PASSWORD).await;
    assert_eq!(login.status(), 201);
    let token = login.json::<Json>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let user: Json = app.get_ok("/v1/users/1000001", None).await;
    assert_eq!(user["username"], "synth1");
    assert_eq!(user["follower_count"], 4);
    assert_eq!(user["following_count"], 4);
    let following: Vec<Json> = app
        .all_items("/v1/users/1000001/following", 100, None)
        .await;
    let mut ids: Vec<&str> = following
        .iter()
        .map(|u| u["user_id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["1000002", "1000003", "1000004", "1000005"]);
    // The feed holds own and followed posts (5 authors x 3), newest first.
    let feed: Vec<Json> = app.all_items("/v1/users/me/feed", 100, Some(&token)).await;
    assert_eq!(feed.len(), 15);
    assert_eq!(feed[0]["author_id"], "1000005");
    let cart: Json = app.get_ok("/v1/users/me/cart", Some(&token)).await;
    assert_eq!(cart["items"].as_array().unwrap().len(), 2);
    assert!(
        cart["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["available"] == true)
    );
    let board: Json = app
        .get_ok("/v1/leaderboards/synthetic?limit=100", None)
        .await;
    assert_eq!(board["items"].as_array().unwrap().len(), 40);
    let product: Json = app.get_ok("/v1/products/1000006", None).await;
    assert_eq!(product["sku"], "SYN-6");
    // New registrations and posts get ids after the synthetic ones.
    let newcomer: Json = app
        .register_raw("newcomer", "newcomer@example.com")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(newcomer["id"], "1000041");
}

/// Guards finding 8: a password in `REDIS_URL` (userinfo, or `?pass=` of a
/// `redis+unix://` URL) or in `REDIS_CLUSTER_URLS` used to be printed in the retry
/// warnings and the fatal line (and the serving line): now no output of the binary
/// holds it, while the lines still name the URL.
#[tokio::test]
async fn no_redis_password_appears_in_the_binarys_output() {
    let unreachable = [
        (
            "REDIS_URL",
            "redis+unix:///nonexistent/agora.sock?db=1&pass=UNIXSECRET",
        ),
        ("REDIS_URL", "redis://app:TCP%40SECRET@127.0.0.1:1/0"),
        (
            "REDIS_URL",
            "unix:///nonexistent/agora.sock?password=PARAMSECRET",
        ),
        (
            "REDIS_CLUSTER_URLS",
            "redis://app:CLUSTERSECRET@127.0.0.1:1,redis://app:CLUSTERSECRET@127.0.0.1:2",
        ),
    ];
    for (variable, url) in unreachable {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_agora"));
        command
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--redis-startup-secs",
                "1",
            ])
            .env_remove("REDIS_URL")
            .env_remove("REDIS_CLUSTER_URLS")
            .env(variable, url)
            .env("RUST_LOG", "debug");
        let output = command.output().await.unwrap();
        assert!(!output.status.success(), "{url}");
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(printed.contains("Redis not reachable yet"), "{printed}");
        assert!(printed.contains("***"), "{printed}");
        for secret in [
            "UNIXSECRET",
            "TCP%40SECRET",
            "TCP@SECRET",
            "PARAMSECRET",
            "CLUSTERSECRET",
        ] {
            assert!(!printed.contains(secret), "{secret} printed:\n{printed}");
        }
        let last = printed.lines().last().unwrap_or_default();
        assert!(last.contains("cannot reach Redis at"), "{last}");
    }

    // The serving line: the test Redis lets the `default` user in with any password.
    let (variable, url) = match topology().await {
        Topology::Standalone(url) => (
            "REDIS_URL",
            url.replace("redis://", "redis://default:SERVESECRET@"),
        ),
        Topology::Cluster(urls) => (
            "REDIS_CLUSTER_URLS",
            urls.iter()
                .map(|u| u.replace("redis://", "redis://default:SERVESECRET@"))
                .collect::<Vec<_>>()
                .join(","),
        ),
    };
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_agora"))
        .args(["serve", "--addr", "127.0.0.1:0", "--no-workers"])
        .env_remove("REDIS_URL")
        .env_remove("REDIS_CLUSTER_URLS")
        .env(variable, url)
        .env("KEY_PREFIX", unique_prefix())
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stderr));
    let serving = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("agora serving") {
                return line;
            }
        }
        panic!("serve exited without a serving line");
    })
    .await
    .expect("a serving line within 20 s");
    assert!(serving.contains("default:***@"), "{serving}");
    assert!(!serving.contains("SERVESECRET"), "{serving}");
    child.kill().await.unwrap();
}
