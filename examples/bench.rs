//! `make bench`: the hot endpoints through Agora next to `redis-benchmark` running the
//! equivalent Redis command in the same run, Redis round trips and commands per
//! request, and memory per stored entity. Prints figures; asserts nothing.
//!
//!     make bench        (builds agora and this example in release, then runs both
//!                        this and `social_bench`)
//!
//! Env: `BENCH_SECONDS` (per wrk / redis-benchmark run, default 10),
//! `BENCH_CONNECTIONS` (default 50), `BENCH_REPEAT` (alternating redis-benchmark / wrk
//! pairs behind each median ratio of `GET /v1/users/{id}`, default 3), `BENCH_USERS` (synthetic users, default 20000),
//! `BENCH_POSTS_PER_USER` (5), `BENCH_FOLLOWS_PER_USER` (20), `BENCH_PRODUCTS` (1000),
//! `BENCH_CART_ITEMS` (5), `BENCH_LAYOUT_USERS` (users of the seed 002 layout
//! comparison, 100000), `AGORA_BIN` (default `target/release/agora`).
//!
//! It starts its own `redis-server` (a free port, no persistence), loads the demo seed
//! and a synthetic data set with `agora seed --synthetic` (pipelined), and runs the
//! real `agora serve` binary (rate limiter off, workers off so billing does not compete
//! for the cores; restarted with the limiter on to measure it: admitting everything,
//! at the default 600/min where wrk's one client is refused, and behind a trusted
//! proxy for the bytes per limited client; and once more with both load generator and
//! server single-threaded, as redis-benchmark and Redis are: `wrk -t1` against Agora
//! with `TOKIO_WORKER_THREADS=1`). The client-side cache stays at its
//! default; each row shows its hit rate from `/metrics`. Everything is stopped at the
//! end. wrk, Agora and Redis share the machine's cores: the figures
//! compare layers on one box; they are not the capacity of a deployment.
//!
//! Round trips are counted by a TCP proxy between a second Agora and Redis (a burst of
//! bytes from Agora after Redis answered is one round trip; one pipeline is one), over
//! a known number of sequential requests. Commands come from `INFO commandstats`
//! deltas over the same requests; they include the commands scripts run inside Redis
//! (an `EVALSHA` of a script doing three `HGET`s counts as 4).

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use agora::seed::synthetic;
use redis::AsyncCommands;
use serde_json::{Value, json};
use support::{Killed, calls_between, command_calls, counting_proxy, env_usize, free_port};

/// Sequential requests per endpoint for the round-trip and command counts.
const COUNTED_REQUESTS: u64 = 200;
/// Keys sampled per entity for MEMORY USAGE averages.
const MEMORY_SAMPLE: u64 = 1000;

/// One hot endpoint and its single-command Redis equivalent.
struct Case {
    name: &'static str,
    method: &'static str,
    path: String,
    body: Option<String>,
    /// Sent with synth1's bearer token (else anonymous, as a public read is).
    auth: bool,
    /// A fresh `Idempotency-Key` per request (each checkout is a new order).
    fresh_key: bool,
    /// What redis-benchmark runs: a label and the command's arguments.
    rb_label: &'static str,
    rb_args: Vec<String>,
}

/// req/s, p50 ms, p99 ms, non-2xx responses.
#[derive(Clone, Copy, Default)]
struct Figures {
    rps: f64,
    p50: f64,
    p99: f64,
    errors: u64,
}

struct Bench {
    redis_url: String,
    redis_port: u16,
    seconds: usize,
    conns: usize,
    token: String,
    work: std::path::PathBuf,
    client: reqwest::Client,
}

/// `agora serve` on a free port against `redis_url` (API limiter at `rate_limit` per
/// `AGORA_RATE_LIMIT_WINDOW_MS`, by default 1 s; `env` overrides); the process and its
/// base URL.
async fn start_agora(
    bin: &str,
    redis_url: &str,
    rate_limit: u64,
    env: &[(&str, &str)],
) -> (Killed, String) {
    let port = free_port();
    let child = Command::new(bin)
        .args([
            "serve",
            "--no-workers",
            "--addr",
            &format!("127.0.0.1:{port}"),
        ])
        .env("REDIS_URL", redis_url)
        .env_remove("REDIS_CLUSTER_URLS")
        .env("KEY_PREFIX", "")
        .env("AGORA_RATE_LIMIT", rate_limit.to_string())
        .env("AGORA_RATE_LIMIT_WINDOW_MS", "1000")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{bin}: {e} (build it: cargo build --release)"));
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

/// Runs `agora <args>` against the bench Redis and returns its standard output.
fn agora(bin: &str, redis_url: &str, args: &[&str]) -> String {
    let output = Command::new(bin)
        .args(args)
        .env("REDIS_URL", redis_url)
        .env_remove("REDIS_CLUSTER_URLS")
        .env("KEY_PREFIX", "")
        .env("RUST_LOG", "warn")
        .output()
        .expect("agora binary");
    assert!(
        output.status.success(),
        "agora {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn parse_ms(text: &str) -> f64 {
    let unit_at = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let value: f64 = text[..unit_at].parse().unwrap_or(f64::NAN);
    match &text[unit_at..] {
        "us" => value / 1000.0,
        "s" => value * 1000.0,
        _ => value,
    }
}

fn parse_wrk(text: &str) -> Figures {
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim_start().strip_prefix(prefix))
            .map(|v| v.split_whitespace().next().unwrap_or("").to_string())
            .unwrap_or_else(|| panic!("no {prefix:?} in wrk output:\n{text}"))
    };
    Figures {
        rps: field("Requests/sec:").parse().unwrap_or(f64::NAN),
        p50: parse_ms(&field("50%")),
        p99: parse_ms(&field("99%")),
        errors: text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0),
    }
}

