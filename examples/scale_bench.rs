//! `make bench-scale` (also run by `make bench`): what a user costs and how the data
//! spreads over a cluster. Prints figures; asserts nothing.
//!
//! 1. **Bytes per user** on a private standalone Redis: `used_memory` before and after
//!    `agora seed --synthetic --users N` (the user hash and identity claims a
//!    registration writes), then R more users registered through the HTTP API of a
//!    running `agora serve` with its workers (so the welcome e-mail is delivered and
//!    its outbox record kept), with the encodings and the parts they add up from.
//! 2. **Balance** on a private 3-master + 3-replica cluster: `agora seed --synthetic`
//!    with users, posts and follows (and products and carts), then per master
//!    `used_memory` and key count, the largest keys, and the heaviest slots (the sum of
//!    `MEMORY USAGE` of every key, grouped by `CLUSTER KEYSLOT`), with leaderboard slots
//!    marked (a board's sorted set and player hashes share its slot by design).
//!
//! Env: `BENCH_SCALE_USERS` (100000), `BENCH_SCALE_API_USERS` (300),
//! `BENCH_SCALE_POSTS_PER_USER` (5), `BENCH_SCALE_FOLLOWS_PER_USER` (20),
//! `BENCH_SCALE_PRODUCTS` (1000), `BENCH_SCALE_CART_ITEMS` (3), `BENCH_SCALE_PARTS`
//! (`memory,cluster`), `AGORA_BIN` (default `target/release/agora`). The figures do
//! not depend on the build profile, so `AGORA_BIN` may name any build, e.g. an older
//! one for a before/after comparison (the measuring reads only `INFO`, `SCAN` and
//! `MEMORY USAGE`, never Agora's key names, apart from the sample it describes).

#[allow(dead_code)] // the round-trip counters are for bench.rs
mod support;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use agora::redis::keys::slot;
use agora::seed::synthetic;
use futures::StreamExt;
use redis::aio::MultiplexedConnection;
use redis_test::cluster::{RedisCluster, RedisClusterConfiguration};
use serde_json::json;
use support::{Killed, env_usize, free_port};

/// Bytes above which a slot of data that grows with the users is a hot slot.
const HOT_SLOT_BYTES: u64 = 2 * 1024 * 1024;

#[tokio::main]
async fn main() {
    let bin = std::env::var("AGORA_BIN").unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/release/agora")
            .display()
            .to_string()
    });
    let users = env_usize("BENCH_SCALE_USERS", 100_000) as u64;
    let parts = std::env::var("BENCH_SCALE_PARTS").unwrap_or_else(|_| "memory,cluster".into());
    println!("scale bench: {bin}, {users} synthetic users");
    if parts.contains("memory") {
        bytes_per_user(&bin, users).await;
    }
    if parts.contains("cluster") {
        cluster_balance(&bin, users).await;
    }
}

