//! The API's own rate limiter: a middleware in front of every `/v1` route.
//!
//! Who is limited: the session user when the request carries a valid session token
//! (so one user's limit is shared by all their sessions), else the client address
//! ([`ClientIp`]: behind a trusted proxy, the forwarded one). Finding the user of a
//! token costs an `HGET user:{id}:session:{…} user_id`; a small in-process cache (30 s)
//! saves it on repeat requests, so a limited request normally costs one extra round
//! trip: the `gcra.lua` call. The cache only picks the bucket, never grants access:
//! authentication still happens in the handler.
//!
//! The algorithm is GCRA (`lua/gcra.lua`): one small string per client (the
//! theoretical arrival time), one script call per request, at most `AGORA_RATE_LIMIT`
//! requests at once and that many per window sustained. The sliding-window log it
//! replaced kept a sorted set of up to `limit` members per client (tens of KB each at
//! the default 600) and cost 35-40% of a simple GET; `rate_limit.lua` still serves
//! `POST /v1/rate-limits/check`.
//!
//! A busy client's budget is **leased** in small chunks: when a client sent a request in
//! the last second and no per-endpoint quota applies, the script grants up to
//! [`MAX_LEASE`] units (at most 2% of the limit, never more than the bucket holds),
//! all charged in Redis at once, and this instance spends them locally for up to
//! [`LEASE_TTL`]. Leased units are counted like any other, so leasing never admits more
//! than the bucket allows; a unit may be *spent* up to 100 ms after it was charged, so
//! over any window a client can get at most `limit × (1 + 100 ms / window)` requests
//! (601 instead of 600 per minute at the defaults). Units a lease did not spend are
//! lost until the bucket refills: with N instances a client can be refused up to
//! N × (lease − 1) requests early. Clients with small limits (under 100) never lease.
//!
//! A client that was refused is refused again **locally**, without asking Redis, until
//! its `Retry-After` has passed ([`Refused`], a bounded map). That is exact, not an
//! approximation: GCRA's state only moves forward, so no request of that client can be
//! admitted before that instant by any instance; a client hammering a 429 costs Redis
//! nothing.
//!
//! When Redis is unavailable (down, refusing, timing out) the limiter answers 503 at
//! once: every `/v1` route needs Redis, so letting the request through only made it
//! wait for a second (and third) Redis timeout in the handler before the same 503 (4-6
//! s with Redis stopped; now at most one timeout). Health, readiness, metrics and docs
//! are exempt and keep answering. Any other limiter error (a bug, an unexpected reply)
//! lets the request through (fails open) with a warning.
//!
//! Hourly quotas count only requests that succeed: a 2xx that is not an idempotent
//! replay (`Idempotent-Replayed: true`). The unit is *reserved* by `rate_limit.lua`
//! atomically with the decision, before the handler runs, so concurrent requests can
//! never together pass a quota (no over-admission); when the answer is not a success,
//! or the request never finishes (timeout, client gone), the unit is given back
//! (`refund_quota.lua`). The price of exactness: while requests that will fail are in
//! flight, their reserved units can make a request near the quota get a 429 it would
//! not have got a moment later (at most one unit per request in flight).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use redis::AsyncCommands;

use super::quotas;
use super::repo::{self, QuotaUse, Rejection};
use crate::app::AppState;
use crate::error::AppError;
use crate::extract::{ClientIp, session_token};
use crate::sessions::token;
use crate::time;

/// How long a token → user mapping is trusted for picking a bucket.
const CACHE_TTL: Duration = Duration::from_secs(30);
/// Entries kept before the cache is cleared (bounds memory under token churn).
const CACHE_CAPACITY: usize = 50_000;
/// Refused clients remembered at most (expired ones are dropped first when full).
const REFUSED_CAPACITY: usize = 100_000;
/// Most units one lease takes from a client's bucket.
pub const MAX_LEASE: u64 = 32;
/// A lease takes at most this fraction of the limit (1/50: 2%).
const LEASE_FRACTION: u64 = 50;
/// How long leased units may be spent after Redis charged them.
pub const LEASE_TTL: Duration = Duration::from_millis(100);
/// A client counts as busy (and leases) if it leased within this.
const BUSY: Duration = Duration::from_secs(1);
/// Leases remembered at most.
const LEASES_CAPACITY: usize = 100_000;

