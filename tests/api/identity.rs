//! The bucketed username and e-mail indexes: one winner per name under concurrency,
//! no claim left pointing at nothing, claims moved and freed with the account, the old
//! one-slot index still read and migrated, and users that stay listpack-sized.

use agora::users::identity::{self, Identity};
use agora::users::password;
use argon2::password_hash::PasswordHasher;
use redis::AsyncCommands;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, problem, spawn_app};

/// Registers `(username, email)` pairs all at once; the statuses and bodies.
async fn register_concurrently(app: &TestApp, pairs: &[(String, String)]) -> Vec<(u16, Value)> {
    futures::future::join_all(pairs.iter().map(|(username, email)| async move {
        let response = app.register_raw(username, email).await;
        let status = response.status().as_u16();
        (
            status,
            response.json::<Value>().await.unwrap_or(Value::Null),
        )
    }))
    .await
}

/// Every claim named in `pairs` either is absent or names a user that exists.
async fn assert_no_dangling_claims(app: &TestApp, pairs: &[(String, String)]) {
    for (username, email) in pairs {
        for (identity, value) in [(Identity::Username, username), (Identity::Email, email)] {
            if let Some(owner) = app.claim_owner(identity, value).await {
                let exists: bool = app
                    .conn()
                    .exists(app.redis.keys.user(&owner))
                    .await
                    .unwrap();
                assert!(exists, "{value} is claimed by {owner}, who does not exist");
            }
        }
    }
}

/// The winner's id among the answers; panics unless exactly one registration won.
fn single_winner(answers: &[(u16, Value)], kind: &str) -> String {
    let winners: Vec<&Value> = answers
        .iter()
        .filter(|(status, _)| *status == 201)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(status, _)| *status != 201) {
        assert_eq!(*status, 409, "{body}");
        assert_eq!(body["type"], format!("/problems/{kind}"), "{body}");
    }
    winners[0]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn twenty_concurrent_registrations_of_one_username_have_one_winner_and_no_dangling_claim() {
    let app = spawn_app().await;
    let pairs: Vec<(String, String)> = (0..20)
        .map(|i| ("Rush".to_string(), format!("rush{i}@example.com")))
        .collect();

    let answers = register_concurrently(&app, &pairs).await;

    let winner = single_winner(&answers, "username-taken");
    assert_eq!(
        app.claim_owner(Identity::Username, "rush").await,
        Some(winner.clone())
    );
    let claimed_emails = futures::future::join_all(
        pairs
            .iter()
            .map(|(_, email)| app.claim_owner(Identity::Email, email)),
    )
    .await;
    assert_eq!(
        claimed_emails.iter().flatten().collect::<Vec<_>>(),
        vec![&winner],
        "only the winner's e-mail is claimed"
    );
    assert_no_dangling_claims(&app, &pairs).await;
}

#[tokio::test]
async fn twenty_concurrent_registrations_of_one_email_have_one_winner_and_no_dangling_claim() {
    let app = spawn_app().await;
    let pairs: Vec<(String, String)> = (0..20)
        .map(|i| (format!("same{i}"), "Same@Example.com".to_string()))
        .collect();

    let answers = register_concurrently(&app, &pairs).await;

    let winner = single_winner(&answers, "email-taken");
    assert_eq!(
        app.claim_owner(Identity::Email, "same@example.com").await,
        Some(winner.clone())
    );
    let mut claimed_usernames = Vec::new();
    for (username, _) in &pairs {
        claimed_usernames.extend(app.claim_owner(Identity::Username, username).await);
    }
    assert_eq!(
        claimed_usernames,
        vec![winner],
        "losers released their usernames"
    );
    assert_no_dangling_claims(&app, &pairs).await;
    // A loser's username is free again.
    let loser = answers
        .iter()
        .position(|(status, _)| *status == 409)
        .map(|i| pairs[i].0.clone())
        .unwrap();
    let response = app.register_raw(&loser, "second.try@example.com").await;
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn a_claim_crashed_between_the_two_steps_blocks_only_while_its_user_is_pending() {
    let app = spawn_app().await;
    let keys = &app.redis.keys;
    // A registration that claimed its username and died before its e-mail: its
    // pending user hash (60 s TTL in real life) still exists.
    let _: () = app
        .conn()
        .hset(keys.user("777"), "id", "777")
        .await
        .unwrap();
    let bucket = Identity::Username.bucket_key(&app.redis, "halfway");
    let _: () = app.conn().hset(&bucket, "halfway", "777").await.unwrap();
    let email_bucket = Identity::Email.bucket_key(&app.redis, "ghost@example.com");
    let _: () = app
        .conn()
        .hset(&email_bucket, "ghost@example.com", "778")
        .await
        .unwrap();

    let blocked = app.register_raw("halfway", "halfway@example.com").await;
    assert_eq!(
        problem(blocked, 409).await["type"],
        "/problems/username-taken"
    );
    // The login finds the claim but no usable user: the same 401 as any bad login.
    assert_eq!(app.login("halfway", PASSWORD).await.status(), 401);

    // The pending hash expires: the claim is stale and the name is free.
    let _: () = app.conn().del(keys.user("777")).await.unwrap();
    let response = app.register_raw("halfway", "ghost@example.com").await;
    assert_eq!(response.status(), 201);
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.claim_owner(Identity::Username, "halfway").await,
        Some(id.clone())
    );
    assert_eq!(
        app.claim_owner(Identity::Email, "ghost@example.com").await,
        Some(id)
    );
}

