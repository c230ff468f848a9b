//! Server-assisted client-side cache: hot reads (user, post, product and session
//! hashes, follow counts, pages of timelines and comments, `users:celebrities`) served
//! from process memory, invalidated by Redis. An entry keeps either the reply or what
//! its reader decoded it into ([`Stored`]), so a hit on a hot post shares one decoded
//! value instead of copying and decoding the reply again.
//!
//! Why this shape:
//! - **Invalidation comes from Redis** (RESP3 `CLIENT TRACKING ON BCAST PREFIX ...`): a
//!   tracking connection per node receives an `invalidate` push for every key under
//!   the tracked prefixes that changes, whoever wrote it (another instance, a script,
//!   an expiry, `redis-cli`). BCAST needs no per-read registration, so misses are read
//!   through the ordinary shared connection (one pipeline, one slot batch per slot on
//!   a cluster) and the tracking connection only listens.
//! - **A miss never stores a value older than an invalidation it raced with.** Every
//!   shard has a sequence number bumped by each invalidation or local write in it, and
//!   a reader takes a ticket (generation + sequence) *before* sending its read: the
//!   reply is stored only if the ticket is still current. An invalidation that
//!   arrives after the store simply removes the entry. (redis-rs's own `cache-aio`
//!   stores a reply in the caller's task after the connection task may already have
//!   processed the invalidation of that key, so a stale value can stay cached; see
//!   the README's "Hot path".)
//! - **Read after write in one process is never stale**, without waiting for the push:
//!   every command sent through [`super::RedisConn`] that is not a known read evicts
//!   (after its reply) the cached entries of every aggregate it names (`user:{42}`
//!   and all `user:{42}:…` keys, found by the hash tag in any argument, so a script
//!   that derives keys from a prefix argument is covered too).
//! - **No tracking, no cache.** The cache is *live* only while every node's tracking
//!   connection is up. A lost connection (Redis restarted, failed over, or the socket
//!   dropped; a PING each second catches a silent one) clears it at once and it stays
//!   off (every read goes to Redis) until tracking is re-established on the current
//!   nodes; a flush (`FLUSHALL`) clears it too. On a cluster every online node
//!   (primaries and replicas) is tracked and the node list is re-read each second; a
//!   change re-establishes tracking and empties the cache.
//! - Bounded: `AGORA_CACHE_ENTRIES` entries in 64 shards; a full shard drops one
//!   aggregate to make room. Decisions (stock, locks, limits, idempotency, the session
//!   refresh) never read from here: they run in scripts.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{
    AsyncConnectionConfig, Cmd, IntoConnectionInfo, Pipeline, ProtocolVersion, PushInfo, PushKind,
    Value,
};

use super::{CONNECTION_TIMEOUT, Redis, Topology};

const SHARDS: usize = 64;
/// How often the tracking connections are PINGed (and a cluster's node list re-read).
const HEALTH_INTERVAL: Duration = Duration::from_secs(1);
/// How long a health PING may take before the connection counts as lost.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(1);
/// Pause between attempts to re-establish tracking.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// Commands that only read: sending one through the shared connection evicts nothing.
/// Anything not listed is treated as a write (a needless eviction costs one miss).
const READ_ONLY: &[&[u8]] = &[
    b"GET",
    b"MGET",
    b"STRLEN",
    b"EXISTS",
    b"TYPE",
    b"TTL",
    b"PTTL",
    b"EXPIRETIME",
    b"PEXPIRETIME",
    b"HGET",
    b"HGETALL",
    b"HMGET",
    b"HEXISTS",
    b"HLEN",
    b"HKEYS",
    b"HVALS",
    b"HSCAN",
    b"SCARD",
    b"SISMEMBER",
    b"SMISMEMBER",
    b"SMEMBERS",
    b"SSCAN",
    b"SINTER",
    b"SUNION",
    b"ZCARD",
    b"ZCOUNT",
    b"ZSCORE",
    b"ZMSCORE",
    b"ZRANK",
    b"ZREVRANK",
    b"ZRANGE",
    b"ZREVRANGE",
    b"ZRANGEBYSCORE",
    b"ZREVRANGEBYSCORE",
    b"ZSCAN",
    b"LRANGE",
    b"LLEN",
    b"LINDEX",
    b"LPOS",
    b"XRANGE",
    b"XREVRANGE",
    b"XLEN",
    b"XINFO",
    b"XPENDING",
    b"PFCOUNT",
    b"SCAN",
    b"PING",
    b"INFO",
    b"TIME",
    b"DBSIZE",
    b"MEMORY",
    b"OBJECT",
    b"CLUSTER",
    b"CLIENT",
    b"SCRIPT",
    b"EVALSHA_RO",
    b"EVAL_RO",
];

