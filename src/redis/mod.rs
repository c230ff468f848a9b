//! Redis plumbing: the one handle every repository talks to.
//!
//! Why this shape:
//! - Request-path commands go through **one shared multiplexed connection**
//!   ([`ConnectionManager`] on a single node, the cloneable cluster connection on a
//!   Redis Cluster). Concurrent requests are pipelined onto it for free; measured on a
//!   2-core machine this serves ~2.3x the requests of a pooled connection per request,
//!   because a pool checkout sends a PING each time.
//! - Commands that **block or hold** a connection (BLMOVE, XREADGROUP BLOCK, SUBSCRIBE,
//!   WATCH) must not stall the shared connection, so [`Redis::dedicated`] hands out a
//!   connection of its own from a deadpool-redis pool.
//! - Standalone and cluster are one enum, [`RedisConn`], implementing redis-rs's
//!   `ConnectionLike`, so repositories never branch on the topology. What differs on a
//!   cluster (batches across slots) is handled in [`batch`].
//! - Hot reads can be served from a client-side cache that Redis invalidates
//!   ([`cache`], [`Redis::read_cached`]); the shared connection evicts what a write
//!   names, so a read after a write in this process never sees the old value.

pub mod batch;
pub mod cache;
pub mod keys;
pub(crate) mod paging;
pub(crate) mod redact;
pub(crate) mod scripts;
pub(crate) mod set_scan;

use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use anyhow::Context as _;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, Value};

pub use cache::Cache;
use cache::Stored;
pub use keys::Keys;

/// How long one command may wait for its answer before the request fails with 503.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Dedicated connections at most (each blocked worker or subscriber holds one).
const DEDICATED_POOL_SIZE: usize = 16;
/// How long opening a TCP connection to Redis may take.
pub(crate) const CONNECTION_TIMEOUT: Duration = Duration::from_secs(1);

/// Where Redis is: one server, or the seed nodes of a cluster.
#[derive(Clone, Debug)]
pub enum Topology {
    Standalone(String),
    Cluster(Vec<String>),
}

impl Topology {
    /// A printable description with every credential hidden ([`redact::redact_url`]),
    /// the only way a Redis URL is printed.
    pub fn redacted(&self) -> String {
        match self {
            Topology::Standalone(url) => redact::redact_url(url),
            Topology::Cluster(urls) => {
                let urls: Vec<_> = urls.iter().map(|u| redact::redact_url(u)).collect();
                format!("cluster [{}]", urls.join(", "))
            }
        }
    }

    /// `text` (an error message) with any secret of these URLs hidden, in case the
    /// error echoes a URL or a password.
    pub fn scrub(&self, text: &str) -> String {
        let secrets: Vec<String> = match self {
            Topology::Standalone(url) => redact::secrets(url),
            Topology::Cluster(urls) => urls.iter().flat_map(|u| redact::secrets(u)).collect(),
        };
        redact::scrub(text, &secrets)
    }
}

/// The shared, multiplexed connection: cheap to clone, safe to use from many tasks.
/// When the client-side cache is on, every command that is not a known read evicts,
/// once answered, the cached entries of the aggregates it names.
#[derive(Clone)]
pub struct RedisConn {
    link: Link,
    cache: Option<Arc<Cache>>,
}

/// The connection itself, one node or a cluster.
#[derive(Clone)]
enum Link {
    Standalone(ConnectionManager),
    Cluster(SharedCluster),
}

/// The cluster connection, replaceable when its view of the cluster goes stale.
///
/// redis-rs refreshes its slot map on MOVED/ASK, but a master that dies answers
/// nothing: requests for its slots fail with I/O errors, and if the map was refreshed
/// before the replica's promotion it can keep pointing at the dead node for minutes
/// (seen in the failover fault test: 317 s). A watchdog ([`watch_cluster`]) PINGs every
/// primary each second and, after two failures, builds a fresh connection from the seed
/// nodes, which reads the current topology; commands always use the newest one.
#[derive(Clone)]
pub struct SharedCluster {
    current: Arc<RwLock<ClusterConnection>>,
}

impl SharedCluster {
    fn new(conn: ClusterConnection) -> SharedCluster {
        SharedCluster {
            current: Arc::new(RwLock::new(conn)),
        }
    }

