//! Sessions: login, the sliding idle timeout, the absolute lifetime, logout, listing
//! and revoking, and what Redis holds (only token hashes).

use std::time::Duration;

use redis::AsyncCommands;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn login_by_username_or_email_returns_a_token_and_sets_an_httponly_cookie() {
    let app = spawn_app().await;
    app.register_raw("mia", "mia@example.com").await;

    let by_name = app.login("mia", PASSWORD).await;
    assert_eq!(by_name.status(), 201);
    let cookie = by_name.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = by_name.json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    // `<user id>.<64 hex>`: the id names the user's slot, the hex is the secret.
    let (id, secret) = token.split_once('.').unwrap();
    assert_eq!(id, body["user"]["id"].as_str().unwrap());
    assert_eq!(secret.len(), 64);
    assert!(cookie.starts_with(&format!("agora_session={token};")));
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    assert_eq!(body["user"]["username"], "mia");
    assert_eq!(body["user"]["login_count"], 1);
    assert!(body["expires_at"].as_str().unwrap() < body["absolute_expires_at"].as_str().unwrap());

    let by_email = app.login("MIA@example.com", PASSWORD).await;
    assert_eq!(by_email.status(), 201);
    let body: Value = by_email.json().await.unwrap();
    assert_eq!(
        body["user"]["login_count"], 2,
        "each login is counted (HINCRBY)"
    );
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_401() {
    let app = spawn_app().await;
    app.register_raw("noah", "noah@example.com").await;

    let wrong_password: Value = problem(app.login("noah", "wrong password!").await, 401).await;
    let unknown_user: Value = problem(app.login("nobody", "wrong password!").await, 401).await;

    assert_eq!(wrong_password, unknown_user);
    problem(app.login("", "").await, 422).await;
}

#[tokio::test]
async fn concurrent_logins_are_each_counted_exactly_once() {
    // Logins in flight hold a slot of the login throttle: allow them all here.
    let app = spawn_app_with(|s| s.login_max_failures = 100).await;
    let olga = app.user("olga").await;

    let logins = (0..12).map(|_| app.login("olga", PASSWORD));
    let statuses: Vec<u16> = futures::future::join_all(logins)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();

    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    let count: String = app
        .conn()
        .hget(app.redis.keys.user(&olga.id), "login_count")
        .await
        .unwrap();
    assert_eq!(count, "13");
    let indexed: u64 = app
        .conn()
        .zcard(
            app.redis
                .keys
                .user_part(&olga.id, agora::redis::keys::UserPart::Sessions),
        )
        .await
        .unwrap();
    assert_eq!(indexed, 13);
}

#[tokio::test]
async fn redis_holds_only_the_hash_of_a_token() {
    let app = spawn_app().await;
    let pia = app.user("pia").await;

    let keys = app.all_keys().await;
    assert!(keys.iter().all(|k| !k.contains(&pia.token)));
    let session_keys: Vec<_> = keys.iter().filter(|k| k.contains(":session:")).collect();
    assert_eq!(session_keys.len(), 1);
    let session = app.hgetall(session_keys[0]).await;
    assert!(session.values().all(|v| !v.contains(&pia.token)));
    for field in [
        "user_id",
        "username",
        "login_time",
        "last_activity",
        "ip_address",
        "user_agent",
    ] {
        assert!(session.contains_key(field), "{field} missing: {session:?}");
    }
    assert_eq!(session["ip_address"], "127.0.0.1");
}

#[tokio::test]
async fn using_a_session_slides_its_idle_timeout() {
    let app = spawn_app().await;
    let quinn = app.user("quinn").await;
    let body: Value = app
        .get("/v1/sessions/current", Some(&quinn.token))
        .await
        .json()
        .await
        .unwrap();
    let key = app
        .redis
        .keys
        .session(&quinn.id, body["id"].as_str().unwrap());
    let _: () = app.conn().pexpire(&key, 5_000).await.unwrap();

    let current = app.get("/v1/sessions/current", Some(&quinn.token)).await;

    assert_eq!(current.status(), 200);
    let body: Value = current.json().await.unwrap();
    assert_eq!(body["user_id"], quinn.id.as_str());
    assert_eq!(body["username"], "quinn");
    assert_eq!(body["current"], true);
    let ttl: i64 = app.conn().pttl(&key).await.unwrap();
    assert!(
        ttl > 23 * 3600 * 1000,
        "idle TTL refreshed to 24 h, got {ttl} ms"
    );
}

#[tokio::test]
async fn an_idle_session_expires() {
    let app = spawn_app_with(|s| s.session_idle_secs = 1).await;
    let rosa = app.user("rosa").await;
    assert_eq!(
        app.get("/v1/sessions/current", Some(&rosa.token))
            .await
            .status(),
        200
    );

    tokio::time::sleep(Duration::from_millis(1300)).await;

    let body = problem(
        app.get("/v1/sessions/current", Some(&rosa.token)).await,
        401,
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn an_active_session_still_ends_at_its_absolute_lifetime() {
    let app = spawn_app_with(|s| s.session_lifetime_secs = 2).await;
    let sam = app.user("sam").await;

    for _ in 0..3 {
        assert_eq!(
            app.get("/v1/sessions/current", Some(&sam.token))
                .await
                .status(),
            200
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;

    problem(app.get("/v1/sessions/current", Some(&sam.token)).await, 401).await;
}

#[tokio::test]
async fn logout_ends_the_session_and_clears_the_cookie() {
    let app = spawn_app().await;
    let tara = app.user("tara").await;

    let logout = app.delete("/v1/sessions/current", Some(&tara.token)).await;

    assert_eq!(logout.status(), 204);
    assert!(
        logout.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    problem(
        app.get("/v1/sessions/current", Some(&tara.token)).await,
        401,
    )
    .await;
    problem(
        app.delete("/v1/sessions/current", Some(&tara.token)).await,
        401,
    )
    .await;
}

#[tokio::test]
async fn the_session_cookie_authenticates_like_the_bearer_header() {
    let app = spawn_app().await;
    let uma = app.user("uma").await;

    let response = app
        .client
        .get(app.url("/v1/sessions/current"))
        .header("cookie", format!("theme=dark; agora_session={}", uma.token))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn missing_malformed_and_unknown_tokens_get_401() {
    let app = spawn_app().await;
    problem(app.get("/v1/sessions/current", None).await, 401).await;
    problem(app.get("/v1/sessions/current", Some("abc")).await, 401).await;
    problem(
        app.get("/v1/sessions/current", Some("session:{x} *")).await,
        401,
    )
    .await;
    problem(
        app.get("/v1/sessions/current", Some(&"0".repeat(64))).await,
        401,
    )
    .await;
    let basic = app
        .client
        .get(app.url("/v1/sessions/current"))
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    problem(basic, 401).await;
    assert!(app.all_keys().await.is_empty());
}

#[tokio::test]
async fn a_user_lists_and_revokes_their_sessions() {
    let app = spawn_app().await;
    let vera = app.user("vera").await;
    let phone: Value = app.login("vera", PASSWORD).await.json().await.unwrap();
    let phone_token = phone["token"].as_str().unwrap();

    let list: Value = app
        .get("/v1/users/me/sessions", Some(&vera.token))
        .await
        .json()
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items.iter().filter(|s| s["current"] == true).count(), 1);
    let phone_id = items.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let revoke_one = app
        .delete(
            &format!("/v1/users/me/sessions/{phone_id}"),
            Some(&vera.token),
        )
        .await;
    assert_eq!(revoke_one.status(), 204);
    problem(
        app.get("/v1/sessions/current", Some(phone_token)).await,
        401,
    )
    .await;
    problem(
        app.delete(
            &format!("/v1/users/me/sessions/{phone_id}"),
            Some(&vera.token),
        )
        .await,
        404,
    )
    .await;
    problem(
        app.delete("/v1/users/me/sessions/not-hex", Some(&vera.token))
            .await,
        422,
    )
    .await;

    let revoke_all = app.delete("/v1/users/me/sessions", Some(&vera.token)).await;
    assert_eq!(revoke_all.status(), 204);
    problem(
        app.get("/v1/sessions/current", Some(&vera.token)).await,
        401,
    )
    .await;
    assert!(app.all_keys().await.iter().all(|k| !k.contains("session")));
}

#[tokio::test]
async fn nobody_else_lists_or_revokes_my_sessions_but_an_admin_may() {
    let app = spawn_app().await;
    let walt = app.user("walt").await;
    let xena = app.user("xena").await;
    let admin = app.admin("chief").await;
    let path = format!("/v1/users/{}/sessions", walt.id);
    let walt_sessions: Value = app
        .get("/v1/users/me/sessions", Some(&walt.token))
        .await
        .json()
        .await
        .unwrap();
    let walt_session = walt_sessions["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    problem(app.get(&path, Some(&xena.token)).await, 403).await;
    problem(app.delete(&path, Some(&xena.token)).await, 403).await;
    // Xena cannot end Walt's session through her own sessions path either.
    problem(
        app.delete(
            &format!("/v1/users/me/sessions/{walt_session}"),
            Some(&xena.token),
        )
        .await,
        404,
    )
    .await;
    assert_eq!(
        app.get("/v1/sessions/current", Some(&walt.token))
            .await
            .status(),
        200
    );

    let listed: Value = app
        .get(&path, Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(app.delete(&path, Some(&admin.token)).await.status(), 204);
    problem(
        app.get("/v1/sessions/current", Some(&walt.token)).await,
        401,
    )
    .await;
}

#[tokio::test]
async fn granting_admin_reaches_live_sessions() {
    let app = spawn_app().await;
    let yuri = app.user("yuri").await;
    let zoe = app.user("zoe").await;
    let path = format!("/v1/users/{}", zoe.id);
    problem(
        app.patch(&path, Some(&yuri.token), &json!({"name": "x"}))
            .await,
        403,
    )
    .await;

    agora::accounts::grant_admin(&app.redis, "yuri")
        .await
        .unwrap();

    assert_eq!(
        app.patch(&path, Some(&yuri.token), &json!({"name": "x"}))
            .await
            .status(),
        200
    );
    let me: Value = app
        .get("/v1/users/me", Some(&yuri.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "admin");
}
