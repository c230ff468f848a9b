//! Leaderboards in Redis: the only code that names board keys.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `lb:{board}` | sorted set | player id → score |
//! | `lb:{board}:player:{id}` | hash | `username, level, wins, losses, last_played` |
//!
//! Every operation is one round trip: a script or a single-slot pipeline.
//!
//! Retention: anyone may create a board by scoring on it, so a board that has a TTL or
//! does not exist yet gets `AGORA_LEADERBOARD_RETENTION_DAYS` again on every write, and
//! so does the written player's entry (an entry not written for that long goes, while
//! its score stays on a board that is still in use). A board that exists without a TTL
//! (the seed's `global`, or one an operator `PERSIST`ed) is durable: writes leave it so.

use std::collections::HashMap;

use redis::Value;

use super::model::{MAX_SCORE, Outcome, PlayerEntry, Ranked, ResultRecorded, ScoreMode, ScoreRank};
use crate::error::AppResult;
use crate::redis::scripts::{IfExists, Tagged};
use crate::redis::{Redis, scripts};
use crate::time;

fn parse_score(text: &str) -> i64 {
    text.parse::<f64>().map(|s| s as i64).unwrap_or(0)
}

/// A score change the script refused: the result would leave -2^53..2^53.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfRange {
    /// The player's current (unchanged) score.
    pub current: i64,
}

/// A player entry's stored fields (`lb:{board}:player:{id}`), `None` = not written: the
/// one definition of the hash, used by score submissions and the synthetic seed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    pub username: Option<String>,
    pub level: Option<u64>,
    pub wins: Option<u64>,
    pub losses: Option<u64>,
    /// RFC 3339 UTC.
    pub last_played: Option<String>,
}

impl Entry {
    /// The field/value pairs to HSET.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let number = |n: Option<u64>| n.map(|n| n.to_string());
        [
            ("username", self.username.clone()),
            ("level", number(self.level)),
            ("wins", number(self.wins)),
            ("losses", number(self.losses)),
            ("last_played", self.last_played.clone()),
        ]
        .into_iter()
        .filter_map(|(field, value)| value.map(|value| (field, value)))
        .collect()
    }
}

/// Adds a player to a board with `entry` unless they are on it already (the demo seed:
/// ZADD NX, HSETNX per field, one pipeline in the board's slot). True when added.
pub async fn seed_entry(
    redis: &Redis,
    board: &str,
    player: &str,
    score: i64,
    entry: &Entry,
) -> redis::RedisResult<bool> {
    let key = redis.keys.leaderboard_player(board, player);
    let mut pipe = redis::pipe();
    pipe.cmd("ZADD")
        .arg(redis.keys.leaderboard(board))
        .arg("NX")
        .arg(score)
        .arg(player);
    for (field, value) in entry.fields() {
        pipe.hset_nx(&key, field, value).ignore();
    }
    let (added,): (u64,) = pipe.query_async(&mut redis.conn()).await?;
    Ok(added == 1)
}

/// Sets or increments a score; returns the new score and 1-based rank, or
/// [`OutOfRange`] when an increment would take the score beyond ±2^53.
pub async fn submit(
    redis: &Redis,
    board: &str,
    player: &str,
    mode: ScoreMode,
    score: i64,
    profile: &Entry,
    retention: std::time::Duration,
) -> AppResult<Result<ScoreRank, OutOfRange>> {
    let mut invocation = scripts::LEADERBOARD_SCORE.prepare_invoke();
    invocation
        .key(redis.keys.leaderboard(board))
        .key(redis.keys.leaderboard_player(board, player))
        .arg(player)
        .arg(match mode {
            ScoreMode::Set => "set",
            ScoreMode::Increment => "increment",
        })
        .arg(score)
        .arg(MAX_SCORE)
        .arg(retention.as_millis() as u64);
    for (field, value) in profile.fields() {
        invocation.arg(field).arg(value);
    }
    let reply: Value = invocation.invoke_async(&mut redis.conn()).await?;
    Ok(
        match scripts::decode::<Scored<(String, u64)>>("leaderboard_score", reply)? {
            Scored::Done((score, rank)) => Ok(ScoreRank {
                score: parse_score(&score),
                rank: rank + 1,
            }),
            Scored::OutOfRange(current) => Err(OutOfRange {
                current: parse_score(&current),
            }),
        },
    )
}

/// The reply of `leaderboard_score` and `leaderboard_result`: `{'done', values…}`
/// decoded as `T`, or `{'out_of_range', current score}` (nothing changed).
enum Scored<T> {
    Done(T),
    OutOfRange(String),
}

impl<T: redis::FromRedisValue> redis::FromRedisValue for Scored<T> {
    fn from_redis_value(v: Value) -> Result<Self, redis::ParsingError> {
        let reply: Tagged = redis::from_redis_value(v)?;
        match (reply.tag.as_str(), reply.values.len()) {
            ("done", _) => Ok(Scored::Done(redis::from_redis_value(Value::Array(
                reply.values,
            ))?)),
            ("out_of_range", 1) => Ok(Scored::OutOfRange(reply.value(0)?)),
            _ => Err(reply.unexpected()),
        }
    }
}

