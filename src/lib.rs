//! # Agora
//!
//! An HTTP backend for social and e-commerce features whose only datastore is Redis.
//! Each feature is one classic Redis pattern, done as it should be in production:
//! atomic where tutorials are racy, one round trip where tutorials loop, and
//! cluster-ready (the same code runs on one Redis and on a Redis Cluster).
//!
//! ## Code tour
//!
//! Layers, top to bottom; each calls only the ones below it (the README's "Code tour"
//! has the table, the conventions and the list of places a new area touches).
//!
//! - **HTTP**: [`app`] (the router with its middleware, `run`), [`state`] (`AppState`,
//!   below every area), [`server`] (the accept loop: header-read and write-stall
//!   timeouts, connection cap, graceful drain), [`extract`] (`AppJson`, `AuthUser` and
//!   its one authorization rule `may_act_for`, `AdminUser`, `ValidPath`), [`pagination`]
//!   (`?limit=&cursor=`, cursors, `Page<T>`), [`error`] (one error enum →
//!   problem+json), [`openapi`] (the document's frame; operations come from each area's
//!   `routes!`), [`ops`] (health, readiness, metrics), and each area's `handlers.rs`.
//! - **Account lifecycle**: [`accounts`], above the areas it spans (users, sessions,
//!   social, jobs): registration, login, deletion, rename, password change, admin grant.
//! - **Areas**, one folder each: `mod.rs` says why the area uses the Redis structure it
//!   uses and builds its router; `handlers.rs` parse, authorize, call, respond;
//!   `model.rs` request/response types; `repo.rs` the only code that issues the area's
//!   Redis commands (its module docs list its keys); `service.rs` rules over several
//!   repository calls. Copy [`leaderboards`] to start a new one.
//!   - [`users`]: the user entity: hashes, unique username/e-mail claimed by one script.
//!   - [`sessions`]: hashed tokens, sliding idle TTL in one script, per-user index.
//!   - [`jobs`]: the e-mail list queue and its reliable worker (BLMOVE, leases).
//!   - [`leaderboards`]: a sorted set per board, a hash per player entry, one slot.
//!   - [`rate_limits`]: exact sliding windows in one script; the API limiter (GCRA); quotas.
//!   - [`analytics`]: counters, unique visitors (sets + HyperLogLog), cohorts.
//!   - [`experiments`]: sticky weighted assignment (HSETNX in a script).
//!   - [`app_config`]: the typed `config:app` hash.
//!   - [`notifications`]: pub/sub → SSE through one subscriber connection per process.
//!   - [`admin`]: queue depths, SCAN key browser, MEMORY USAGE (its own repository).
//!   - [`social`]: tags (a set on each side), follows (sorted sets on each side),
//!     posts with likes and comments (denormalized hashes, counters kept by Lua),
//!     home timelines (fan-out on write, celebrities merged on read), activity feeds.
//!   - [`products`]: product hashes, stock changed only by Lua scripts, unique SKU,
//!     catalog and category sorted-set indexes.
//!   - [`carts`]: a hash per user with a TTL refreshed by every write.
//!   - [`orders`]: embedded line items, idempotent crash-safe checkout across slots,
//!     lifecycle scripts, the `events:orders` stream.
//!   - [`locks`]: SET NX PX with compare-and-act scripts and fencing tokens.
//! - **Redis plumbing**: [`redis`] (standalone | cluster behind one type, the
//!   dedicated-connection pool), [`redis::keys`] (every key name), [`redis::scripts`]
//!   (the Lua registry and the one reply convention; scripts live in `lua/`),
//!   [`redis::batch`] (multi-key batches grouped by slot), [`redis::paging`] (the
//!   sorted-set windows pages are read from).
//! - **Process**: [`config`] (flags = env vars), [`telemetry`], [`seed`],
//!   [`workers`] (the billing consumer group, the order sweeper).

pub mod accounts;
pub(crate) mod admin;
pub(crate) mod analytics;
pub mod app;
pub(crate) mod app_config;
pub(crate) mod carts;
pub mod client_ip;
pub mod config;
pub(crate) mod docs;
pub mod edge;
pub mod error;
pub(crate) mod experiments;
pub mod extract;
pub mod jobs;
pub(crate) mod leaderboards;
pub(crate) mod locks;
pub mod notifications;
pub(crate) mod openapi;
pub(crate) mod ops;
pub mod orders;
pub(crate) mod pagination;
pub mod products;
pub mod rate_limits;
pub mod realworld;
pub mod redis;
pub mod seed;
pub(crate) mod server;
pub mod sessions;
pub mod social;
pub mod state;
pub mod telemetry;
pub mod time;
pub mod users;
pub(crate) mod validate;
pub mod workers;
