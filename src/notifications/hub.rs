//! The per-process hub: one Redis subscriber connection, many SSE clients.
//!
//! The subscriber connection is opened on first use, in RESP3 so pushes arrive on a
//! channel: a `ConnectionManager` with automatic resubscription on one node, a cluster
//! connection (which resubscribes by itself) on a cluster. A dispatcher task hands each
//! message to the `broadcast` sender of its channel; each SSE client holds a receiver
//! and a [`Listener`] guard whose drop unsubscribes the channel when it was the last.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{IntoConnectionInfo, ProtocolVersion, PushInfo, PushKind};
use tokio::sync::{OnceCell, broadcast, mpsc};

use crate::redis::{Redis, Topology};

/// Messages buffered per channel for a slow client before it skips ahead.
const CLIENT_BUFFER: usize = 64;

/// The subscriber connection, standalone or cluster.
#[derive(Clone)]
enum Subscriber {
    Standalone(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Subscriber {
    async fn subscribe(&self, channel: &str) -> redis::RedisResult<()> {
        match self.clone() {
            Subscriber::Standalone(mut c) => c.subscribe(channel).await,
            Subscriber::Cluster(mut c) => c.ssubscribe(channel).await,
        }
    }

    async fn unsubscribe(&self, channel: &str) -> redis::RedisResult<()> {
        match self.clone() {
            Subscriber::Standalone(mut c) => c.unsubscribe(channel).await,
            Subscriber::Cluster(mut c) => c.sunsubscribe(channel).await,
        }
    }
}

struct Channel {
    sender: broadcast::Sender<String>,
    listeners: usize,
}

struct Inner {
    redis: Redis,
    subscriber: OnceCell<Subscriber>,
    channels: Mutex<HashMap<String, Channel>>,
}

/// Cheap to clone; one per process (in `AppState`).
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

impl Hub {
    pub fn new(redis: Redis) -> Hub {
        Hub {
            inner: Arc::new(Inner {
                redis,
                subscriber: OnceCell::new(),
                channels: Mutex::default(),
            }),
        }
    }

    /// Starts listening to `user_id`'s notifications. The subscription is confirmed by
    /// Redis before this returns, so nothing published afterwards is missed. `None`
    /// when the user already has `max_listeners` streams open in this process.
    pub async fn listen(
        &self,
        user_id: &str,
        max_listeners: usize,
    ) -> anyhow::Result<Option<Listener>> {
        let channel = self.inner.redis.keys.notifications(user_id);
        let subscriber = self.subscriber().await?;
        let (receiver, first) = {
            let mut channels = self.inner.channels.lock().expect("hub lock");
            if channels
                .get(&channel)
                .is_some_and(|entry| entry.listeners >= max_listeners)
            {
                return Ok(None);
            }
            let entry = channels.entry(channel.clone()).or_insert_with(|| Channel {
                sender: broadcast::channel(CLIENT_BUFFER).0,
                listeners: 0,
            });
            entry.listeners += 1;
            (entry.sender.subscribe(), entry.listeners == 1)
        };
        let listener = Listener {
            hub: self.clone(),
            channel: channel.clone(),
            receiver,
        };
        // Subscribing again is harmless, so every listener confirms the subscription:
        // a second client must not race ahead of the first one's SUBSCRIBE.
        if let Err(err) = subscriber.subscribe(&channel).await {
            drop(listener);
            return Err(err.into());
        }
        if first {
            tracing::debug!(channel, "subscribed");
        }
        Ok(Some(listener))
    }

    /// The process's subscriber connection, opened on first use.
    async fn subscriber(&self) -> anyhow::Result<Subscriber> {
        let inner = &self.inner;
        inner
            .subscriber
            .get_or_try_init(|| async {
                let (pushes, received) = mpsc::unbounded_channel();
                let subscriber = match inner.redis.topology() {
                    Topology::Standalone(url) => {
                        let info = url.as_str().into_connection_info()?;
                        let settings = info
                            .redis_settings()
                            .clone()
                            .set_protocol(ProtocolVersion::RESP3);
                        let client = redis::Client::open(info.set_redis_settings(settings))?;
                        let config = ConnectionManagerConfig::new()
                            .set_push_sender(pushes)
                            .set_automatic_resubscription();
                        Subscriber::Standalone(
                            ConnectionManager::new_with_config(client, config).await?,
                        )
                    }
                    Topology::Cluster(urls) => {
                        let client = ClusterClientBuilder::new(urls.clone())
                            .use_protocol(ProtocolVersion::RESP3)
                            .push_sender(pushes)
                            .build()?;
                        Subscriber::Cluster(client.get_async_connection().await?)
                    }
                };
                tokio::spawn(dispatch(Arc::downgrade(&self.inner), received));
                Ok::<_, anyhow::Error>(subscriber)
            })
            .await
            .cloned()
    }

    /// A listener left: unsubscribe when it was the channel's last.
    fn leave(&self, channel: &str) {
        let last = {
            let mut channels = self.inner.channels.lock().expect("hub lock");
            match channels.get_mut(channel) {
                Some(entry) if entry.listeners > 1 => {
                    entry.listeners -= 1;
                    false
                }
                Some(_) => {
                    channels.remove(channel);
                    true
                }
                None => false,
            }
        };
        if let (true, Some(subscriber)) = (last, self.inner.subscriber.get().cloned()) {
            let hub = self.clone();
            let channel = channel.to_string();
            tokio::spawn(async move {
                // A listener may have joined meanwhile; only unsubscribe if still unused.
                let unused = !hub
                    .inner
                    .channels
                    .lock()
                    .expect("hub lock")
                    .contains_key(&channel);
                if unused && let Err(err) = subscriber.unsubscribe(&channel).await {
                    tracing::warn!(error = %err, channel, "unsubscribe failed");
                }
            });
        }
    }

    /// Channels with at least one listener in this process.
    pub fn channels(&self) -> usize {
        self.inner.channels.lock().expect("hub lock").len()
    }
}

/// Moves each pushed message to its channel's listeners until the hub is gone.
async fn dispatch(hub: std::sync::Weak<Inner>, mut received: mpsc::UnboundedReceiver<PushInfo>) {
    while let Some(push) = received.recv().await {
        if !matches!(push.kind, PushKind::Message | PushKind::SMessage) {
            continue;
        }
        let Some(inner) = hub.upgrade() else { break };
        let mut data = push.data.into_iter();
        let (Some(channel), Some(payload)) = (data.next(), data.next()) else {
            continue;
        };
        let (Ok(channel), Ok(payload)) = (
            redis::from_redis_value::<String>(channel),
            redis::from_redis_value::<String>(payload),
        ) else {
            continue;
        };
        if let Some(entry) = inner.channels.lock().expect("hub lock").get(&channel) {
            let _ = entry.sender.send(payload);
        }
    }
}

/// One SSE client's subscription; dropping it leaves the channel.
pub struct Listener {
    hub: Hub,
    channel: String,
    pub receiver: broadcast::Receiver<String>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.hub.leave(&self.channel);
    }
}