#[tokio::test]
async fn changing_the_email_moves_its_claim_and_deleting_the_account_frees_both() {
    let app = spawn_app().await;
    let user = app.user("mover").await;

    let response = app
        .patch(
            "/v1/users/me",
            Some(&user.token),
            &json!({"email": "New.Home@example.com", "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), 200);

    assert_eq!(
        app.claim_owner(Identity::Email, "mover@example.com").await,
        None
    );
    assert_eq!(
        app.claim_owner(Identity::Email, "new.home@example.com")
            .await,
        Some(user.id.clone())
    );
    assert_eq!(
        app.login("new.home@EXAMPLE.com", PASSWORD).await.status(),
        201
    );
    assert_eq!(app.login("mover@example.com", PASSWORD).await.status(), 401);
    // The old address is free for someone else.
    assert_eq!(
        app.register_raw("other", "mover@example.com")
            .await
            .status(),
        201
    );

    let deleted = app.delete("/v1/users/me", Some(&user.token)).await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(app.claim_owner(Identity::Username, "mover").await, None);
    assert_eq!(
        app.claim_owner(Identity::Email, "new.home@example.com")
            .await,
        None
    );
    assert_eq!(
        app.register_raw("Mover", "new.home@example.com")
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn users_in_the_old_index_and_format_log_in_and_are_migrated_once() {
    let app = spawn_app().await;
    let keys = &app.redis.keys;
    let user = app.user("elder").await;
    // Put the user back as the previous version stored it: claims in the one-slot
    // index, the password as a PHC string; plus a claim whose user is gone.
    let phc = argon2::Argon2::default()
        .hash_password(PASSWORD.as_bytes())
        .unwrap()
        .to_string();
    let mut conn = app.conn();
    let _: () = conn
        .hset(keys.user(&user.id), "password_hash", &phc)
        .await
        .unwrap();
    let _: () = conn.hdel(keys.user(&user.id), "pw").await.unwrap();
    for (identity, value) in [
        (Identity::Username, "elder"),
        (Identity::Email, "elder@example.com"),
    ] {
        let _: () = conn
            .hdel(identity.bucket_key(&app.redis, value), value)
            .await
            .unwrap();
        let _: () = conn
            .hset(identity.legacy_key(&app.redis), value, &user.id)
            .await
            .unwrap();
    }
    let _: () = conn
        .hset(keys.legacy_username_index(), "departed", "424242")
        .await
        .unwrap();

    // Read fallback: the old index still finds them, and still blocks their names.
    assert_eq!(app.login("elder", PASSWORD).await.status(), 201);
    let taken = app.register_raw("ELDER", "fresh@example.com").await;
    assert_eq!(
        problem(taken, 409).await["type"],
        "/problems/username-taken"
    );
    let taken = app.register_raw("younger", "Elder@example.com").await;
    assert_eq!(problem(taken, 409).await["type"], "/problems/email-taken");
    // The login rewrote the password hash in the compact form.
    let stored: String = conn.hget(keys.user(&user.id), "pw").await.unwrap();
    assert!(password::is_compact(&stored), "{stored}");
    let legacy: Option<String> = conn
        .hget(keys.user(&user.id), "password_hash")
        .await
        .unwrap();
    assert_eq!(legacy, None, "moved to the compact field");
    assert_eq!(password::expand(&stored), phc);

    let report = identity::migrate_legacy(&app.redis).await.unwrap();
    assert_eq!((report.moved, report.dropped), (2, 1), "{report}");
    assert!(report.conflicts.is_empty());
    assert!(!identity::legacy_present(&app.redis).await.unwrap());
    assert_eq!(
        app.claim_owner(Identity::Username, "elder").await,
        Some(user.id.clone())
    );
    assert_eq!(
        app.claim_owner(Identity::Email, "elder@example.com").await,
        Some(user.id.clone())
    );
    assert_eq!(app.claim_owner(Identity::Username, "departed").await, None);
    assert_eq!(app.login("elder@example.com", PASSWORD).await.status(), 201);

    let again = identity::migrate_legacy(&app.redis).await.unwrap();
    assert_eq!((again.moved, again.dropped), (0, 0), "idempotent: {again}");
}

#[tokio::test]
async fn a_registered_and_logged_in_user_and_its_buckets_stay_listpacks() {
    let app = spawn_app().await;
    let user = app.user("compact").await;
    let bio = "b".repeat(60);
    let response = app
        .patch("/v1/users/me", Some(&user.token), &json!({"bio": bio}))
        .await;
    assert_eq!(response.status(), 200);

    let encoding = |key: String| {
        let mut conn = app.conn();
        async move {
            redis::cmd("OBJECT")
                .arg("ENCODING")
                .arg(key)
                .query_async::<String>(&mut conn)
                .await
                .unwrap()
        }
    };
    assert_eq!(encoding(app.redis.keys.user(&user.id)).await, "listpack");
    assert_eq!(
        encoding(Identity::Username.bucket_key(&app.redis, "compact")).await,
        "listpack"
    );
    assert_eq!(
        encoding(Identity::Email.bucket_key(&app.redis, "compact@example.com")).await,
        "listpack"
    );
}
