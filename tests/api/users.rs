//! Users: registration, reading, updating, deleting, and every way they can go wrong.

use redis::AsyncCommands;
use serde_json::{Value, json};

use agora::users::identity::Identity;

use crate::helpers::{PASSWORD, problem, spawn_app};

#[tokio::test]
async fn registering_returns_the_user_with_location_and_never_the_password() {
    let app = spawn_app().await;

    let response = app.register_raw("alice", "alice@example.com").await;

    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let user: Value = response.json().await.unwrap();
    assert_eq!(
        location,
        format!("/v1/users/{}", user["id"].as_str().unwrap())
    );
    assert_eq!(user["username"], "alice");
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(user["name"], "alice");
    assert_eq!(user["role"], "user");
    assert_eq!(user["login_count"], 0);
    assert_eq!(user["follower_count"], 0);
    assert_eq!(user["following_count"], 0);
    let text = user.to_string();
    assert!(!text.contains("password") && !text.contains(PASSWORD));
}

#[tokio::test]
async fn registration_stores_a_hash_with_an_argon2_hash_claims_and_a_welcome_email() {
    let app = spawn_app().await;
    let response = app.register_raw("Bob", "Bob@Example.com").await;
    let user: Value = response.json().await.unwrap();
    let id = user["id"].as_str().unwrap();
    let keys = &app.redis.keys;

    let stored = app.hgetall(&keys.user(id)).await;
    assert_eq!(stored["username"], "Bob");
    // The compact form (salt and argon2id output, 64 characters): the hash stays a listpack.
    assert_eq!(stored["pw"].len(), 64);
    assert!(agora::users::password::is_compact(&stored["pw"]));
    assert!(!stored.contains_key("password_hash"));
    assert!(
        !stored.contains_key("login_count"),
        "created by the first login"
    );
    assert!(!stored.values().any(|v| v == PASSWORD));
    let ttl: i64 = app.conn().ttl(keys.user(id)).await.unwrap();
    assert_eq!(
        ttl, -1,
        "a registered user is durable (the pending TTL is gone)"
    );

    let by_name = app.claim_owner(Identity::Username, "bob").await;
    let by_email = app.claim_owner(Identity::Email, "bob@example.com").await;
    assert_eq!(by_name.as_deref(), Some(id));
    assert_eq!(by_email.as_deref(), Some(id));

    let jobs: Vec<String> = app.conn().lrange(keys.email_queue(), 0, -1).await.unwrap();
    assert_eq!(jobs.len(), 1);
    let job: Value = serde_json::from_str(&jobs[0]).unwrap();
    assert_eq!(job["kind"], "welcome");
    assert_eq!(job["user_id"], id);
    assert_eq!(job["to"], "Bob@Example.com");
}

#[tokio::test]
async fn a_taken_username_or_email_gets_409_and_leaves_nothing_behind() {
    let app = spawn_app().await;
    app.user("carol").await;
    let keys_before = app.all_keys().await;

    let same_name = app.register_raw("CAROL", "other@example.com").await;
    let body = problem(same_name, 409).await;
    assert_eq!(body["type"], "/problems/username-taken");
    let same_email = app.register_raw("carol2", "Carol@example.com").await;
    let body = problem(same_email, 409).await;
    assert_eq!(body["type"], "/problems/email-taken");

    let keys_after = app.all_keys().await;
    let new_keys: Vec<_> = keys_after
        .iter()
        .filter(|k| !keys_before.contains(k) && !k.ends_with("users:next_id"))
        .collect();
    assert!(new_keys.is_empty(), "left behind: {new_keys:?}");
    assert!(app.claim_owner(Identity::Username, "carol").await.is_some());
    assert_eq!(app.claim_owner(Identity::Username, "carol2").await, None);
    assert_eq!(
        app.claim_owner(Identity::Email, "other@example.com").await,
        None
    );
}

#[tokio::test]
async fn concurrent_registrations_of_one_username_have_exactly_one_winner() {
    let app = spawn_app().await;
    let attempts = (0..16).map(|i| {
        let app = &app;
        async move {
            app.register_raw("racer", &format!("racer{i}@example.com"))
                .await
                .status()
                .as_u16()
        }
    });

    let statuses = futures::future::join_all(attempts).await;

    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        15,
        "{statuses:?}"
    );
    let mut emails = 0;
    for i in 0..16 {
        let email = format!("racer{i}@example.com");
        emails += app.claim_owner(Identity::Email, &email).await.is_some() as usize;
    }
    assert_eq!(emails, 1, "losers must not keep their e-mail claims");
    let users = app
        .all_keys()
        .await
        .into_iter()
        .filter(|k| k.contains("user:{") && !k.contains("}:"))
        .count();
    assert_eq!(users, 1, "losers must not leave user hashes");
}

