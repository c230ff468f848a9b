//! Test harness: a private Redis per test binary, an app per test.
//!
//! The first test to ask starts the Redis this binary uses: one private
//! `redis-server` on a free port, or, with `AGORA_TEST_CLUSTER=1`, a local 3-master +
//! 3-replica cluster (ready in seconds, so started once, not per test). Each test gets
//! its own `KEY_PREFIX`, so tests share the server but never see each other's keys, and
//! run in parallel. The servers are stopped when the test process exits. Nothing here
//! touches a Redis the developer runs.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use agora::app;
use agora::config::Settings;
use agora::redis::{Redis, RedisConn, Topology};
use agora::state::AppState;
use agora::users::identity::Identity;
use redis::AsyncCommands;
use redis_test::cluster::{RedisCluster, RedisClusterConfiguration};
use redis_test::server::RedisServer;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

/// The servers this process started; dropped (killed) at exit.
static SERVERS: Mutex<Vec<Servers>> = Mutex::new(Vec::new());
static TOPOLOGY: OnceCell<Topology> = OnceCell::const_new();
static NEXT_PREFIX: AtomicUsize = AtomicUsize::new(0);

#[allow(dead_code)] // held only to be dropped at exit
enum Servers {
    Standalone(RedisServer),
    Cluster(RedisCluster),
}

extern "C" fn stop_servers() {
    if let Ok(mut servers) = SERVERS.lock() {
        servers.clear();
    }
}

pub fn cluster_mode() -> bool {
    std::env::var("AGORA_TEST_CLUSTER").is_ok_and(|v| v == "1")
}

/// The shared Redis of this test binary, started on first use.
pub async fn topology() -> Topology {
    TOPOLOGY
        .get_or_init(|| async {
            tokio::task::spawn_blocking(|| {
                let (servers, topology) = if cluster_mode() {
                    let cluster = RedisCluster::new(RedisClusterConfiguration {
                        num_nodes: 6,
                        num_replicas: 1,
                        ..Default::default()
                    });
                    let urls = cluster
                        .iter_servers()
                        .map(|s| format!("redis://{}", s.client_addr()))
                        .collect();
                    (Servers::Cluster(cluster), Topology::Cluster(urls))
                } else {
                    let server = RedisServer::new();
                    let url = format!("redis://{}", server.client_addr());
                    (Servers::Standalone(server), Topology::Standalone(url))
                };
                let mut guard = SERVERS.lock().unwrap();
                if guard.is_empty() {
                    unsafe { libc::atexit(stop_servers) };
                }
                guard.push(servers);
                topology
            })
            .await
            .expect("starting test Redis")
        })
        .await
        .clone()
}

/// A unique key prefix for one test.
pub fn unique_prefix() -> String {
    format!("t{}:", NEXT_PREFIX.fetch_add(1, Ordering::Relaxed))
}

/// A running app on a random port, with its own key prefix.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub redis: Redis,
}

/// Starts the app against this binary's shared Redis.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the app with adjusted settings.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let topology = topology().await;
    spawn_app_on(&topology, adjust).await
}

/// Starts the app against a given Redis.
pub async fn spawn_app_on(topology: &Topology, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    agora::telemetry::init_for_tests();
    let mut settings = Settings::for_redis(topology, &unique_prefix());
    settings.redis_startup_secs = 5;
    adjust(&mut settings);
    let state = AppState::connect(settings)
        .await
        .expect("connecting to test Redis");
    let redis = state.redis.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(app::run(listener, state, std::future::pending()));
    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        redis,
    }
}

/// A registered and logged-in user.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub token: String,
}

