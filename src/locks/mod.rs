//! Locks: `SET lock:{resource} <token> NX PX <ttl>` with fencing tokens (seed 001's
//! distributed lock, made safe).
//!
//! SET NX PX is the single-node lock: atomic acquire, and the TTL frees a lock whose
//! holder died. Two things seed 001 leaves open are closed here: release and extend are
//! compare-and-act scripts, so a holder whose lock expired and was taken by someone
//! else can never free or prolong the new holder's lock; and every acquisition hands
//! out a **fencing token** from a counter in the lock's slot, incremented by the same
//! script, so tokens strictly increase per resource and a storage system can reject
//! the writes of a holder that was paused past its TTL (Kleppmann's fencing).
//!
//! Anyone may lock any resource name, so the counter cannot be durable (one key per
//! name ever used, forever). It expires `AGORA_LOCK_FENCE_RETENTION_SECS` (default 7
//! days, at least an hour, against locks of at most 10 minutes) after the last acquire
//! or extend. A counter that is gone does not restart at 1, which would hand a paused
//! holder's old token to a new holder: it restarts at the Redis clock in microseconds,
//! larger than every token the old counter gave (those never ran ahead of the clock),
//! so tokens strictly increase for as long as anyone could present one.
//!
//! This is a lock on one Redis primary (or one cluster shard): it does not survive a
//! failover that loses the acknowledged SET. Fencing tokens are what keeps the data
//! safe in that case too.

mod handlers;
pub mod model;
pub mod repo;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(
        handlers::acquire_lock,
        handlers::extend_lock,
        handlers::release_lock
    ))
}