/// Units of one client's budget leased from Redis, spent locally.
struct Lease {
    units: u64,
    /// Redis's `remaining` after the lease was charged.
    remaining: u64,
    full_at: Instant,
    until: Instant,
    leased_at: Instant,
}

/// The leases of this instance, by limiter key.
#[derive(Default)]
pub struct Leases {
    by_key: HashMap<String, Lease>,
}

impl Leases {
    /// Spends one leased unit of `key`: (remaining, time until the bucket is full).
    fn spend(&mut self, key: &str, now: Instant) -> Option<(u64, Duration)> {
        let lease = self.by_key.get_mut(key)?;
        if lease.units == 0 || lease.until <= now {
            return None;
        }
        lease.units -= 1;
        Some((
            lease.remaining + lease.units,
            lease.full_at.saturating_duration_since(now),
        ))
    }

    /// How many units to ask for: a lease for a busy client, else just the one.
    fn wanted(&self, key: &str, limit: u64, now: Instant) -> u64 {
        let busy = self
            .by_key
            .get(key)
            .is_some_and(|lease| now.duration_since(lease.leased_at) < BUSY);
        if busy {
            (limit / LEASE_FRACTION).clamp(1, MAX_LEASE)
        } else {
            1
        }
    }

    fn record(&mut self, key: String, lease: Lease) {
        if self.by_key.len() >= LEASES_CAPACITY && !self.by_key.contains_key(&key) {
            let now = Instant::now();
            self.by_key
                .retain(|_, l| now.duration_since(l.leased_at) < BUSY);
            if self.by_key.len() >= LEASES_CAPACITY {
                self.by_key.clear();
            }
        }
        self.by_key.insert(key, lease);
    }
}

/// Clients refused by the window, each until the instant its `Retry-After` ends, with
/// the instant its bucket is full again (for `RateLimit-Reset`).
#[derive(Default)]
pub struct Refused {
    until: HashMap<String, (Instant, Instant)>,
}

impl Refused {
    /// When `key` is still refused: (time left until it may retry, time until its
    /// bucket is full).
    fn check(&mut self, key: &str, now: Instant) -> Option<(Duration, Duration)> {
        let (retry_at, full_at) = *self.until.get(key)?;
        if retry_at <= now {
            self.until.remove(key);
            return None;
        }
        Some((retry_at - now, full_at.saturating_duration_since(now)))
    }

    fn refuse(&mut self, key: String, retry_at: Instant, full_at: Instant) {
        if self.until.len() >= REFUSED_CAPACITY {
            let now = Instant::now();
            self.until.retain(|_, (until, _)| *until > now);
            if self.until.len() >= REFUSED_CAPACITY {
                self.until.clear();
            }
        }
        self.until.insert(key, (retry_at, full_at));
    }
}

/// Routes the limiter never counts: probes, metrics and docs.
fn exempt(route: &str) -> bool {
    matches!(route, "/healthz" | "/readyz" | "/metrics" | "/openapi.json")
        || route.starts_with("/docs")
}

/// State of the limiter middleware.
#[derive(Clone)]
pub struct ApiLimiter {
    app: AppState,
    users: Arc<Mutex<HashMap<String, (String, Instant)>>>,
    refused: Arc<Mutex<Refused>>,
    leases: Arc<Mutex<Leases>>,
}

impl ApiLimiter {
    pub fn new(app: AppState) -> ApiLimiter {
        ApiLimiter {
            app,
            users: Arc::default(),
            refused: Arc::default(),
            leases: Arc::default(),
        }
    }