fn lua_string(text: &str) -> String {
    format!("[==[{text}]==]")
}

impl Bench {
    /// The wrk script of `case`; `run` names the run so idempotency keys never repeat.
    fn wrk_script(&self, case: &Case, run: &str) -> std::path::PathBuf {
        let body = case.body.as_deref().map(lua_string).unwrap_or("nil".into());
        let mut headers = "[\"content-type\"] = \"application/json\"".to_string();
        if case.auth {
            headers.push_str(&format!(
                ", [\"authorization\"] = \"Bearer {}\"",
                self.token
            ));
        }
        let script = if case.fresh_key {
            headers.push_str(", [\"idempotency-key\"] = prefix .. \"-\" .. counter");
            format!(
                "local threads = 0\n\
                 function setup(thread)\n  threads = threads + 1\n  thread:set(\"prefix\", \"{run}-\" .. threads)\nend\n\
                 counter = 0\n\
                 function request()\n  counter = counter + 1\n  \
                 return wrk.format(\"{}\", {}, {{ {headers} }}, {body})\nend\n",
                case.method,
                lua_string(&case.path)
            )
        } else {
            format!(
                "wrk.method = \"{}\"\nwrk.body = {body}\nwrk.headers = {{ {headers} }}\n",
                case.method
            )
        };
        let path = self.work.join(format!("{run}.lua"));
        std::fs::write(&path, script).unwrap();
        path
    }

    /// wrk against `base` + the case's path: 2 s of warm-up, then the measured run
    /// (two wrk threads, one with one connection).
    fn wrk(&self, base: &str, case: &Case, conns: usize, run: &str) -> Figures {
        self.wrk_threads(base, case, conns, conns.clamp(1, 2), run)
    }

    /// [`Bench::wrk`] with `threads` wrk threads.
    fn wrk_threads(
        &self,
        base: &str,
        case: &Case,
        conns: usize,
        threads: usize,
        run: &str,
    ) -> Figures {
        let threads = threads.to_string();
        let url = format!("{base}{}", case.path);
        let warm = self.wrk_script(case, &format!("{run}-warm"));
        let _ = Command::new("wrk")
            .args(["-t", &threads, "-c", &conns.to_string(), "-d", "2s", "-s"])
            .arg(&warm)
            .arg(&url)
            .output()
            .expect("wrk on PATH");
        let script = self.wrk_script(case, run);
        let output = Command::new("wrk")
            .args(["-t", &threads, "-c", &conns.to_string()])
            .args(["-d", &format!("{}s", self.seconds), "--latency", "-s"])
            .arg(&script)
            .arg(&url)
            .output()
            .expect("wrk on PATH");
        parse_wrk(&String::from_utf8_lossy(&output.stdout))
    }

