//! Hardening of accounts and sessions (issue "Hardening", findings 3, 5, 6, 7, 9):
//! revocation that no racing login survives, the login throttle, password change and
//! re-authentication, follow/unfollow that agree under concurrency, notification
//! streams bound to their session, and a full Redis answered as 503 while reads work.

use std::time::{Duration, Instant};

use agora::redis::Topology;
use agora::redis::keys::UserPart;
use futures::StreamExt;
use redis::AsyncCommands;
use redis_test::server::RedisServer;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, problem, spawn_app, spawn_app_on, spawn_app_with};
use crate::notifications::{open_stream, read_until};

async fn token_of(response: reqwest::Response) -> Option<String> {
    if response.status() != 201 {
        return None;
    }
    let body: Value = response.json().await.unwrap();
    body["token"].as_str().map(str::to_string)
}

async fn status_with(app: &TestApp, token: &str) -> u16 {
    app.get("/v1/sessions/current", Some(token))
        .await
        .status()
        .as_u16()
}

/// Finding 3. Before the fix, a login added its index entry, then wrote the session
/// hash in a second step; a "revoke all" landing between the two deleted the index
/// entry but not the (not yet written) session, which then lived on unlisted and
/// unrevocable. Here "revoke all" runs in a loop while logins race it; after a final
/// revoke-all, no token of any of those logins may work.
#[tokio::test]
async fn no_login_racing_revoke_all_survives_it() {
    let app = spawn_app().await;
    let user = app.user("racer").await;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let revoker = {
        let (redis, id, done) = (app.redis.clone(), user.id.clone(), done.clone());
        tokio::spawn(async move {
            let mut rounds = 0u32;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                agora::sessions::repo::revoke_all(&redis, &id)
                    .await
                    .unwrap();
                rounds += 1;
                tokio::task::yield_now().await;
            }
            rounds
        })
    };
    let logins = futures::future::join_all((0..24).map(|_| app.login("racer", PASSWORD))).await;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(revoker.await.unwrap() > 0);

    agora::sessions::repo::revoke_all(&app.redis, &user.id)
        .await
        .unwrap();
    let mut tokens = vec![user.token.clone()];
    for response in logins {
        tokens.extend(token_of(response).await);
    }
    assert!(tokens.len() > 1, "some logins must have succeeded");
    for token in &tokens {
        assert_eq!(status_with(&app, token).await, 401, "a session survived");
    }
    let left: Vec<String> = app
        .all_keys()
        .await
        .into_iter()
        .filter(|k| k.contains(":session:"))
        .collect();
    assert!(left.is_empty(), "session hashes left behind: {left:?}");
}

/// Finding 3. Logins racing the deletion of their account: once the deletion has
/// answered, no token works, nothing the old tokens send writes (a cart PUT used to
/// re-create `user:{id}:cart`), and none of the user's keys are left.
#[tokio::test]
async fn no_login_racing_account_deletion_survives_it() {
    let app = spawn_app().await;
    let user = app.user("leaver").await;
    let product_id = "1001";
    let logins = futures::future::join_all((0..12).map(|_| app.login("leaver", PASSWORD)));
    let deletion = app.delete("/v1/users/me", Some(&user.token));
    let (logins, deletion) = tokio::join!(logins, deletion);
    assert_eq!(deletion.status(), 204);

    let mut tokens = vec![user.token.clone()];
    for response in logins {
        tokens.extend(token_of(response).await);
    }
    for token in &tokens {
        assert_eq!(status_with(&app, token).await, 401);
        let cart = app
            .send_json(
                reqwest::Method::PUT,
                &format!("/v1/users/me/cart/items/{product_id}"),
                Some(token),
                &json!({"quantity": 1}),
            )
            .await;
        assert_eq!(cart.status(), 401);
    }
    let tag = format!("{{{}}}", user.id);
    let left: Vec<String> = app
        .all_keys()
        .await
        .into_iter()
        // The login throttle's counter expires with its window by itself.
        .filter(|k| k.contains(&tag) && !k.ends_with(":login_attempts"))
        .collect();
    assert!(left.is_empty(), "keys of the deleted user: {left:?}");
}

