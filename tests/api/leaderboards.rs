//! Leaderboards: scores and ranks, the top, a player's entry, neighbours, results;
//! who may write a player's entry, the ±2^53 score range, and board retention.

use redis::AsyncCommands;
use serde_json::{Value, json};

use crate::helpers::{problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn scores_rank_highest_first_from_one() {
    let app = spawn_app().await;
    let user = app.admin("gamer").await; // writes other players' entries
    for (player, score) in [("a", 100), ("b", 300), ("c", 200)] {
        let r = app
            .post(
                "/v1/leaderboards/weekly/scores",
                Some(&user.token),
                &json!({"player_id": player, "score": score}),
            )
            .await;
        assert_eq!(r.status(), 200);
    }

    let bumped: Value = app
        .post(
            "/v1/leaderboards/weekly/scores",
            Some(&user.token),
            &json!({"player_id": "a", "score": 250, "mode": "increment", "username": "Ann", "level": 3}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(bumped, json!({"score": 350, "rank": 1}));

    let top: Value = app
        .get("/v1/leaderboards/weekly?limit=2", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        top["items"],
        json!([{"rank": 1, "player_id": "a", "score": 350}, {"rank": 2, "player_id": "b", "score": 300}])
    );
    let entry: Value = app
        .get("/v1/leaderboards/weekly/players/a", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(entry["rank"], 1);
    assert_eq!(entry["username"], "Ann");
    assert_eq!(entry["level"], 3);
    let empty: Value = app
        .get("/v1/leaderboards/nobody-plays", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(empty["items"], json!([]));
}

#[tokio::test]
async fn a_result_updates_score_counters_and_last_played_together() {
    let app = spawn_app().await;
    let user = app.admin("referee").await; // writes other players' entries
    let path = "/v1/leaderboards/arena/players/p7/results";

    let win: Value = app
        .post(
            path,
            Some(&user.token),
            &json!({"outcome": "win", "points": 150}),
        )
        .await
        .json()
        .await
        .unwrap();
    let loss: Value = app
        .post(
            path,
            Some(&user.token),
            &json!({"outcome": "loss", "points": -20}),
        )
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(
        win,
        json!({"score": 150, "rank": 1, "wins": 1, "losses": 0})
    );
    assert_eq!(
        loss,
        json!({"score": 130, "rank": 1, "wins": 1, "losses": 1})
    );
    let entry = app
        .hgetall(&app.redis.keys.leaderboard_player("arena", "p7"))
        .await;
    assert_eq!(entry["wins"], "1");
    assert_eq!(entry["losses"], "1");
    assert!(entry["last_played"].ends_with('Z'));
}

#[tokio::test]
async fn concurrent_results_for_one_player_are_all_counted() {
    let app = spawn_app().await;
    let user = app.admin("busy").await; // writes other players' entries
    let path = "/v1/leaderboards/blitz/players/p1/results";

    let results = (0..40).map(|i| {
        let outcome = if i % 4 == 0 { "loss" } else { "win" };
        let (app, user) = (&app, &user);
        async move {
            app.post(
                path,
                Some(&user.token),
                &json!({"outcome": outcome, "points": 10}),
            )
            .await
        }
    });
    for response in futures::future::join_all(results).await {
        assert_eq!(response.status(), 200);
    }

    let entry: Value = app
        .get("/v1/leaderboards/blitz/players/p1", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(entry["score"], 400);
    assert_eq!(entry["wins"], 30);
    assert_eq!(entry["losses"], 10);
}

#[tokio::test]
async fn around_a_player_shows_the_neighbours() {
    let app = spawn_app().await;
    let user = app.admin("host").await; // writes other players' entries
    for i in 1..=10 {
        app.post(
            "/v1/leaderboards/ladder/scores",
            Some(&user.token),
            &json!({"player_id": format!("p{i}"), "score": i * 10}),
        )
        .await;
    }

    let around: Value = app
        .get("/v1/leaderboards/ladder/players/p5/around?radius=2", None)
        .await
        .json()
        .await
        .unwrap();
    let players: Vec<&str> = around["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["player_id"].as_str().unwrap())
        .collect();
    assert_eq!(players, ["p7", "p6", "p5", "p4", "p3"]);
    assert_eq!(around["items"][0]["rank"], 4);
    let top_edge: Value = app
        .get("/v1/leaderboards/ladder/players/p10/around?radius=1", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(top_edge["items"].as_array().unwrap().len(), 2);
    problem(
        app.get("/v1/leaderboards/ladder/players/ghost/around", None)
            .await,
        404,
    )
    .await;
    problem(
        app.get("/v1/leaderboards/ladder/players/ghost", None).await,
        404,
    )
    .await;
}

#[tokio::test]
async fn bad_leaderboard_input_is_rejected_before_redis() {
    let app = spawn_app().await;
    let user = app.user("cheater").await;
    problem(
        app.post(
            "/v1/leaderboards/x/scores",
            None,
            &json!({"player_id": "a", "score": 1}),
        )
        .await,
        401,
    )
    .await;
    let bad = app
        .post(
            "/v1/leaderboards/x/scores",
            Some(&user.token),
            &json!({"player_id": "a:b", "score": 1, "mode": "set"}),
        )
        .await;
    assert!(problem(bad, 422).await["errors"]["player_id"].is_string());
    let huge = app
        .post(
            "/v1/leaderboards/x/scores",
            Some(&user.token),
            &json!({"player_id": "a", "score": 1i64 << 60}),
        )
        .await;
    assert!(problem(huge, 422).await["errors"]["score"].is_string());
    let mode = app
        .post(
            "/v1/leaderboards/x/scores",
            Some(&user.token),
            &json!({"player_id": "a", "score": 1, "mode": "double"}),
        )
        .await;
    problem(mode, 422).await;
    problem(app.get("/v1/leaderboards/a%7Bb%7D", None).await, 422).await;
    let limit = app.get("/v1/leaderboards/x?limit=1000", None).await;
    assert!(problem(limit, 422).await["errors"]["limit"].is_string());
    let not_number = app.get("/v1/leaderboards/x?limit=ten", None).await;
    assert!(problem(not_number, 422).await["errors"]["limit"].is_string());
    let keys: Vec<String> = app
        .all_keys()
        .await
        .into_iter()
        .filter(|k| k.contains("lb:"))
        .collect();
    assert!(keys.is_empty(), "{keys:?}");
}

/// Found by schemathesis: -2^63 overflowed `abs()` in the range check (a 500).
#[tokio::test]
async fn the_most_negative_points_are_a_422_not_a_panic() {
    let app = spawn_app().await;
    let user = app.user("extreme").await;
    let r = app
        .post(
            "/v1/leaderboards/global/players/p1/results",
            Some(&user.token),
            &json!({"outcome": "win", "points": i64::MIN}),
        )
        .await;
    let body = problem(r, 422).await;
    assert!(body["errors"]["points"].is_string());
    let keys = app.all_keys().await;
    assert!(!keys.iter().any(|k| k.contains("lb:")), "{keys:?}");
}

/// Guards finding 11: any logged-in user could set or change any player's score and
/// results. Only the player (their own user id, or `me`) or an admin may.
#[tokio::test]
async fn only_the_player_or_an_admin_writes_a_players_entry() {
    let app = spawn_app().await;
    let player = app.user("owner-player").await;
    let stranger = app.user("stranger-player").await;
    let admin = app.admin("lb-admin").await;
    let scores = "/v1/leaderboards/guarded/scores";
    let results = format!("/v1/leaderboards/guarded/players/{}/results", player.id);
    let set = |score: i64| json!({"player_id": player.id, "score": score});
    let win = json!({"outcome": "win", "points": 5});

    problem(
        app.post(scores, Some(&stranger.token), &set(1_000_000))
            .await,
        403,
    )
    .await;
    problem(app.post(&results, Some(&stranger.token), &win).await, 403).await;
    let score: Option<i64> = app
        .conn()
        .zscore(app.redis.keys.leaderboard("guarded"), &player.id)
        .await
        .unwrap();
    assert_eq!(score, None, "a refused write changes nothing");

    assert_eq!(
        app.post(scores, Some(&player.token), &set(10))
            .await
            .status(),
        200
    );
    let me = app
        .post(
            scores,
            Some(&player.token),
            &json!({"player_id": "me", "score": 5, "mode": "increment"}),
        )
        .await;
    assert_eq!(me.json::<Value>().await.unwrap()["score"], 15);
    assert_eq!(
        app.post(&results, Some(&player.token), &win).await.status(),
        200
    );
    assert_eq!(
        app.post(scores, Some(&admin.token), &set(100))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.post(&results, Some(&admin.token), &win).await.status(),
        200
    );
    let entry = app
        .get_ok(
            &format!("/v1/leaderboards/guarded/players/{}", player.id),
            None,
        )
        .await;
    assert_eq!(entry["score"], 105);
    assert_eq!(entry["wins"], 2);
}

/// Guards finding 18: increments silently went past 2^53 (where doubles stop being
/// exact) and clamped at 2^63. The value, the increment and its result must stay
/// within ±2^53 (9007199254740992): 422 naming the field, nothing changed.
#[tokio::test]
async fn scores_stay_within_two_to_the_53_and_out_of_range_is_422() {
    let app = spawn_app().await;
    let player = app.user("big-scorer").await;
    let scores = "/v1/leaderboards/exact/scores";
    let max: i64 = 1 << 53;
    let submit = |score: i64, mode: &str| json!({"player_id": "me", "score": score, "mode": mode});

    let above = app
        .post(scores, Some(&player.token), &submit(max + 1, "set"))
        .await;
    assert!(problem(above, 422).await["errors"]["score"].is_string());
    let ok: Value = app
        .post(scores, Some(&player.token), &submit(max - 1, "set"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ok["score"], max - 1);
    let at_max: Value = app
        .post(scores, Some(&player.token), &submit(1, "increment"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(at_max["score"], max, "reaching exactly 2^53 is allowed");
    let past = app
        .post(scores, Some(&player.token), &submit(1, "increment"))
        .await;
    assert!(problem(past, 422).await["errors"]["score"].is_string());
    let results = format!("/v1/leaderboards/exact/players/{}/results", player.id);
    let points = app
        .post(
            &results,
            Some(&player.token),
            &json!({"outcome": "win", "points": 1}),
        )
        .await;
    assert!(problem(points, 422).await["errors"]["points"].is_string());
    let entry = app
        .get_ok(
            &format!("/v1/leaderboards/exact/players/{}", player.id),
            None,
        )
        .await;
    assert_eq!(entry["score"], max, "refused changes change nothing");
    assert_eq!(entry["wins"], 0, "a refused result counts no win");

    // The negative side, from -2^53 + 1 down by 2: the result -2^53 - 1 is refused.
    let low: Value = app
        .post(scores, Some(&player.token), &submit(-max + 1, "set"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(low["score"], -max + 1);
    let under = app
        .post(scores, Some(&player.token), &submit(-2, "increment"))
        .await;
    assert!(problem(under, 422).await["errors"]["score"].is_string());
    let huge_increment = app
        .post(scores, Some(&player.token), &submit(max + 1, "increment"))
        .await;
    assert!(problem(huge_increment, 422).await["errors"]["score"].is_string());
}

/// Guards finding 16: `"mode": null` and `"outcome": null` were 400 "not valid JSON";
/// they are valid JSON with a wrong value, so 422 naming the field.
#[tokio::test]
async fn a_null_mode_or_outcome_is_422_naming_the_field() {
    let app = spawn_app().await;
    let player = app.user("nully").await;
    let mode = app
        .post(
            "/v1/leaderboards/nulls/scores",
            Some(&player.token),
            &json!({"player_id": "me", "score": 1, "mode": null}),
        )
        .await;
    assert_eq!(
        problem(mode, 422).await["errors"]["mode"],
        "must not be null"
    );
    let outcome = app
        .post(
            &format!("/v1/leaderboards/nulls/players/{}/results", player.id),
            Some(&player.token),
            &json!({"outcome": null, "points": 1}),
        )
        .await;
    assert!(problem(outcome, 422).await["errors"]["outcome"].is_string());
    let number = app
        .post(
            &format!("/v1/leaderboards/nulls/players/{}/results", player.id),
            Some(&player.token),
            &json!({"outcome": 1, "points": 1}),
        )
        .await;
    assert!(problem(number, 422).await["errors"]["outcome"].is_string());
}

/// Guards finding 22 (leaderboards): a board anyone creates by scoring on it must not
/// stay forever. Boards created through the API, and the written player entries, get
/// `AGORA_LEADERBOARD_RETENTION_DAYS` again on every write; a board that exists
/// without a TTL (as the seed writes `global`) stays durable.
#[tokio::test]
async fn api_created_boards_expire_after_the_retention_and_seeded_ones_stay() {
    let app = spawn_app_with(|s| s.leaderboard_retention_days = 3).await;
    let player = app.user("transient").await;
    let retention_ms = 3 * 24 * 3600 * 1000;
    let board = app.redis.keys.leaderboard("made-up");
    let entry = app.redis.keys.leaderboard_player("made-up", &player.id);

    app.post(
        "/v1/leaderboards/made-up/scores",
        Some(&player.token),
        &json!({"player_id": "me", "score": 7, "username": "T"}),
    )
    .await;
    for key in [&board, &entry] {
        let ttl: i64 = app.conn().pttl(key).await.unwrap();
        assert!(
            ttl > retention_ms - 60_000 && ttl <= retention_ms,
            "{key}: {ttl}"
        );
    }
    // A result refreshes it (shortened by hand to see the refresh).
    let _: () = app.conn().pexpire(&board, 1000).await.unwrap();
    let path = format!("/v1/leaderboards/made-up/players/{}/results", player.id);
    app.post(
        &path,
        Some(&player.token),
        &json!({"outcome": "win", "points": 1}),
    )
    .await;
    let ttl: i64 = app.conn().pttl(&board).await.unwrap();
    assert!(ttl > retention_ms - 60_000, "{ttl}");

    // A durable board (as seeded: no TTL) stays so, entries included.
    let seeded = app.redis.keys.leaderboard("seeded");
    let _: () = app.conn().zadd(&seeded, "founder", 100).await.unwrap();
    app.post(
        "/v1/leaderboards/seeded/scores",
        Some(&player.token),
        &json!({"player_id": "me", "score": 9, "username": "T"}),
    )
    .await;
    app.post(
        &format!("/v1/leaderboards/seeded/players/{}/results", player.id),
        Some(&player.token),
        &json!({"outcome": "win", "points": 1}),
    )
    .await;
    let seeded_entry = app.redis.keys.leaderboard_player("seeded", &player.id);
    for key in [&seeded, &seeded_entry] {
        let ttl: i64 = app.conn().pttl(key).await.unwrap();
        assert_eq!(ttl, -1, "{key} stays durable");
    }
}