    /// The user id behind a token: cache, else `HGET user:{id}:session:{sha} user_id`
    /// (the id in the token counts only once its session is found: a forged token
    /// naming someone else must not spend their budget). Redis being unavailable is an
    /// error (the request is answered 503 at once); any other failure just means "no
    /// user" (the client's IP is limited instead).
    async fn user_of(&self, session: &token::SessionRef) -> Result<Option<String>, AppError> {
        let token_hash = session.id.as_str();
        if let Ok(users) = self.users.lock()
            && let Some((user, at)) = users.get(token_hash)
            && at.elapsed() < CACHE_TTL
        {
            return Ok(Some(user.clone()));
        }
        let redis = &self.app.redis;
        let user: Option<String> = match redis
            .conn()
            .hget(redis.keys.session(&session.user_id, token_hash), "user_id")
            .await
        {
            Ok(user) => user,
            Err(err) if crate::redis::is_unavailable(&err) => return Err(err.into()),
            Err(_) => None,
        };
        if let (Some(user), Ok(mut users)) = (&user, self.users.lock()) {
            if users.len() >= CACHE_CAPACITY {
                users.clear();
            }
            users.insert(token_hash.to_string(), (user.clone(), Instant::now()));
        }
        Ok(user)
    }
}

/// The middleware: 429 problem+json when over the limit, RateLimit headers always.
pub async fn limit(State(limiter): State<ApiLimiter>, request: Request, next: Next) -> Response {
    let per_minute = limiter.app.settings.rate_limit as u64;
    let window_ms = limiter.app.settings.rate_limit_window_ms.max(1);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    if per_minute == 0 || exempt(&route) {
        return next.run(request).await;
    }

    let (parts, body) = request.into_parts();
    let user = match session_token(&parts).and_then(|t| token::parse(&t)) {
        Some(session) => match limiter.user_of(&session).await {
            Ok(user) => user,
            Err(unavailable) => return unavailable.into_response(),
        },
        None => None,
    };
    let request = Request::from_parts(parts, body);
    let redis = &limiter.app.redis;
    let endpoint = format!("{} {route}", request.method());
    let (window_key, quota) = match &user {
        Some(user) => {
            let (hour, ms_left_in_hour) = quotas::current_hour(time::unix_ms(time::now()));
            let quota = quotas::quota_for(&endpoint).map(|limit| QuotaUse {
                key: redis.keys.user_quotas(user, hour),
                endpoint: &endpoint,
                limit,
                ms_left_in_hour,
            });
            (redis.keys.rate_limit_user(user), quota)
        }
        None => {
            let ClientIp(ip) = ClientIp::of(
                request.extensions(),
                request.headers(),
                &limiter.app.settings.trusted_proxies,
            );
            let ip = if ip.is_empty() { "unknown".into() } else { ip };
            (redis.keys.rate_limit_ip(&ip), None)
        }
    };

    // Refused a moment ago: refused again without asking Redis.
    let still_refused = limiter
        .refused
        .lock()
        .ok()
        .and_then(|mut refused| refused.check(&window_key, Instant::now()));
    if let Some((retry, full)) = still_refused {
        let mut response = window_refusal(per_minute, window_ms, retry.as_millis() as u64);
        set_headers(
            response.headers_mut(),
            per_minute,
            0,
            full.as_millis() as u64,
        );
        return response;
    }

    // A unit leased earlier (never with a quota: quota units are reserved one by one).
    let now = Instant::now();
    if quota.is_none() {
        let leased = limiter
            .leases
            .lock()
            .ok()
            .and_then(|mut leases| leases.spend(&window_key, now));
        if let Some((remaining, full)) = leased {
            let mut response = next.run(request).await;
            set_headers(
                response.headers_mut(),
                per_minute,
                remaining,
                full.as_millis() as u64,
            );
            return response;
        }
    }
    let quota_free = quota.is_none();
    let wanted = match (&quota, limiter.leases.lock()) {
        (None, Ok(leases)) => leases.wanted(&window_key, per_minute, now),
        _ => 1,
    };

    let reserved = quota.as_ref().map(|q| Reservation {
        redis: redis.clone(),
        key: q.key.clone(),
        endpoint: q.endpoint.to_string(),
    });
    let bucket = window_key.clone();
    let decision = match repo::gcra(redis, window_key, per_minute, window_ms, wanted, quota).await {
        Ok(decision) => decision,
        Err(unavailable @ AppError::Unavailable(_)) => return unavailable.into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "rate limiter unavailable; letting the request through");
            return next.run(request).await;
        }
    };
    let (decision, rejection, granted) = decision;
    if rejection.is_none()
        && quota_free
        && let Ok(mut leases) = limiter.leases.lock()
    {
        // Also for a single unit: it marks the client busy, so its next request leases.
        leases.record(
            bucket.clone(),
            Lease {
                units: granted.saturating_sub(1),
                remaining: decision.remaining,
                full_at: now + Duration::from_millis(decision.reset_ms),
                until: now + LEASE_TTL,
                leased_at: now,
            },
        );
    }
    let remaining = decision.remaining + granted.saturating_sub(1);
    let mut response = match rejection {
        None => {
            // The script reserved a quota unit; hold it until the answer is known.
            let mut guard = RefundOnDrop(reserved);
            let response = next.run(request).await;
            if let Some(reservation) = guard.0.take()
                && !uses_quota(&response)
            {
                reservation.refund().await;
            }
            response
        }
        Some(Rejection::Window) => {
            if decision.retry_after_ms != u64::MAX
                && let Ok(mut refused) = limiter.refused.lock()
            {
                let now = Instant::now();
                refused.refuse(
                    bucket,
                    now + Duration::from_millis(decision.retry_after_ms),
                    now + Duration::from_millis(decision.reset_ms),
                );
            }
            window_refusal(per_minute, window_ms, decision.retry_after_ms)
        }
        Some(Rejection::Quota) => AppError::RateLimited {
            retry_after_secs: decision.retry_after_ms.div_ceil(1000).max(1),
            detail: format!("The hourly quota of {endpoint} is used up."),
        }
        .into_response(),
    };
    set_headers(
        response.headers_mut(),
        per_minute,
        remaining,
        decision.reset_ms,
    );
    response
}

