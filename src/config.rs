//! Command line and settings.
//!
//! Every setting is a flag and an environment variable of the same name (`--redis-url`
//! / `REDIS_URL`); the variable is the default, so the same binary runs from a shell,
//! a Makefile, systemd or docker compose without a config file.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::redis::Topology;

#[derive(Debug, Parser)]
#[command(
    name = "agora",
    version,
    about = "Social and e-commerce HTTP API on Redis"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (background workers run in-process unless --no-workers).
    Serve {
        /// Do not run the background workers in this process.
        #[arg(long)]
        no_workers: bool,
    },
    /// Run only the background workers.
    Worker,
    /// Load `migrations-free-seed/` into Redis; running it twice changes nothing.
    Seed {
        /// Folder holding the seed files.
        #[arg(long, default_value = "migrations-free-seed")]
        dir: std::path::PathBuf,
        /// Write a generated data set instead of the seed files (pipelined; every user's
        /// password is `synthetic-password`); running it twice changes nothing.
        #[arg(long)]
        synthetic: bool,
        /// Synthetic users (`synth1`..`synthN`, ids 1000001..).
        #[arg(long, default_value_t = 1000, requires = "synthetic")]
        users: u64,
        /// Posts per synthetic user.
        #[arg(long, default_value_t = 0, requires = "synthetic")]
        posts_per_user: u64,
        /// Users each synthetic user follows (the next K by number, wrapping).
        #[arg(long, default_value_t = 0, requires = "synthetic")]
        follows_per_user: u64,
        /// Synthetic products (ids 1000001..).
        #[arg(long, default_value_t = 0, requires = "synthetic")]
        products: u64,
        /// Lines in every synthetic user's cart (needs --products).
        #[arg(long, default_value_t = 0, requires = "synthetic")]
        cart_items: u64,
    },
    /// Print the OpenAPI document (JSON) to standard output.
    Openapi,
    /// Administrative tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Give an existing user the admin role.
    Grant {
        /// The user's username.
        username: String,
    },
}