/// Hit, miss and invalidation counts since start (exported on `/metrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    /// Keys Redis reported changed that were cached, plus local write evictions.
    pub invalidations: u64,
    /// Entries held now.
    pub entries: u64,
    /// Whether tracking is established (the cache serves reads).
    pub live: bool,
}

/// Proof that a read was sent while the cache was in a given state: its reply may be
/// stored only if nothing invalidated that shard (or the whole cache) meanwhile.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    generation: u64,
    shard: usize,
    seq: u64,
}

struct Entry {
    key: Box<str>,
    cmd: Box<[u8]>,
    value: Stored,
}

/// What an entry holds: the reply as Redis sent it, or what a reader decoded it into
/// (a post's `HashMap`, say), kept so that a hit shares it instead of cloning the
/// reply and decoding it again: on a feed page of 20 posts that was a third of
/// Agora's CPU.
#[derive(Clone)]
pub enum Stored {
    Reply(Value),
    Decoded(Arc<dyn std::any::Any + Send + Sync>),
}

impl From<Value> for Stored {
    fn from(value: Value) -> Stored {
        Stored::Reply(value)
    }
}

#[derive(Default)]
struct Shard {
    /// Bumped by every invalidation or eviction in this shard.
    seq: u64,
    /// Aggregate (`user:{42}`) → its cached command replies.
    groups: HashMap<Box<str>, Vec<Entry>>,
    len: usize,
}

impl Shard {
    fn remove_group(&mut self, group: &str) -> usize {
        let removed = self.groups.remove(group).map_or(0, |g| g.len());
        self.len -= removed;
        removed
    }
}

/// The cache: see the module docs.
pub struct Cache {
    shards: Box<[Mutex<Shard>]>,
    shard_capacity: usize,
    hasher: std::collections::hash_map::RandomState,
    /// Bumped whenever the cache is emptied or goes live: older tickets are void.
    generation: AtomicU64,
    live: AtomicBool,
    /// The current tracking attempt; pushes of older connections are ignored.
    round: AtomicU64,
    lost: tokio::sync::Notify,
    /// The key prefixes tracked (`<KEY_PREFIX>user:` ...).
    prefixes: Vec<String>,
    hits: AtomicU64,
    misses: AtomicU64,
    invalidations: AtomicU64,
}

/// The aggregate a key (or any argument naming one) belongs to: everything up to the
/// end of its hash tag (`t1:user:{42}` for `t1:user:{42}:followers`), else the whole
/// text.
fn group_of(key: &[u8]) -> &[u8] {
    if let Some(open) = key.iter().position(|&b| b == b'{')
        && let Some(close) = key[open + 1..].iter().position(|&b| b == b'}')
    {
        return &key[..open + 1 + close + 1];
    }
    key
}

impl Cache {
    /// A cache of about `entries` command replies for keys under `prefixes`.
    pub fn new(entries: usize, prefixes: Vec<String>) -> Cache {
        Cache {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            shard_capacity: entries.div_ceil(SHARDS).max(1),
            hasher: Default::default(),
            generation: AtomicU64::new(0),
            live: AtomicBool::new(false),
            round: AtomicU64::new(0),
            lost: tokio::sync::Notify::new(),
            prefixes,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            invalidations: AtomicU64::new(0),
        }
    }