    /// The connection to use now (a cheap handle clone).
    pub fn get(&self) -> ClusterConnection {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl ConnectionLike for SharedCluster {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        let mut conn = self.get();
        Box::pin(async move { conn.req_packed_command(cmd).await })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        let mut conn = self.get();
        Box::pin(async move { conn.req_packed_commands(pipeline, offset, count).await })
    }

    fn get_db(&self) -> i64 {
        0
    }
}

/// Keeps a [`SharedCluster`] current: PING (every primary) once a second; after two
/// failures in a row, replace the connection with a fresh one from the seed nodes,
/// and keep doing so every two seconds until PING passes. Ends with its connection.
async fn watch_cluster(
    shared: Weak<RwLock<ClusterConnection>>,
    client: redis::cluster::ClusterClient,
) {
    let mut failures = 0u32;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let Some(current) = shared.upgrade() else {
            return;
        };
        let mut conn = current.read().unwrap_or_else(|e| e.into_inner()).clone();
        drop(current);
        let command = redis::cmd("PING");
        let ping = command.query_async::<Value>(&mut conn);
        let healthy = matches!(
            tokio::time::timeout(Duration::from_secs(2), ping).await,
            Ok(Ok(_))
        );
        if healthy {
            failures = 0;
            continue;
        }
        failures += 1;
        if failures < 2 {
            continue;
        }
        match tokio::time::timeout(Duration::from_secs(3), client.get_async_connection()).await {
            Ok(Ok(fresh)) => {
                let Some(current) = shared.upgrade() else {
                    return;
                };
                *current.write().unwrap_or_else(|e| e.into_inner()) = fresh;
                tracing::warn!(
                    "cluster health check failed twice; connection rebuilt from the seed nodes"
                );
                failures = 1;
            }
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "rebuilding the cluster connection failed")
            }
            Err(_) => tracing::warn!("rebuilding the cluster connection timed out"),
        }
    }
}

impl RedisConn {
    pub fn is_cluster(&self) -> bool {
        matches!(self.link, Link::Cluster(_))
    }

    /// The connection without the cache's write hook (for the cache's own reads).
    fn uncached(&self) -> RedisConn {
        RedisConn {
            link: self.link.clone(),
            cache: None,
        }
    }
}

/// `reply`, followed (once it is answered, when the cache is on) by `evict`: what a
/// command wrote leaves the cache before its caller sees the reply.
fn evict_after<'a, T: Send + 'a>(
    cache: &Option<Arc<Cache>>,
    reply: RedisFuture<'a, T>,
    evict: impl FnOnce(&Cache) + Send + 'a,
) -> RedisFuture<'a, T> {
    match cache {
        None => reply,
        Some(cache) => {
            let cache = cache.clone();
            Box::pin(async move {
                let reply = reply.await;
                evict(&cache);
                reply
            })
        }
    }
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        let reply = self.link.req_packed_command(cmd);
        evict_after(&self.cache, reply, move |cache| {
            cache.evict_written_cmd(cmd)
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        let replies = self.link.req_packed_commands(pipeline, offset, count);
        evict_after(&self.cache, replies, move |cache| {
            cache.evict_written_pipeline(pipeline)
        })
    }

    fn get_db(&self) -> i64 {
        self.link.get_db()
    }
}

/// Implements `ConnectionLike` for a two-variant enum by delegating to the variant.
macro_rules! delegate_connection_like {
    ($type:ident) => {
        impl ConnectionLike for $type {
            fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
                match self {
                    $type::Standalone(c) => c.req_packed_command(cmd),
                    $type::Cluster(c) => c.req_packed_command(cmd),
                }
            }

            fn req_packed_commands<'a>(
                &'a mut self,
                pipeline: &'a Pipeline,
                offset: usize,
                count: usize,
            ) -> RedisFuture<'a, Vec<Value>> {
                match self {
                    $type::Standalone(c) => c.req_packed_commands(pipeline, offset, count),
                    $type::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
                }
            }

            fn get_db(&self) -> i64 {
                match self {
                    $type::Standalone(c) => c.get_db(),
                    $type::Cluster(c) => c.get_db(),
                }
            }
        }
    };
}

delegate_connection_like!(Link);

