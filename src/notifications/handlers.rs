//! The SSE endpoint.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::hub::Listener;
use crate::app::AppState;
use crate::error::{AppError, AppResult, responses};
use crate::extract::AuthUser;

/// How often an idle stream sends a comment line, so proxies keep it open.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// My live notifications
///
/// Server-Sent Events. The stream opens with `event: ready` once the subscription is
/// active; each notification is `event: notification` with a JSON `data` line
/// (`{type, data, created_at}`); a `: heartbeat` comment comes every 15 s. Events sent
/// while no stream is open are not stored (pub/sub is live only).
///
/// Redis: `SUBSCRIBE notifications:{user_id}` (`SSUBSCRIBE` on a cluster) on the
/// process's single subscriber connection, shared by all clients of the process.
#[utoipa::path(get, path = "/v1/users/me/notifications/stream", tag = "notifications",
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "An SSE stream of notifications", content_type = "text/event-stream", body = String),
        responses::Unauthorized, responses::Unavailable
    ))]
pub async fn stream(
    State(state): State<AppState>,
    auth: AuthUser,
) -> AppResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let listener = state
        .notifications
        .listen(&auth.user_id)
        .await
        .map_err(|err| match err.downcast::<redis::RedisError>() {
            Ok(err) => AppError::from(err),
            Err(err) => AppError::Internal(err),
        })?;
    let ready = futures::stream::once(async { Ok(Event::default().event("ready").data("{}")) });
    let notifications = futures::stream::unfold(listener, |mut listener: Listener| async move {
        loop {
            match listener.receiver.recv().await {
                Ok(payload) => {
                    let event = Event::default().event("notification").data(payload);
                    return Some((Ok(event), listener));
                }
                Err(RecvError::Lagged(skipped)) => {
                    tracing::warn!(skipped, "slow SSE client skipped notifications");
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(futures::StreamExt::chain(ready, notifications))
        .keep_alive(KeepAlive::new().interval(HEARTBEAT).text("heartbeat")))
}