    /// The key prefixes whose keys may be cached (`KEY_PREFIX` + `user:`, `post:`,
    /// `product:`, and the one key `users:celebrities` every home feed page reads).
    pub fn prefixes_for(key_prefix: &str) -> Vec<String> {
        ["user:", "post:", "product:", "users:celebrities"]
            .iter()
            .map(|p| format!("{key_prefix}{p}"))
            .collect()
    }

    fn tracked(&self, key: &str) -> bool {
        self.prefixes.iter().any(|p| key.starts_with(p.as_str()))
    }

    fn shard_of(&self, group: &[u8]) -> usize {
        (self.hasher.hash_one(group) as usize) % SHARDS
    }

    fn lock(&self, shard: usize) -> std::sync::MutexGuard<'_, Shard> {
        self.shards[shard]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            invalidations: self.invalidations.load(Ordering::Relaxed),
            entries: (0..SHARDS).map(|s| self.lock(s).len as u64).sum(),
            live: self.is_live(),
        }
    }

    pub(crate) fn count_misses(&self, n: usize) {
        self.misses.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// The cached reply of `cmd` (packed) on `key`, if live and held.
    pub fn get(&self, key: &str, cmd: &[u8]) -> Option<Stored> {
        if !self.is_live() || !self.tracked(key) {
            return None;
        }
        let group = group_of(key.as_bytes());
        let shard = self.lock(self.shard_of(group));
        let found = shard
            .groups
            .get(std::str::from_utf8(group).ok()?)?
            .iter()
            .find(|e| &*e.key == key && &*e.cmd == cmd)
            .map(|e| e.value.clone());
        drop(shard);
        if found.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    /// A ticket for a read of `key` about to be sent; `None` when its reply must not be
    /// stored (not live, or an untracked key).
    pub fn ticket(&self, key: &str) -> Option<Ticket> {
        if !self.tracked(key) {
            return None;
        }
        let generation = self.generation.load(Ordering::Acquire);
        if !self.is_live() {
            return None;
        }
        let shard = self.shard_of(group_of(key.as_bytes()));
        let seq = self.lock(shard).seq;
        Some(Ticket {
            generation,
            shard,
            seq,
        })
    }

    /// Stores the reply of a read sent under `ticket`, unless anything invalidated its
    /// shard (or the whole cache) since the ticket was taken.
    pub fn insert(&self, key: &str, cmd: Vec<u8>, value: impl Into<Stored>, ticket: Ticket) {
        let value = value.into();
        let mut shard = self.lock(ticket.shard);
        if shard.seq != ticket.seq
            || self.generation.load(Ordering::Acquire) != ticket.generation
            || !self.is_live()
        {
            return;
        }
        let Ok(group) = std::str::from_utf8(group_of(key.as_bytes())) else {
            return;
        };
        if shard.len >= self.shard_capacity && !shard.groups.contains_key(group) {
            // Full: make room by dropping one aggregate (an arbitrary one).
            if let Some(victim) = shard.groups.keys().next().cloned() {
                shard.remove_group(&victim);
            }
        }
        let entries = shard.groups.entry(group.into()).or_default();
        if let Some(existing) = entries
            .iter_mut()
            .find(|e| &*e.key == key && *e.cmd == cmd[..])
        {
            existing.value = value;
            return;
        }
        entries.push(Entry {
            key: key.into(),
            cmd: cmd.into(),
            value,
        });
        shard.len += 1;
    }

    /// Redis reported `key` changed: drop its replies and void tickets of its shard.
    fn invalidate_key(&self, key: &[u8]) {
        let group = group_of(key);
        let mut shard = self.lock(self.shard_of(group));
        shard.seq += 1;
        let Ok(group) = std::str::from_utf8(group) else {
            return;
        };
        let Some(entries) = shard.groups.get_mut(group) else {
            return;
        };
        let before = entries.len();
        entries.retain(|e| e.key.as_bytes() != key);
        let removed = before - entries.len();
        if entries.is_empty() {
            shard.groups.remove(group);
        }
        shard.len -= removed;
        drop(shard);
        if removed > 0 {
            self.invalidations
                .fetch_add(removed as u64, Ordering::Relaxed);
        }
    }

    /// After a command that may have written: evicts every aggregate it names.
    fn evict_written(&self, cmd: &Cmd) {
        let mut args = cmd.args_iter().filter_map(|arg| match arg {
            redis::Arg::Simple(bytes) => Some(bytes),
            _ => None,
        });
        let Some(name) = args.next() else {
            return;
        };
        if READ_ONLY.iter().any(|r| r.eq_ignore_ascii_case(name)) {
            return;
        }
        for arg in args {
            if !arg.contains(&b'{') {
                continue;
            }
            let group = group_of(arg);
            let mut shard = self.lock(self.shard_of(group));
            shard.seq += 1;
            let removed = std::str::from_utf8(group).map_or(0, |g| shard.remove_group(g));
            drop(shard);
            if removed > 0 {
                self.invalidations
                    .fetch_add(removed as u64, Ordering::Relaxed);
            }
        }
    }

    pub(crate) fn evict_written_pipeline(&self, pipeline: &Pipeline) {
        for cmd in pipeline.cmd_iter() {
            self.evict_written(cmd);
        }
    }

    pub(crate) fn evict_written_cmd(&self, cmd: &Cmd) {
        self.evict_written(cmd);
    }

    /// Empties the cache and voids every ticket.
    fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        for s in 0..SHARDS {
            let mut shard = self.lock(s);
            shard.seq += 1;
            shard.groups.clear();
            shard.len = 0;
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Stops serving and empties the cache (before tracking is (re)built).
    fn reset(&self) {
        self.live.store(false, Ordering::Release);
        self.clear();
    }

    /// Tracking is gone: stop serving, empty, wake the tracker to rebuild it.
    fn lose(&self) {
        self.reset();
        self.lost.notify_one();
    }

    /// A push from a tracking connection of attempt `round`.
    fn on_push(&self, round: u64, push: PushInfo) {
        match push.kind {
            PushKind::Invalidate => match push.data.first() {
                Some(Value::Array(keys)) => {
                    for key in keys {
                        if let Value::BulkString(key) = key {
                            self.invalidate_key(key);
                        }
                    }
                }
                // FLUSHALL / FLUSHDB: every key is gone.
                _ => self.clear(),
            },
            PushKind::Disconnection if self.round.load(Ordering::Acquire) == round => self.lose(),
            _ => {}
        }
    }
}

/// Connects a tracking connection to one node: RESP3, `CLIENT TRACKING ON BCAST` on
/// the cache's prefixes, every push handed to the cache in the connection's own task
/// (in order, with no queue in between).
async fn track_node(
    url: &str,
    cache: &Arc<Cache>,
    round: u64,
    name: &str,
) -> anyhow::Result<MultiplexedConnection> {
    let info = url.into_connection_info()?;
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(ProtocolVersion::RESP3);
    let info = info.set_redis_settings(settings);
    let weak = Arc::downgrade(cache);
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECTION_TIMEOUT))
        .set_response_timeout(Some(HEALTH_TIMEOUT))
        .set_push_sender(move |push: PushInfo| {
            if let Some(cache) = weak.upgrade() {
                cache.on_push(round, push);
            }
            Ok::<(), std::convert::Infallible>(())
        });
    let client = redis::Client::open(info)?;
    let mut conn = client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    let mut tracking = redis::cmd("CLIENT");
    tracking.arg("TRACKING").arg("ON").arg("BCAST");
    for prefix in &cache.prefixes {
        tracking.arg("PREFIX").arg(prefix);
    }
    let mut pipe = redis::pipe();
    pipe.add_command(tracking)
        .cmd("CLIENT")
        .arg("SETNAME")
        .arg(name);
    let _: () = pipe.query_async(&mut conn).await?;
    Ok(conn)
}