/// Pool of dedicated connections for blocking commands (one per waiting task).
#[derive(Clone)]
pub enum DedicatedPool {
    Standalone(deadpool_redis::Pool),
    Cluster(deadpool_redis::cluster::Pool),
}

/// A connection checked out of the [`DedicatedPool`]; returned to it on drop.
pub enum DedicatedConn {
    Standalone(deadpool_redis::Connection),
    Cluster(deadpool_redis::cluster::Connection),
}

delegate_connection_like!(DedicatedConn);

impl DedicatedConn {
    /// Lets one reply take up to `timeout`. A standalone connection otherwise gives up
    /// on a reply after redis-rs's default 500 ms, which a blocking command (XREADGROUP
    /// BLOCK, BLMOVE) outlasts by design; cluster connections have no reply timeout.
    pub fn allow_blocking_for(&mut self, timeout: Duration) {
        if let DedicatedConn::Standalone(conn) = self {
            conn.set_response_timeout(timeout);
        }
    }
}

/// An error and its causes on one line, each text once. redis-rs's I/O errors already
/// print their source in their own message, so `{:#}` said "Connection refused (os error
/// 111): Connection refused (os error 111)"; a cause whose text the line already holds is
/// left out.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// Everything a repository needs: the shared connection, the key builder and the pool
/// for blocking commands. Cheap to clone (all fields are handles).
#[derive(Clone)]
pub struct Redis {
    /// Shared multiplexed connection for every request-path command.
    pub conn: RedisConn,
    /// Builds every key name, with the deployment's `KEY_PREFIX`.
    pub keys: Keys,
    /// Dedicated connections for BLMOVE / XREADGROUP BLOCK / SUBSCRIBE / WATCH.
    dedicated: DedicatedPool,
    topology: Arc<Topology>,
    /// The client-side cache, when on ([`Redis::with_cache`]).
    cache: Option<Arc<Cache>>,
}