/// Runs `agora <args>` with `env`; its standard output.
fn agora(bin: &str, env: &[(&str, String)], args: &[String]) -> String {
    let mut command = Command::new(bin);
    command
        .args(args)
        .env_remove("REDIS_URL")
        .env_remove("REDIS_CLUSTER_URLS")
        .env("KEY_PREFIX", "")
        .env("RUST_LOG", "warn")
        .stderr(Stdio::inherit());
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("agora binary");
    assert!(output.status.success(), "agora {args:?} failed");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn seed_args(users: u64, posts: u64, follows: u64, products: u64, cart: u64) -> Vec<String> {
    [
        "seed",
        "--synthetic",
        "--users",
        &users.to_string(),
        "--posts-per-user",
        &posts.to_string(),
        "--follows-per-user",
        &follows.to_string(),
        "--products",
        &products.to_string(),
        "--cart-items",
        &cart.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// A connection with no reply timeout: `MEMORY USAGE … SAMPLES 0` of a page of large
/// keys can take a while on a busy machine.
async fn connect(url: &str) -> MultiplexedConnection {
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .unwrap()
}

async fn info_field(conn: &mut MultiplexedConnection, section: &str, field: &str) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg(section)
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

async fn used_memory(conn: &mut MultiplexedConnection) -> u64 {
    info_field(conn, "memory", "used_memory").await
}

/// Every key of one node with its `MEMORY USAGE ... SAMPLES 0` (pipelined per page).
async fn key_sizes(conn: &mut MultiplexedConnection, pattern: &str) -> Vec<(String, u64)> {
    let mut cursor: u64 = 0;
    let mut sizes = Vec::new();
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(500)
            .query_async(conn)
            .await
            .unwrap();
        let mut pipe = redis::pipe();
        for key in &keys {
            pipe.cmd("MEMORY")
                .arg("USAGE")
                .arg(key)
                .arg("SAMPLES")
                .arg(0);
        }
        let usage: Vec<Option<u64>> = if keys.is_empty() {
            Vec::new()
        } else {
            pipe.query_async(conn).await.unwrap()
        };
        sizes.extend(
            keys.into_iter()
                .zip(usage.into_iter().map(Option::unwrap_or_default)),
        );
        if next == 0 {
            return sizes;
        }
        cursor = next;
    }
}

async fn encoding(conn: &mut MultiplexedConnection, key: &str) -> String {
    redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(key)
        .query_async::<Option<String>>(conn)
        .await
        .unwrap()
        .unwrap_or_else(|| "(none)".into())
}

/// `agora serve` with its workers on `redis_url`; the process and its base URL.
async fn serve(bin: &str, redis_url: &str) -> (Killed, String) {
    let port = free_port();
    let child = Command::new(bin)
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .env("REDIS_URL", redis_url)
        .env_remove("REDIS_CLUSTER_URLS")
        .env("KEY_PREFIX", "")
        .env("AGORA_RATE_LIMIT", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("agora serve");
    let process = Killed(child);
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if reqwest::get(format!("{base}/healthz"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return (process, base);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("agora did not start on {base}");
}

/// Part 1: bytes per user, seeded and registered through the API.
async fn bytes_per_user(bin: &str, users: u64) {
    let api_users = env_usize("BENCH_SCALE_API_USERS", 300) as u64;
    let (_redis, url) = support::start_redis().await;
    let env = [("REDIS_URL", url.clone())];
    let mut conn = connect(&url).await;
    let empty = used_memory(&mut conn).await;

    let started = Instant::now();
    agora(bin, &env, &seed_args(users, 0, 0, 0, 0));
    let seeded = used_memory(&mut conn).await;
    let per_seeded = (seeded - empty) as f64 / users as f64;
    // The synthetic set also puts every user on a leaderboard, which registration does
    // not: its keys are measured and left out of the per-user figure.
    let board: u64 = key_sizes(&mut conn, "lb:{*")
        .await
        .iter()
        .map(|(_, b)| b)
        .sum();
    let per_account = (seeded - empty - board) as f64 / users as f64;
    println!(
        "\n## Bytes per user ({users} users seeded in {:.1} s, then {api_users} registered through the API)\n",
        started.elapsed().as_secs_f64()
    );

    // What one user is made of, on a sample.
    let sample = synthetic::user_id(users / 2);
    let user_key = format!("user:{{{sample}}}");
    let user_bytes: Option<u64> = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(&user_key)
        .arg("SAMPLES")
        .arg(0)
        .query_async(&mut conn)
        .await
        .unwrap();
    let identity: Vec<(String, u64)> = key_sizes(&mut conn, "users:{*}:by_*").await;
    let identity_bytes: u64 = identity.iter().map(|(_, b)| b).sum();
    let mut encodings: HashMap<String, usize> = HashMap::new();
    for (key, _) in identity.iter().take(200) {
        *encodings.entry(encoding(&mut conn, key).await).or_default() += 1;
    }
    // `pw` since the compact form, `password_hash` before.
    let password: Vec<Option<String>> = redis::cmd("HMGET")
        .arg(&user_key)
        .arg("pw")
        .arg("password_hash")
        .query_async(&mut conn)
        .await
        .unwrap();
    let password = password.into_iter().flatten().next();

    let (_agora, base) = serve(bin, &url).await;
    let client = reqwest::Client::new();
    // A first wave opens the server's connections and loads its scripts, which cost
    // Redis memory once, not per user; the second wave is the one measured.
    let warm_up = 50;
    register(&client, &base, 0..warm_up).await;
    drain_email_queue(&mut conn).await;
    let before_api = used_memory(&mut conn).await;
    let outbox_before = memory_usage(&mut conn, "outbox:{emails}").await
        + memory_usage(&mut conn, "outbox:{emails}:delivered").await;
    let started = Instant::now();
    let statuses = register(&client, &base, warm_up..warm_up + api_users).await;
    let created = statuses.iter().filter(|s| **s == 201).count() as u64;
    drain_email_queue(&mut conn).await;
    let after_api = used_memory(&mut conn).await;
    let outbox_total = memory_usage(&mut conn, "outbox:{emails}").await
        + memory_usage(&mut conn, "outbox:{emails}:delivered").await;
    let outbox_records: u64 = redis::cmd("HLEN")
        .arg("outbox:{emails}")
        .query_async(&mut conn)
        .await
        .unwrap();
    let api_user = format!(
        "user:{{{}}}",
        redis::cmd("GET")
            .arg("users:next_id")
            .query_async::<String>(&mut conn)
            .await
            .unwrap()
    );
    let api_encoding = encoding(&mut conn, &api_user).await;
    let api_user_bytes: Option<u64> = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(&api_user)
        .arg("SAMPLES")
        .arg(0)
        .query_async(&mut conn)
        .await
        .unwrap();
    let marginal = (after_api as f64 - before_api as f64) / created.max(1) as f64;
    let outbox_growth = (outbox_total - outbox_before) as f64 / created.max(1) as f64;

    println!("| figure | bytes |");
    println!("|---|---:|");
    println!(
        "| used_memory per seeded user, {users} users (user hash, identity claims, and a synthetic leaderboard entry) | {per_seeded:.0} |"
    );
    println!(
        "| **used_memory per account** (the same without the leaderboard keys, {:.1} MB, which registration does not write) | **{per_account:.0}** |",
        board as f64 / 1e6
    );
    println!(
        "| user hash `{user_key}` MEMORY USAGE ({}; password hash {} bytes) | {} |",
        encoding(&mut conn, &user_key).await,
        password.as_deref().map_or(0, str::len),
        user_bytes.unwrap_or(0)
    );
    println!(
        "| identity indexes per user ({} keys; encodings of a sample: {:?}) | {:.0} |",
        identity.len(),
        encodings,
        identity_bytes as f64 / users as f64
    );
    println!(
        "| used_memory per API-registered user, marginal ({created} of {api_users} created in {:.1} s after {warm_up} warm-up registrations; welcome e-mails delivered) | {marginal:.0} |",
        started.elapsed().as_secs_f64(),
    );
    println!(
        "| of which the outbox grew per delivered welcome e-mail (bounded: at most 1,000 records, then flat) | {outbox_growth:.0} |"
    );
    println!(
        "| **API-registered account without the bounded outbox** | **{:.0}** |",
        marginal - outbox_growth
    );
    println!(
        "| newest API user `{api_user}` MEMORY USAGE ({api_encoding}) | {} |",
        api_user_bytes.unwrap_or(0)
    );
    println!(
        "| outbox: {outbox_records} delivery records + their index, all (at 100k users and the 1,000-record cap: {:.0} B per user) | {outbox_total} |",
        outbox_total as f64 / outbox_records.max(1) as f64 * 1_000.0 / 100_000.0
    );
}

async fn memory_usage(conn: &mut MultiplexedConnection, key: &str) -> u64 {
    redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(key)
        .arg("SAMPLES")
        .arg(0)
        .query_async::<Option<u64>>(conn)
        .await
        .unwrap()
        .unwrap_or(0)
}

/// Registers users `api<n>` for `numbers` through the API (4 at a time); statuses.
async fn register(client: &reqwest::Client, base: &str, numbers: std::ops::Range<u64>) -> Vec<u16> {
    futures::stream::iter(numbers)
        .map(|n| async move {
            client
                .post(format!("{base}/v1/users"))
                .json(&json!({
                    "username": format!("api{n}"),
                    "email": format!("api{n}@bench.example"),
                    "password": "a long bench passphrase",
                    "name": format!("Bench User {n}"),
                }))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        })
        .buffer_unordered(4)
        .collect()
        .await
}

/// Waits (up to a minute) until the welcome e-mails are delivered.
async fn drain_email_queue(conn: &mut MultiplexedConnection) {
    for _ in 0..600 {
        let (queued, processing): (u64, u64) = redis::pipe()
            .cmd("LLEN")
            .arg("queue:{emails}")
            .cmd("LLEN")
            .arg("queue:{emails}:processing")
            .query_async(conn)
            .await
            .unwrap();
        if queued + processing == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Part 2: a 3+3 cluster with users, posts and follows: per-master memory, largest
/// keys, heaviest slots.
async fn cluster_balance(bin: &str, users: u64) {
    let posts = env_usize("BENCH_SCALE_POSTS_PER_USER", 5) as u64;
    let follows = env_usize("BENCH_SCALE_FOLLOWS_PER_USER", 20) as u64;
    let products = env_usize("BENCH_SCALE_PRODUCTS", 1000) as u64;
    let cart = env_usize("BENCH_SCALE_CART_ITEMS", 3) as u64;
    let cluster = tokio::task::spawn_blocking(|| {
        RedisCluster::new(RedisClusterConfiguration {
            num_nodes: 6,
            num_replicas: 1,
            ..Default::default()
        })
    })
    .await
    .unwrap();
    let urls: Vec<String> = cluster
        .iter_servers()
        .map(|s| format!("redis://{}", s.client_addr()))
        .collect();
    let env = [("REDIS_CLUSTER_URLS", urls.join(","))];
    let started = Instant::now();
    let report = agora(bin, &env, &seed_args(users, posts, follows, products, cart));
    println!(
        "\n## Balance on a 3+3 cluster ({} s to seed)\n\n{}",
        started.elapsed().as_secs(),
        report.trim()
    );

    let mut masters = Vec::new();
    for url in &urls {
        let mut conn = connect(url).await;
        let role: Vec<redis::Value> = redis::cmd("ROLE").query_async(&mut conn).await.unwrap();
        if matches!(role.first(), Some(redis::Value::BulkString(r)) if r == b"master") {
            masters.push((url.clone(), conn));
        }
    }
    let mut slots: HashMap<u16, (u64, u64, String)> = HashMap::new();
    let mut largest: Vec<(u64, String)> = Vec::new();
    let mut memory = Vec::new();
    println!("\n| master | used_memory | keys | bytes in keys (MEMORY USAGE) |");
    println!("|---|---:|---:|---:|");
    for (url, conn) in &mut masters {
        let used = used_memory(conn).await;
        let keys = key_sizes(conn, "*").await;
        let in_keys: u64 = keys.iter().map(|(_, b)| b).sum();
        println!(
            "| {url} | {:.1} MB | {} | {:.1} MB |",
            used as f64 / 1e6,
            keys.len(),
            in_keys as f64 / 1e6
        );
        memory.push(used);
        for (key, bytes) in keys {
            let entry = slots.entry(slot(&key)).or_insert((0, 0, key.clone()));
            entry.0 += bytes;
            entry.1 += 1;
            largest.push((bytes, key));
        }
    }
    let max = *memory.iter().max().unwrap_or(&1) as f64;
    let min = *memory.iter().min().unwrap_or(&1) as f64;
    println!(
        "\nused_memory max / min over the masters: {:.3} (goal: at most 1.2)",
        max / min.max(1.0)
    );

    largest.sort_unstable_by(|a, b| b.cmp(a));
    println!("\nlargest keys:");
    for (bytes, key) in largest.iter().take(10) {
        println!("  {:>10} B  {key}", bytes);
    }
    let mut heavy: Vec<(u16, u64, u64, String)> = slots
        .into_iter()
        .map(|(slot, (bytes, keys, example))| (slot, bytes, keys, example))
        .collect();
    heavy.sort_unstable_by_key(|entry| std::cmp::Reverse(entry.1));
    println!("\nheaviest slots (leaderboard slots are exempt by design):");
    for (slot, bytes, keys, example) in heavy.iter().take(5) {
        let board = example.starts_with("lb:{");
        println!(
            "  slot {slot:>5}: {:>8.2} MB in {keys} keys, e.g. {example}{}",
            *bytes as f64 / 1e6,
            if board { "  (leaderboard: exempt)" } else { "" }
        );
    }
    let hottest = heavy
        .iter()
        .find(|(_, _, _, example)| !example.starts_with("lb:{"));
    if let Some((slot, bytes, _, example)) = hottest {
        println!(
            "heaviest slot of user-growing data: {slot} with {:.2} MB (goal: at most {:.0} MB), e.g. {example}",
            *bytes as f64 / 1e6,
            HOT_SLOT_BYTES as f64 / 1024.0 / 1024.0
        );
    }
    drop(masters);
    drop(cluster);
}
