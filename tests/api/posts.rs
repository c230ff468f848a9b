//! Posts: denormalized author, indexes, pages, deletion, likes and comments with
//! counters that equal their sets under concurrency, and author name propagation.

use redis::AsyncCommands;
use serde_json::{Value, json};

use agora::redis::keys::{PostPart, UserPart};

use crate::helpers::{TestApp, problem, spawn_app, spawn_app_with, titles};

async fn zset(app: &TestApp, key: &str) -> Vec<String> {
    app.conn().zrevrange(key, 0, -1).await.unwrap()
}

#[tokio::test]
async fn publishing_returns_the_post_with_its_author_copied_in_and_indexes_it() {
    let app = spawn_app().await;
    let ada = app.user("ada").await;
    app.patch(
        "/v1/users/me",
        Some(&ada.token),
        &json!({"name": "Ada L", "avatar": "https://example.com/ada.png"}),
    )
    .await;

    let response = app
        .post(
            "/v1/posts",
            Some(&ada.token),
            &json!({"title": "Hello", "content": "First post\nwith two lines"}),
        )
        .await;

    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let post: Value = response.json().await.unwrap();
    let id = post["id"].as_str().unwrap().to_string();
    assert_eq!(location, format!("/v1/posts/{id}"));
    assert_eq!(
        post,
        json!({"id": id, "title": "Hello", "content": "First post\nwith two lines",
            "author_id": ada.id, "author_name": "Ada L",
            "author_avatar": "https://example.com/ada.png",
            "created_at": post["created_at"], "likes": 0, "comments_count": 0,
            "description": "", "tags": [], "slug": "hello",
            "updated_at": post["created_at"]})
    );
    assert_eq!(app.get_ok(&location, None).await, post);

    let keys = &app.redis.keys;
    let stored = app.hgetall(&keys.post(&id)).await;
    assert_eq!(stored["author_name"], "Ada L");
    assert_eq!(stored["likes"], "0");
    for index in [
        keys.recent_posts(),
        keys.user_part(&ada.id, UserPart::Posts),
        keys.user_part(&ada.id, UserPart::Timeline),
    ] {
        assert_eq!(zset(&app, &index).await, vec![id.clone()], "{index}");
    }
    let activity = app.get_ok("/v1/users/me/activity", Some(&ada.token)).await;
    assert_eq!(activity["items"][0]["type"], "post");
    assert_eq!(activity["items"][0]["target_id"], id.as_str());
    assert_eq!(activity["items"][0]["timestamp"], post["created_at"]);
}

#[tokio::test]
async fn invalid_posts_get_4xx_and_write_nothing() {
    let app = spawn_app().await;
    let bo = app.user("bor").await;
    let keys_before = app.all_keys().await;

    for (body, field) in [
        (json!({"content": "x"}), "title"),
        (json!({"title": " ", "content": "x"}), "title"),
        (json!({"title": "a\nb", "content": "x"}), "title"),
        (json!({"title": "t".repeat(201), "content": "x"}), "title"),
        (json!({"title": "t", "content": ""}), "content"),
        (
            json!({"title": "t", "content": "c".repeat(10_001)}),
            "content",
        ),
        (json!({"title": "t", "content": "c", "likes": 5}), "likes"),
    ] {
        let response = app.post("/v1/posts", Some(&bo.token), &body).await;
        let problem_body = problem(response, 422).await;
        assert!(
            problem_body["errors"][field].is_string(),
            "{body}: {problem_body}"
        );
    }
    problem(
        app.post("/v1/posts", None, &json!({"title": "t", "content": "c"}))
            .await,
        401,
    )
    .await;
    let not_json = app
        .client
        .post(app.url("/v1/posts"))
        .bearer_auth(&bo.token)
        .body("title=t")
        .send()
        .await
        .unwrap();
    problem(not_json, 415).await;
    problem(app.get("/v1/posts/p999999", None).await, 404).await;
    problem(app.get("/v1/posts/p:1", None).await, 422).await;

    assert_eq!(app.all_keys().await, keys_before);
}