/// The URLs of the nodes to track: the one server, or every online cluster node.
async fn nodes_to_track(redis: &Redis) -> anyhow::Result<Vec<String>> {
    Ok(match redis.topology() {
        Topology::Standalone(url) => vec![url.clone()],
        Topology::Cluster(seeds) => {
            let seed = seeds
                .first()
                .ok_or_else(|| anyhow::anyhow!("no cluster seed node"))?;
            let scheme = if seed.starts_with("rediss://") {
                "rediss"
            } else {
                "redis"
            };
            // Credentials come from the seed URL: every node shares them.
            let auth = seed
                .split_once("://")
                .and_then(|(_, rest)| rest.rsplit_once('@'))
                .map(|(auth, _)| format!("{auth}@"))
                .unwrap_or_default();
            let mut urls: Vec<String> = redis
                .cluster_nodes(true)
                .await?
                .into_iter()
                .map(|(host, port)| format!("{scheme}://{auth}{host}:{port}"))
                .collect();
            urls.sort();
            urls
        }
    })
}

/// Keeps tracking established for as long as the cache exists: (re)connects a
/// tracking connection to every node, marks the cache live, then watches (pushes
/// report a disconnection at once; PING and the node list each second) and starts
/// over, with an empty cache, whenever anything is lost.
pub(crate) async fn keep_tracking(cache: Weak<Cache>, redis: Redis) {
    let name = format!("agora-tracking-{}", redis.keys.prefix()).replace(' ', "_");
    loop {
        let Some(strong) = cache.upgrade() else {
            return;
        };
        let round = strong.round.fetch_add(1, Ordering::AcqRel) + 1;
        strong.reset();
        let established = async {
            let urls = nodes_to_track(&redis).await?;
            let mut conns = Vec::with_capacity(urls.len());
            for url in &urls {
                conns.push(track_node(url, &strong, round, &name).await?);
            }
            anyhow::Ok((urls, conns))
        }
        .await;
        let (urls, mut conns) = match established {
            Ok(done) => done,
            Err(err) => {
                tracing::debug!(error = %redis.topology().scrub(&format!("{err:#}")), "client-side cache: tracking not established yet");
                drop(strong);
                tokio::time::sleep(RETRY_PAUSE).await;
                continue;
            }
        };
        // Pushes of this round may already have been handled; a disconnection among
        // them made the round stale.
        if strong.round.load(Ordering::Acquire) != round {
            continue;
        }
        strong.generation.fetch_add(1, Ordering::AcqRel);
        strong.live.store(true, Ordering::Release);
        tracing::info!(
            nodes = urls.len(),
            "client-side cache: tracking established"
        );
        // Watch until something is lost.
        loop {
            if !strong.is_live() {
                break;
            }
            tokio::select! {
                // A permit left by an earlier round's loss wakes this too: go on
                // watching unless the cache really went off.
                _ = strong.lost.notified() => continue,
                _ = tokio::time::sleep(HEALTH_INTERVAL) => {}
            }
            let mut healthy = true;
            for conn in &mut conns {
                let command = redis::cmd("PING");
                let ping = command.query_async::<()>(conn);
                if !matches!(tokio::time::timeout(HEALTH_TIMEOUT, ping).await, Ok(Ok(()))) {
                    healthy = false;
                }
            }
            if healthy && redis.is_cluster() {
                healthy = matches!(nodes_to_track(&redis).await, Ok(now) if now == urls);
            }
            if !healthy {
                tracing::warn!("client-side cache: tracking lost; cache emptied until it is back");
                break;
            }
        }
        drop(strong);
    }
}