impl Redis {
    /// Connects once (no retry); see [`Redis::connect_with_retry`] for start-up.
    pub async fn connect(topology: &Topology, keys: Keys) -> anyhow::Result<Redis> {
        let (conn, dedicated) = match topology {
            Topology::Standalone(url) => {
                let client = redis::Client::open(url.as_str())
                    .with_context(|| format!("invalid REDIS_URL {}", redact::redact_url(url)))?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(CONNECTION_TIMEOUT))
                    .set_response_timeout(Some(RESPONSE_TIMEOUT))
                    .set_number_of_retries(1)
                    .set_max_delay(Duration::from_millis(500));
                let manager = ConnectionManager::new_with_config(client, config).await?;
                // Blocking commands wait longer than any response timeout would allow.
                let pool_manager = deadpool_redis::Manager::new_with_config(
                    url.as_str(),
                    redis::AsyncConnectionConfig::new()
                        .set_connection_timeout(Some(CONNECTION_TIMEOUT))
                        .set_response_timeout(None),
                )?;
                let pool = deadpool_redis::Pool::builder(pool_manager)
                    .max_size(DEDICATED_POOL_SIZE)
                    .runtime(deadpool_redis::Runtime::Tokio1)
                    .build()?;
                (Link::Standalone(manager), DedicatedPool::Standalone(pool))
            }
            Topology::Cluster(urls) => {
                let client = ClusterClientBuilder::new(urls.clone())
                    .connection_timeout(CONNECTION_TIMEOUT)
                    .response_timeout(RESPONSE_TIMEOUT)
                    .retries(3)
                    .build()
                    .context("invalid REDIS_CLUSTER_URLS")?;
                let shared = SharedCluster::new(client.get_async_connection().await?);
                tokio::spawn(watch_cluster(Arc::downgrade(&shared.current), client));
                // deadpool's cluster connections have no response timeout by default,
                // which is what blocking commands need.
                let pool = deadpool_redis::cluster::Config::from_urls(urls.clone())
                    .builder()?
                    .max_size(DEDICATED_POOL_SIZE)
                    .runtime(deadpool_redis::Runtime::Tokio1)
                    .build()?;
                (Link::Cluster(shared), DedicatedPool::Cluster(pool))
            }
        };
        let mut redis = Redis {
            conn: RedisConn {
                link: conn,
                cache: None,
            },
            keys,
            dedicated,
            topology: Arc::new(topology.clone()),
            cache: None,
        };
        redis.ping().await?;
        Ok(redis)
    }

    /// Start-up connect: retries for about `patience`, then fails with one line that
    /// names the (redacted) URL, so an operator sees at once what is wrong.
    pub async fn connect_with_retry(
        topology: &Topology,
        keys: Keys,
        patience: Duration,
    ) -> anyhow::Result<Redis> {
        let deadline = tokio::time::Instant::now() + patience;
        let mut warned = false;
        loop {
            match Redis::connect(topology, keys.clone()).await {
                Ok(redis) => return Ok(redis),
                Err(err) if tokio::time::Instant::now() < deadline => {
                    // One warning when the wait starts; each further attempt at debug, so
                    // a Redis that never comes shows two lines, not one every 500 ms.
                    let error = topology.scrub(&one_line(&err));
                    if warned {
                        tracing::debug!(redis = %topology.redacted(), %error, "Redis not reachable yet, retrying");
                    } else {
                        tracing::warn!(redis = %topology.redacted(), %error, "Redis not reachable yet, retrying for up to {patience:?}");
                        warned = true;
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(err) => {
                    anyhow::bail!(
                        "cannot reach Redis at {} after {:?}: {}",
                        topology.redacted(),
                        patience,
                        topology.scrub(&one_line(&err))
                    )
                }
            }
        }
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Turns the client-side cache on with room for about `entries` command replies
    /// (`0` leaves it off): starts the task that keeps tracking established. The cache
    /// serves reads once tracking is up on every node (normally within milliseconds).
    pub fn with_cache(mut self, entries: usize) -> Redis {
        if entries == 0 {
            return self;
        }
        let cache = Arc::new(Cache::new(entries, Cache::prefixes_for(self.keys.prefix())));
        let mut plain = self.clone();
        plain.conn = plain.conn.uncached();
        tokio::spawn(cache::keep_tracking(Arc::downgrade(&cache), plain));
        self.conn.cache = Some(cache.clone());
        self.cache = Some(cache);
        self
    }

    /// The cache's counters; `None` when it is off.
    pub fn cache_stats(&self) -> Option<cache::CacheStats> {
        self.cache.as_ref().map(|c| c.stats())
    }

    /// Whether reads are being served from the cache now (it is on and tracking is up).
    pub fn cache_is_live(&self) -> bool {
        self.cache.as_ref().is_some_and(|c| c.is_live())
    }

    /// Runs read commands, each given with the one key it reads, and returns their
    /// replies in order: what the client-side cache holds comes from memory, the rest
    /// in one [`Batch`](batch::Batch) (one round trip per slot), stored for next time.
    /// Only for reads of tracked keys (`user:`, `post:`, `product:`,
    /// `users:celebrities`; others simply go to Redis) whose reply
    /// depends on nothing but the key's contents (no PTTL: use PEXPIRETIME).
    pub async fn read_cached(&self, reads: Vec<(String, Cmd)>) -> redis::RedisResult<Vec<Value>> {
        self.read_through(
            reads,
            |_, value| Ok(value),
            |value| Stored::Reply(value.clone()),
            |stored| match stored {
                Stored::Reply(value) => Some(value),
                Stored::Decoded(_) => None,
            },
        )
        .await
    }

    /// [`Redis::read_cached`], each reply decoded by `decode` (given the read's index
    /// in `reads`); the cache keeps the decoded value and a hit shares it (an `Arc`),
    /// so hot entities are neither cloned nor decoded again. A reply `decode` refuses
    /// is an error.
    pub async fn read_cached_decoded<T: Send + Sync + 'static>(
        &self,
        reads: Vec<(String, Cmd)>,
        decode: impl Fn(usize, Value) -> redis::RedisResult<T>,
    ) -> redis::RedisResult<Vec<Arc<T>>> {
        self.read_through(
            reads,
            |index, value| decode(index, value).map(Arc::new),
            |decoded| Stored::Decoded(decoded.clone()),
            |stored| match stored {
                Stored::Decoded(any) => any.downcast::<T>().ok(),
                Stored::Reply(_) => None,
            },
        )
        .await
    }

    /// The read path both share: `take` turns a cached entry into a result (`None`: a
    /// miss), `decode` a fetched reply, `keep` a result into what is stored. Server
    /// errors are never stored.
    async fn read_through<T>(
        &self,
        reads: Vec<(String, Cmd)>,
        decode: impl Fn(usize, Value) -> redis::RedisResult<T>,
        keep: impl Fn(&T) -> Stored,
        take: impl Fn(Stored) -> Option<T>,
    ) -> redis::RedisResult<Vec<T>> {
        let Some(cache) = self.cache.as_ref().filter(|c| c.is_live()) else {
            if let Some(cache) = &self.cache {
                cache.count_misses(reads.len());
            }
            let mut batch = batch::Batch::new();
            for (key, cmd) in reads {
                batch.add(key, cmd);
            }
            let replies = batch.run(&self.conn).await?.into_iter().enumerate();
            return replies.map(|(index, value)| decode(index, value)).collect();
        };
        let mut results: Vec<Option<T>> = (0..reads.len()).map(|_| None).collect();
        let mut pending = Vec::new();
        let mut batch = batch::Batch::new();
        for (index, (key, cmd)) in reads.into_iter().enumerate() {
            let packed = cmd.get_packed_command();
            match cache.get(&key, &packed).and_then(&take) {
                Some(found) => results[index] = Some(found),
                None => {
                    pending.push((index, key.clone(), packed, cache.ticket(&key)));
                    batch.add(key, cmd);
                }
            }
        }
        if !pending.is_empty() {
            cache.count_misses(pending.len());
            let fetched = batch.run(&self.conn.uncached()).await?;
            for ((index, key, packed, ticket), value) in pending.into_iter().zip(fetched) {
                let storable = !matches!(value, Value::ServerError(_));
                let result = decode(index, value)?;
                if let Some(ticket) = ticket
                    && storable
                {
                    cache.insert(&key, packed, keep(&result), ticket);
                }
                results[index] = Some(result);
            }
        }
        results
            .into_iter()
            .enumerate()
            .map(|(index, r)| r.map_or_else(|| decode(index, Value::Nil), Ok))
            .collect()
    }

    /// `HGETALL` of each key through the client-side cache, decoded by `decode` (an
    /// empty map where a key does not exist); the cache keeps the decoded value
    /// ([`Redis::read_cached_decoded`]), so a hit costs no decode and shares the value;
    /// a caller that needs its own copy takes it with `Arc::unwrap_or_clone`.
    pub async fn hgetall_cached<T: Send + Sync + 'static>(
        &self,
        keys: impl IntoIterator<Item = String>,
        decode: impl Fn(&HashMap<String, String>) -> T,
    ) -> redis::RedisResult<Vec<Arc<T>>> {
        let reads = keys
            .into_iter()
            .map(|key| {
                let cmd = redis::cmd("HGETALL").arg(&key).clone();
                (key, cmd)
            })
            .collect();
        self.read_cached_decoded(reads, |_, value| {
            Ok(decode(&redis::from_redis_value(value)?))
        })
        .await
    }

    pub fn is_cluster(&self) -> bool {
        self.conn.is_cluster()
    }

    /// A clone of the shared connection, for one request's commands.
    pub fn conn(&self) -> RedisConn {
        self.conn.clone()
    }

    /// PING: on a cluster redis-rs sends it to every primary, so this checks them all.
    pub async fn ping(&mut self) -> redis::RedisResult<()> {
        let _: Value = redis::cmd("PING").query_async(&mut self.conn).await?;
        Ok(())
    }

    /// The nodes (one entry per primary) that are at `maxmemory` under the `noeviction`
    /// policy, where every write is refused: `INFO memory` of each primary.
    pub async fn full_nodes(&self) -> redis::RedisResult<Vec<String>> {
        let mut conn = self.conn();
        let value: Value = redis::cmd("INFO")
            .arg("memory")
            .query_async(&mut conn)
            .await?;
        let per_node: Vec<(String, String)> = match value {
            Value::Map(nodes) => nodes
                .into_iter()
                .filter_map(|(node, info)| {
                    Some((
                        redis::from_redis_value(node).ok()?,
                        redis::from_redis_value(info).ok()?,
                    ))
                })
                .collect(),
            other => vec![("redis".to_string(), redis::from_redis_value(other)?)],
        };
        Ok(per_node
            .into_iter()
            .filter(|(_, info)| {
                let field = |name: &str| {
                    info.lines()
                        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
                        .map(str::trim)
                };
                let number = |name: &str| field(name).and_then(|v| v.parse::<u64>().ok());
                match (number("used_memory"), number("maxmemory")) {
                    (Some(used), Some(max)) => {
                        max > 0 && used >= max && field("maxmemory_policy") == Some("noeviction")
                    }
                    _ => false,
                }
            })
            .map(|(node, _)| node)
            .collect())
    }

    /// A connection of its own, for commands that block or hold the connection.
    pub async fn dedicated(&self) -> anyhow::Result<DedicatedConn> {
        Ok(match &self.dedicated {
            DedicatedPool::Standalone(pool) => DedicatedConn::Standalone(pool.get().await?),
            DedicatedPool::Cluster(pool) => DedicatedConn::Cluster(pool.get().await?),
        })
    }

    /// `INFO` of every primary, as (node, text) pairs: one pair on a single node.
    pub async fn info_per_node(&self) -> redis::RedisResult<Vec<(String, String)>> {
        let mut conn = self.conn();
        let value: Value = redis::cmd("INFO").query_async(&mut conn).await?;
        Ok(match value {
            Value::Map(nodes) => nodes
                .into_iter()
                .filter_map(|(node, info)| {
                    let node: String = redis::from_redis_value(node).ok()?;
                    let info: String = redis::from_redis_value(info).ok()?;
                    Some((node, info))
                })
                .collect(),
            other => vec![("redis".to_string(), redis::from_redis_value(other)?)],
        })
    }
}

