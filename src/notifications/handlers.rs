//! The SSE endpoint.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::hub::Listener;
use crate::error::{AppError, AppResult, responses};
use crate::extract::AuthUser;
use crate::redis::Redis;
use crate::sessions::{self, token::SessionRef};
use crate::state::AppState;

/// How often an idle stream sends a comment line, so proxies keep it open.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// My live notifications
///
/// Server-Sent Events. The stream opens with `event: ready` once the subscription is
/// active; each notification is `event: notification` with a JSON `data` line
/// (`{type, data, created_at}`); a `: heartbeat` comment comes every 15 s. Events sent
/// while no stream is open are not stored (pub/sub is live only).
///
/// The stream lives only as long as its session: it is checked every
/// `AGORA_SSE_SESSION_CHECK_SECS` (2 s by default), and when the session has been
/// revoked (logout, revoke-all, password change, account deletion) or has expired the
/// stream sends `event: end` (`{"reason": "session_ended"}`) and closes. It also ends
/// at the session's absolute expiry. A user may hold `AGORA_SSE_MAX_STREAMS_PER_USER`
/// streams (5 by default) per process; one more is 429.
///
/// Redis: `SUBSCRIBE notifications:{user_id}` (`SSUBSCRIBE` on a cluster) on the
/// process's single subscriber connection, shared by all clients of the process;
/// `EXISTS user:{id}:session:{sha256}` every check.
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
    let max = state.settings.sse_max_streams_per_user.max(1);
    let listener = state
        .notifications
        .listen(&auth.user_id, max)
        .await
        .map_err(|err| match err.downcast::<redis::RedisError>() {
            Ok(err) => AppError::from(err),
            Err(err) => AppError::Internal(err),
        })?
        .ok_or_else(|| AppError::RateLimited {
            retry_after_secs: 1,
            detail: format!("At most {max} notification streams per user are open at once."),
        })?;
    let ready = futures::stream::once(async { Ok(Event::default().event("ready").data("{}")) });
    let watch = SessionWatch {
        listener,
        redis: state.redis.clone(),
        session: auth.session_ref.clone(),
        check: tokio::time::interval_at(
            tokio::time::Instant::now() + state.settings.sse_check_interval(),
            state.settings.sse_check_interval(),
        ),
        ends_at: tokio::time::Instant::now()
            + Duration::from_millis(
                (auth.session.expires_at_ms - crate::time::unix_ms(crate::time::now())).max(0)
                    as u64,
            ),
        ended: false,
    };
    let notifications = futures::stream::unfold(watch, |mut watch: SessionWatch| async move {
        if watch.ended {
            return None;
        }
        let event = watch.next_event().await;
        Some((Ok(event), watch))
    });
    Ok(Sse::new(futures::StreamExt::chain(ready, notifications))
        .keep_alive(KeepAlive::new().interval(HEARTBEAT).text("heartbeat")))
}

/// A stream's subscription, tied to the session that opened it.
struct SessionWatch {
    listener: Listener,
    redis: Redis,
    session: SessionRef,
    check: tokio::time::Interval,
    /// The session's absolute expiry: the stream ends then at the latest.
    ends_at: tokio::time::Instant,
    ended: bool,
}

impl SessionWatch {
    /// The next notification, or the `end` event once the session is gone.
    async fn next_event(&mut self) -> Event {
        loop {
            tokio::select! {
                received = self.listener.receiver.recv() => match received {
                    Ok(payload) => return Event::default().event("notification").data(payload),
                    Err(RecvError::Lagged(skipped)) => {
                        tracing::warn!(skipped, "slow SSE client skipped notifications");
                    }
                    Err(RecvError::Closed) => return self.end("closed"),
                },
                _ = self.check.tick() => {
                    // A Redis error is not a revocation: keep streaming, check again.
                    if let Ok(false) = sessions::repo::is_live(&self.redis, &self.session).await {
                        return self.end("session_ended");
                    }
                }
                _ = tokio::time::sleep_until(self.ends_at) => return self.end("session_ended"),
            }
        }
    }

    fn end(&mut self, reason: &str) -> Event {
        self.ended = true;
        Event::default()
            .event("end")
            .data(serde_json::json!({ "reason": reason }).to_string())
    }
}
