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
    /// One-shot data migrations; each is idempotent (running it again changes nothing).
    Migrate {
        #[command(subcommand)]
        command: MigrateCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Move the username and e-mail indexes from their old single hashes
    /// (`users:{identity}:by_*`) into the bucketed hashes; safe while serving.
    Identity,
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

    /// A session's sliding refresh (last_activity and idle TTL) is written at most once
    /// per this many seconds; other authenticated requests only read. The idle expiry
    /// is therefore exact to within this interval. 0 refreshes on every request.
    #[arg(
        long,
        env = "AGORA_SESSION_REFRESH_SECS",
        default_value_t = 60,
        global = true
    )]
    pub session_refresh_secs: u64,

    /// Most sessions one user may hold at once; a login beyond it ends the oldest.
    #[arg(
        long,
        env = "AGORA_MAX_SESSIONS_PER_USER",
        default_value_t = 100,
        global = true
    )]
    pub max_sessions_per_user: u64,

    /// Failed logins of one account (any client) per throttle window before further
    /// attempts get 429 until the window ends.
    #[arg(
        long,
        env = "AGORA_LOGIN_MAX_FAILURES",
        default_value_t = 10,
        global = true
    )]
    pub login_max_failures: u64,

    /// Failed logins from one client address (any account) per throttle window before
    /// its further attempts get 429.
    #[arg(
        long,
        env = "AGORA_LOGIN_MAX_FAILURES_PER_IP",
        default_value_t = 100,
        global = true
    )]
    pub login_max_failures_per_ip: u64,

    /// The login throttle's window, in seconds (failures are forgotten after it).
    #[arg(
        long,
        env = "AGORA_LOGIN_THROTTLE_SECS",
        default_value_t = 900,
        global = true
    )]
    pub login_throttle_secs: u64,

    /// Most live-notification streams (SSE) one user may hold open per process.
    #[arg(
        long,
        env = "AGORA_SSE_MAX_STREAMS_PER_USER",
        default_value_t = 5,
        global = true
    )]
    pub sse_max_streams_per_user: usize,

    /// How often an open notification stream re-checks its session (seconds): a
    /// revoked or expired session's stream ends within this.
    #[arg(
        long,
        env = "AGORA_SSE_SESSION_CHECK_SECS",
        default_value_t = 2,
        global = true
    )]
    pub sse_session_check_secs: u64,

    /// Longest time one HTTP request may take before it is answered with 503.
    #[arg(
        long,
        env = "AGORA_REQUEST_TIMEOUT_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub request_timeout_ms: u64,

    /// Longest wait for a complete request head (request line and headers): from the
    /// connection's opening, and on a keep-alive connection from the end of the last
    /// response (so it is also the keep-alive idle timeout). The connection is closed
    /// after it.
    #[arg(
        long,
        env = "AGORA_HEADER_READ_TIMEOUT_MS",
        default_value_t = 10_000,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub header_read_timeout_ms: u64,

    /// A response the client stops reading (no byte accepted for this long, socket
    /// buffers full) closes its connection.
    #[arg(
        long,
        env = "AGORA_WRITE_STALL_TIMEOUT_MS",
        default_value_t = 30_000,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub write_stall_timeout_ms: u64,

    /// Client connections served at once; over it, new connections wait in the listen
    /// backlog until one closes. Keep it below the open-file limit (`ulimit -n`).
    #[arg(
        long,
        env = "AGORA_MAX_CONNECTIONS",
        default_value_t = 512,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub max_connections: u32,

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

    /// Comma-separated origins (`https://app.example.com`) besides the API's own from
    /// which a request authenticated by the session cookie may change state (CSRF
    /// defence); Bearer-authenticated requests are not concerned.
    #[arg(
        long,
        env = "AGORA_ALLOWED_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub allowed_origins: Vec<String>,

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

    /// Entries (command replies) of the client-side cache of hot reads: user, post,
    /// product and session hashes and follow counts, invalidated by Redis (RESP3
    /// client tracking). About 1 KB each at most; 0 turns the cache off.
    #[arg(
        long,
        env = "AGORA_CACHE_ENTRIES",
        default_value_t = 50_000,
        value_parser = clap::value_parser!(u64).range(0..=10_000_000),
        global = true
    )]
    pub cache_entries: u64,

    /// Comma-separated addresses or CIDR ranges of the reverse proxies in front of
    /// Agora. Only a connection from one of them has its `Forwarded` /
    /// `X-Forwarded-For` header believed (the rightmost address that is not a trusted
    /// proxy is the client); from anyone else the header is ignored. Empty: the
    /// connection's own address is the client.
    #[arg(
        long,
        env = "AGORA_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_parser = crate::client_ip::parse_proxy,
        global = true
    )]
    pub trusted_proxies: Vec<ipnet::IpNet>,
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

    pub fn session_refresh(&self) -> Duration {
        Duration::from_secs(self.session_refresh_secs)
    }

    pub fn login_throttle(&self) -> Duration {
        Duration::from_secs(self.login_throttle_secs.max(1))
    }

    pub fn sse_check_interval(&self) -> Duration {
        Duration::from_secs(self.sse_session_check_secs.max(1))
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.header_read_timeout_ms)
    }

    pub fn write_stall_timeout(&self) -> Duration {
        Duration::from_millis(self.write_stall_timeout_ms)
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
