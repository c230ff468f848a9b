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
use redis::{Cmd, ErrorKind, RedisResult, Script, ScriptInvocation, ServerErrorKind, Value};

use super::RedisConn;
use super::keys::slot;

/// Commands to run together; each is routed by the key given with it.
#[derive(Default, Clone)]
pub struct Batch {
    commands: Vec<(String, Cmd)>,
    /// Scripts invoked with [`Batch::add_script`], to load after a NOSCRIPT.
    scripts: Vec<&'static Script>,
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

    /// Adds an `EVALSHA` of `invocation` (a call of `script`) routed by `key`. A
    /// pipeline cannot load a script half-way, so run such a batch with
    /// [`Batch::run_loading_scripts`].
    pub fn add_script(
        &mut self,
        key: impl Into<String>,
        script: &'static Script,
        invocation: &ScriptInvocation<'_>,
    ) -> &mut Batch {
        let mut pipe = redis::pipe();
        pipe.invoke_script(invocation);
        if let Some(cmd) = pipe.cmd_iter().next() {
            self.commands.push((key.into(), cmd.clone()));
        }
        if !self
            .scripts
            .iter()
            .any(|s| s.get_hash() == script.get_hash())
        {
            self.scripts.push(script);
        }
        self
    }

    /// [`Batch::run`], but when a server answers NOSCRIPT (it restarted, failed over,
    /// or a node joined) loads the batch's scripts on every node and runs the batch
    /// once more. The commands before the failed one did run, so this is only for
    /// batches whose commands are idempotent (ZADD of fixed scores, HSET, SREM, ...).
    pub async fn run_loading_scripts(self, conn: &RedisConn) -> RedisResult<Vec<Value>> {
        let again = Batch {
            commands: self.commands.clone(),
            scripts: Vec::new(),
        };
        let scripts = self.scripts.clone();
        match self.run(conn).await {
            Err(err) if err.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                for script in scripts {
                    // `SCRIPT LOAD` is routed to every node on a cluster.
                    let mut load = redis::pipe();
                    load.load_script(script);
                    if let Some(cmd) = load.cmd_iter().next() {
                        let _: Value = cmd.query_async(&mut conn.clone()).await?;
                    }
                }
                again.run(conn).await
            }
            other => other,
        }
    }
}

/// `ZADD key score member ...` of every entry, for the repositories' bulk builders
/// (one command however many entries, so a bulk writer such as the synthetic seed
/// stays one round trip per key). `entries` must not be empty: ZADD needs a member.
pub fn zadd_all<S: redis::ToRedisArgs, M: redis::ToRedisArgs>(
    key: &str,
    entries: impl IntoIterator<Item = (S, M)>,
) -> Cmd {
    let mut zadd = redis::cmd("ZADD");
    zadd.arg(key);
    for (score, member) in entries {
        zadd.arg(score).arg(member);
    }
    zadd
}