/// Pairs a flat member/score reply with ranks starting at `first_rank` (0-based).
fn ranked(flat: Vec<String>, first_rank: u64) -> Vec<Ranked> {
    flat.chunks(2)
        .enumerate()
        .map(|(i, pair)| Ranked {
            rank: first_rank + i as u64 + 1,
            player_id: pair[0].clone(),
            score: parse_score(&pair[1]),
        })
        .collect()
}

/// The top `limit` players, highest first (`ZRANGE … REV WITHSCORES`).
pub async fn top(redis: &Redis, board: &str, limit: u32) -> AppResult<Vec<Ranked>> {
    let flat: Vec<String> = redis::cmd("ZRANGE")
        .arg(redis.keys.leaderboard(board))
        .arg(0)
        .arg(limit.saturating_sub(1))
        .arg("REV")
        .arg("WITHSCORES")
        .query_async(&mut redis.conn())
        .await?;
    Ok(ranked(flat, 0))
}

/// A player's rank, score and entry: one pipeline in the board's slot.
pub async fn player(redis: &Redis, board: &str, player: &str) -> AppResult<Option<PlayerEntry>> {
    let (rank, score, entry): (Option<u64>, Option<String>, HashMap<String, String>) =
        redis::pipe()
            .cmd("ZREVRANK")
            .arg(redis.keys.leaderboard(board))
            .arg(player)
            .cmd("ZSCORE")
            .arg(redis.keys.leaderboard(board))
            .arg(player)
            .cmd("HGETALL")
            .arg(redis.keys.leaderboard_player(board, player))
            .query_async(&mut redis.conn())
            .await?;
    let (Some(rank), Some(score)) = (rank, score) else {
        return Ok(None);
    };
    let count = |field: &str| entry.get(field).and_then(|v| v.parse().ok()).unwrap_or(0);
    Ok(Some(PlayerEntry {
        player_id: player.to_string(),
        rank: rank + 1,
        score: parse_score(&score),
        username: entry.get("username").cloned(),
        level: entry.get("level").and_then(|v| v.parse().ok()),
        wins: count("wins"),
        losses: count("losses"),
        last_played: entry.get("last_played").cloned(),
    }))
}

/// The players ranked within `radius` of `player`, or `None` if they have no score.
pub async fn around(
    redis: &Redis,
    board: &str,
    player: &str,
    radius: u32,
) -> AppResult<Option<Vec<Ranked>>> {
    let reply: Value = scripts::LEADERBOARD_AROUND
        .key(redis.keys.leaderboard(board))
        .arg(player)
        .arg(radius)
        .invoke_async(&mut redis.conn())
        .await?;
    let reply: IfExists<(u64, Vec<String>)> = scripts::decode("leaderboard_around", reply)?;
    Ok(reply.done().map(|(first, flat)| ranked(flat, first)))
}

/// Records a game result atomically: score, win/loss counter, last_played; or
/// [`OutOfRange`] when the points would take the score beyond ±2^53.
pub async fn record_result(
    redis: &Redis,
    board: &str,
    player: &str,
    outcome: Outcome,
    points: i64,
    retention: std::time::Duration,
) -> AppResult<Result<ResultRecorded, OutOfRange>> {
    let reply: Value = scripts::LEADERBOARD_RESULT
        .key(redis.keys.leaderboard(board))
        .key(redis.keys.leaderboard_player(board, player))
        .arg(player)
        .arg(match outcome {
            Outcome::Win => "wins",
            Outcome::Loss => "losses",
        })
        .arg(points)
        .arg(time::rfc3339(time::now()))
        .arg(MAX_SCORE)
        .arg(retention.as_millis() as u64)
        .invoke_async(&mut redis.conn())
        .await?;
    Ok(
        match scripts::decode::<Scored<(String, u64, u64, u64)>>("leaderboard_result", reply)? {
            Scored::Done((score, rank, wins, losses)) => Ok(ResultRecorded {
                score: parse_score(&score),
                rank: rank + 1,
                wins,
                losses,
            }),
            Scored::OutOfRange(current) => Err(OutOfRange {
                current: parse_score(&current),
            }),
        },
    )
}

/// The routing key and one `ZADD` of `board` with every `(score, player id)` entry,
/// for bulk writers (the synthetic seed). `entries` must not be empty.
pub fn scores_fill(
    keys: &crate::redis::Keys,
    board: &str,
    entries: impl IntoIterator<Item = (u64, String)>,
) -> (String, redis::Cmd) {
    let key = keys.leaderboard(board);
    let cmd = crate::redis::batch::zadd_all(&key, entries);
    (key, cmd)
}

/// The routing key and the `HSET` of `player_id`'s entry on `board`, for bulk
/// writers (the synthetic seed).
pub fn player_store_cmd(
    keys: &crate::redis::Keys,
    board: &str,
    player_id: &str,
    entry: &Entry,
) -> (String, redis::Cmd) {
    let key = keys.leaderboard_player(board, player_id);
    let mut hset = redis::cmd("HSET");
    hset.arg(&key).arg(entry.fields());
    (key, hset)
}
