//! Live notifications in Redis: the only code that publishes to a user's channel.
//!
//! The subscribing side (one connection per process, SUBSCRIBE / SSUBSCRIBE as users
//! come and go) is connection plumbing and stays in [`super::hub`].

use super::Notification;
use crate::error::AppResult;
use crate::redis::Redis;

/// Publishes `notification` to `user_id`'s channel (SPUBLISH on a cluster, PUBLISH on
/// one node). Returns how many subscriber connections received it (0 when nobody is
/// listening: live notifications are not stored).
pub async fn publish(redis: &Redis, user_id: &str, notification: &Notification) -> AppResult<u64> {
    let command = if redis.is_cluster() {
        "SPUBLISH"
    } else {
        "PUBLISH"
    };
    let payload = serde_json::to_string(notification).expect("notifications serialize");
    Ok(redis::cmd(command)
        .arg(redis.keys.notifications(user_id))
        .arg(payload)
        .query_async(&mut redis.conn())
        .await?)
}