/// Findings 3 and 5 (and the "reads do not write" rule): within the refresh interval
/// an authenticated GET leaves the session untouched; a due refresh writes once.
#[tokio::test]
async fn an_authenticated_get_writes_nothing_until_the_refresh_is_due() {
    let app = spawn_app_with(|s| s.session_refresh_secs = 3600).await;
    let user = app.user("reader").await;
    let current: Value = app.get_ok("/v1/sessions/current", Some(&user.token)).await;
    let key = app
        .redis
        .keys
        .session(&user.id, current["id"].as_str().unwrap());
    let _: () = app
        .conn()
        .hset(&key, "last_activity", "marker")
        .await
        .unwrap();
    let _: () = app.conn().pexpire(&key, 86_000_000).await.unwrap();

    assert_eq!(status_with(&app, &user.token).await, 200);
    let last: String = app.conn().hget(&key, "last_activity").await.unwrap();
    assert_eq!(last, "marker", "a read within the interval wrote");

    // Idle for longer than the interval (TTL an hour and a bit below the idle timeout).
    let _: () = app
        .conn()
        .pexpire(&key, 86_400_000 - 3_700_000)
        .await
        .unwrap();
    assert_eq!(status_with(&app, &user.token).await, 200);
    let last: String = app.conn().hget(&key, "last_activity").await.unwrap();
    assert_ne!(last, "marker", "a due refresh did not write");
    let pttl: i64 = app.conn().pttl(&key).await.unwrap();
    assert!(pttl > 86_000_000, "idle TTL not slid: {pttl}");
}

/// Finding 3 (bounded revocation): beyond the per-user cap, a login ends the oldest
/// session, so the index a revocation walks stays small.
#[tokio::test]
async fn a_login_beyond_the_session_cap_ends_the_oldest() {
    let app = spawn_app_with(|s| s.max_sessions_per_user = 3).await;
    let first = app.user("collector").await;
    let mut later = Vec::new();
    for _ in 0..3 {
        later.extend(token_of(app.login("collector", PASSWORD).await).await);
    }
    assert_eq!(status_with(&app, &first.token).await, 401);
    for token in &later {
        assert_eq!(status_with(&app, token).await, 200);
    }
    let indexed: u64 = app
        .conn()
        .zcard(app.redis.keys.user_part(&first.id, UserPart::Sessions))
        .await
        .unwrap();
    assert_eq!(indexed, 3);
}

/// Finding 7. 200 wrong passwords used to be answered 401 each, and the right one
/// then worked. Now the account is throttled after the cap, with Retry-After, and the
/// right password is refused too until the window ends.
#[tokio::test]
async fn wrong_passwords_are_throttled_per_account() {
    let app = spawn_app_with(|s| s.login_max_failures = 5).await;
    app.user("target").await;
    for _ in 0..5 {
        assert_eq!(app.login("target", "wrong password!").await.status(), 401);
    }
    let throttled = app.login("target", "wrong password!").await;
    let retry_after: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    let body = problem(throttled, 429).await;
    assert_eq!(body["type"], "/problems/rate-limited");
    // The e-mail form of the same account shares the budget; the right password waits.
    assert_eq!(
        app.login("target@example.com", PASSWORD).await.status(),
        429
    );
}

/// Finding 7: concurrent guesses take their slot before argon2 runs, so no more than
/// the cap get an answer about the password, however many arrive at once.
#[tokio::test]
async fn concurrent_guesses_cannot_exceed_the_cap() {
    let app = spawn_app_with(|s| s.login_max_failures = 5).await;
    app.user("victim").await;
    let answers =
        futures::future::join_all((0..20).map(|_| app.login("victim", "a wrong guess"))).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 15);
}

/// Finding 7: one address guessing across many accounts is throttled too; a
/// successful login gives its slot back.
#[tokio::test]
async fn wrong_passwords_from_one_address_are_throttled_across_accounts() {
    let app = spawn_app_with(|s| s.login_max_failures_per_ip = 4).await;
    app.user("someone").await; // one success: its slot is given back
    for i in 0..4 {
        let login = format!("nobody{i}");
        assert_eq!(app.login(&login, "wrong password!").await.status(), 401);
    }
    assert_eq!(app.login("someone", PASSWORD).await.status(), 429);
}