#[tokio::test]
async fn recent_posts_page_newest_first_with_cursors_that_new_posts_do_not_shift() {
    let app = spawn_app().await;
    let cy = app.user("cyn").await;
    for n in 1..=5 {
        app.publish(&cy, &format!("post {n}")).await;
    }

    let first = app.get_ok("/v1/posts?limit=2", None).await;
    assert_eq!(titles(&first), ["post 5", "post 4"]);
    app.publish(&cy, "post 6").await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get_ok(&format!("/v1/posts?limit=2&cursor={cursor}"), None)
        .await;
    assert_eq!(titles(&second), ["post 3", "post 2"]);
    let cursor = second["next_cursor"].as_str().unwrap();
    let third = app
        .get_ok(&format!("/v1/posts?limit=2&cursor={cursor}"), None)
        .await;
    assert_eq!(titles(&third), ["post 1"]);
    assert!(third["next_cursor"].is_null());

    let by_author = app
        .get_ok(&format!("/v1/users/{}/posts?limit=3", cy.id), None)
        .await;
    assert_eq!(titles(&by_author), ["post 6", "post 5", "post 4"]);
    problem(app.get("/v1/users/999999/posts", None).await, 404).await;
    problem(app.get("/v1/posts?limit=101", None).await, 422).await;
    problem(app.get("/v1/posts?cursor=00", None).await, 422).await;
    problem(app.get("/v1/posts?limit=1&limit=2", None).await, 422).await;
}

#[tokio::test]
async fn an_index_entry_whose_post_is_gone_is_skipped_and_removed() {
    let app = spawn_app().await;
    let di = app.user("dia").await;
    app.publish(&di, "kept").await;
    let gone = app.publish(&di, "gone").await;
    let gone_id = gone["id"].as_str().unwrap();
    // A crash in a user deletion after the post hashes went, before their index entries.
    let _: u64 = app.conn().del(app.redis.keys.post(gone_id)).await.unwrap();

    let recent = app.get_ok("/v1/posts", None).await;
    let mine = app
        .get_ok(&format!("/v1/users/{}/posts", di.id), None)
        .await;
    let feed = app.get_ok("/v1/users/me/feed", Some(&di.token)).await;

    for page in [&recent, &mine, &feed] {
        assert_eq!(titles(page), ["kept"]);
    }
    let keys = &app.redis.keys;
    for index in [
        keys.recent_posts(),
        keys.user_part(&di.id, UserPart::Posts),
        keys.user_part(&di.id, UserPart::Timeline),
    ] {
        assert!(
            !zset(&app, &index).await.contains(&gone_id.to_string()),
            "{index} still lists the gone post"
        );
    }
}

#[tokio::test]
async fn deleting_a_post_takes_it_out_of_every_index_and_timeline() {
    let app = spawn_app().await;
    let [eva, fin, gia] = <[_; 3]>::try_from(app.users(&["eva", "fin", "gia"]).await).unwrap();
    let admin = app.admin("root").await;
    app.put(
        &format!("/v1/users/me/following/{}", eva.id),
        Some(&fin.token),
    )
    .await;
    let post = app.publish(&eva, "short-lived").await;
    let id = post["id"].as_str().unwrap().to_string();
    let path = format!("/v1/posts/{id}");
    app.put(&format!("{path}/likes/me"), Some(&fin.token)).await;
    app.post(
        &format!("{path}/comments"),
        Some(&fin.token),
        &json!({"content": "hi"}),
    )
    .await;
    let keys = &app.redis.keys;
    assert_eq!(
        zset(&app, &keys.user_part(&fin.id, UserPart::Timeline)).await,
        vec![id.clone()]
    );

    problem(app.delete(&path, None).await, 401).await;
    problem(app.delete(&path, Some(&gia.token)).await, 403).await;
    assert_eq!(app.delete(&path, Some(&eva.token)).await.status(), 204);
    problem(app.delete(&path, Some(&eva.token)).await, 404).await;

    problem(app.get(&path, None).await, 404).await;
    for index in [
        keys.recent_posts(),
        keys.user_part(&eva.id, UserPart::Posts),
        keys.user_part(&eva.id, UserPart::Timeline),
        keys.user_part(&fin.id, UserPart::Timeline),
    ] {
        assert!(zset(&app, &index).await.is_empty(), "{index}");
    }
    for part in PostPart::ALL {
        let exists: bool = app.conn().exists(keys.post_part(&id, part)).await.unwrap();
        assert!(!exists);
    }
    let feed = app.get_ok("/v1/users/me/feed", Some(&fin.token)).await;
    assert!(titles(&feed).is_empty());

    let other = app.publish(&eva, "removed by an admin").await;
    let other_path = format!("/v1/posts/{}", other["id"].as_str().unwrap());
    assert_eq!(
        app.delete(&other_path, Some(&admin.token)).await.status(),
        204
    );
}