#[cfg(test)]
mod tests {
    /// The reply an entry holds (tests store replies only).
    fn raw(stored: Option<super::Stored>) -> Option<redis::Value> {
        match stored? {
            super::Stored::Reply(value) => Some(value),
            super::Stored::Decoded(_) => None,
        }
    }

    use super::*;

    fn live_cache() -> Cache {
        let cache = Cache::new(1000, Cache::prefixes_for(""));
        cache.live.store(true, Ordering::Release);
        cache
    }

    #[test]
    fn groups_end_at_the_hash_tag() {
        assert_eq!(group_of(b"t1:user:{42}:followers"), b"t1:user:{42}");
        assert_eq!(group_of(b"user:{42}"), b"user:{42}");
        assert_eq!(group_of(b"users:celebrities"), b"users:celebrities");
    }

    #[test]
    fn a_reply_is_not_stored_after_an_invalidation_it_raced_with() {
        let cache = live_cache();
        let ticket = cache.ticket("user:{1}").unwrap();
        cache.invalidate_key(b"user:{1}");
        cache.insert("user:{1}", b"HGETALL".to_vec(), Value::Int(1), ticket);
        assert_eq!(raw(cache.get("user:{1}", b"HGETALL")), None);

        let ticket = cache.ticket("user:{1}").unwrap();
        cache.insert("user:{1}", b"HGETALL".to_vec(), Value::Int(2), ticket);
        assert_eq!(raw(cache.get("user:{1}", b"HGETALL")), Some(Value::Int(2)));
        cache.invalidate_key(b"user:{1}");
        assert_eq!(raw(cache.get("user:{1}", b"HGETALL")), None);
    }

