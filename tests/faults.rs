//! Fault tests: Redis killed (SIGKILL) while requests are in flight.
//!
//! - Standalone (runs when `AGORA_TEST_CLUSTER` is unset): a private `redis-server`
//!   with AOF on (`appendfsync always`, its own `--dir`) is killed under a load of
//!   registrations and leaderboard score submissions, then restarted on the same port
//!   and dir. Every answer must be 2xx or 503 problem+json with `Retry-After`, none may
//!   outlast the request timeout, the service must answer 2xx again within 2 s of Redis
//!   returning, and every write that was answered 2xx must still be in Redis. A user
//!   cached before the kill and changed directly in Redis (not through Agora) right
//!   after the restart is never served as cached: the client-side cache emptied when
//!   its tracking connection dropped.
//! - Cluster (runs when `AGORA_TEST_CLUSTER=1`): a private 3-master + 3-replica cluster
//!   loses a master (SIGKILL) under a load of reads and writes spread over all slots;
//!   after its replica is promoted the same service process serves those slots again,
//!   and the users of the killed master, changed directly on the promoted replica, are
//!   served with the change.
//!
//! Each test runs in one pass of `make test` only (the one matching its topology), so
//! the suite pays for each fault once; in the other pass it is reported as *ignored*.
//! libtest decides "ignored" at compile time only, so this file has its own `main`
//! (`harness = false` in Cargo.toml) with libtest-mimic, which marks the other
//! topology's test ignored at run time and otherwise takes the usual libtest
//! arguments (filters, `--ignored`, `--nocapture`). Both print their measured windows
//! with the prefix `fault-window:` (see them with `make faults`).

#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use agora::redis::Topology;
use agora::redis::keys::slot;
use redis_test::cluster::{RedisCluster, RedisClusterConfiguration};
use serde_json::{Value, json};

use helpers::{TestApp, cluster_mode, spawn_app_on};

/// Runs the fault test of this run's topology and reports the other one as ignored.
fn main() -> std::process::ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let cluster = cluster_mode();
    let trials = vec![
        trial(
            "redis_killed_and_restarted_under_load_loses_no_acknowledged_write",
            cluster,
            redis_killed_and_restarted_under_load_loses_no_acknowledged_write,
        ),
        trial(
            "a_killed_cluster_master_is_replaced_by_its_replica_without_restarting_the_service",
            !cluster,
            a_killed_cluster_master_is_replaced_by_its_replica_without_restarting_the_service,
        ),
    ];
    libtest_mimic::run(&args, trials).exit_code()
}

/// A test on its own 4-thread runtime, ignored when `ignored` (the other topology).
fn trial<F: std::future::Future<Output = ()> + 'static>(
    name: &'static str,
    ignored: bool,
    test: fn() -> F,
) -> libtest_mimic::Trial {
    libtest_mimic::Trial::test(name, move || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .expect("a tokio runtime")
            .block_on(test());
        Ok(())
    })
    .with_ignored_flag(ignored)
}

/// The service's request timeout in these tests (its default).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Slack over the request timeout before an answer counts as a hang.
const HANG_SLACK: Duration = Duration::from_millis(1500);

/// One request of the load and what came of it.
#[derive(Debug, Clone)]
struct Outcome {
    /// What was asked (e.g. `register u3-17`), for messages.
    label: String,
    /// The write's identity when it is one, checked in Redis afterwards.
    write: Option<Write>,
    started: Instant,
    finished: Instant,
    answer: Result<Answer, String>,
}

#[derive(Debug, Clone)]
enum Write {
    /// A registration; the user id comes from the 201 body.
    User,
    /// A leaderboard score: board, player, score.
    Score(String, String, i64),
}

#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    content_type: String,
    retry_after: Option<String>,
    body: Value,
}

impl Outcome {
    fn ok(&self) -> bool {
        matches!(&self.answer, Ok(a) if (200..300).contains(&a.status))
    }
}

/// A request of the load: label, write identity, method, path, bearer token, body.
struct Planned {
    label: String,
    write: Option<Write>,
    method: reqwest::Method,
    path: String,
    token: Option<String>,
    body: Option<Value>,
}

type Plan = Arc<dyn Fn(usize, usize) -> Planned + Send + Sync>;

