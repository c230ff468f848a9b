//! HTTP handlers for leaderboards.

use axum::Json;
use axum::extract::State;

use super::model::{
    AroundQuery, GameResult, MAX_SCORE, PlayerEntry, Ranking, ResultRecorded, ScoreRank,
    SubmitScore, TopQuery,
};
use super::repo;
use crate::error::{AppError, AppResult, responses};
use crate::extract::{AppJson, AppQuery, AuthUser, ValidPath};
use crate::state::AppState;
use crate::validate::bounded;

/// Submit a score
///
/// `mode: "set"` replaces the score, `"increment"` adds to it; the answer is the new
/// score and rank, computed in the same atomic step. `username` and `level`, when
/// given, are stored on the player's entry.
///
/// Owner or admin: `player_id` is a user id (`me` = the session user), and only that
/// user or an admin may write it (403 otherwise). Scores stay within ±2^53, where
/// Redis's double scores are exact: a larger `score`, or an increment whose result
/// would pass it, is 422 naming `score` (checked in the script, nothing changed).
/// A board created by its first score expires `AGORA_LEADERBOARD_RETENTION_DAYS`
/// (default 90) after its last write; seeded boards are durable.
///
/// Redis: `EVALSHA leaderboard_score` (PTTL, ZSCORE, ZADD or ZINCRBY `lb:{board}`, HSET
/// `lb:{board}:player:{id}`, PEXPIRE both unless the board is durable, ZREVRANK).
#[utoipa::path(post, path = "/v1/leaderboards/{board}/scores", tag = "leaderboards",
    params(("board" = String, Path, description = "Board name")),
    request_body = SubmitScore,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The player's new score and rank", body = ScoreRank),
        responses::BadRequest, responses::Unauthorized, responses::Forbidden,
        responses::NotJson, responses::Invalid, responses::Unavailable
    ))]
pub async fn submit_score(
    State(state): State<AppState>,
    auth: AuthUser,
    ValidPath(board): ValidPath<String>,
    AppJson(input): AppJson<SubmitScore>,
) -> AppResult<Json<ScoreRank>> {
    input.validate()?;
    let player_id = auth.owned_user_id(&input.player_id)?;
    let profile = repo::Entry {
        username: input.username,
        level: input.level.map(u64::from),
        ..repo::Entry::default()
    };
    repo::submit(
        &state.redis,
        &board,
        &player_id,
        input.mode,
        input.score,
        &profile,
        state.settings.leaderboard_retention(),
    )
    .await?
    .map(Json)
    .map_err(|refused| out_of_range("score", refused))
}

/// The 422 of a change whose result would leave ±2^53.
fn out_of_range(field: &str, refused: repo::OutOfRange) -> AppError {
    AppError::invalid(
        field,
        format!(
            "would take the score ({}) beyond ±{MAX_SCORE}, where scores stop being exact",
            refused.current
        ),
    )
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
    ValidPath(board): ValidPath<String>,
    AppQuery(query): AppQuery<TopQuery>,
) -> AppResult<Json<Ranking>> {
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
    ValidPath((board, player_id)): ValidPath<(String, String)>,
) -> AppResult<Json<PlayerEntry>> {
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
    ValidPath((board, player_id)): ValidPath<(String, String)>,
    AppQuery(query): AppQuery<AroundQuery>,
) -> AppResult<Json<Ranking>> {
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
/// Owner or admin: `player_id` is a user id (`me` = the session user); only that user
/// or an admin may record their results (403 otherwise). `points` within ±2^53, and a
/// result that would take the score beyond it is 422 naming `points` (nothing changed).
///
/// Redis: `EVALSHA leaderboard_result` (PTTL, ZSCORE, ZINCRBY `lb:{board}`, HINCRBY +
/// HSET `lb:{board}:player:{id}`, PEXPIRE both unless the board is durable, ZREVRANK).
#[utoipa::path(post, path = "/v1/leaderboards/{board}/players/{player_id}/results", tag = "leaderboards",
    params(("board" = String, Path, description = "Board name"), ("player_id" = String, Path, description = "Player id: a user id, or `me`")),
    request_body = GameResult,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The player after the result", body = ResultRecorded),
        responses::BadRequest, responses::Unauthorized, responses::Forbidden,
        responses::NotJson, responses::Invalid, responses::Unavailable
    ))]
pub async fn record_result(
    State(state): State<AppState>,
    auth: AuthUser,
    ValidPath((board, player_id)): ValidPath<(String, String)>,
    AppJson(input): AppJson<GameResult>,
) -> AppResult<Json<ResultRecorded>> {
    super::model::score(input.points).map_err(|m| AppError::invalid("points", m))?;
    let player_id = auth.owned_user_id(&player_id)?;
    repo::record_result(
        &state.redis,
        &board,
        &player_id,
        input.outcome,
        input.points,
        state.settings.leaderboard_retention(),
    )
    .await?
    .map(Json)
    .map_err(|refused| out_of_range("points", refused))
}
