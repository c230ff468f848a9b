//! What every handler can reach: the Redis handle, the settings, the notification hub.
//!
//! Its own module, below every area: handlers import the state, the application
//! (`app.rs`) imports the handlers' routers, and neither points back up.

use std::sync::Arc;
use std::time::Duration;

use crate::config::Settings;
use crate::redis::{Keys, Redis};

/// What every handler can reach: one `Arc`, so the clone every request makes (axum's
/// `State` extractor clones it) is one counter increment.
#[derive(Clone)]
pub struct AppState(Arc<Parts>);

/// The fields of [`AppState`], reached through it (`state.redis`).
pub struct Parts {
    /// Redis: shared connection, key builder, dedicated-connection pool.
    pub redis: Redis,
    /// The settings the process started with.
    pub settings: Arc<Settings>,
    /// Live notifications: the process's one subscriber connection and its SSE clients.
    pub notifications: crate::notifications::Hub,
}

impl AppState {
    /// Connects to Redis (retrying briefly) and builds the state.
    pub async fn connect(settings: Settings) -> anyhow::Result<AppState> {
        Keys::validate_prefix(&settings.key_prefix).map_err(anyhow::Error::msg)?;
        let keys = Keys::new(settings.key_prefix.clone());
        let redis = Redis::connect_with_retry(
            &settings.topology(),
            keys,
            Duration::from_secs(settings.redis_startup_secs),
        )
        .await?
        .with_cache(settings.cache_entries as usize);
        Ok(AppState(Arc::new(Parts {
            notifications: crate::notifications::Hub::new(redis.clone()),
            redis,
            settings: Arc::new(settings),
        })))
    }
}

impl std::ops::Deref for AppState {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}
