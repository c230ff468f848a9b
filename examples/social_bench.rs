//! Social-graph figures: fan-out cost, home-feed latency by number of people followed,
//! and Redis round trips of `GET /v1/posts?limit=50`. Prints figures, asserts nothing.
//!
//!     cargo run --release --example social_bench
//!
//! Env: `BENCH_FEED_REQUESTS` (sequential feed requests per case, default 2000),
//! `BENCH_FANOUT_RUNS` (posts timed per fan-out case, default 20).
//!
//! It starts its own `redis-server` (a free port, no persistence) and Agora in-process
//! on a free port, and stops both at the end. The large graphs are written straight
//! into Redis with pipelines (users without passwords, follow sets, posts, the
//! timelines a fan-out would have produced) instead of through thousands of HTTP
//! registrations; what is timed always goes through the real code path.
//!
//! Round trips are counted by a TCP proxy between Agora and Redis: a round trip is a
//! burst of bytes from Agora after Redis last answered (one pipeline = one burst).
//! Commands are counted from `INFO commandstats` before and after.

mod support;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use agora::app::{self, AppState};
use agora::config::Settings;
use agora::redis::batch::Batch;
use agora::redis::keys::UserPart;
use agora::redis::{Redis, Topology};
use agora::sessions::repo::{NewSession, create as create_session};
use agora::social::feeds::repo::{TIMELINE_CAP, push_to_timelines};
use agora::users::Role;
use redis::AsyncCommands;
use support::{calls_between, command_calls, counting_proxy, env_usize, start_redis};
use tokio::net::TcpListener;

/// Commands per pipeline while building the graphs.
const SETUP_CHUNK: usize = 2000;
/// Base of the fake timestamps (ms) of generated posts.
const T0: i64 = 1_760_000_000_000;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// Agora on a free port against `redis_url`; its base URL and state.
async fn start_agora(redis_url: &str, prefix: &str) -> (String, AppState) {
    let mut settings = Settings::for_redis(&Topology::Standalone(redis_url.to_string()), prefix);
    // Like `make bench`: the API limiter would answer 429 to a load generator.
    settings.rate_limit = 0;
    let state = AppState::connect(settings).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(app::run(listener, state.clone(), std::future::pending()));
    (base, state)
}

/// Runs `commands` (key, command) in pipelines of [`SETUP_CHUNK`].
async fn write_all(redis: &Redis, commands: Vec<(String, redis::Cmd)>) {
    for chunk in commands.chunks(SETUP_CHUNK) {
        let mut batch = Batch::new();
        for (key, cmd) in chunk {
            batch.add(key.clone(), cmd.clone());
        }
        batch.run(&redis.conn).await.unwrap();
    }
}

/// Users `first..first+count` as bare hashes. They never log in with a password; the
/// benchmark opens their sessions directly, against the placeholder `password_hash`.
async fn create_users(redis: &Redis, first: u64, count: u64) {
    let commands = (first..first + count)
        .map(|n| {
            let id = n.to_string();
            let key = redis.keys.user(&id);
            let cmd = redis::cmd("HSET")
                .arg(&key)
                .arg(&[
                    ("id", id.as_str()),
                    ("username", &format!("user{id}")),
                    ("name", &format!("User {id}")),
                    ("role", "user"),
                    ("created_at", "2026-01-01T00:00:00.000Z"),
                    ("login_count", "0"),
                    ("password_hash", NO_PASSWORD),
                ])
                .clone();
            (key, cmd)
        })
        .collect();
    write_all(redis, commands).await;
}