    /// redis-benchmark of one command (`__rand_int__` is replaced per request).
    fn redis_benchmark(&self, args: &[String]) -> Figures {
        let requests = (40_000 * self.seconds).to_string();
        let output = Command::new("redis-benchmark")
            .args(["-p", &self.redis_port.to_string()])
            .args(["-c", &self.conns.to_string(), "-n", &requests])
            .args(["-r", "1000000000", "--csv"])
            .args(args)
            .output()
            .expect("redis-benchmark on PATH");
        let text = String::from_utf8_lossy(&output.stdout);
        let mut lines = text.lines().filter(|l| l.starts_with('"'));
        let split = |l: &str| -> Vec<String> {
            l.split("\",\"")
                .map(|f| f.trim_matches('"').to_string())
                .collect()
        };
        let header = split(lines.next().unwrap_or_default());
        let row = split(lines.next().unwrap_or_default());
        let get = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .and_then(|i| row.get(i))
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN)
        };
        Figures {
            rps: get("rps"),
            p50: get("p50_latency_ms"),
            p99: get("p99_latency_ms"),
            errors: 0,
        }
    }

    /// The client-side cache's (hits, misses) so far, from Agora's `/metrics`
    /// (zeros when the cache is off).
    async fn cache_counts(&self, base: &str) -> (f64, f64) {
        let text = self
            .client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let figure = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (
            figure("client_cache_hits_total"),
            figure("client_cache_misses_total"),
        )
    }

    /// [`Bench::wrk`], with the cache hit rate (%) over the measured run and warm-up.
    async fn wrk_with_hit_rate(
        &self,
        base: &str,
        case: &Case,
        conns: usize,
        threads: usize,
        run: &str,
    ) -> (Figures, f64) {
        let (hits_before, misses_before) = self.cache_counts(base).await;
        let figures = self.wrk_threads(base, case, conns, threads, run);
        let (hits, misses) = self.cache_counts(base).await;
        let (hits, misses) = (hits - hits_before, misses - misses_before);
        let rate = if hits + misses > 0.0 {
            100.0 * hits / (hits + misses)
        } else {
            f64::NAN
        };
        (figures, rate)
    }

    /// One request of `case` to `base`; its status.
    async fn request(&self, base: &str, case: &Case, key: &str) -> u16 {
        let url = format!("{base}{}", case.path);
        let mut request = match case.method {
            "POST" => self.client.post(&url),
            _ => self.client.get(&url),
        };
        if case.auth {
            request = request.bearer_auth(&self.token);
        }
        if let Some(body) = &case.body {
            request = request
                .header("content-type", "application/json")
                .body(body.clone());
        }
        if case.fresh_key {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        response.bytes().await.unwrap();
        status
    }

    async fn redis(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.redis_url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }

    /// SCRIPT LOAD of `lua/<name>`; its SHA.
    async fn load_script(&self, name: &str) -> String {
        let source =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("lua").join(name))
                .unwrap();
        redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(source)
            .query_async(&mut self.redis().await)
            .await
            .unwrap()
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

#[tokio::main]
async fn main() {
    for tool in ["wrk", "redis-benchmark", "redis-server"] {
        if Command::new(tool).arg("--version").output().is_err() {
            eprintln!("bench: {tool} is needed (apt-get install wrk redis-tools redis-server)");
            std::process::exit(1);
        }
    }
    let bin = std::env::var("AGORA_BIN").unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/release/agora")
            .display()
            .to_string()
    });
    let options = synthetic::Options {
        users: env_usize("BENCH_USERS", 20_000) as u64,
        posts_per_user: env_usize("BENCH_POSTS_PER_USER", 5) as u64,
        follows_per_user: env_usize("BENCH_FOLLOWS_PER_USER", 20) as u64,
        products: env_usize("BENCH_PRODUCTS", 1000) as u64,
        cart_items: env_usize("BENCH_CART_ITEMS", 5) as u64,
    };
    assert!(options.products >= 6, "BENCH_PRODUCTS must be at least 6");
    let (_redis_server, redis_url) = support::start_redis().await;
    let redis_port: u16 = redis_url.rsplit(':').next().unwrap().parse().unwrap();
    let work = std::env::temp_dir().join(format!("agora-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();

    agora(&bin, &redis_url, &["seed"]);
    let synthetic_args = [
        "seed".to_string(),
        "--synthetic".into(),
        "--users".into(),
        options.users.to_string(),
        "--posts-per-user".into(),
        options.posts_per_user.to_string(),
        "--follows-per-user".into(),
        options.follows_per_user.to_string(),
        "--products".into(),
        options.products.to_string(),
        "--cart-items".into(),
        options.cart_items.to_string(),
    ];
    let args: Vec<&str> = synthetic_args.iter().map(String::as_str).collect();
    let generated = agora(&bin, &redis_url, &args);
    let version = {
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query_async(
                &mut redis::Client::open(redis_url.as_str())
                    .unwrap()
                    .get_multiplexed_async_connection()
                    .await
                    .unwrap(),
            )
            .await
            .unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix("redis_version:"))
            .unwrap_or("?")
            .trim()
            .to_string()
    };

    let (agora_process, base) = start_agora(&bin, &redis_url, 0, &[]).await;
    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{base}/v1/sessions"))
        .json(&json!({"login": synthetic::username(1), "password": synthetic::PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut bench = Bench {
        redis_url: redis_url.clone(),
        redis_port,
        seconds: env_usize("BENCH_SECONDS", 10),
        conns: env_usize("BENCH_CONNECTIONS", 50),
        token: login["token"].as_str().expect("synth1 logs in").to_string(),
        work: work.clone(),
        client,
    };

    // The keys redis-benchmark works on: copies of real ones where the command reads.
    let me = synthetic::user_id(1);
    let purchase_sha = bench.load_script("purchase_stock.lua").await;
    let reserve_sha = bench.load_script("reserve_stock.lua").await;
    let limit_sha = bench.load_script("rate_limit.lua").await;
    let _: () = bench
        .redis()
        .await
        .hset("product:{rb}", "stock", 1_000_000_000)
        .await
        .unwrap();
    let items: Vec<Value> = (2..=6)
        .map(|k| json!({"product_id": synthetic::product_id(k), "quantity": 1}))
        .collect();
    let cases = vec![
        Case {
            name: "GET /v1/users/{id}",
            method: "GET",
            path: format!("/v1/users/{me}"),
            body: None,
            auth: false,
            fresh_key: false,
            rb_label: "HGETALL user:{id}",
            rb_args: strings(&["HGETALL", &format!("user:{{{me}}}")]),
        },
        Case {
            name: "POST /v1/products/{id}/purchase",
            method: "POST",
            path: format!("/v1/products/{}/purchase", synthetic::product_id(1)),
            body: Some(json!({"quantity": 1}).to_string()),
            auth: true,
            fresh_key: false,
            rb_label: "EVALSHA purchase_stock",
            rb_args: strings(&["EVALSHA", &purchase_sha, "1", "product:{rb}", "1"]),
        },
        Case {
            name: "GET /v1/users/me/cart",
            method: "GET",
            path: "/v1/users/me/cart".into(),
            body: None,
            auth: true,
            fresh_key: false,
            rb_label: "HGETALL user:{id}:cart",
            rb_args: strings(&["HGETALL", &format!("user:{{{me}}}:cart")]),
        },
        Case {
            name: "POST /v1/orders (checkout, 5 items)",
            method: "POST",
            path: "/v1/orders".into(),
            body: Some(json!({ "items": items }).to_string()),
            auth: true,
            fresh_key: true,
            rb_label: "EVALSHA reserve_stock (1 line)",
            rb_args: strings(&[
                "EVALSHA",
                &reserve_sha,
                "2",
                "product:{rb}",
                "product:{rb}:reservations",
                "__rand_int__",
                "1",
            ]),
        },
        Case {
            name: "GET /v1/users/me/feed?limit=20",
            method: "GET",
            path: "/v1/users/me/feed?limit=20".into(),
            body: None,
            auth: true,
            fresh_key: false,
            rb_label: "ZREVRANGE timeline 0 19",
            rb_args: strings(&[
                "ZREVRANGE",
                &format!("user:{{{me}}}:timeline"),
                "0",
                "19",
                "WITHSCORES",
            ]),
        },
        Case {
            name: "GET /api/articles?limit=20",
            method: "GET",
            path: "/api/articles?limit=20".into(),
            body: None,
            auth: false,
            fresh_key: false,
            rb_label: "ZREVRANGE posts:all 0 19",
            rb_args: strings(&["ZREVRANGE", "posts:all", "0", "19"]),
        },
        Case {
            name: "GET /api/articles/feed?limit=20",
            method: "GET",
            path: "/api/articles/feed?limit=20".into(),
            body: None,
            auth: true,
            fresh_key: false,
            rb_label: "ZREVRANGE timeline 0 19",
            rb_args: strings(&["ZREVRANGE", &format!("user:{{{me}}}:timeline"), "0", "19"]),
        },
        Case {
            name: "GET /v1/leaderboards/{board}?limit=10",
            method: "GET",
            path: format!("/v1/leaderboards/{}?limit=10", synthetic::BOARD),
            body: None,
            auth: false,
            fresh_key: false,
            rb_label: "ZREVRANGE lb:{board} 0 9",
            rb_args: strings(&[
                "ZREVRANGE",
                &format!("lb:{{{}}}", synthetic::BOARD),
                "0",
                "9",
                "WITHSCORES",
            ]),
        },
        Case {
            name: "POST /v1/rate-limits/check",
            method: "POST",
            path: "/v1/rate-limits/check".into(),
            body: Some(json!({"key": "bench", "limit": 100_000, "window_ms": 1000}).to_string()),
            auth: true,
            fresh_key: false,
            rb_label: "EVALSHA rate_limit",
            rb_args: strings(&[
                "EVALSHA",
                &limit_sha,
                "1",
                "ratelimit:check:{rb}",
                "100000",
                "1000",
                "1",
                "__rand_int__",
            ]),
        },
    ];

    // Sanity: every case answers 2xx before it is measured.
    for case in &cases {
        let status = bench
            .request(&base, case, &format!("check-{}", case.name.len()))
            .await;
        assert!(
            (200..300).contains(&status),
            "{} {} answered {status}",
            case.method,
            case.path
        );
    }

    let mut rows = Vec::new();
    let mut hit_rates = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        eprintln!("bench: {} ...", case.name);
        let (through_agora, hit_rate) = bench
            .wrk_with_hit_rate(&base, case, bench.conns, 2, &format!("case{i}"))
            .await;
        let direct = bench.redis_benchmark(&case.rb_args);
        rows.push((through_agora, direct));
        hit_rates.push(hit_rate);
    }
    let checkout_c1 = bench.wrk(&base, &cases[3], 1, "checkout-c1");
    let hincrby = bench.redis_benchmark(&strings(&["HINCRBY", "product:{rb}", "stock", "-1"]));

    // Round trips and commands per request, through a counting proxy.
    let upstream = format!("127.0.0.1:{redis_port}");
    let (proxy_port, trips) = counting_proxy(upstream).await;
    let (_proxied_process, proxied) =
        start_agora(&bin, &format!("redis://127.0.0.1:{proxy_port}"), 0, &[]).await;
    let mut counts = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        // One request first, so connections and scripts are in place.
        bench
            .request(&proxied, case, &format!("count{i}-warm"))
            .await;
        let (trips_before, calls_before) = (
            trips.load(Ordering::SeqCst),
            command_calls(&redis_url).await,
        );
        for n in 0..COUNTED_REQUESTS {
            let status = bench
                .request(&proxied, case, &format!("count{i}-{n}"))
                .await;
            assert!((200..300).contains(&status), "{}: {status}", case.name);
        }
        let calls = calls_between(&calls_before, &command_calls(&redis_url).await);
        let round_trips =
            (trips.load(Ordering::SeqCst) - trips_before) as f64 / COUNTED_REQUESTS as f64;
        counts.push((round_trips, calls));
    }

    // The limiter's own cost on GET /v1/users/{id}, as deployed by default (GCRA, the
    // default 60 s window) with a limit too high to reject: every request is admitted
    // by one script call. Then at the default limit (600/min): wrk's one client is
    // over it after 600 requests and refused locally, without a Redis call.
    drop(agora_process);
    let default_window = [("AGORA_RATE_LIMIT_WINDOW_MS", "60000")];
    let (limited_process, limited) =
        start_agora(&bin, &redis_url, 1_000_000_000, &default_window).await;
    let rb_hgetall = bench.redis_benchmark(&cases[0].rb_args);
    let (limiter_on, limiter_hit_rate) = bench
        .wrk_with_hit_rate(&limited, &cases[0], bench.conns, 2, "limiter")
        .await;
    drop(limited_process);
    let (_refusing_process, refusing) = start_agora(&bin, &redis_url, 600, &default_window).await;
    let refused = bench.wrk(&refusing, &cases[0], bench.conns, "refused");

    // The same read with both sides single-threaded, the shape of the redis-benchmark
    // pair (one client thread, Redis's one thread): wrk with one thread, Agora with one
    // runtime worker. On this box the default runtime (a worker per core) shares two
    // cores with wrk and Redis; this row shows Agora's per-core cost against Redis's.
    let single = [
        ("TOKIO_WORKER_THREADS", "1"),
        ("AGORA_RATE_LIMIT_WINDOW_MS", "60000"),
    ];
    let mut singles = Vec::new();
    for (limit, label) in [(0, "single-off"), (1_000_000_000, "single-on")] {
        let (process, base) = start_agora(&bin, &redis_url, limit, &single).await;
        let rb = bench.redis_benchmark(&cases[0].rb_args);
        let (figures, hit_rate) = bench
            .wrk_with_hit_rate(&base, &cases[0], bench.conns, 1, label)
            .await;
        drop(process);
        singles.push((figures, rb, hit_rate));
    }

    // The users ratios again as medians of alternating pairs (redis-benchmark, then
    // wrk): one run of each swings by about ±10% on a shared 2-core box.
    let repeats = env_usize("BENCH_REPEAT", 3).max(1);
    let no_env: &[(&str, &str)] = &[];
    let mut medians = Vec::new();
    for (n, (label, limit, env, threads)) in [
        ("limiter off", 0, no_env, 2),
        ("limiter on", 1_000_000_000, &default_window[..], 2),
        ("single-threaded pair, limiter off", 0, &single[..], 1),
        (
            "single-threaded pair, limiter on",
            1_000_000_000,
            &single[..],
            1,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let (process, base) = start_agora(&bin, &redis_url, limit, env).await;
        let mut ratios = Vec::new();
        for i in 0..repeats {
            let rb = bench.redis_benchmark(&cases[0].rb_args);
            let run = format!("median{n}-{i}");
            let agora = bench.wrk_threads(&base, &cases[0], bench.conns, threads, &run);
            ratios.push(agora.rps / rb.rps);
        }
        drop(process);
        ratios.sort_by(f64::total_cmp);
        medians.push((label, ratios));
    }
    let limiter_bytes = limiter_memory(&bin, &redis_url, &bench).await;

    let (load1, load5, load15) = load_average();
    println!();
    println!("{}", generated.trim());
    println!(
        "\nc={}, {} s per run, Redis {version}, load average {load1} {load5} {load15} at the end; \
         wrk, Agora and Redis on one machine ({} cores)\n",
        bench.conns,
        bench.seconds,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "| agora endpoint | req/s | p50 ms | p99 ms | redis-benchmark (same run) | req/s | p50 ms | p99 ms | ratio | round trips/req | commands/req | cache hit rate |"
    );
    println!("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    for (((case, (a, r)), (round_trips, calls)), hit_rate) in
        cases.iter().zip(&rows).zip(&counts).zip(&hit_rates)
    {
        let total: u64 = calls.values().sum();
        let note = non_2xx(a.errors);
        println!(
            "| {}{note} | {:.0} | {:.2} | {:.2} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.1} | {:.1} | {} |",
            case.name,
            a.rps,
            a.p50,
            a.p99,
            case.rb_label,
            r.rps,
            r.p50,
            r.p99,
            a.rps / r.rps,
            round_trips,
            total as f64 / COUNTED_REQUESTS as f64,
            percent(*hit_rate)
        );
    }
    println!(
        "\ncommands per request (INFO commandstats over {COUNTED_REQUESTS} requests; script-internal calls included):"
    );
    for (case, (_, calls)) in cases.iter().zip(&counts) {
        let detail: Vec<String> = calls
            .iter()
            .map(|(name, n)| format!("{name} {:.1}", *n as f64 / COUNTED_REQUESTS as f64))
            .collect();
        println!("  {:<40} {}", case.name, detail.join(", "));
    }
    println!(
        "\nPOST /v1/orders (checkout, 5 items) at c=1: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms{}",
        checkout_c1.rps,
        checkout_c1.p50,
        checkout_c1.p99,
        non_2xx(checkout_c1.errors)
    );
    println!(
        "bare HINCRBY stock -1 (redis-benchmark, seed 002's unchecked decrement): {:.0} req/s, p50 {:.2} ms; EVALSHA purchase_stock / HINCRBY = {:.2}",
        hincrby.rps,
        hincrby.p50,
        rows[1].1.rps / hincrby.rps
    );
    let off = rows[0].0.rps;
    println!(
        "API limiter on GET /v1/users/{{id}}: {off:.0} -> {:.0} req/s ({:+.1}%), p99 {:.2} ms, cache hit rate {}{}",
        limiter_on.rps,
        (limiter_on.rps - off) / off * 100.0,
        limiter_on.p99,
        percent(limiter_hit_rate),
        non_2xx(limiter_on.errors)
    );
    println!(
        "GET /v1/users/{{id}} / HGETALL (redis-benchmark, same run): limiter off {:.2}x ({off:.0} / {:.0}), limiter on {:.2}x ({:.0} / {:.0}, HGETALL re-measured next to it)",
        off / rows[0].1.rps,
        rows[0].1.rps,
        limiter_on.rps / rb_hgetall.rps,
        limiter_on.rps,
        rb_hgetall.rps,
    );
    for ((figures, rb, hit_rate), limiter) in singles.iter().zip(["off", "on"]) {
        println!(
            "single-threaded pair (wrk -t1, TOKIO_WORKER_THREADS=1), limiter {limiter}: GET /v1/users/{{id}} {:.0} req/s, p99 {:.2} ms, cache hit rate {} / HGETALL {:.0} (same run) = {:.2}x{}",
            figures.rps,
            figures.p99,
            percent(*hit_rate),
            rb.rps,
            figures.rps / rb.rps,
            non_2xx(figures.errors)
        );
    }
    for (label, ratios) in &medians {
        let each: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        println!(
            "GET /v1/users/{{id}} / HGETALL, {label}: median {:.2}x of {} alternating pairs ({})",
            ratios[ratios.len() / 2],
            ratios.len(),
            each.join(", ")
        );
    }
    println!(
        "a client over the default limit (600/min), refused locally: {:.0} req/s of 429, p99 {:.2} ms",
        refused.rps, refused.p99
    );
    println!(
        "API limiter state per active client (GCRA, {LIMITER_CLIENTS} clients): MEMORY USAGE {:.0} bytes per key, used_memory {:+.0} bytes per client",
        limiter_bytes.0, limiter_bytes.1
    );

    memory_per_entity(&mut bench, &options).await;
    let layout_users = env_usize("BENCH_LAYOUT_USERS", 100_000) as u64;
    layout_comparison(layout_users).await;
    let _ = std::fs::remove_dir_all(&work);
}

/// A hit rate for the table (`-` when nothing cacheable was read).
fn percent(rate: f64) -> String {
    if rate.is_nan() {
        "-".into()
    } else {
        format!("{rate:.1}%")
    }
}

/// Clients the limiter memory figure is measured over.
const LIMITER_CLIENTS: usize = 2000;

/// Bytes the API limiter keeps per active client: an Agora trusting 127.0.0.1 as a
/// proxy gets one request from each of [`LIMITER_CLIENTS`] forwarded addresses; the
/// average `MEMORY USAGE` of their keys and the `used_memory` growth per client.
async fn limiter_memory(bin: &str, redis_url: &str, bench: &Bench) -> (f64, f64) {
    let (_process, base) = start_agora(
        bin,
        redis_url,
        600,
        &[
            ("AGORA_RATE_LIMIT_WINDOW_MS", "60000"),
            ("AGORA_TRUSTED_PROXIES", "127.0.0.1"),
        ],
    )
    .await;
    let mut conn = bench.redis().await;
    let address = |i: usize| format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256);
    // One request first: connections, scripts and the process's own allocations.
    let _ = bench
        .client
        .get(format!("{base}/v1/config"))
        .header("x-forwarded-for", "10.255.255.255")
        .send()
        .await;
    let before = used_memory(&mut conn).await;
    for chunk in (0..LIMITER_CLIENTS).collect::<Vec<_>>().chunks(50) {
        let requests = chunk.iter().map(|&i| {
            bench
                .client
                .get(format!("{base}/v1/config"))
                .header("x-forwarded-for", address(i))
                .send()
        });
        for response in futures::future::join_all(requests).await {
            assert!(response.unwrap().status().is_success());
        }
    }
    let after = used_memory(&mut conn).await;
    let keys: Vec<String> = (0..LIMITER_CLIENTS)
        .step_by(10)
        .map(|i| format!("ratelimit:gcra:{{{}}}", address(i)))
        .collect();
    (
        average_usage(&mut conn, &keys).await,
        (after as f64 - before as f64) / LIMITER_CLIENTS as f64,
    )
}

/// A warning to append when wrk saw error responses.
fn non_2xx(errors: u64) -> String {
    if errors > 0 {
        format!(" ({errors} non-2xx!)")
    } else {
        String::new()
    }
}

fn load_average() -> (String, String, String) {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut parts = text.split_whitespace().map(str::to_string);
    (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    )
}

/// `MEMORY USAGE key SAMPLES 0` (every element counted).
async fn memory_usage(conn: &mut redis::aio::MultiplexedConnection, key: &str) -> u64 {
    let bytes: Option<u64> = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(key)
        .arg("SAMPLES")
        .arg(0)
        .query_async(conn)
        .await
        .unwrap();
    bytes.unwrap_or(0)
}

/// Average of `MEMORY USAGE` over `keys` (one pipeline).
async fn average_usage(conn: &mut redis::aio::MultiplexedConnection, keys: &[String]) -> f64 {
    let mut pipe = redis::pipe();
    for key in keys {
        pipe.cmd("MEMORY")
            .arg("USAGE")
            .arg(key)
            .arg("SAMPLES")
            .arg(0);
    }
    let sizes: Vec<Option<u64>> = pipe.query_async(conn).await.unwrap();
    let found: Vec<u64> = sizes.into_iter().flatten().collect();
    found.iter().sum::<u64>() as f64 / found.len().max(1) as f64
}

/// `MEMORY USAGE` of every username/e-mail index key (the buckets, and the old
/// one-slot hashes if any), found with SCAN.
async fn identity_index_bytes(conn: &mut redis::aio::MultiplexedConnection) -> u64 {
    let mut cursor: u64 = 0;
    let mut total = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg("users:{*}:by_*")
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await
            .unwrap();
        for key in keys {
            total += memory_usage(conn, &key).await;
        }
        if next == 0 {
            return total;
        }
        cursor = next;
    }
}

/// Bytes per user, post, follow edge, cart and order as Agora stores them.
async fn memory_per_entity(bench: &mut Bench, options: &synthetic::Options) {
    let mut conn = bench.redis().await;
    let step = (options.users / MEMORY_SAMPLE).max(1);
    let sample: Vec<u64> = (1..=options.users)
        .step_by(step as usize)
        .take(MEMORY_SAMPLE as usize)
        .collect();
    let ids: Vec<String> = sample.iter().map(|n| synthetic::user_id(*n)).collect();
    let key_of = |part: &str| -> Vec<String> {
        ids.iter()
            .map(|id| format!("user:{{{id}}}{part}"))
            .collect()
    };
    let user = average_usage(&mut conn, &key_of("")).await;
    let index = identity_index_bytes(&mut conn).await as f64 / (options.users + 5) as f64;
    let following = average_usage(&mut conn, &key_of(":following")).await;
    let followers = average_usage(&mut conn, &key_of(":followers")).await;
    let edge = (following + followers) / options.follows_per_user.max(1) as f64;
    let posts: Vec<String> = sample
        .iter()
        .map(|n| format!("post:{{{}}}", synthetic::post_id(options, *n, 0)))
        .collect();
    let post = average_usage(&mut conn, &posts).await;
    let author_index =
        average_usage(&mut conn, &key_of(":posts")).await / options.posts_per_user.max(1) as f64;
    let timeline = average_usage(&mut conn, &key_of(":timeline")).await;
    let timeline_len: u64 = conn
        .zcard(format!("user:{{{}}}:timeline", ids[0]))
        .await
        .unwrap();
    let cart = average_usage(&mut conn, &key_of(":cart")).await;
    let orders: u64 = conn
        .get::<_, Option<u64>>("orders:next_id")
        .await
        .unwrap()
        .unwrap_or(0);
    let order_keys: Vec<String> = (1..=orders)
        .rev()
        .take(MEMORY_SAMPLE as usize)
        .map(|id| format!("order:{{{id}}}"))
        .collect();
    let order = average_usage(&mut conn, &order_keys).await;
    let order_index = {
        let total = memory_usage(&mut conn, &format!("user:{{{}}}:orders", ids[0])).await;
        let count: u64 = conn
            .zcard(format!("user:{{{}}}:orders", ids[0]))
            .await
            .unwrap();
        total as f64 / count.max(1) as f64
    };
    println!(
        "\nmemory as stored (MEMORY USAGE ... SAMPLES 0, average over up to {MEMORY_SAMPLE} keys each):"
    );
    println!(
        "  user (user:{{id}} hash, 7 fields incl. compact argon2): {user:>8.0} B  + {index:.0} B in the username/e-mail buckets"
    );
    println!(
        "  post (post:{{p}} hash, 9 fields):                    {post:>8.0} B  + {author_index:.0} B in user:{{id}}:posts, + {:.0} B per timeline holding it",
        timeline / timeline_len.max(1) as f64
    );
    println!(
        "  follow edge (both sides, :following + :followers): {edge:>8.0} B  ({} per user)",
        options.follows_per_user
    );
    println!(
        "  cart (user:{{id}}:cart, {} lines):                   {cart:>8.0} B",
        options.cart_items
    );
    println!(
        "  order (order:{{id}} hash, 5 lines; {} orders):     {order:>8.0} B  + {order_index:.0} B in user:{{id}}:orders",
        orders
    );
}

/// A user's (field, value) pairs.
type Fields = Vec<(String, String)>;

/// A real argon2id PHC string (the synthetic users'), as stored in `password_hash`.
const PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$YWdvcmEtc3ludGhldGlj$vUfh8iZgX3AgMnsmIMbCxqi8x4Y80kPajCjHGDoZJao";

/// Seed 002: one hash per user vs one string key per field, for `users` users in a
/// scratch Redis; bytes per user from `used_memory` deltas and MEMORY USAGE.
async fn layout_comparison(users: u64) {
    let (_scratch, url) = support::start_redis().await;
    let mut conn = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let seed002 = |n: u64| -> Fields {
        vec![
            ("name".into(), format!("User {n}")),
            ("age".into(), (18 + n % 60).to_string()),
            ("email".into(), format!("user{n}@example.com")),
        ]
    };
    let agora_fields = |n: u64| -> Fields {
        vec![
            ("id".into(), n.to_string()),
            ("username".into(), format!("user{n}")),
            ("email".into(), format!("user{n}@example.com")),
            ("name".into(), format!("User {n}")),
            ("role".into(), "user".into()),
            ("created_at".into(), "2026-01-01T00:00:00.000Z".into()),
            ("login_count".into(), "0".into()),
            ("password_hash".into(), PHC.into()),
        ]
    };
    println!("\nseed 002 layouts, {users} users each in a scratch Redis (bytes per user):");
    println!(
        "| fields | one hash per user (used_memory / MEMORY USAGE) | one string key per field (used_memory / MEMORY USAGE) | strings / hash |"
    );
    println!("|---|---:|---:|---:|");
    let sets = [
        ("seed 002: name, age, email", seed002 as fn(u64) -> Fields),
        ("agora user: 8 fields incl. argon2 PHC", agora_fields),
    ];
    for (label, fields) in sets.iter() {
        let mut figures = Vec::new();
        for per_field in [false, true] {
            let _: () = redis::cmd("FLUSHALL").query_async(&mut conn).await.unwrap();
            let before = used_memory(&mut conn).await;
            let mut n = 1;
            while n <= users {
                let mut pipe = redis::pipe();
                for n in n..(n + 1000).min(users + 1) {
                    let fields = fields(n);
                    if per_field {
                        for (field, value) in &fields {
                            pipe.set(format!("user:{n}:{field}"), value).ignore();
                        }
                    } else {
                        pipe.hset_multiple(format!("user:{n}"), &fields).ignore();
                    }
                }
                let _: () = pipe.query_async(&mut conn).await.unwrap();
                n += 1000;
            }
            let delta = used_memory(&mut conn).await.saturating_sub(before) as f64 / users as f64;
            let step = (users / MEMORY_SAMPLE).max(1);
            let mut total = 0u64;
            let mut sampled = 0u64;
            for n in (1..=users)
                .step_by(step as usize)
                .take(MEMORY_SAMPLE as usize)
            {
                if per_field {
                    for (field, _) in fields(n) {
                        total += memory_usage(&mut conn, &format!("user:{n}:{field}")).await;
                    }
                } else {
                    total += memory_usage(&mut conn, &format!("user:{n}")).await;
                }
                sampled += 1;
            }
            figures.push((delta, total as f64 / sampled as f64));
        }
        let (hash, strings) = (figures[0], figures[1]);
        println!(
            "| {label} | {:.0} / {:.0} | {:.0} / {:.0} | {:.2} |",
            hash.0,
            hash.1,
            strings.0,
            strings.1,
            strings.0 / hash.0
        );
    }
}

async fn used_memory(conn: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}
