//! Leaderboard request and response types.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::AppResult;
use crate::validate::{self, Validator};

/// Largest score magnitude accepted: sorted-set scores are doubles, exact to 2^53.
pub const MAX_SCORE: i64 = 1 << 53;

#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ScoreMode {
    /// The score becomes the given value (ZADD).
    #[default]
    Set,
    /// The given value is added to the score (ZINCRBY).
    Increment,
}

/// Body of `POST /v1/leaderboards/{board}/scores`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitScore {
    /// The player: a user id (`me` = the session user). Only that user or an admin
    /// may write the player's score.
    #[schema(example = "7")]
    pub player_id: String,
    /// The score (`set`) or the amount added to it (`increment`), within ±2^53
    /// (9007199254740992); an increment whose result would leave that range is 422.
    #[schema(example = 4200, minimum = -9007199254740992_i64, maximum = 9007199254740992_i64)]
    pub score: i64,
    #[serde(default)]
    pub mode: ScoreMode,
    /// Shown on the player's entry.
    pub username: Option<String>,
    pub level: Option<u32>,
}

impl SubmitScore {
    pub fn validate(&self) -> AppResult<()> {
        let mut v = Validator::new();
        v.check("player_id", validate::id(&self.player_id))
            .check("score", score(self.score));
        if let Some(username) = &self.username {
            v.check("username", validate::required_text(username, 64));
        }
        v.finish()
    }
}

pub fn score(value: i64) -> Result<(), String> {
    // A range, not `value.abs()`: `i64::MIN.abs()` overflows (a panic, then a 500).
    (-MAX_SCORE..=MAX_SCORE)
        .contains(&value)
        .then_some(())
        .ok_or_else(|| format!("must be between -{MAX_SCORE} and {MAX_SCORE}"))
}

/// A player's score and rank after a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreRank {
    pub score: i64,
    /// 1 = the highest score.
    pub rank: u64,
}

/// One row of a board.
#[derive(Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct Ranked {
    /// 1 = the highest score.
    pub rank: u64,
    pub player_id: String,
    pub score: i64,
}

/// `{items: [...]}`: rows highest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ranking {
    pub items: Vec<Ranked>,
}

/// A player's entry: rank and score from the sorted set, the rest from the hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlayerEntry {
    pub player_id: String,
    pub rank: u64,
    pub score: i64,
    pub username: Option<String>,
    pub level: Option<u32>,
    pub wins: u64,
    pub losses: u64,
    /// RFC 3339 UTC of the last recorded result.
    pub last_played: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Win,
    Loss,
}

/// Body of `POST /v1/leaderboards/{board}/players/{player_id}/results`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GameResult {
    pub outcome: Outcome,
    /// Added to the score (may be 0 or negative), within ±2^53 (9007199254740992); a
    /// result that would take the score out of that range is 422.
    #[schema(minimum = -9007199254740992_i64, maximum = 9007199254740992_i64)]
    pub points: i64,
}

/// The player after a result.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultRecorded {
    pub score: i64,
    pub rank: u64,
    pub wins: u64,
    pub losses: u64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TopQuery {
    /// How many rows, 1 to 100 (default 10).
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AroundQuery {
    /// Players above and below, 0 to 50 (default 5).
    pub radius: Option<u32>,
}