impl Redis {
    /// One SCAN page over the whole keyspace, on one node or across a cluster.
    ///
    /// On a cluster every primary has its own keyspace and cursor, so the cursor here is
    /// `node:cursor` over the primaries in address order: a full iteration visits each
    /// primary in turn. Returns the keys and the next cursor (`None` when done).
    pub async fn scan_page(
        &self,
        cursor: &str,
        pattern: &str,
        count: u32,
    ) -> anyhow::Result<(Vec<String>, Option<String>)> {
        let mut scan = redis::cmd("SCAN");
        match &self.conn.link {
            Link::Standalone(_) => {
                let position: u64 = if cursor.is_empty() {
                    0
                } else {
                    cursor.parse()?
                };
                scan.arg(position)
                    .arg("MATCH")
                    .arg(pattern)
                    .arg("COUNT")
                    .arg(count);
                let (next, keys): (u64, Vec<String>) = scan.query_async(&mut self.conn()).await?;
                Ok((keys, (next != 0).then(|| next.to_string())))
            }
            Link::Cluster(cluster) => {
                let (node, position) = match cursor.split_once(':') {
                    Some((node, position)) => (node.parse::<usize>()?, position.parse::<u64>()?),
                    None if cursor.is_empty() => (0, 0),
                    None => anyhow::bail!("malformed cursor"),
                };
                let primaries = self.cluster_nodes(false).await?;
                let Some((host, port)) = primaries.get(node).cloned() else {
                    return Ok((Vec::new(), None));
                };
                scan.arg(position)
                    .arg("MATCH")
                    .arg(pattern)
                    .arg("COUNT")
                    .arg(count);
                let routing = redis::cluster_routing::RoutingInfo::SingleNode(
                    redis::cluster_routing::SingleNodeRoutingInfo::ByAddress { host, port },
                );
                let reply = cluster.get().route_command(scan, routing).await?;
                let (next, keys): (u64, Vec<String>) = redis::from_redis_value(reply)?;
                let next = match (next, node + 1 < primaries.len()) {
                    (0, true) => Some(format!("{}:0", node + 1)),
                    (0, false) => None,
                    (next, _) => Some(format!("{node}:{next}")),
                };
                Ok((keys, next))
            }
        }
    }

