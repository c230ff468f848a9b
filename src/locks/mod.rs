//! Locks: `SET lock:{resource} <token> NX PX <ttl>` with fencing tokens (seed 001's
//! distributed lock, made safe).
//!
//! SET NX PX is the single-node lock: atomic acquire, and the TTL frees a lock whose
//! holder died. Two things seed 001 leaves open are closed here: release and extend are
//! compare-and-act scripts, so a holder whose lock expired and was taken by someone
//! else can never free or prolong the new holder's lock; and every acquisition hands
//! out a **fencing token** from a counter in the lock's slot, incremented by the same
//! script, so tokens strictly increase per resource and a storage system can reject
//! the writes of a holder that was paused past its TTL (Kleppmann's fencing). The
//! counter is durable on purpose: if it expired, tokens would start again from 1.
//!
//! This is a lock on one Redis primary (or one cluster shard): it does not survive a
//! failover that loses the acknowledged SET. Fencing tokens are what keeps the data
//! safe in that case too.

mod handlers;
pub mod model;
pub mod repo;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(
        handlers::acquire_lock,
        handlers::extend_lock,
        handlers::release_lock
    ))
}