/// Finding 7: a password change needs the current password, applies the strength
/// rule, keeps the session that made it and ends every other one.
#[tokio::test]
async fn a_password_change_needs_the_current_one_and_ends_other_sessions() {
    let app = spawn_app().await;
    let user = app.user("changer").await;
    let other = token_of(app.login("changer", PASSWORD).await)
        .await
        .unwrap();
    let change = |current: &str, new: &str| {
        let body = json!({"current_password": current, "new_password": new});
        let (app, token) = (&app, user.token.clone());
        async move {
            app.send_json(
                reqwest::Method::PUT,
                "/v1/users/me/password",
                Some(&token),
                &body,
            )
            .await
        }
    };

    let wrong = problem(change("not it at all", "a brand new passphrase").await, 422).await;
    assert!(wrong["errors"]["current_password"].is_string());
    let weak = problem(change(PASSWORD, "password123").await, 422).await;
    assert!(weak["errors"]["new_password"].is_string());
    assert_eq!(
        status_with(&app, &other).await,
        200,
        "failed changes end nothing"
    );

    assert_eq!(
        change(PASSWORD, "a brand new passphrase").await.status(),
        204
    );
    assert_eq!(
        status_with(&app, &user.token).await,
        200,
        "this session stays"
    );
    assert_eq!(status_with(&app, &other).await, 401, "other sessions end");
    assert_eq!(app.login("changer", PASSWORD).await.status(), 401);
    assert_eq!(
        app.login("changer", "a brand new passphrase")
            .await
            .status(),
        201
    );
}

/// Finding 7: a login that verified the old password while a change ran cannot open
/// a session afterwards (the session script checks the hash the login verified).
#[tokio::test]
async fn no_login_with_the_old_password_survives_a_change() {
    let app = spawn_app().await;
    let user = app.user("switcher").await;
    let logins = futures::future::join_all((0..8).map(|_| app.login("switcher", PASSWORD)));
    let body = json!({"current_password": PASSWORD, "new_password": "a different passphrase"});
    let change = app.send_json(
        reqwest::Method::PUT,
        "/v1/users/me/password",
        Some(&user.token),
        &body,
    );
    let (logins, change) = tokio::join!(logins, change);
    assert_eq!(change.status(), 204);
    // Those logins that finished before the change were revoked by it; any that
    // finished after were refused. Either way none works now.
    for response in logins {
        if let Some(token) = token_of(response).await {
            assert_eq!(status_with(&app, &token).await, 401);
        }
    }
}