impl Planned {
    fn get(path: String) -> Planned {
        Planned {
            label: format!("GET {path}"),
            write: None,
            method: reqwest::Method::GET,
            path,
            token: None,
            body: None,
        }
    }

    /// `POST /v1/users` of a new user.
    fn register(username: String) -> Planned {
        Planned {
            label: format!("register {username}"),
            write: Some(Write::User),
            method: reqwest::Method::POST,
            path: "/v1/users".into(),
            token: None,
            body: Some(json!({
                "username": username,
                "email": format!("{username}@example.com"),
                "password": helpers::PASSWORD,
            })),
        }
    }

    /// A `set` of `player`'s score on `board`.
    fn score(board: &str, player: String, score: i64, token: &str) -> Planned {
        Planned {
            label: format!("score {player} on {board}"),
            write: Some(Write::Score(board.to_string(), player.clone(), score)),
            method: reqwest::Method::POST,
            path: format!("/v1/leaderboards/{board}/scores"),
            token: Some(token.to_string()),
            body: Some(json!({"player_id": player, "score": score, "mode": "set"})),
        }
    }
}

/// Runs `workers` tasks that send `plan(worker, n)` one after another until `stop`.
fn start_load(
    app: &TestApp,
    workers: usize,
    plan: Plan,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<Outcome>> {
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT + HANG_SLACK)
        .build()
        .unwrap();
    let address = app.address.clone();
    tokio::spawn(async move {
        let tasks = (0..workers).map(|worker| {
            let (client, address, plan, stop) =
                (client.clone(), address.clone(), plan.clone(), stop.clone());
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let planned = plan(worker, n);
                    n += 1;
                    let mut request =
                        client.request(planned.method, format!("{address}{}", planned.path));
                    if let Some(token) = &planned.token {
                        request = request.bearer_auth(token);
                    }
                    if let Some(body) = &planned.body {
                        request = request.json(body);
                    }
                    let started = Instant::now();
                    let answer = send(request).await;
                    outcomes.push(Outcome {
                        label: planned.label,
                        write: planned.write,
                        started,
                        finished: Instant::now(),
                        answer,
                    });
                    if outcomes.last().is_some_and(|o| !o.ok()) {
                        // Do not spin while the service answers 503 at once.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
                outcomes
            })
        });
        futures::future::join_all(tasks)
            .await
            .into_iter()
            .flat_map(|r| r.expect("load worker panicked"))
            .collect()
    })
}

async fn send(request: reqwest::RequestBuilder) -> Result<Answer, String> {
    let response = request.send().await.map_err(|e| format!("{e:?}"))?;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type").unwrap_or_default();
    let retry_after = header("retry-after");
    let status = response.status().as_u16();
    let text = response.text().await.map_err(|e| format!("{e:?}"))?;
    Ok(Answer {
        status,
        content_type,
        retry_after,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    })
}

/// Every answer is 2xx, or 503 problem+json with `Retry-After`; none outlasted the
/// request timeout and none failed at the HTTP level (the process stayed up).
fn assert_only_2xx_or_503(outcomes: &[Outcome]) {
    for outcome in outcomes {
        let took = outcome.finished - outcome.started;
        assert!(
            took <= REQUEST_TIMEOUT + HANG_SLACK,
            "{} took {took:?}, past the request timeout",
            outcome.label
        );
        let answer = match &outcome.answer {
            Ok(answer) => answer,
            Err(err) => panic!("{} failed at the HTTP level: {err}", outcome.label),
        };
        if (200..300).contains(&answer.status) {
            continue;
        }
        assert_eq!(
            answer.status, 503,
            "{}: only 2xx or 503 allowed, got {answer:?}",
            outcome.label
        );
        assert_eq!(
            answer.content_type, "application/problem+json",
            "{}",
            outcome.label
        );
        assert_eq!(answer.body["status"], 503, "{}", outcome.label);
        assert!(
            answer
                .retry_after
                .as_deref()
                .is_some_and(|s| s.parse::<u64>().is_ok_and(|secs| secs >= 1)),
            "{}: 503 without a Retry-After: {answer:?}",
            outcome.label
        );
    }
}

/// Seconds between two instants, signed, for printing.
fn secs(from: Instant, to: Instant) -> f64 {
    if to >= from {
        (to - from).as_secs_f64()
    } else {
        -(from - to).as_secs_f64()
    }
}