#[tokio::test]
async fn a_stale_claim_left_by_a_crashed_registration_is_taken_over() {
    let app = spawn_app().await;
    // A registration that died after claiming: the claim points at a user that never
    // became durable (its pending hash expired).
    let bucket = Identity::Username.bucket_key(&app.redis, "phoenix");
    let _: () = app.conn().hset(bucket, "phoenix", "999").await.unwrap();

    let response = app.register_raw("phoenix", "phoenix@example.com").await;

    assert_eq!(response.status(), 201);
    let user: Value = response.json().await.unwrap();
    let owner = app.claim_owner(Identity::Username, "phoenix").await;
    assert_eq!(owner.as_deref(), user["id"].as_str());
}

#[tokio::test]
async fn invalid_registrations_get_422_naming_every_bad_field() {
    let app = spawn_app().await;

    let response = app
        .post(
            "/v1/users",
            None,
            &json!({"username": "a{b}", "email": "not-an-email", "password": "short", "avatar": "ftp://x"}),
        )
        .await;

    let body = problem(response, 422).await;
    let errors = body["errors"].as_object().unwrap();
    for field in ["username", "email", "password", "avatar"] {
        assert!(errors.contains_key(field), "{field} missing in {errors:?}");
    }
    assert!(
        app.all_keys().await.is_empty(),
        "invalid input must not reach Redis"
    );
}

#[tokio::test]
async fn unreadable_bodies_get_problem_answers() {
    let app = spawn_app().await;
    let url = app.url("/v1/users");

    let malformed = app
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    problem(malformed, 400).await;

    let not_json = app
        .client
        .post(&url)
        .body("username=a")
        .send()
        .await
        .unwrap();
    problem(not_json, 415).await;

    let missing = app
        .post(
            "/v1/users",
            None,
            &json!({"username": "abc", "email": "a@example.com"}),
        )
        .await;
    let body = problem(missing, 422).await;
    assert!(body["errors"]["password"].is_string(), "{body}");

    let wrong_type = app
        .post(
            "/v1/users",
            None,
            &json!({"username": 5, "email": "a@example.com", "password": PASSWORD}),
        )
        .await;
    let body = problem(wrong_type, 422).await;
    assert!(body["errors"]["username"].is_string(), "{body}");

    let unknown = app
        .post("/v1/users", None, &json!({"username": "abc", "email": "a@example.com", "password": PASSWORD, "admin": true}))
        .await;
    let body = problem(unknown, 422).await;
    assert!(body["errors"]["admin"].is_string(), "{body}");

    let huge = "x".repeat(200 * 1024);
    let too_large = app
        .post(
            "/v1/users",
            None,
            &json!({"username": "abc", "email": "a@example.com", "password": huge}),
        )
        .await;
    problem(too_large, 413).await;
}

#[tokio::test]
async fn ids_with_key_syntax_get_4xx_and_never_reach_redis() {
    let app = spawn_app().await;
    let owner = app.user("owner").await;
    let keys_before = app.all_keys().await;

    for id in [
        "a:b",
        "%7B1%7D",
        "a%20b",
        "*",
        "1%2A",
        "%E2%9C%93",
        &"9".repeat(65),
    ] {
        let path = format!("/v1/users/{id}");
        let get = app.get(&path, None).await;
        assert_eq!(get.status(), 422, "GET {path}");
        let patch = app
            .patch(&path, Some(&owner.token), &json!({"name": "x"}))
            .await;
        assert_eq!(patch.status(), 422, "PATCH {path}");
        let delete = app.delete(&path, Some(&owner.token)).await;
        assert_eq!(delete.status(), 422, "DELETE {path}");
        let sessions = app
            .get(&format!("{path}/sessions"), Some(&owner.token))
            .await;
        assert_eq!(sessions.status(), 422, "GET {path}/sessions");
    }

    let keys_after = app.all_keys().await;
    let sessions_changed: Vec<_> = keys_after
        .iter()
        .filter(|k| !keys_before.contains(k))
        .collect();
    assert!(sessions_changed.is_empty(), "{sessions_changed:?}");
}