/// Settings shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Listen address of the HTTP API.
    #[arg(
        long,
        env = "AGORA_ADDR",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub addr: SocketAddr,

    /// Standalone Redis URL (redis://, rediss://, redis+unix://).
    #[arg(
        long,
        env = "REDIS_URL",
        default_value = "redis://127.0.0.1:6379",
        global = true
    )]
    pub redis_url: String,

    /// Comma-separated Redis Cluster seed nodes; when set, Agora runs in cluster mode.
    #[arg(long, env = "REDIS_CLUSTER_URLS", value_delimiter = ',', global = true)]
    pub redis_cluster_urls: Vec<String>,

    /// Prefix for every key, to share one Redis between deployments.
    #[arg(long, env = "KEY_PREFIX", default_value = "", global = true)]
    pub key_prefix: String,

    /// API requests per window (default a minute) per client (session user, else IP);
    /// 0 turns the API limiter off.
    #[arg(long, env = "AGORA_RATE_LIMIT", default_value_t = 600, global = true)]
    pub rate_limit: u32,

    /// Window of the API limiter in milliseconds (`AGORA_RATE_LIMIT` counts per window).
    #[arg(
        long,
        env = "AGORA_RATE_LIMIT_WINDOW_MS",
        default_value_t = 60_000,
        global = true
    )]
    pub rate_limit_window_ms: u64,

    /// Log filter (tracing-subscriber EnvFilter syntax).
    #[arg(long, env = "RUST_LOG", default_value = "info", global = true)]
    pub rust_log: String,

    /// Log format: `text` or `json`.
    #[arg(long, env = "AGORA_LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: LogFormat,

    /// Sliding idle timeout of a session, in seconds.
    #[arg(
        long,
        env = "AGORA_SESSION_IDLE_SECS",
        default_value_t = 24 * 3600,
        global = true
    )]
    pub session_idle_secs: u64,

    /// Absolute lifetime of a session, in seconds, however active it is.
    #[arg(
        long,
        env = "AGORA_SESSION_LIFETIME_SECS",
        default_value_t = 30 * 24 * 3600,
        global = true
    )]
    pub session_lifetime_secs: u64,

    /// Longest time one HTTP request may take before it is answered with 503.
    #[arg(
        long,
        env = "AGORA_REQUEST_TIMEOUT_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub request_timeout_ms: u64,

    /// How long start-up keeps retrying an unreachable Redis before exiting non-zero.
    #[arg(
        long,
        env = "AGORA_REDIS_STARTUP_SECS",
        default_value_t = 10,
        global = true
    )]
    pub redis_startup_secs: u64,

    /// Whether the session cookie carries the `Secure` attribute (set it behind HTTPS).
    #[arg(
        long,
        env = "AGORA_SECURE_COOKIES",
        default_value_t = false,
        global = true
    )]
    pub secure_cookies: bool,

    /// Authors with more followers than this are not fanned out on write: their posts
    /// are merged into followers' home feeds at read time (the celebrity hybrid).
    #[arg(
        long,
        env = "AGORA_FANOUT_MAX_FOLLOWERS",
        default_value_t = 10_000,
        global = true
    )]
    pub fanout_max_followers: u64,

    /// Days analytics keys anyone can create are kept: a day's unique-visitor set and
    /// HyperLogLog expire this long after the day ends (visits for older days are
    /// refused), and a page's view counter this long after its last view.
    #[arg(
        long,
        env = "AGORA_ANALYTICS_RETENTION_DAYS",
        default_value_t = 90,
        value_parser = clap::value_parser!(u64).range(1..=36_500),
        global = true
    )]
    pub analytics_retention_days: u64,

    /// Days an experiment assignment is kept after its subject's last assignment call
    /// (every call starts the retention again); a subject not seen for longer is
    /// assigned afresh.
    #[arg(
        long,
        env = "AGORA_ASSIGNMENT_RETENTION_DAYS",
        default_value_t = 90,
        value_parser = clap::value_parser!(u64).range(1..=36_500),
        global = true
    )]
    pub assignment_retention_days: u64,

    /// Days a leaderboard created through the API (and each player's entry on it) is
    /// kept after its last write. Boards that exist without a TTL (the seed's, or one
    /// an operator `PERSIST`ed) are durable and stay.
    #[arg(
        long,
        env = "AGORA_LEADERBOARD_RETENTION_DAYS",
        default_value_t = 90,
        value_parser = clap::value_parser!(u64).range(1..=36_500),
        global = true
    )]
    pub leaderboard_retention_days: u64,

    /// Seconds a lock's fencing counter is kept after the last acquire or extend of
    /// the lock. At least an hour (the longest lock is 10 minutes); a counter that
    /// has expired starts again from the Redis clock in microseconds, so fencing
    /// tokens keep increasing either way.
    #[arg(
        long,
        env = "AGORA_LOCK_FENCE_RETENTION_SECS",
        default_value_t = 7 * 24 * 3600,
        value_parser = clap::value_parser!(u64).range(3600..=315_360_000),
        global = true
    )]
    pub lock_fence_retention_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl Settings {
    /// Settings for tests and embedding: every default, the given Redis.
    pub fn for_redis(topology: &Topology, key_prefix: &str) -> Settings {
        let mut settings = Cli::parse_from(["agora", "openapi"]).settings;
        match topology {
            Topology::Standalone(url) => settings.redis_url = url.clone(),
            Topology::Cluster(urls) => settings.redis_cluster_urls = urls.clone(),
        }
        settings.key_prefix = key_prefix.to_string();
        settings
    }

    pub fn topology(&self) -> Topology {
        if self.redis_cluster_urls.is_empty() {
            Topology::Standalone(self.redis_url.clone())
        } else {
            Topology::Cluster(self.redis_cluster_urls.clone())
        }
    }

    pub fn session_idle(&self) -> Duration {
        Duration::from_secs(self.session_idle_secs)
    }

    pub fn session_lifetime(&self) -> Duration {
        Duration::from_secs(self.session_lifetime_secs)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    pub fn analytics_retention(&self) -> Duration {
        Duration::from_secs(self.analytics_retention_days * 24 * 3600)
    }

    pub fn assignment_retention(&self) -> Duration {
        Duration::from_secs(self.assignment_retention_days * 24 * 3600)
    }

    pub fn leaderboard_retention(&self) -> Duration {
        Duration::from_secs(self.leaderboard_retention_days * 24 * 3600)
    }

    pub fn lock_fence_retention(&self) -> Duration {
        Duration::from_secs(self.lock_fence_retention_secs)
    }
}