/// `followers` follow `target` (both sides).
async fn add_followers(redis: &Redis, target: &str, followers: &[String]) {
    let mut commands = Vec::new();
    let target_key = redis.keys.user_part(target, UserPart::Followers);
    for (i, follower) in followers.iter().enumerate() {
        let at = T0 + i as i64;
        commands.push((
            target_key.clone(),
            redis::cmd("ZADD")
                .arg(&target_key)
                .arg(at)
                .arg(follower)
                .clone(),
        ));
        let mine = redis.keys.user_part(follower, UserPart::Following);
        commands.push((
            mine.clone(),
            redis::cmd("ZADD").arg(&mine).arg(at).arg(target).clone(),
        ));
    }
    write_all(redis, commands).await;
}

/// The benchmark users' `password_hash`: no password matches it (not a PHC string),
/// and a session opens only against the hash stored for the user.
const NO_PASSWORD: &str = "!";

/// A logged-in session for user `id`; its bearer token.
async fn login(state: &AppState, id: &str) -> String {
    let (token, _) = create_session(
        &state.redis,
        NewSession {
            user_id: id,
            username: &format!("user{id}"),
            role: Role::User,
            ip_address: "127.0.0.1",
            user_agent: "social_bench",
        },
        NO_PASSWORD,
        &state.settings,
    )
    .await
    .unwrap();
    token
}

/// `per_author` posts by each of `authors` (hashes + both indexes), and `reader`'s
/// timeline as the fan-out would have left it. Returns how many posts were written.
async fn create_posts(
    redis: &Redis,
    authors: &[String],
    per_author: usize,
    next_post: &mut u64,
    reader: &str,
) -> usize {
    let mut commands = Vec::new();
    let mut timeline = Vec::new();
    for round in 0..per_author {
        for (i, author) in authors.iter().enumerate() {
            *next_post += 1;
            let id = format!("p{next_post}");
            let at = T0 + 1_000_000 + (round * authors.len() + i) as i64;
            let key = redis.keys.post(&id);
            commands.push((
                key.clone(),
                redis::cmd("HSET")
                    .arg(&key)
                    .arg(&[
                        ("id", id.as_str()),
                        ("title", "A benchmark post"),
                        (
                            "content",
                            "Sorted sets make timelines easy; fan-out on write makes them fast.",
                        ),
                        ("author_id", author),
                        ("author_name", &format!("User {author}")),
                        ("author_avatar", ""),
                        ("created_at", &agora::time::rfc3339_from_ms(at)),
                        ("likes", "0"),
                        ("comments_count", "0"),
                    ])
                    .clone(),
            ));
            let by_author = redis.keys.user_part(author, UserPart::Posts);
            commands.push((
                by_author.clone(),
                redis::cmd("ZADD").arg(&by_author).arg(at).arg(&id).clone(),
            ));
            let recent = redis.keys.recent_posts();
            commands.push((
                recent.clone(),
                redis::cmd("ZADD").arg(&recent).arg(at).arg(&id).clone(),
            ));
            timeline.push((id, at));
        }
    }
    let count = timeline.len();
    write_all(redis, commands).await;
    timeline.sort_by_key(|(_, at)| std::cmp::Reverse(*at));
    timeline.truncate(TIMELINE_CAP);
    push_to_timelines(redis, &[reader.to_string()], &timeline)
        .await
        .unwrap();
    count
}

/// p50 / p99 of `requests` sequential GETs, and req/s over 32 connections.
async fn time_gets(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    requests: usize,
) -> (f64, f64, f64) {
    for _ in 0..50 {
        let response = client.get(url).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        response.bytes().await.unwrap();
    }
    let mut samples = Vec::with_capacity(requests);
    for _ in 0..requests {
        let started = Instant::now();
        let response = client.get(url).bearer_auth(token).send().await.unwrap();
        response.bytes().await.unwrap();
        samples.push(started.elapsed());
    }
    samples.sort();
    let rps = match wrk_rps(url, token) {
        Some(rps) => rps,
        None => reqwest_rps(client, url, token).await,
    };
    (percentile(&samples, 0.5), percentile(&samples, 0.99), rps)
}

