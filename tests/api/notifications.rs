//! Live notifications over SSE: published by one request, received by another client.

use std::time::Duration;

use agora::notifications::{Notification, publish};
use futures::StreamExt;
use serde_json::json;

use crate::helpers::{TestApp, problem, spawn_app};

/// Opens the SSE stream of the session `token`.
pub async fn open_stream(app: &TestApp, token: &str) -> reqwest::Response {
    let response = app
        .client
        .get(app.url("/v1/users/me/notifications/stream"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    response
}

/// Reads SSE text until `needle` has been seen (or panics after 5 s).
pub async fn read_until<B: AsRef<[u8]>>(
    stream: &mut (impl futures::Stream<Item = reqwest::Result<B>> + Unpin),
    needle: &str,
) -> String {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !text.contains(needle) {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} within 5 s; got {text:?}"))
            .expect("stream ended")
            .unwrap();
        text.push_str(&String::from_utf8_lossy(chunk.as_ref()));
    }
    text
}

#[tokio::test]
async fn an_sse_client_receives_a_notification_published_elsewhere() {
    let app = spawn_app().await;
    let user = app.user("listener").await;
    let other = app.user("bystander").await;
    let mut mine = open_stream(&app, &user.token).await.bytes_stream();
    let mut second_tab = open_stream(&app, &user.token).await.bytes_stream();
    let mut theirs = open_stream(&app, &other.token).await.bytes_stream();
    read_until(&mut mine, "event: ready").await;
    read_until(&mut second_tab, "event: ready").await;
    read_until(&mut theirs, "event: ready").await;

    let sent = Notification::new("new_follower", json!({"follower_id": other.id}));
    let receivers = publish(&app.redis, &user.id, &sent).await.unwrap();

    assert_eq!(
        receivers, 1,
        "one subscriber connection per process, however many tabs"
    );
    let text = read_until(&mut mine, "new_follower").await;
    assert!(text.contains("event: notification"), "{text}");
    assert!(text.contains("\"type\":\"new_follower\""), "{text}");
    read_until(&mut second_tab, "new_follower").await;
    let nothing = tokio::time::timeout(Duration::from_millis(300), theirs.next()).await;
    assert!(nothing.is_err(), "another user's stream gets nothing");
}

#[tokio::test]
async fn the_last_client_leaving_unsubscribes() {
    let app = spawn_app().await;
    let user = app.user("leaver").await;
    let mut stream = open_stream(&app, &user.token).await.bytes_stream();
    read_until(&mut stream, "event: ready").await;
    let listening = publish(&app.redis, &user.id, &Notification::new("ping", json!({})))
        .await
        .unwrap();
    assert_eq!(listening, 1);

    drop(stream);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        let receivers = publish(&app.redis, &user.id, &Notification::new("ping", json!({})))
            .await
            .unwrap();
        if receivers == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still subscribed after the client left"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_stream_needs_a_session() {
    let app = spawn_app().await;
    problem(
        app.get("/v1/users/me/notifications/stream", None).await,
        401,
    )
    .await;
}

#[tokio::test]
async fn following_and_commenting_notify_the_user_live() {
    let app = spawn_app().await;
    let author = app.user("famous").await;
    let fan = app.user("fan").await;
    let mut stream = open_stream(&app, &author.token).await.bytes_stream();
    read_until(&mut stream, "event: ready").await;

    let follow = app
        .send_json(
            reqwest::Method::PUT,
            &format!("/v1/users/me/following/{}", author.id),
            Some(&fan.token),
            &json!({}),
        )
        .await;
    assert_eq!(follow.status(), 204);
    let text = read_until(&mut stream, "new_follower").await;
    assert!(
        text.contains(&format!("\"follower_id\":\"{}\"", fan.id)),
        "{text}"
    );

    let post: serde_json::Value = app
        .post(
            "/v1/posts",
            Some(&author.token),
            &json!({"title": "Hello", "content": "First post"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let post_id = post["id"].as_str().unwrap();
    let comment = app
        .post(
            &format!("/v1/posts/{post_id}/comments"),
            Some(&fan.token),
            &json!({"content": "Nice"}),
        )
        .await;
    assert_eq!(comment.status(), 201);
    let text = read_until(&mut stream, "\"type\":\"comment\"").await;
    assert!(text.contains(post_id), "{text}");
}