/// The 429 of a client over its rate (its `RateLimit-*` headers are added after).
fn window_refusal(limit: u64, window_ms: u64, retry_after_ms: u64) -> Response {
    AppError::RateLimited {
        retry_after_secs: retry_after_ms.div_ceil(1000).max(1),
        detail: format!("More than {limit} requests in {window_ms} ms."),
    }
    .into_response()
}

/// Whether an answer uses its quota unit: a success that is not an idempotent replay.
fn uses_quota(response: &Response) -> bool {
    response.status().is_success()
        && response
            .headers()
            .get("idempotent-replayed")
            .is_none_or(|v| v.as_bytes() != b"true")
}

/// A quota unit reserved for a request in flight.
struct Reservation {
    redis: crate::redis::Redis,
    key: String,
    endpoint: String,
}

impl Reservation {
    async fn refund(self) {
        if let Err(err) = repo::refund_quota(&self.redis, &self.key, &self.endpoint, 1).await {
            tracing::warn!(error = %err, "could not give back a quota unit");
        }
    }
}

/// Gives the reserved unit back when the request is dropped before it answered (the
/// request timeout fired, or the client went away): it did not succeed.
struct RefundOnDrop(Option<Reservation>);

impl Drop for RefundOnDrop {
    fn drop(&mut self) {
        if let Some(reservation) = self.0.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(reservation.refund());
        }
    }
}

/// `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds, rounded up).
fn set_headers(headers: &mut HeaderMap, limit: u64, remaining: u64, reset_ms: u64) {
    headers.insert("ratelimit-limit", HeaderValue::from(limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(remaining));
    headers.insert(
        "ratelimit-reset",
        HeaderValue::from(reset_ms.div_ceil(1000)),
    );
}