/// Requests per second with 32 connections for 3 s, measured by `wrk` (the load
/// generator of `make bench`) when it is installed.
fn wrk_rps(url: &str, token: &str) -> Option<f64> {
    let output = Command::new("wrk")
        .args(["-t2", "-c32", "-d3s", "-H"])
        .arg(format!("Authorization: Bearer {token}"))
        .arg(url)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    if text.contains("Non-2xx") {
        panic!("wrk saw errors: {text}");
    }
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
}

/// The same with 32 reqwest clients in this process (less efficient than wrk).
async fn reqwest_rps(client: &reqwest::Client, url: &str, token: &str) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..32)
        .map(|_| {
            let (client, url, token) = (client.clone(), url.to_string(), token.to_string());
            let (done, stop) = (done.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let response = client.get(&url).bearer_auth(&token).send().await.unwrap();
                    response.bytes().await.unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let feed_requests = env_usize("BENCH_FEED_REQUESTS", 2000);
    let fanout_runs = env_usize("BENCH_FANOUT_RUNS", 20);
    let (_redis_server, redis_url) = start_redis().await;
    let (base, state) = start_agora(&redis_url, "").await;
    let redis = &state.redis;
    let client = reqwest::Client::new();
    let version = {
        let info = redis.info_per_node().await.unwrap();
        info[0]
            .1
            .lines()
            .find_map(|l| l.strip_prefix("redis_version:"))
            .unwrap_or("?")
            .to_string()
    };
    println!("social_bench: Redis {version}, Agora in-process (release), one machine\n");

    // ---- fan-out ---------------------------------------------------------------
    let started = Instant::now();
    create_users(redis, 1, 10_002).await;
    let followers: Vec<String> = (3..=10_002u64).map(|n| n.to_string()).collect();
    add_followers(redis, "1", &followers).await;
    eprintln!(
        "setup: 10,002 users, 10,000 follows in {:.1?}",
        started.elapsed()
    );
    let (celebrity_token, lonely_token) = (login(&state, "1").await, login(&state, "2").await);

    let mut direct = Vec::new();
    for run in 0..fanout_runs {
        let post = (format!("fanout{run}"), T0 + 5_000_000 + run as i64);
        let started = Instant::now();
        push_to_timelines(redis, &followers, std::slice::from_ref(&post))
            .await
            .unwrap();
        direct.push(started.elapsed());
    }
    direct.sort();
    let post_timing = |token: String| {
        let client = client.clone();
        let url = format!("{base}/v1/posts");
        async move {
            let mut samples = Vec::new();
            for run in 0..fanout_runs {
                let started = Instant::now();
                let response = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&serde_json::json!({"title": format!("run {run}"), "content": "hello"}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 201);
                samples.push(started.elapsed());
            }
            samples.sort();
            samples
        }
    };
    let with_followers = post_timing(celebrity_token).await;
    let without = post_timing(lonely_token.clone()).await;
    println!("fan-out of one post to 10,000 followers ({fanout_runs} runs, p50 / min):");
    println!(
        "  push_to_timelines (10 EVALSHA fan_out of 1000 timelines):       {:7.1} ms / {:6.1} ms",
        percentile(&direct, 0.5),
        direct[0].as_secs_f64() * 1000.0
    );
    println!(
        "  POST /v1/posts, author with 10,000 followers:                   {:7.1} ms / {:6.1} ms",
        percentile(&with_followers, 0.5),
        with_followers[0].as_secs_f64() * 1000.0
    );
    println!(
        "  POST /v1/posts, author with no followers:                       {:7.1} ms / {:6.1} ms\n",
        percentile(&without, 0.5),
        without[0].as_secs_f64() * 1000.0
    );

    // ---- home feed ---------------------------------------------------------------
    println!(
        "GET /v1/users/me/feed?limit=20 ({feed_requests} sequential requests; then 32 connections for 3 s, wrk if installed):"
    );
    println!(
        "  {:<44} {:>8} {:>8} {:>10}",
        "reader follows", "p50 ms", "p99 ms", "req/s c=32"
    );
    let mut next_user = 20_000u64;
    let mut next_post = 1_000_000u64;
    for (following, celebrities) in [(10usize, 0usize), (1_000, 0), (10_000, 0), (1_000, 10)] {
        let reader = next_user.to_string();
        let first_author = next_user + 1;
        create_users(redis, next_user, following as u64 + 1).await;
        next_user += following as u64 + 1;
        let authors: Vec<String> = (first_author..first_author + following as u64)
            .map(|n| n.to_string())
            .collect();
        let mut commands = Vec::new();
        let mine = redis.keys.user_part(&reader, UserPart::Following);
        for (i, author) in authors.iter().enumerate() {
            let at = T0 + i as i64;
            commands.push((
                mine.clone(),
                redis::cmd("ZADD").arg(&mine).arg(at).arg(author).clone(),
            ));
            let theirs = redis.keys.user_part(author, UserPart::Followers);
            commands.push((
                theirs.clone(),
                redis::cmd("ZADD").arg(&theirs).arg(at).arg(&reader).clone(),
            ));
        }
        write_all(redis, commands).await;
        let per_author = (2 * TIMELINE_CAP).div_ceil(following).max(1);
        let (pushed, pulled) = authors.split_at(following - celebrities);
        let posts = create_posts(redis, pushed, per_author, &mut next_post, &reader).await;
        if !pulled.is_empty() {
            create_posts(redis, pulled, per_author, &mut next_post, "nobody").await;
            let mut conn = redis.conn();
            let _: u64 = conn.sadd(redis.keys.celebrities(), pulled).await.unwrap();
        }
        let token = login(&state, &reader).await;
        let url = format!("{base}/v1/users/me/feed?limit=20");
        let (p50, p99, rps) = time_gets(&client, &url, &token, feed_requests).await;
        let label = if celebrities > 0 {
            format!("{following} authors, {celebrities} of them celebrities")
        } else {
            format!("{following} authors ({posts} posts)")
        };
        println!("  {label:<44} {p50:>8.2} {p99:>8.2} {rps:>10.0}");
        if celebrities > 0 {
            let _: u64 = redis.conn().del(redis.keys.celebrities()).await.unwrap();
        }
    }

    let (p50, p99, rps) = time_gets(
        &client,
        &format!("{base}/v1/users/2"),
        &lonely_token,
        feed_requests,
    )
    .await;
    println!(
        "  {:<44} {p50:>8.2} {p99:>8.2} {rps:>10.0}",
        "for scale: GET /v1/users/{id} with a session"
    );

    // ---- round trips of GET /v1/posts?limit=50 ---------------------------------------
    let upstream = redis_url.trim_start_matches("redis://").to_string();
    let (proxy_port, trips) = counting_proxy(upstream).await;
    let (proxied_base, _proxied_state) =
        start_agora(&format!("redis://127.0.0.1:{proxy_port}"), "").await;
    let url = format!("{proxied_base}/v1/posts?limit=50");
    let page: serde_json::Value = client.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 50);
    let mut per_request = Vec::new();
    for _ in 0..10 {
        let (trips_before, calls_before) = (
            trips.load(Ordering::SeqCst),
            command_calls(&redis_url).await,
        );
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap();
        let commands: BTreeMap<String, u64> =
            calls_between(&calls_before, &command_calls(&redis_url).await);
        per_request.push((trips.load(Ordering::SeqCst) - trips_before, commands));
    }
    let (round_trips, commands) = per_request[per_request.len() / 2].clone();
    println!(
        "\nGET /v1/posts?limit=50 on one Redis: {round_trips} round trips (counted by a TCP proxy), commands {commands:?}"
    );
    println!(
        "  every one of 10 requests: {:?}",
        per_request.iter().map(|(t, _)| *t).collect::<Vec<_>>()
    );
}
