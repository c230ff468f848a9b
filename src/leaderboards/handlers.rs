//! HTTP handlers for leaderboards.

use axum::Json;
use axum::extract::{Path, State};

use super::model::{
    AroundQuery, GameResult, PlayerEntry, Ranking, ResultRecorded, ScoreRank, SubmitScore, TopQuery,
};
use super::repo;
use crate::app::AppState;
use crate::error::{AppError, AppResult, responses};
use crate::extract::{AppJson, AppQuery, AuthUser};
use crate::validate::{self, bounded};

fn board_and_player(board: &str, player: &str) -> AppResult<()> {
    validate::Validator::new()
        .check("board", validate::id(board))
        .check("player_id", validate::id(player))
        .finish()
}

/// Submit a score
///
/// `mode: "set"` replaces the score, `"increment"` adds to it; the answer is the new
/// score and rank, computed in the same atomic step. `username` and `level`, when
/// given, are stored on the player's entry.
///
/// Redis: `EVALSHA leaderboard_score` (ZADD or ZINCRBY `lb:{board}`, HSET
/// `lb:{board}:player:{id}`, ZREVRANK).
#[utoipa::path(post, path = "/v1/leaderboards/{board}/scores", tag = "leaderboards",
    params(("board" = String, Path, description = "Board name")),
    request_body = SubmitScore,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The player's new score and rank", body = ScoreRank),
        responses::BadRequest, responses::Unauthorized, responses::NotJson, responses::Invalid,
        responses::Unavailable
    ))]
pub async fn submit_score(
    State(state): State<AppState>,
    _auth: AuthUser,
    Path(board): Path<String>,
    AppJson(input): AppJson<SubmitScore>,
) -> AppResult<Json<ScoreRank>> {
    validate::path_id("board", &board)?;
    input.validate()?;
    let mut profile = Vec::new();
    if let Some(username) = input.username {
        profile.push(("username", username));
    }
    if let Some(level) = input.level {
        profile.push(("level", level.to_string()));
    }
    let result = repo::submit(
        &state.redis,
        &board,
        &input.player_id,
        input.mode,
        input.score,
        &profile,
    )
    .await?;
    Ok(Json(result))
}

/// Top of a board
///
/// Highest score first, ranks from 1. An unknown board is an empty list.
///
/// Redis: `ZRANGE lb:{board} 0 N-1 REV WITHSCORES`.
#[utoipa::path(get, path = "/v1/leaderboards/{board}", tag = "leaderboards",
    params(("board" = String, Path, description = "Board name"), TopQuery),
    responses(
        (status = 200, description = "The top players", body = Ranking),
        responses::Invalid, responses::Unavailable
    ))]
pub async fn top(
    State(state): State<AppState>,
    Path(board): Path<String>,
    AppQuery(query): AppQuery<TopQuery>,
) -> AppResult<Json<Ranking>> {
    validate::path_id("board", &board)?;
    let limit = bounded("limit", query.limit, 1, 100, 10)?;
    Ok(Json(Ranking {
        items: repo::top(&state.redis, &board, limit).await?,
    }))
}

/// A player's entry
///
/// Rank and score from the sorted set; username, level, wins, losses and last_played
/// from the entry hash.
///
/// Redis: one pipeline in the board's slot: `ZREVRANK`, `ZSCORE`, `HGETALL`.
#[utoipa::path(get, path = "/v1/leaderboards/{board}/players/{player_id}", tag = "leaderboards",
    params(("board" = String, Path, description = "Board name"), ("player_id" = String, Path, description = "Player id")),
    responses(
        (status = 200, description = "The player's entry", body = PlayerEntry),
        responses::NotFound, responses::Invalid, responses::Unavailable
    ))]
pub async fn player(
    State(state): State<AppState>,
    Path((board, player_id)): Path<(String, String)>,
) -> AppResult<Json<PlayerEntry>> {
    board_and_player(&board, &player_id)?;
    repo::player(&state.redis, &board, &player_id)
        .await?
        .map(Json)
        .ok_or(AppError::NotFound("player"))
}

/// Players around a player
///
/// The players ranked within `radius` above and below, highest first.
///
/// Redis: `EVALSHA leaderboard_around` (ZREVRANK, ZRANGE … REV WITHSCORES).
#[utoipa::path(get, path = "/v1/leaderboards/{board}/players/{player_id}/around", tag = "leaderboards",
    params(("board" = String, Path, description = "Board name"), ("player_id" = String, Path, description = "Player id"), AroundQuery),
    responses(
        (status = 200, description = "The neighbourhood, highest first", body = Ranking),
        responses::NotFound, responses::Invalid, responses::Unavailable
    ))]
pub async fn around(
    State(state): State<AppState>,
    Path((board, player_id)): Path<(String, String)>,
    AppQuery(query): AppQuery<AroundQuery>,
) -> AppResult<Json<Ranking>> {
    board_and_player(&board, &player_id)?;
    let radius = bounded("radius", query.radius, 0, 50, 5)?;
    repo::around(&state.redis, &board, &player_id, radius)
        .await?
        .map(|items| Json(Ranking { items }))
        .ok_or(AppError::NotFound("player"))
}

/// Record a game result
///
/// Adds `points` to the score, increments `wins` or `losses`, and sets `last_played`,
/// all in one atomic step.
///
/// Redis: `EVALSHA leaderboard_result` (ZINCRBY `lb:{board}`, HINCRBY + HSET
/// `lb:{board}:player:{id}`, ZREVRANK).
#[utoipa::path(post, path = "/v1/leaderboards/{board}/players/{player_id}/results", tag = "leaderboards",
    params(("board" = String, Path, description = "Board name"), ("player_id" = String, Path, description = "Player id")),
    request_body = GameResult,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The player after the result", body = ResultRecorded),
        responses::BadRequest, responses::Unauthorized, responses::NotJson, responses::Invalid,
        responses::Unavailable
    ))]
pub async fn record_result(
    State(state): State<AppState>,
    _auth: AuthUser,
    Path((board, player_id)): Path<(String, String)>,
    AppJson(input): AppJson<GameResult>,
) -> AppResult<Json<ResultRecorded>> {
    board_and_player(&board, &player_id)?;
    super::model::score(input.points).map_err(|m| AppError::invalid("points", m))?;
    let result = repo::record_result(
        &state.redis,
        &board,
        &player_id,
        input.outcome,
        input.points,
    )
    .await?;
    Ok(Json(result))
}
