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
    assert_eq!(alice["role"], "admin");
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