    #[test]
    fn a_decoded_value_is_shared_by_hits_and_dropped_by_an_invalidation() {
        let cache = live_cache();
        let post = Arc::new(String::from("decoded post"));
        let ticket = cache.ticket("post:{p1}").unwrap();
        cache.insert(
            "post:{p1}",
            b"HGETALL".to_vec(),
            Stored::Decoded(post.clone()),
            ticket,
        );
        for _ in 0..2 {
            let Some(Stored::Decoded(hit)) = cache.get("post:{p1}", b"HGETALL") else {
                panic!("not cached");
            };
            let hit = hit.downcast::<String>().unwrap();
            assert!(Arc::ptr_eq(&hit, &post), "a hit copied the value");
        }
        // Another reader's command on the same key is its own entry.
        assert!(cache.get("post:{p1}", b"HMGET").is_none());
        cache.invalidate_key(b"post:{p1}");
        assert!(cache.get("post:{p1}", b"HGETALL").is_none());
    }

    #[test]
    fn a_write_evicts_every_key_of_the_aggregates_it_names() {
        let cache = live_cache();
        for key in ["user:{1}", "user:{1}:followers", "user:{2}"] {
            let ticket = cache.ticket(key).unwrap();
            cache.insert(key, b"X".to_vec(), Value::Int(1), ticket);
        }
        // A script given only the session prefix of user 1.
        let script = redis::cmd("EVALSHA")
            .arg("abc")
            .arg(0)
            .arg("user:{1}:session:")
            .clone();
        cache.evict_written_cmd(&script);
        assert_eq!(raw(cache.get("user:{1}", b"X")), None);
        assert_eq!(raw(cache.get("user:{1}:followers", b"X")), None);
        assert_eq!(raw(cache.get("user:{2}", b"X")), Some(Value::Int(1)));
        // A read evicts nothing.
        cache.evict_written_cmd(&redis::cmd("HGETALL").arg("user:{2}").clone());
        assert_eq!(raw(cache.get("user:{2}", b"X")), Some(Value::Int(1)));
    }

    #[test]
    fn a_lost_connection_empties_the_cache_and_stops_it_serving() {
        let cache = live_cache();
        let ticket = cache.ticket("post:{p1}").unwrap();
        cache.insert("post:{p1}", b"X".to_vec(), Value::Int(1), ticket);
        let in_flight = cache.ticket("post:{p2}").unwrap();
        cache.on_push(
            0,
            PushInfo {
                kind: PushKind::Disconnection,
                data: vec![],
            },
        );
        assert!(!cache.is_live());
        assert_eq!(cache.stats().entries, 0);
        cache.live.store(true, Ordering::Release);
        cache.insert("post:{p2}", b"X".to_vec(), Value::Int(1), in_flight);
        assert_eq!(raw(cache.get("post:{p2}", b"X")), None);
    }

    #[test]
    fn the_cache_stays_within_its_size() {
        let cache = Cache::new(64, Cache::prefixes_for(""));
        cache.live.store(true, Ordering::Release);
        for i in 0..10_000 {
            let key = format!("post:{{p{i}}}");
            let ticket = cache.ticket(&key).unwrap();
            cache.insert(&key, b"X".to_vec(), Value::Int(i), ticket);
        }
        assert!(cache.stats().entries <= 64, "{:?}", cache.stats());
    }
}