#[tokio::test]
async fn likes_count_each_user_once_and_unlike_takes_it_back() {
    let app = spawn_app().await;
    let [hal, ivy] = <[_; 2]>::try_from(app.users(&["hal", "ivy"]).await).unwrap();
    let post = app.publish(&hal, "likeable").await;
    let path = format!("/v1/posts/{}", post["id"].as_str().unwrap());
    let likers = app
        .redis
        .keys
        .post_part(post["id"].as_str().unwrap(), PostPart::Likes);

    for _ in 0..3 {
        let liked = app.put(&format!("{path}/likes/me"), Some(&ivy.token)).await;
        assert_eq!(liked.status(), 204);
    }
    assert_eq!(app.get_ok(&path, None).await["likes"], 1);
    let members: Vec<String> = app.conn().smembers(&likers).await.unwrap();
    assert_eq!(members, vec![ivy.id.clone()]);
    let activity = app.get_ok("/v1/users/me/activity", Some(&ivy.token)).await;
    assert_eq!(activity["items"].as_array().unwrap().len(), 1);
    assert_eq!(activity["items"][0]["type"], "like");

    for _ in 0..2 {
        let unliked = app
            .delete(&format!("{path}/likes/me"), Some(&ivy.token))
            .await;
        assert_eq!(unliked.status(), 204);
    }
    assert_eq!(app.get_ok(&path, None).await["likes"], 0);

    problem(app.put(&format!("{path}/likes/me"), None).await, 401).await;
    problem(
        app.put(&format!("{path}/likes/{}", hal.id), Some(&ivy.token))
            .await,
        403,
    )
    .await;
    problem(
        app.put("/v1/posts/p999999/likes/me", Some(&ivy.token))
            .await,
        404,
    )
    .await;
    problem(
        app.put("/v1/posts/p*/likes/me", Some(&ivy.token)).await,
        422,
    )
    .await;
    let exists: bool = app
        .conn()
        .exists(app.redis.keys.post("p999999"))
        .await
        .unwrap();
    assert!(!exists, "liking a missing post creates nothing");
}

#[tokio::test]
async fn twenty_concurrent_likes_by_distinct_users_count_twenty_and_repeats_count_once() {
    let app = spawn_app().await;
    let author = app.user("popular").await;
    let names: Vec<String> = (0..20).map(|i| format!("liker{i}")).collect();
    let likers = app
        .users(&names.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    let post = app.publish(&author, "viral").await;
    let id = post["id"].as_str().unwrap();
    let path = format!("/v1/posts/{id}/likes/me");

    // Every liker once, and the first liker 15 more times, all at once.
    let responses = futures::future::join_all(
        likers
            .iter()
            .chain(std::iter::repeat_n(&likers[0], 15))
            .map(|u| app.put(&path, Some(&u.token))),
    )
    .await;

    assert!(responses.iter().all(|r| r.status() == 204));
    let stored = app.hgetall(&app.redis.keys.post(id)).await;
    let scard: u64 = app
        .conn()
        .scard(app.redis.keys.post_part(id, PostPart::Likes))
        .await
        .unwrap();
    assert_eq!(stored["likes"], "20");
    assert_eq!(scard, 20);

    // Half unlike while the other half like again: the counter still equals the set.
    let churn = futures::future::join_all(likers.iter().enumerate().map(|(i, u)| {
        let path = &path;
        let app = &app;
        async move {
            if i % 2 == 0 {
                app.delete(path, Some(&u.token)).await
            } else {
                app.put(path, Some(&u.token)).await
            }
        }
    }))
    .await;
    assert!(churn.iter().all(|r| r.status() == 204));
    let stored = app.hgetall(&app.redis.keys.post(id)).await;
    assert_eq!(stored["likes"], "10");
}

#[tokio::test]
async fn comments_are_listed_newest_first_and_counted_exactly_under_concurrency() {
    let app = spawn_app().await;
    let [jay, kit] = <[_; 2]>::try_from(app.users(&["jay", "kit"]).await).unwrap();
    let post = app.publish(&jay, "discuss").await;
    let id = post["id"].as_str().unwrap().to_string();
    let path = format!("/v1/posts/{id}/comments");

    let created = app
        .post(&path, Some(&kit.token), &json!({"content": "first!"}))
        .await;
    assert_eq!(created.status(), 201);
    let comment: Value = created.json().await.unwrap();
    assert_eq!(comment["post_id"], id.as_str());
    assert_eq!(comment["author_id"], kit.id.as_str());
    assert_eq!(comment["content"], "first!");
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;

    let responses = futures::future::join_all((0..20).map(|n| {
        let body = json!({"content": format!("comment {n}")});
        let path = path.clone();
        let token = jay.token.clone();
        let app = &app;
        async move { app.post(&path, Some(&token), &body).await }
    }))
    .await;
    assert!(responses.iter().all(|r| r.status() == 201));

    let stored = app.hgetall(&app.redis.keys.post(&id)).await;
    let zcard: u64 = app
        .conn()
        .zcard(app.redis.keys.post_part(&id, PostPart::Comments))
        .await
        .unwrap();
    assert_eq!(stored["comments_count"], "21");
    assert_eq!(zcard, 21);

    let seen: Vec<String> = app
        .all_items(&path, 8, None)
        .await
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen.len(), 21);
    assert_eq!(seen.last().unwrap(), comment["id"].as_str().unwrap());
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 21);

    let empty = problem(
        app.post(&path, Some(&kit.token), &json!({"content": " "}))
            .await,
        422,
    )
    .await;
    assert!(empty["errors"]["content"].is_string());
    problem(app.post(&path, None, &json!({"content": "x"})).await, 401).await;
    problem(
        app.post(
            "/v1/posts/p999999/comments",
            Some(&kit.token),
            &json!({"content": "x"}),
        )
        .await,
        404,
    )
    .await;
    problem(app.get("/v1/posts/p999999/comments", None).await, 404).await;
    let activity = app.get_ok("/v1/users/me/activity", Some(&kit.token)).await;
    assert_eq!(activity["items"][0]["type"], "comment");
    assert_eq!(activity["items"][0]["target_id"], id.as_str());
}