    /// The cluster's primaries as (host, port), sorted (`CLUSTER SHARDS`); with
    /// `all_online`, every node (primary or replica) whose health is `online`.
    async fn cluster_nodes(&self, all_online: bool) -> anyhow::Result<Vec<(String, u16)>> {
        let shards: Value = redis::cmd("CLUSTER")
            .arg("SHARDS")
            .query_async(&mut self.conn())
            .await?;
        let Value::Array(shards) = shards else {
            anyhow::bail!("unexpected CLUSTER SHARDS reply");
        };
        let mut primaries = Vec::new();
        for shard in shards {
            let nodes = as_pairs(shard)
                .into_iter()
                .find(|(k, _)| k == "nodes")
                .map(|(_, v)| v);
            let Some(Value::Array(nodes)) = nodes else {
                continue;
            };
            for node in nodes {
                let fields: std::collections::HashMap<String, Value> =
                    as_pairs(node).into_iter().collect();
                let text = |f: &str| {
                    fields
                        .get(f)
                        .and_then(|v| redis::from_redis_value::<String>(v.clone()).ok())
                };
                let port = fields
                    .get("port")
                    .and_then(|v| redis::from_redis_value::<u16>(v.clone()).ok());
                let wanted = if all_online {
                    text("health").as_deref() == Some("online")
                } else {
                    text("role").as_deref() == Some("master")
                };
                if wanted
                    && let (Some(ip), Some(port)) = (text("ip").or_else(|| text("endpoint")), port)
                {
                    primaries.push((ip, port));
                }
            }
        }
        primaries.sort();
        primaries.dedup();
        Ok(primaries)
    }
}