/// Finding 7: changing one's own e-mail re-authenticates; an admin changing another
/// user's does not need that user's password.
#[tokio::test]
async fn changing_your_email_needs_your_current_password() {
    let app = spawn_app().await;
    let user = app.user("mover").await;
    let admin = app.admin("boss").await;

    let missing = app
        .patch(
            "/v1/users/me",
            Some(&user.token),
            &json!({"email": "new@example.com"}),
        )
        .await;
    assert!(problem(missing, 422).await["errors"]["current_password"].is_string());
    let wrong = app
        .patch(
            "/v1/users/me",
            Some(&user.token),
            &json!({"email": "new@example.com", "current_password": "not my password"}),
        )
        .await;
    assert!(problem(wrong, 422).await["errors"]["current_password"].is_string());
    let right = app
        .patch(
            "/v1/users/me",
            Some(&user.token),
            &json!({"email": "new@example.com", "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(right.status(), 200);
    let by_admin = app
        .patch(
            &format!("/v1/users/{}", user.id),
            Some(&admin.token),
            &json!({"email": "newer@example.com"}),
        )
        .await;
    assert_eq!(by_admin.status(), 200);
    // Other fields need no password.
    let name = app
        .patch("/v1/users/me", Some(&user.token), &json!({"name": "Mo"}))
        .await;
    assert_eq!(name.status(), 200);
}

/// Finding 7: the minimum-strength rule at registration.
#[tokio::test]
async fn common_and_self_naming_passwords_are_refused_at_registration() {
    let app = spawn_app().await;
    for password in [
        "12345678",
        "Password123",
        "aaaaaaaaaaaa",
        "weakling",
        "Qwertyuiop",
    ] {
        let username = if password == "weakling" {
            "weakling"
        } else {
            "someone"
        };
        let response = app
            .post(
                "/v1/users",
                None,
                &json!({"username": username, "email": "s@example.com", "password": password}),
            )
            .await;
        let body = problem(response, 422).await;
        assert!(body["errors"]["password"].is_string(), "{password}: {body}");
    }
}

/// Finding 6. Concurrent follow and unfollow of one pair used to leave the sides
/// disagreeing (B's followers holding A while A's following did not). After both
/// answer, whatever their order, both sides agree, round after round.
#[tokio::test]
async fn concurrent_follow_and_unfollow_leave_both_sides_agreeing() {
    let app = spawn_app().await;
    let a = app.user("fan").await;
    let b = app.user("idol").await;
    let path = format!("/v1/users/me/following/{}", b.id);
    let following = app.redis.keys.user_part(&a.id, UserPart::Following);
    let followers = app.redis.keys.user_part(&b.id, UserPart::Followers);
    for round in 0..30 {
        let (app, path, token) = (&app, &path, &a.token);
        let requests = (0..4).map(|i| async move {
            if (i + round) % 2 == 0 {
                app.put(path, Some(token)).await.status()
            } else {
                app.delete(path, Some(token)).await.status()
            }
        });
        for status in futures::future::join_all(requests).await {
            assert!(status.is_success(), "round {round}: {status}");
        }
        let one: Option<f64> = app.conn().zscore(&following, &b.id).await.unwrap();
        let other: Option<f64> = app.conn().zscore(&followers, &a.id).await.unwrap();
        assert_eq!(
            one.is_some(),
            other.is_some(),
            "round {round}: following {one:?} vs followers {other:?}"
        );
    }
}

/// Finding 9. An open stream used to keep delivering after its session was revoked.
/// Now it sends `event: end` and closes within the check interval, for every stream
/// of the user on revoke-all.
#[tokio::test]
async fn notification_streams_end_when_their_session_is_revoked() {
    let app = spawn_app_with(|s| s.sse_session_check_secs = 1).await;
    let user = app.user("listener").await;
    let second = token_of(app.login("listener", PASSWORD).await)
        .await
        .unwrap();
    let mut one = open_stream(&app, &user.token).await.bytes_stream();
    let mut two = open_stream(&app, &second).await.bytes_stream();
    read_until(&mut one, "event: ready").await;
    read_until(&mut two, "event: ready").await;

    let started = Instant::now();
    assert_eq!(
        app.delete("/v1/users/me/sessions", Some(&second))
            .await
            .status(),
        204
    );
    for stream in [&mut one, &mut two] {
        let text = read_until(stream, "event: end").await;
        assert!(text.contains("session_ended"), "{text}");
        let rest = tokio::time::timeout(Duration::from_secs(3), stream.next())
            .await
            .expect("the stream must close");
        assert!(rest.is_none(), "the stream must close after `end`");
    }
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

/// Finding 9: streams per user are capped; one more is 429.
#[tokio::test]
async fn notification_streams_per_user_are_capped() {
    let app = spawn_app_with(|s| s.sse_max_streams_per_user = 2).await;
    let user = app.user("hoarder").await;
    let _one = open_stream(&app, &user.token).await;
    let _two = open_stream(&app, &user.token).await;
    let third = app
        .get("/v1/users/me/notifications/stream", Some(&user.token))
        .await;
    assert!(third.headers().contains_key("retry-after"));
    problem(third, 429).await;
    drop(_one);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let again = app
        .get("/v1/users/me/notifications/stream", Some(&user.token))
        .await;
    assert_eq!(again.status(), 200, "a closed stream frees its place");
}

/// Finding 5. With Redis at maxmemory under noeviction, 13 of 16 endpoints answered
/// 500 (authenticated reads too: the session refresh wrote) and /readyz stayed 200.
/// Now writes are 503 `out-of-memory` with Retry-After, /readyz says so, and reads —
/// authenticated ones included, even when their refresh is due — keep working.
/// A private standalone Redis on both test topologies (it is made full on purpose).
#[tokio::test]
async fn a_full_redis_is_503_for_writes_while_reads_keep_working() {
    let server = tokio::task::spawn_blocking(RedisServer::new).await.unwrap();
    let topology = Topology::Standalone(format!("redis://{}", server.client_addr()));
    let app = spawn_app_on(&topology, |s| s.session_refresh_secs = 0).await;
    let user = app.user("hoarder").await;
    let post = app.publish(&user, "before the wall").await;

    let mut admin = redis::Client::open(format!("redis://{}", server.client_addr()))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg("noeviction")
        .query_async(&mut admin)
        .await
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("1")
        .query_async(&mut admin)
        .await
        .unwrap();

    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.headers()["retry-after"], "1");
    assert_eq!(problem(ready, 503).await["type"], "/problems/out-of-memory");

    let new_post = json!({"title": "after the wall", "content": "full"});
    let write = app.post("/v1/posts", Some(&user.token), &new_post).await;
    assert_eq!(write.headers()["retry-after"], "1");
    assert_eq!(problem(write, 503).await["type"], "/problems/out-of-memory");

    for path in [
        format!("/v1/users/{}", user.id),
        "/v1/sessions/current".to_string(),
        format!("/v1/posts/{}", post["id"].as_str().unwrap()),
    ] {
        let response = app.get(&path, Some(&user.token)).await;
        assert_eq!(response.status(), 200, "{path}");
    }

    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("0")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert_eq!(app.get("/readyz", None).await.status(), 200);
    assert_eq!(
        app.post("/v1/posts", Some(&user.token), &new_post)
            .await
            .status(),
        201
    );
}