#[tokio::test]
async fn a_new_name_or_avatar_reaches_every_post_in_batches_without_recreating_deleted_ones() {
    // One author publishes more posts than the hourly quota allows: limiter off.
    let app = spawn_app_with(|s| s.rate_limit = 0).await;
    let lou = app.user("lou").await;
    // More posts than one propagation batch (200).
    let posts: Vec<Value> = futures::future::join_all((0..230).map(|n| {
        let app = &app;
        let lou = &lou;
        async move { app.publish(lou, &format!("n{n}")).await }
    }))
    .await;
    // An index entry whose post was deleted: propagation must not re-create it.
    let _: u64 = app
        .conn()
        .zadd(
            app.redis.keys.user_part(&lou.id, UserPart::Posts),
            "p999999",
            1i64,
        )
        .await
        .unwrap();

    let renamed = app
        .patch(
            "/v1/users/me",
            Some(&lou.token),
            &json!({"name": "Lou Reed", "avatar": "https://example.com/lou.png"}),
        )
        .await;

    assert_eq!(renamed.status(), 200);
    for post in &posts {
        let stored = app
            .hgetall(&app.redis.keys.post(post["id"].as_str().unwrap()))
            .await;
        assert_eq!(stored["author_name"], "Lou Reed");
        assert_eq!(stored["author_avatar"], "https://example.com/lou.png");
    }
    let ghost: bool = app
        .conn()
        .exists(app.redis.keys.post("p999999"))
        .await
        .unwrap();
    assert!(!ghost);

    app.patch("/v1/users/me", Some(&lou.token), &json!({"avatar": ""}))
        .await;
    let latest = app
        .get_ok(
            &format!("/v1/posts/{}", posts[0]["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(latest["author_name"], "Lou Reed");
    assert!(latest["author_avatar"].is_null());
    let bio_only = app
        .patch("/v1/users/me", Some(&lou.token), &json!({"bio": "hi"}))
        .await;
    assert_eq!(bio_only.status(), 200);
}

#[tokio::test]
async fn deleting_a_user_deletes_their_posts_and_followers_feeds_skip_them() {
    let app = spawn_app().await;
    let [mia, ned] = <[_; 2]>::try_from(app.users(&["mia", "ned"]).await).unwrap();
    app.put(
        &format!("/v1/users/me/following/{}", mia.id),
        Some(&ned.token),
    )
    .await;
    let post = app.publish(&mia, "soon gone").await;
    let other = app.publish(&ned, "stays").await;
    app.put(
        &format!("/v1/posts/{}/likes/me", other["id"].as_str().unwrap()),
        Some(&mia.token),
    )
    .await;

    assert_eq!(
        app.delete("/v1/users/me", Some(&mia.token)).await.status(),
        204
    );

    problem(
        app.get(&format!("/v1/posts/{}", post["id"].as_str().unwrap()), None)
            .await,
        404,
    )
    .await;
    assert_eq!(titles(&app.get_ok("/v1/posts", None).await), ["stays"]);
    let feed = app.get_ok("/v1/users/me/feed", Some(&ned.token)).await;
    assert_eq!(titles(&feed), ["stays"]);
    assert_eq!(
        zset(&app, &app.redis.keys.user_part(&ned.id, UserPart::Timeline)).await,
        vec![other["id"].as_str().unwrap().to_string()],
        "the reader removed the gone post from the timeline"
    );
    let leftovers: Vec<String> = app
        .all_keys()
        .await
        .into_iter()
        .filter(|k| {
            k.contains(&format!("{{{}}}", mia.id)) || k.contains(post["id"].as_str().unwrap())
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