pub const PASSWORD: &str = "correct horse battery";

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn conn(&self) -> RedisConn {
        self.redis.conn()
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        let mut request = self.client.request(method, self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        self.send_json(reqwest::Method::POST, path, token, body)
            .await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        self.send_json(reqwest::Method::PATCH, path, token, body)
            .await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = self.client.delete(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// PUT without a body.
    pub async fn put(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = self.client.put(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// GET that must answer 200; its JSON body.
    pub async fn get_ok(&self, path: &str, token: Option<&str>) -> Value {
        let response = self.get(path, token).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    /// Every item of a paged list: GET `path` (which may carry a query already) with
    /// `limit`, then with each `next_cursor` until it is null.
    pub async fn all_items(&self, path: &str, limit: usize, token: Option<&str>) -> Vec<Value> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let first = format!("{path}{separator}limit={limit}");
        let mut url = first.clone();
        let mut items = Vec::new();
        loop {
            let page = self.get_ok(&url, token).await;
            let page_items = page["items"].as_array().unwrap();
            assert!(page_items.len() <= limit, "GET {url}");
            items.extend(page_items.iter().cloned());
            match page["next_cursor"].as_str() {
                Some(cursor) => url = format!("{first}&cursor={cursor}"),
                None => return items,
            }
        }
    }

    /// Publishes a post as `user`; the post. Waits a few milliseconds after, so that
    /// posts published one after another have distinct times (one newest-first order).
    pub async fn publish(&self, user: &TestUser, title: &str) -> Value {
        let response = self
            .post(
                "/v1/posts",
                Some(&user.token),
                &json!({"title": title, "content": format!("about {title}")}),
            )
            .await;
        assert_eq!(response.status(), 201, "publishing {title}");
        let post = response.json().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        post
    }

    /// `user` follows `target_id`.
    pub async fn follow(&self, user: &TestUser, target_id: &str) {
        let path = format!("/v1/users/me/following/{target_id}");
        assert_eq!(self.put(&path, Some(&user.token)).await.status(), 204);
    }

    /// Registers and logs in every one of `usernames`, concurrently.
    pub async fn users(&self, usernames: &[&str]) -> Vec<TestUser> {
        futures::future::join_all(usernames.iter().map(|name| self.user(name))).await
    }

    pub async fn register_raw(&self, username: &str, email: &str) -> reqwest::Response {
        self.post(
            "/v1/users",
            None,
            &json!({"username": username, "email": email, "password": PASSWORD}),
        )
        .await
    }

    pub async fn login(&self, login: &str, password: &str) -> reqwest::Response {
        self.post(
            "/v1/sessions",
            None,
            &json!({"login": login, "password": password}),
        )
        .await
    }

    /// Registers `username` and logs in.
    pub async fn user(&self, username: &str) -> TestUser {
        let email = format!("{username}@example.com");
        let response = self.register_raw(username, &email).await;
        assert_eq!(response.status(), 201, "registering {username}");
        let user: Value = response.json().await.unwrap();
        let login: Value = self.login(username, PASSWORD).await.json().await.unwrap();
        TestUser {
            id: user["id"].as_str().unwrap().to_string(),
            token: login["token"]
                .as_str()
                .unwrap_or_else(|| panic!("login token for {username}: {login}"))
                .to_string(),
        }
    }

    /// Registers `username`, makes them admin, logs in.
    pub async fn admin(&self, username: &str) -> TestUser {
        let mut user = self.user(username).await;
        agora::accounts::grant_admin(&self.redis, username)
            .await
            .unwrap();
        let login: Value = self.login(username, PASSWORD).await.json().await.unwrap();
        user.token = login["token"].as_str().unwrap().to_string();
        user
    }

    /// Who holds `value` (a username or an e-mail, any case) in its identity bucket.
    pub async fn claim_owner(&self, identity: Identity, value: &str) -> Option<String> {
        let value = agora::users::identity::normalize(value);
        self.conn()
            .hget(identity.bucket_key(&self.redis, &value), &value)
            .await
            .unwrap()
    }

    /// HGETALL of a key, for assertions on what is stored.
    pub async fn hgetall(&self, key: &str) -> HashMap<String, String> {
        self.conn().hgetall(key).await.unwrap()
    }

    /// Every key under this test's prefix (SCAN on every primary), except the API
    /// rate limiter's windows: every client has one, and they hold no request data.
    pub async fn all_keys(&self) -> Vec<String> {
        let pattern = format!("{}*", self.redis.keys.prefix());
        let mut keys = Vec::new();
        match self.redis.topology() {
            Topology::Standalone(url) => keys.extend(scan(url, &pattern).await),
            Topology::Cluster(urls) => {
                for url in urls {
                    keys.extend(scan(url, &pattern).await);
                }
            }
        }
        keys.retain(|k| !k.contains("ratelimit:"));
        keys.sort();
        keys.dedup();
        keys
    }
}

/// SCAN one node directly (on a cluster each node holds a part of the keyspace).
async fn scan(url: &str, pattern: &str) -> Vec<String> {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut cursor: u64 = 0;
    let mut keys = Vec::new();
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await
            .unwrap();
        keys.extend(batch);
        if next == 0 {
            return keys;
        }
        cursor = next;
    }
}

/// Reads a problem+json answer, checking its content type and status field.
pub async fn problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert!(body["type"].as_str().unwrap().starts_with("/problems/"));
    body
}

/// The `title` of each post of a page (or of a list of posts).
pub fn titles(posts: &Value) -> Vec<String> {
    let items = posts.get("items").unwrap_or(posts);
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap().to_string())
        .collect()
}
