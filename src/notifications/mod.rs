//! Live notifications: Redis pub/sub fanned out to Server-Sent Events.
//!
//! Pub/sub is fire-and-forget: a message reaches whoever is subscribed at that moment
//! and is then gone. That is right for live notifications ("someone followed you",
//! "your order shipped") and wrong for anything that must not be lost, which goes
//! through streams instead (the order events). Each user has a channel
//! (`notifications:{user_id}`); any process may publish to it.
//!
//! Each Agora process holds **one** subscriber connection to Redis, however many
//! browsers are connected: the first SSE client of a user subscribes that user's
//! channel, the last one to leave unsubscribes it, and messages are fanned out to the
//! user's clients in-process ([`hub`]). On a cluster the channels are *sharded*
//! (SSUBSCRIBE / SPUBLISH): a message then travels only to the shard that owns the
//! channel's slot instead of being broadcast across the whole cluster bus.

mod handlers;
pub(crate) mod hub;
mod repo;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::redis::Redis;
use crate::state::AppState;
use crate::time;

pub use hub::Hub;
pub use repo::publish;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(handlers::stream))
}

/// One notification, as sent on the SSE stream (`event: notification`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Notification {
    /// `new_follower`, `order_status`, `comment`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// What it is about (shape depends on `type`).
    pub data: serde_json::Value,
    /// RFC 3339 UTC.
    pub created_at: String,
}

impl Notification {
    pub fn new(kind: &str, data: serde_json::Value) -> Notification {
        Notification {
            kind: kind.to_string(),
            data,
            created_at: time::rfc3339(time::now()),
        }
    }
}

/// Sends a live notification without failing the caller: the write that caused it has
/// already succeeded, and a live notification is best effort by nature (nobody may be
/// listening). A failure is logged.
pub async fn notify(redis: &Redis, user_id: &str, kind: &str, data: serde_json::Value) {
    if let Err(err) = publish(redis, user_id, &Notification::new(kind, data)).await {
        tracing::warn!(error = %err, user_id, kind, "live notification not sent");
    }
}
