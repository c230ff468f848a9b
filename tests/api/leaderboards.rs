//! Leaderboards: scores and ranks, the top, a player's entry, neighbours, results.

use serde_json::{Value, json};

use crate::helpers::{problem, spawn_app};

#[tokio::test]
async fn scores_rank_highest_first_from_one() {
    let app = spawn_app().await;
    let user = app.user("gamer").await;
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
    let user = app.user("referee").await;
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
    let user = app.user("busy").await;
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
    let user = app.user("host").await;
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