/// A reply that is a map (RESP3) or a flat key/value array (RESP2), as pairs.
fn as_pairs(value: Value) -> Vec<(String, Value)> {
    match value {
        Value::Map(pairs) => pairs
            .into_iter()
            .filter_map(|(k, v)| Some((redis::from_redis_value::<String>(k).ok()?, v)))
            .collect(),
        Value::Array(items) => {
            let flat_pairs = items.len() % 2 == 0
                && items
                    .iter()
                    .step_by(2)
                    .all(|k| matches!(k, Value::BulkString(_) | Value::SimpleString(_)));
            if flat_pairs {
                items
                    .chunks(2)
                    .filter_map(|c| {
                        Some((
                            redis::from_redis_value::<String>(c[0].clone()).ok()?,
                            c[1].clone(),
                        ))
                    })
                    .collect()
            } else {
                Vec::new()
            }
        }
        _ => Vec::new(),
    }
}

/// True when the error means "Redis is not there right now" (down, restarting, failing
/// over, too slow) rather than a bug: such errors become 503 with `Retry-After`.
///
/// On a cluster, `MOVED`, `ASK` and `READONLY` reach us only when redis-rs has spent
/// its retries on a node that just died (a failover or resharding in progress): it
/// follows redirects itself and rebuilds its slot map on them, so the next request
/// goes to the new owner. They are transient, not bugs (the failover fault test showed
/// `MOVED` answered as 500 before this).
/// True for Redis refusing a write because it is at `maxmemory` with `noeviction`
/// (`-OOM`, also when a script's write was refused).
pub fn is_out_of_memory(err: &RedisError) -> bool {
    err.code() == Some("OOM") || err.to_string().contains("OOM command not allowed")
}

pub fn is_unavailable(err: &RedisError) -> bool {
    err.is_io_error()
        || err.is_timeout()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_unrecoverable_error()
        || matches!(
            err.kind(),
            ErrorKind::Server(
                redis::ServerErrorKind::ClusterDown
                    | redis::ServerErrorKind::TryAgain
                    | redis::ServerErrorKind::MasterDown
                    | redis::ServerErrorKind::BusyLoading
                    | redis::ServerErrorKind::Moved
                    | redis::ServerErrorKind::Ask
                    | redis::ServerErrorKind::ReadOnly
            ) | ErrorKind::ClusterConnectionNotFound
        )
}

#[cfg(test)]
mod tests {
    /// A refused connection printed its cause twice; now once, and other chains are kept.
    #[test]
    fn one_line_names_each_cause_once() {
        let refused =
            redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let err = anyhow::Error::from(refused);
        let line = super::one_line(&err);
        let cause = std::io::Error::from(std::io::ErrorKind::ConnectionRefused).to_string();
        assert_eq!(line.matches(&cause).count(), 1, "{line}");

        let chained = anyhow::anyhow!("disk on fire").context("cannot seed");
        assert_eq!(super::one_line(&chained), "cannot seed: disk on fire");
    }
}
