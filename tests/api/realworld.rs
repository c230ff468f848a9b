//! The RealWorld (Conduit) API at `/api`: the spec's shapes and errors, offset pages
//! with exact counts in a strict newest-first order, and one data model with `/v1`
//! (what is done through one surface shows through the other).

use redis::AsyncCommands;
use serde_json::{Value, json};

use agora::redis::keys::UserPart;

use crate::helpers::{PASSWORD, TestApp, spawn_app};

/// A request to `/api` with `Authorization: Token <token>`.
async fn api(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.header("Authorization", format!("Token {token}"));
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn api_get(app: &TestApp, path: &str, token: Option<&str>) -> Value {
    let (status, body) = api(app, reqwest::Method::GET, path, token, None).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// Registers `username` through `/api`; (token, user id).
async fn register(app: &TestApp, username: &str) -> (String, String) {
    let (status, body) = api(
        app,
        reqwest::Method::POST,
        "/api/users",
        None,
        Some(json!({"user": {"username": username,
            "email": format!("{username}@example.com"), "password": "password123"}})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let token = body["user"]["token"].as_str().unwrap().to_string();
    let me = app.get_ok("/v1/users/me", Some(&token)).await;
    (token, me["id"].as_str().unwrap().to_string())
}

async fn create_article(app: &TestApp, token: &str, title: &str, tags: &[&str]) -> Value {
    let (status, body) = api(
        app,
        reqwest::Method::POST,
        "/api/articles",
        Some(token),
        Some(
            json!({"article": {"title": title, "description": "about it",
            "body": format!("body of {title}"), "tagList": tags}}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["article"].clone()
}

fn slugs(list: &Value) -> Vec<String> {
    list["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["slug"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn accounts_made_on_api_work_on_v1_and_the_other_way_round() {
    let app = spawn_app().await;
    let (token, id) = register(&app, "rw_ada").await;
    // The /api token is a session token: a Bearer token on /v1.
    let me = app.get_ok("/v1/users/me", Some(&token)).await;
    assert_eq!(me["username"], "rw_ada");

    let (status, body) = api(
        &app,
        reqwest::Method::PUT,
        "/api/user",
        Some(&token),
        Some(json!({"user": {"bio": "Hi", "image": "https://example.com/a.png"}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["token"], token.as_str());
    let me = app.get_ok("/v1/users/me", Some(&token)).await;
    assert_eq!(
        (me["bio"].as_str(), me["avatar"].as_str()),
        (Some("Hi"), Some("https://example.com/a.png"))
    );

    // A password set on /api logs in on /v1, and ends the user's other sessions.
    let other = app
        .login("rw_ada", "password123")
        .await
        .json::<Value>()
        .await
        .unwrap();
    let other = other["token"].as_str().unwrap().to_string();
    let (status, _) = api(
        &app,
        reqwest::Method::PUT,
        "/api/user",
        Some(&token),
        Some(json!({"user": {"password": "a new secret"}})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(app.get("/v1/users/me", Some(&other)).await.status(), 401);
    assert_eq!(app.get("/v1/users/me", Some(&token)).await.status(), 200);
    assert_eq!(app.login("rw_ada", "a new secret").await.status(), 201);

    // A rename on /api is the user's new name on /v1; the old name is free again.
    let (status, body) = api(
        &app,
        reqwest::Method::PUT,
        "/api/user",
        Some(&token),
        Some(json!({"user": {"username": "rw_ada2"}})),
    )
    .await;
    assert_eq!(
        (status, body["user"]["username"].clone()),
        (200, json!("rw_ada2")),
        "{body}"
    );
    assert_eq!(
        app.get_ok("/v1/users/me", Some(&token)).await["username"],
        "rw_ada2"
    );
    assert_eq!(
        app.register_raw("rw_ada", "other_ada@example.com")
            .await
            .status(),
        201
    );
    let (status, body) = api(
        &app,
        reqwest::Method::PUT,
        "/api/user",
        Some(&token),
        Some(json!({"user": {"username": "rw_ada"}})),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            409,
            json!({"errors": {"username": ["has already been taken"]}})
        )
    );

    // A user registered on /v1 logs in on /api by e-mail and is a profile there.
    let bob = app.user("rw_bob").await;
    let (status, body) = api(
        &app,
        reqwest::Method::POST,
        "/api/users/login",
        None,
        Some(json!({"user": {"email": "rw_bob@example.com", "password": PASSWORD}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["username"], "rw_bob");
    let bob_api_token = body["user"]["token"].as_str().unwrap().to_string();
    assert_eq!(
        app.get("/v1/users/me", Some(&bob_api_token)).await.status(),
        200
    );

    // A follow on /api is a follow on /v1.
    let (status, body) = api(
        &app,
        reqwest::Method::POST,
        "/api/profiles/rw_bob/follow",
        Some(&token),
        None,
    )
    .await;
    assert_eq!((status, &body["profile"]["following"]), (200, &json!(true)));
    let following: Vec<String> = app
        .conn()
        .zrange(app.redis.keys.user_part(&id, UserPart::Following), 0, -1)
        .await
        .unwrap();
    assert_eq!(following, vec![bob.id.clone()]);
    let profile = api_get(&app, "/api/profiles/rw_bob", Some(&token)).await;
    assert_eq!(profile["profile"]["following"], true);
    let profile = api_get(&app, "/api/profiles/rw_bob", None).await;
    assert_eq!(profile["profile"]["following"], false);
}

#[tokio::test]
async fn articles_are_posts_and_favorites_are_likes_on_both_surfaces() {
    let app = spawn_app().await;
    let (token, _) = register(&app, "rw_cy").await;
    let dee = app.user("rw_dee").await;

    let article = create_article(&app, &token, "Redis & Rust!", &["rust", " Redis", "redis"]).await;
    assert_eq!(article["slug"], "redis-rust");
    assert_eq!(
        article["tagList"],
        json!(["redis", "rust"]),
        "lower-cased, sorted, once each"
    );
    // A new title with the same slug keeps it; another one moves it.
    let (status, body) = api(
        &app,
        reqwest::Method::PUT,
        "/api/articles/redis-rust",
        Some(&token),
        Some(json!({"article": {"title": "REDIS, Rust"}})),
    )
    .await;
    assert_eq!(
        (status, body["article"]["slug"].clone()),
        (200, json!("redis-rust")),
        "{body}"
    );
    // The same post on /v1, with the new fields.
    let id: String = app
        .conn()
        .get(app.redis.keys.slug("redis-rust"))
        .await
        .unwrap();
    let post = app.get_ok(&format!("/v1/posts/{id}"), None).await;
    assert_eq!(post["content"], "body of Redis & Rust!");
    assert_eq!(post["description"], "about it");
    assert_eq!(post["tags"], json!(["redis", "rust"]));

    // A like on /v1 is a favorite on /api, and the other way round.
    let like = format!("/v1/posts/{id}/likes/{}", dee.id);
    assert_eq!(app.put(&like, Some(&dee.token)).await.status(), 204);
    let seen = api_get(&app, "/api/articles/redis-rust", Some(&dee.token)).await;
    assert_eq!(
        (
            seen["article"]["favorited"].clone(),
            seen["article"]["favoritesCount"].clone()
        ),
        (json!(true), json!(1))
    );
    let favorites = api_get(&app, "/api/articles?favorited=rw_dee", None).await;
    assert_eq!(
        (slugs(&favorites), favorites["articlesCount"].clone()),
        (vec!["redis-rust".to_string()], json!(1))
    );
    let (status, body) = api(
        &app,
        reqwest::Method::POST,
        "/api/articles/redis-rust/favorite",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        (status, body["article"]["favoritesCount"].clone()),
        (200, json!(2))
    );
    assert_eq!(
        app.get_ok(&format!("/v1/posts/{id}"), None).await["likes"],
        2
    );

    // A post made on /v1 is an article, its slug from its title.
    let v1 = app
        .post(
            "/v1/posts",
            Some(&dee.token),
            &json!({"title": "Made on v1", "content": "text", "tags": ["redis"]}),
        )
        .await;
    assert_eq!(v1.status(), 201);
    let seen = api_get(&app, "/api/articles/made-on-v1", None).await;
    assert_eq!(seen["article"]["author"]["username"], "rw_dee");
    assert_eq!(seen["article"]["body"], "text");
    let tagged = api_get(&app, "/api/articles?tag=redis", None).await;
    assert_eq!(slugs(&tagged), ["made-on-v1", "redis-rust"]);
    assert_eq!(tagged["articlesCount"], 2);
    assert!(tagged["articles"][0].get("body").is_none());
    let tags = api_get(&app, "/api/tags", None).await;
    assert_eq!(tags["tags"], json!(["redis", "rust"]));

    // Edits: tags move between indexes; deleting releases the slug and the tags.
    let (status, body) = api(
        &app,
        reqwest::Method::PUT,
        "/api/articles/redis-rust",
        Some(&token),
        Some(json!({"article": {"tagList": []}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(body["article"]["updatedAt"], article["updatedAt"]);
    assert_eq!(body["article"]["createdAt"], article["createdAt"]);
    assert_eq!(
        api_get(&app, "/api/tags", None).await["tags"],
        json!(["redis"])
    );
    let (status, body) = api(
        &app,
        reqwest::Method::DELETE,
        "/api/articles/made-on-v1",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        (status, body),
        (403, json!({"errors": {"article": ["forbidden"]}}))
    );
    let (status, _) = api(
        &app,
        reqwest::Method::DELETE,
        "/api/articles/made-on-v1",
        Some(&dee.token),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(api_get(&app, "/api/tags", None).await["tags"], json!([]));
    let exists: bool = app
        .conn()
        .exists(app.redis.keys.slug("made-on-v1"))
        .await
        .unwrap();
    assert!(!exists);
    let again = create_article(&app, &token, "Made on v1", &[]).await;
    assert_eq!(again["slug"], "made-on-v1");

    // A deleted article leaves its likers' favorites: the count is exact at once.
    let (status, _) = api(
        &app,
        reqwest::Method::DELETE,
        "/api/articles/redis-rust",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let favorites = api_get(&app, "/api/articles?favorited=rw_dee&tag=", None).await;
    assert_eq!(favorites, json!({"articles": [], "articlesCount": 0}));
}

#[tokio::test]
async fn lists_are_strictly_newest_first_with_exact_counts_even_within_a_millisecond() {
    let app = spawn_app().await;
    let (token, _) = register(&app, "rw_eve").await;
    // Created concurrently: several land in one millisecond.
    let titles: Vec<String> = (0..12).map(|i| format!("Same title {}", i % 2)).collect();
    let created = futures::future::join_all(
        titles
            .iter()
            .map(|t| create_article(&app, &token, t, &["burst"])),
    )
    .await;
    let mut expected: Vec<(String, String)> = created
        .iter()
        .map(|a| {
            (
                a["createdAt"].as_str().unwrap().to_string(),
                a["slug"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut instants: Vec<&String> = expected.iter().map(|(at, _)| at).collect();
    instants.sort();
    instants.dedup();
    assert_eq!(instants.len(), 12, "every article has its own instant");
    expected.sort_by(|a, b| b.0.cmp(&a.0));
    let expected: Vec<String> = expected.into_iter().map(|(_, slug)| slug).collect();
    let mut unique = expected.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 12, "one title, different slugs");

    for query in ["author=rw_eve", "tag=burst", ""] {
        let mut seen = Vec::new();
        for offset in (0..12).step_by(5) {
            let page = api_get(
                &app,
                &format!("/api/articles?{query}&limit=5&offset={offset}"),
                None,
            )
            .await;
            assert_eq!(page["articlesCount"], 12, "{query}");
            seen.extend(slugs(&page));
        }
        assert_eq!(seen, expected, "{query}");
    }
    let combined = api_get(
        &app,
        "/api/articles?author=rw_eve&tag=burst&limit=3&offset=3",
        None,
    )
    .await;
    assert_eq!(combined["articlesCount"], 12);
    assert_eq!(slugs(&combined), expected[3..6]);
    let (status, body) = api(
        &app,
        reqwest::Method::GET,
        "/api/articles?limit=x",
        None,
        None,
    )
    .await;
    assert_eq!((status, body["errors"]["limit"].is_array()), (422, true));
}

#[tokio::test]
async fn the_feed_is_the_home_timeline_with_exact_counts() {
    let app = spawn_app().await;
    let (reader, _) = register(&app, "rw_fay").await;
    let writer = app.user("rw_gus").await;
    let empty = api_get(&app, "/api/articles/feed", Some(&reader)).await;
    assert_eq!(empty, json!({"articles": [], "articlesCount": 0}));
    let (status, _) = api(
        &app,
        reqwest::Method::POST,
        "/api/profiles/rw_gus/follow",
        Some(&reader),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let first = create_article(&app, &writer.token, "One", &[]).await;
    app.publish(&writer, "Two").await;
    let feed = api_get(&app, "/api/articles/feed?limit=1", Some(&reader)).await;
    assert_eq!(feed["articlesCount"], 2);
    assert_eq!(slugs(&feed), ["two"]);
    assert_eq!(feed["articles"][0]["author"]["following"], true);
    let feed = api_get(&app, "/api/articles/feed?limit=1&offset=1", Some(&reader)).await;
    assert_eq!(slugs(&feed), [first["slug"].as_str().unwrap()]);
}

#[tokio::test]
async fn comments_and_errors_have_the_spec_shapes() {
    let app = spawn_app().await;
    let (ann, _) = register(&app, "rw_hal").await;
    let (ben, _) = register(&app, "rw_ike").await;
    let article = create_article(&app, &ann, "Talk", &[]).await;
    let slug = article["slug"].as_str().unwrap();
    let path = format!("/api/articles/{slug}/comments");

    let (status, body) = api(
        &app,
        reqwest::Method::POST,
        &path,
        Some(&ben),
        Some(json!({"comment": {"body": "Nice"}})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["comment"]["id"].as_u64().expect("an integer id");
    let listed = api_get(&app, &path, None).await;
    assert_eq!(listed["comments"][0]["id"], id);
    assert_eq!(listed["comments"][0]["author"]["username"], "rw_ike");
    // The same comment on /v1.
    let post_id: String = app.conn().get(app.redis.keys.slug(slug)).await.unwrap();
    let v1 = app
        .get_ok(&format!("/v1/posts/{post_id}/comments"), None)
        .await;
    assert_eq!(v1["items"][0]["id"], format!("c{id}"));

    let cases = [
        (
            reqwest::Method::DELETE,
            format!("{path}/{id}"),
            Some(&ann),
            None,
            403,
            json!({"errors": {"comment": ["forbidden"]}}),
        ),
        (
            reqwest::Method::DELETE,
            format!("{path}/99999"),
            Some(&ann),
            None,
            404,
            json!({"errors": {"comment": ["not found"]}}),
        ),
        (
            reqwest::Method::DELETE,
            "/api/articles/nope/comments/1".to_string(),
            Some(&ann),
            None,
            404,
            json!({"errors": {"article": ["not found"]}}),
        ),
        (
            reqwest::Method::POST,
            path.clone(),
            None,
            Some(json!({"comment": {"body": "x"}})),
            401,
            json!({"errors": {"token": ["is missing"]}}),
        ),
        (
            reqwest::Method::POST,
            path.clone(),
            Some(&ben),
            Some(json!({"comment": {"body": " "}})),
            422,
            json!({"errors": {"body": ["can't be blank"]}}),
        ),
        (
            reqwest::Method::POST,
            "/api/articles".to_string(),
            Some(&ann),
            Some(json!({"article": {"title": "t", "body": "b"}})),
            422,
            json!({"errors": {"description": ["can't be blank"]}}),
        ),
        (
            reqwest::Method::POST,
            "/api/users".to_string(),
            None,
            Some(
                json!({"user": {"username": "rw_hal", "email": "x@example.com", "password": "password123"}}),
            ),
            409,
            json!({"errors": {"username": ["has already been taken"]}}),
        ),
        (
            reqwest::Method::POST,
            "/api/users/login".to_string(),
            None,
            Some(json!({"user": {"email": "rw_hal@example.com", "password": "wrong password"}})),
            401,
            json!({"errors": {"credentials": ["invalid"]}}),
        ),
        (
            reqwest::Method::GET,
            "/api/user".to_string(),
            Some(&"1.bad".to_string()),
            None,
            401,
            json!({"errors": {"token": ["invalid"]}}),
        ),
        (
            reqwest::Method::GET,
            "/api/profiles/nobody_here".to_string(),
            None,
            None,
            404,
            json!({"errors": {"profile": ["not found"]}}),
        ),
        (
            reqwest::Method::PUT,
            format!("/api/articles/{slug}"),
            Some(&ann),
            Some(json!({"article": {"tagList": null}})),
            422,
            json!({"errors": {"tagList": ["can't be null"]}}),
        ),
    ];
    for (method, path, token, body, status, expected) in cases {
        let got = api(&app, method.clone(), &path, token.map(|t| t.as_str()), body).await;
        assert_eq!(got, (status, expected), "{method} {path}");
    }
    let (status, _) = api(
        &app,
        reqwest::Method::DELETE,
        &format!("{path}/{id}"),
        Some(&ben),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(api_get(&app, &path, None).await["comments"], json!([]));
}