#[tokio::test]
async fn get_returns_the_user_or_only_the_asked_fields() {
    let app = spawn_app().await;
    let dave = app.user("dave").await;

    // As dave: the private fields (e-mail, login count) are his to see.
    let whole: Value = app
        .get(&format!("/v1/users/{}", dave.id), Some(&dave.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(whole["username"], "dave");
    assert_eq!(whole["login_count"], 1);

    let partial: Value = app
        .get(
            &format!("/v1/users/{}?fields=name,email,follower_count", dave.id),
            Some(&dave.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        partial,
        json!({"id": dave.id, "name": "dave", "email": "dave@example.com", "follower_count": 0})
    );

    let unknown = app
        .get(&format!("/v1/users/{}?fields=password_hash", dave.id), None)
        .await;
    let body = problem(unknown, 422).await;
    assert!(body["errors"]["fields"].is_string());

    let me: Value = app
        .get("/v1/users/me", Some(&dave.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], dave.id.as_str());
    problem(app.get("/v1/users/me", None).await, 401).await;
    problem(app.get("/v1/users/424242", None).await, 404).await;
}

#[tokio::test]
async fn patch_changes_only_the_given_fields_for_the_owner_or_an_admin() {
    let app = spawn_app().await;
    let erin = app.user("erin").await;
    let frank = app.user("frank").await;
    let admin = app.admin("root").await;
    let path = format!("/v1/users/{}", erin.id);

    let updated: Value = app
        .patch(
            &path,
            Some(&erin.token),
            &json!({"name": "Erin K", "bio": "hello"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(updated["name"], "Erin K");
    assert_eq!(updated["bio"], "hello");
    assert_eq!(updated["email"], "erin@example.com");

    problem(app.patch(&path, None, &json!({"name": "x"})).await, 401).await;
    problem(
        app.patch(&path, Some(&frank.token), &json!({"name": "x"}))
            .await,
        403,
    )
    .await;
    let by_admin = app
        .patch(&path, Some(&admin.token), &json!({"bio": ""}))
        .await;
    assert_eq!(by_admin.status(), 200);
    let stored = app.hgetall(&app.redis.keys.user(&erin.id)).await;
    assert_eq!(stored["name"], "Erin K");
    assert!(
        !stored.contains_key("bio"),
        "an empty bio removes the field"
    );

    let empty = app.patch(&path, Some(&erin.token), &json!({})).await;
    problem(empty, 422).await;
    problem(
        app.patch(
            "/v1/users/999999",
            Some(&admin.token),
            &json!({"name": "x"}),
        )
        .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn changing_email_claims_the_new_one_and_frees_the_old_one() {
    let app = spawn_app().await;
    let gina = app.user("gina").await;
    app.user("hank").await;

    let taken = app
        .patch(
            "/v1/users/me",
            Some(&gina.token),
            &json!({"email": "hank@example.com", "current_password": PASSWORD}),
        )
        .await;
    problem(taken, 409).await;

    let changed = app
        .patch(
            "/v1/users/me",
            Some(&gina.token),
            &json!({"email": "gina@new.example.com", "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(changed.status(), 200);
    let reuse = app.register_raw("ivan", "gina@example.com").await;
    assert_eq!(reuse.status(), 201, "the old address is free again");
    let login = app.login("gina@new.example.com", PASSWORD).await;
    assert_eq!(login.status(), 201);
}

#[tokio::test]
async fn deleting_a_user_removes_their_keys_sessions_and_claims() {
    let app = spawn_app().await;
    let jane = app.user("jane").await;
    let other = app.user("kate").await;
    let second_login: Value = app.login("jane", PASSWORD).await.json().await.unwrap();
    let path = format!("/v1/users/{}", jane.id);

    problem(app.delete(&path, None).await, 401).await;
    problem(app.delete(&path, Some(&other.token)).await, 403).await;
    let deleted = app.delete(&path, Some(&jane.token)).await;
    assert_eq!(deleted.status(), 204);

    problem(app.get(&path, None).await, 404).await;
    problem(
        app.get("/v1/sessions/current", Some(&jane.token)).await,
        401,
    )
    .await;
    problem(
        app.get(
            "/v1/sessions/current",
            Some(second_login["token"].as_str().unwrap()),
        )
        .await,
        401,
    )
    .await;
    let leftovers: Vec<_> = app
        .all_keys()
        .await
        .into_iter()
        .filter(|k| k.contains(&format!("{{{}}}", jane.id)) || k.contains("session:"))
        .collect();
    // Only kate's session remains.
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    assert_eq!(
        app.register_raw("jane", "jane@example.com").await.status(),
        201
    );
    problem(app.delete(&path, Some(&other.token)).await, 403).await;
}

#[tokio::test]
async fn an_admin_may_delete_another_user() {
    let app = spawn_app().await;
    let lena = app.user("lena").await;
    let admin = app.admin("boss").await;

    let deleted = app
        .delete(&format!("/v1/users/{}", lena.id), Some(&admin.token))
        .await;

    assert_eq!(deleted.status(), 204);
    problem(
        app.delete(&format!("/v1/users/{}", lena.id), Some(&admin.token))
            .await,
        404,
    )
    .await;
}
