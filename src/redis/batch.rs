//! Multi-key batches that work on one node and on a cluster.
//!
//! A list endpoint reads an index and then N entities; a write may touch keys of many
//! aggregates. On a single node that is one pipeline: one round trip. On a cluster the
//! keys live in different slots, and redis-rs sends an async cluster pipeline to the
//! slot of its first key, failing on any other ("crossed slots"). So [`Batch`] groups
//! the commands by slot, sends one pipeline per slot concurrently, and hands the
//! answers back in the order the commands were added. Repositories never see the
//! difference.

use std::collections::HashMap;

use futures::future::try_join_all;
use redis::{Cmd, RedisResult, Value};

use super::RedisConn;
use super::keys::slot;

/// Commands to run together; each is routed by the key given with it.
#[derive(Default)]
pub struct Batch {
    commands: Vec<(String, Cmd)>,
}

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }

    pub fn len(&self) -> usize {
        self.commands.len()
    }

    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// Adds `cmd`, which operates on `key` (used to pick the slot on a cluster).
    pub fn add(&mut self, key: impl Into<String>, cmd: Cmd) -> &mut Batch {
        self.commands.push((key.into(), cmd));
        self
    }

    /// Runs every command and returns their replies in the order they were added.
    /// One round trip on a single node; one concurrent round trip per slot on a
    /// cluster. Fails as a whole if any command fails.
    pub async fn run(self, conn: &RedisConn) -> RedisResult<Vec<Value>> {
        if self.commands.is_empty() {
            return Ok(Vec::new());
        }
        if !conn.is_cluster() {
            let mut pipe = redis::pipe();
            for (_, cmd) in self.commands {
                pipe.add_command(cmd);
            }
            return pipe.query_async(&mut conn.clone()).await;
        }

        let total = self.commands.len();
        let mut by_slot: HashMap<u16, (Vec<usize>, redis::Pipeline)> = HashMap::new();
        for (index, (key, cmd)) in self.commands.into_iter().enumerate() {
            let (indexes, pipe) = by_slot
                .entry(slot(&key))
                .or_insert_with(|| (Vec::new(), redis::pipe()));
            indexes.push(index);
            pipe.add_command(cmd);
        }
        let replies = try_join_all(by_slot.into_values().map(|(indexes, pipe)| {
            let mut conn = conn.clone();
            async move {
                let values: Vec<Value> = pipe.query_async(&mut conn).await?;
                Ok::<_, redis::RedisError>(indexes.into_iter().zip(values))
            }
        }))
        .await?;

        let mut ordered = vec![Value::Nil; total];
        for (index, value) in replies.into_iter().flatten() {
            ordered[index] = value;
        }
        Ok(ordered)
    }
}