// ---- standalone: kill -9 and restart with AOF ----

/// A `redis-server` of this test's own with AOF fsynced on every write, in its own dir.
struct AofRedis {
    port: u16,
    dir: PathBuf,
    process: Option<Child>,
}

impl AofRedis {
    fn start(dir: &Path) -> AofRedis {
        std::fs::create_dir_all(dir).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = AofRedis {
            port,
            dir: dir.to_path_buf(),
            process: None,
        };
        redis.spawn();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts `redis-server` on the port and dir; returns once it answers PING.
    fn spawn(&mut self) -> Instant {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .args(["--save", ""])
            .args(["--logfile", "redis.log"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server on PATH");
        self.process = Some(child);
        let client = redis::Client::open(self.url()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let pong = client
                .get_connection_with_timeout(Duration::from_millis(200))
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
            if pong.is_ok() {
                return Instant::now();
            }
            let exited = self
                .process
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "redis-server did not start ({exited:?}); see {}",
                self.dir.join("redis.log").display()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILL: no shutdown, no final fsync.
    fn kill(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for AofRedis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn redis_killed_and_restarted_under_load_loses_no_acknowledged_write() {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("faults-aof-{}", std::process::id()));
    let mut redis = tokio::task::spawn_blocking(move || AofRedis::start(&dir))
        .await
        .unwrap();
    let topology = Topology::Standalone(redis.url());
    let app = spawn_app_on(&topology, |s| {
        s.rate_limit = 0;
        s.request_timeout_ms = REQUEST_TIMEOUT.as_millis() as u64;
    })
    .await;
    // An admin: the load writes many players' scores (only the player or an admin may).
    let player = app.admin("scorer").await;
    // A user read twice before the kill: its hash is in the client-side cache.
    let cached = app.user("cachedu").await;
    let user_path = format!("/v1/users/{}", cached.id);
    for _ in 0..2 {
        assert_eq!(app.get_ok(&user_path, None).await["bio"], Value::Null);
    }

    // Workers 0..3 register users, the others submit scores of distinct players.
    let plan: Plan = Arc::new(move |worker, n| {
        if worker < 3 {
            Planned::register(format!("u{worker}x{n}"))
        } else {
            let score = (worker * 100_000 + n) as i64;
            Planned::score("faults", format!("p{worker}x{n}"), score, &player.token)
        }
    });
    let stop = Arc::new(AtomicBool::new(false));
    let load = start_load(&app, 12, plan, stop.clone());

    tokio::time::sleep(Duration::from_secs(1)).await;
    let killed_at = Instant::now();
    redis.kill();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (mut redis, back_at) = tokio::task::spawn_blocking(move || {
        let back = redis.spawn();
        (redis, back)
    })
    .await
    .unwrap();
    // While tracking was down the cached user changed behind Agora's back (as a restore
    // or another writer would): the first answer after the restart must already show it.
    let bio = changed_behind_agoras_back(&redis.url(), &app.redis.keys.user(&cached.id)).await;
    let fresh_after = first_fresh_answer(&app, &user_path, &bio).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let outcomes = load.await.unwrap();
    eprintln!(
        "fault-window: standalone: the user cached before the kill and changed directly in \
         Redis after the restart was served fresh {:.3}s after Redis answered PING again",
        secs(back_at, fresh_after)
    );

    let errors: Vec<_> = outcomes.iter().filter(|o| !o.ok()).collect();
    let first_error = errors.iter().map(|o| o.finished).min();
    let first_ok_after_back = outcomes
        .iter()
        .filter(|o| o.ok() && o.finished > back_at)
        .map(|o| o.finished)
        .min()
        .expect("no 2xx after Redis returned");
    let late_errors: Vec<_> = errors
        .iter()
        .filter(|o| o.started > back_at + Duration::from_secs(2))
        .map(|o| &o.label)
        .collect();
    let oks = outcomes.len() - errors.len();
    eprintln!(
        "fault-window: standalone kill -9/restart (AOF always): {} requests, {oks} 2xx, {} 503; \
         Redis down {:.3}s; first error {:+.3}s after the kill; error window (first error to \
         first 2xx after restart) {:.3}s; first 2xx {:.3}s after Redis answered PING again",
        outcomes.len(),
        errors.len(),
        secs(killed_at, back_at),
        first_error.map_or(f64::NAN, |e| secs(killed_at, e)),
        first_error.map_or(f64::NAN, |e| secs(e, first_ok_after_back)),
        secs(back_at, first_ok_after_back),
    );
    assert_only_2xx_or_503(&outcomes);
    assert_eq!(
        app.get("/healthz", None).await.status(),
        200,
        "the process stays up"
    );
    assert!(
        !errors.is_empty(),
        "killing Redis under load must have shown some 503s"
    );
    assert!(
        first_ok_after_back - back_at < Duration::from_secs(2),
        "back to 2xx {:?} after Redis returned",
        first_ok_after_back - back_at
    );
    assert!(
        late_errors.is_empty(),
        "errors more than 2 s after Redis returned: {late_errors:?}"
    );

    // Every write answered 2xx is in Redis after the kill and restart.
    let mut conn = app.conn();
    let mut checked = 0;
    for outcome in outcomes.iter().filter(|o| o.ok()) {
        let answer = outcome.answer.as_ref().unwrap();
        match &outcome.write {
            Some(Write::User) => {
                let id = answer.body["id"].as_str().expect("user id");
                let exists: bool = redis::cmd("EXISTS")
                    .arg(app.redis.keys.user(id))
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                assert!(exists, "{} got 2xx but user {id} is gone", outcome.label);
            }
            Some(Write::Score(board, player, score)) => {
                let stored: Option<i64> = redis::cmd("ZSCORE")
                    .arg(app.redis.keys.leaderboard(board))
                    .arg(player)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                assert_eq!(
                    stored,
                    Some(*score),
                    "{} got 2xx but its score is not stored",
                    outcome.label
                );
            }
            None => continue,
        }
        checked += 1;
    }
    let before_kill = outcomes
        .iter()
        .filter(|o| o.ok() && o.finished < killed_at)
        .count();
    assert!(
        before_kill > 0,
        "some writes were acknowledged before the kill"
    );
    eprintln!(
        "fault-window: standalone: all {checked} acknowledged writes ({before_kill} of them before the kill) are in Redis after the restart"
    );
    redis.kill();
}

/// Sets `bio` of the user hash `key` through a connection of the test's own (not
/// Agora's, which would evict its cache); returns the new bio.
async fn changed_behind_agoras_back(url: &str, key: &str) -> String {
    let bio = format!("changed at {:?}", Instant::now());
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("HSET")
        .arg(key)
        .arg("bio")
        .arg(&bio)
        .query_async(&mut conn)
        .await
        .unwrap();
    bio
}

/// Polls `path` until it answers 2xx (at most 5 s), then for 2 s more (past the
/// re-establishment of tracking, when the cache serves again), and asserts that every
/// 2xx shows `bio`: after Redis restarted nothing cached before is served. Returns
/// when the first 2xx came.
async fn first_fresh_answer(app: &TestApp, path: &str, bio: &str) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut first = None;
    loop {
        let response = app.get(path, None).await;
        if response.status().is_success() {
            let body: Value = response.json().await.unwrap();
            assert_eq!(
                body["bio"], bio,
                "{path} served a value cached before Redis restarted"
            );
            first.get_or_insert_with(Instant::now);
        }
        match first {
            Some(at) if at.elapsed() > Duration::from_secs(2) => return at,
            Some(_) => {}
            None => assert!(Instant::now() < deadline, "{path} not 2xx within 5 s"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---- cluster: a master killed, its replica promoted ----

/// A node of `CLUSTER NODES`: id, port, flags, master id, slot ranges.
#[derive(Debug, Clone)]
struct Node {
    id: String,
    port: u16,
    flags: String,
    slots: Vec<(u16, u16)>,
}

fn cluster_nodes(port: u16) -> redis::RedisResult<Vec<Node>> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}"))?;
    let mut conn = client.get_connection_with_timeout(Duration::from_millis(500))?;
    let text: String = redis::cmd("CLUSTER").arg("NODES").query(&mut conn)?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let port = fields.get(1)?.split(['@', ':']).nth(1)?.parse().ok()?;
            let slots = fields
                .iter()
                .skip(8)
                .filter(|f| !f.starts_with('['))
                .filter_map(|range| {
                    let (a, b) = range.split_once('-').unwrap_or((range, range));
                    Some((a.parse().ok()?, b.parse().ok()?))
                })
                .collect();
            Some(Node {
                id: fields[0].to_string(),
                port,
                flags: fields[2].to_string(),
                slots,
            })
        })
        .collect())
}

async fn a_killed_cluster_master_is_replaced_by_its_replica_without_restarting_the_service() {
    let test_started = Instant::now();
    let mut cluster = tokio::task::spawn_blocking(|| {
        RedisCluster::new(RedisClusterConfiguration {
            num_nodes: 6,
            num_replicas: 1,
            ..Default::default()
        })
    })
    .await
    .unwrap();
    let ports: Vec<u16> = cluster
        .iter_servers()
        .map(|s| s.host_and_port().unwrap().1)
        .collect();
    let topology = Topology::Cluster(
        ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect(),
    );
    let app = spawn_app_on(&topology, |s| {
        s.rate_limit = 0;
        s.request_timeout_ms = REQUEST_TIMEOUT.as_millis() as u64;
    })
    .await;

    // The master to kill: the one serving slot 0, whose replica will take over.
    let nodes = cluster_nodes(ports[0]).unwrap();
    let victim = nodes
        .iter()
        .find(|n| n.flags.contains("master") && n.slots.iter().any(|(a, _)| *a == 0))
        .cloned()
        .expect("a master serving slot 0");
    let survivor = *ports.iter().find(|p| **p != victim.port).unwrap();
    let victim_id = victim.id.clone();
    eprintln!(
        "fault-window: cluster: started 6 nodes in {:.1}s",
        test_started.elapsed().as_secs_f64()
    );
    let on_victim = |key: &str| {
        let s = slot(key);
        victim.slots.iter().any(|(a, b)| (*a..=*b).contains(&s))
    };

    // Users and boards spread over every slot; remember which live on the victim.
    let names: Vec<String> = (0..24).map(|i| format!("fu{i}")).collect();
    let users = app
        .users(&names.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    for user in &users {
        app.publish(user, &format!("by {}", user.id)).await;
    }
    let boards: Vec<String> = (0..128).map(|i| format!("b{i}")).collect();
    let victim_boards = boards
        .iter()
        .filter(|b| on_victim(&app.redis.keys.leaderboard(b)))
        .count();
    let victim_users = users
        .iter()
        .filter(|u| on_victim(&app.redis.keys.user(&u.id)))
        .count();
    assert!(
        victim_boards > 0 && victim_users > 0,
        "the load must touch the victim's slots"
    );

    // An admin: the load writes many players' scores (only the player or an admin may).
    let token = app.admin("fadmin").await.token;
    let plan_token = token.clone();
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    let plan_boards = boards.clone();
    let plan: Plan = Arc::new(move |worker, n| {
        let i = worker * 7919 + n;
        match worker % 5 {
            0 | 1 => Planned::get(format!("/v1/users/{}", ids[i % ids.len()])),
            2 | 3 => {
                let board = &plan_boards[i % plan_boards.len()];
                Planned::score(board, format!("p{worker}"), n as i64, &plan_token)
            }
            // Registrations touch several slots; the global post list reads across
            // slots in one batch.
            _ if worker < 5 => Planned::register(format!("reg{n}")),
            _ => Planned::get("/v1/posts?limit=50".into()),
        }
    });
    let stop = Arc::new(AtomicBool::new(false));
    let load = start_load(&app, 10, plan, stop.clone());
    tokio::time::sleep(Duration::from_secs(1)).await;

    let index = ports.iter().position(|p| *p == victim.port).unwrap();
    cluster.servers[index].process.kill().unwrap();
    cluster.servers[index].process.wait().unwrap();
    let killed_at = Instant::now();

    // Wait for a replica to hold slot 0 as master (the promotion).
    let promoted_at = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Ok(nodes) = cluster_nodes(survivor)
                && nodes.iter().any(|n| {
                    n.id != victim_id
                        && n.flags.contains("master")
                        && !n.flags.contains("fail")
                        && n.slots.iter().any(|(a, _)| *a == 0)
                })
            {
                return Instant::now();
            }
            assert!(
                Instant::now() < deadline,
                "no replica was promoted within 40 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .unwrap();
    // The users on the killed master, cached by the load's reads, change on the promoted
    // replica behind Agora's back: from here on only the new bio may be served.
    let live: Vec<String> = ports
        .iter()
        .filter(|p| **p != victim.port)
        .map(|p| format!("redis://127.0.0.1:{p}"))
        .collect();
    let client = redis::cluster::ClusterClient::new(live).unwrap();
    let mut direct = client.get_async_connection().await.unwrap();
    let mut changed = HashMap::new();
    for user in users
        .iter()
        .filter(|u| on_victim(&app.redis.keys.user(&u.id)))
    {
        let bio = format!("after the failover {}", user.id);
        let _: () = redis::cmd("HSET")
            .arg(app.redis.keys.user(&user.id))
            .arg("bio")
            .arg(&bio)
            .query_async(&mut direct)
            .await
            .unwrap();
        changed.insert(user.id.clone(), bio);
    }
    // Keep the load on until the service has served cleanly for 3 s (or 30 s passed).
    let give_up = killed_at + Duration::from_secs(30);
    tokio::time::sleep(Duration::from_secs(3)).await;
    while Instant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(500)).await;
        // The probe: every board, every user, once, all must answer 2xx.
        let mut all_ok = true;
        for board in &boards {
            let response = app
                .get(&format!("/v1/leaderboards/{board}?limit=1"), None)
                .await;
            all_ok &= response.status().is_success();
        }
        for user in &users {
            all_ok &= app
                .get(&format!("/v1/users/{}", user.id), None)
                .await
                .status()
                .is_success();
        }
        if all_ok {
            break;
        }
    }
    eprintln!(
        "fault-window: cluster: probe clean at {:+.1}s after the kill",
        secs(killed_at, Instant::now())
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let outcomes = load.await.unwrap();

    let errors: Vec<&Outcome> = outcomes.iter().filter(|o| !o.ok()).collect();
    let first_error = errors.iter().map(|o| o.finished).min();
    let last_error = errors.iter().map(|o| o.finished).max();
    let last_end = outcomes.iter().map(|o| o.finished).max().unwrap();
    let mut statuses: HashMap<String, usize> = HashMap::new();
    for o in &outcomes {
        let key = match &o.answer {
            Ok(a) => a.status.to_string(),
            Err(_) => "error".into(),
        };
        *statuses.entry(key).or_default() += 1;
    }
    let window = match (first_error, last_error) {
        (Some(first), Some(last)) => secs(first, last),
        _ => 0.0,
    };
    eprintln!(
        "fault-window: cluster master kill -9 (node-timeout 5000 ms): {} requests {statuses:?}; \
         replica promoted {:.3}s after the kill; first error {:+.3}s after the kill, last error \
         {:+.3}s after the kill, {:+.3}s after the promotion; error window {window:.3}s; \
         {victim_boards}/{} boards and {victim_users}/{} users were on the killed master",
        outcomes.len(),
        secs(killed_at, promoted_at),
        first_error.map_or(f64::NAN, |e| secs(killed_at, e)),
        last_error.map_or(f64::NAN, |e| secs(killed_at, e)),
        last_error.map_or(f64::NAN, |e| secs(promoted_at, e)),
        boards.len(),
        users.len(),
    );
    assert_only_2xx_or_503(&outcomes);
    assert_eq!(
        app.get("/healthz", None).await.status(),
        200,
        "the process stays up"
    );
    assert!(
        window < 30.0,
        "the service answered errors for {window:.1}s after the master was killed"
    );
    assert!(
        last_error.is_none_or(|last| last_end - last >= Duration::from_secs(1)),
        "the service must serve cleanly at the end (last error {last_error:?}, end {last_end:?})"
    );
    // The same process serves the promoted replica's slots: a write and read on each.
    for board in &boards {
        let response = app
            .post(
                &format!("/v1/leaderboards/{board}/scores"),
                Some(&token),
                &json!({"player_id": "after", "score": 7, "mode": "set"}),
            )
            .await;
        assert_eq!(
            response.status(),
            200,
            "score on {board} after the failover"
        );
    }
    for user in &users {
        let body = app.get_ok(&format!("/v1/users/{}", user.id), None).await;
        if let Some(bio) = changed.get(&user.id) {
            assert_eq!(
                body["bio"], *bio,
                "user {} was served as cached from the killed master",
                user.id
            );
        }
    }
    drop(cluster);
}
