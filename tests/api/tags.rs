//! Tags: both sides of the many-to-many stay consistent, and "all of" / "any of"
//! searches work on one node and on a cluster (where the tag sets sit in different
//! slots).

use redis::AsyncCommands;
use serde_json::Value;

use agora::redis::keys::{UserPart, slot};

use crate::helpers::{cluster_mode, problem, spawn_app};

/// Ids in the order the API lists them (numeric).
fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort_by_key(|id| id.parse::<u64>().unwrap());
    ids
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| match item {
            Value::String(id) => id.clone(),
            user => user["id"].as_str().unwrap().to_string(),
        })
        .collect()
}

#[tokio::test]
async fn tagging_is_idempotent_and_keeps_both_sides_consistent() {
    let app = spawn_app().await;
    let ann = app.user("ann").await;
    let keys = &app.redis.keys;

    for _ in 0..2 {
        let response = app.put("/v1/users/me/tags/Premium", Some(&ann.token)).await;
        assert_eq!(response.status(), 204);
    }
    app.put("/v1/users/me/tags/developer", Some(&ann.token))
        .await;

    let tags = app
        .get_ok(&format!("/v1/users/{}/tags", ann.id), None)
        .await;
    assert_eq!(tags, serde_json::json!(["developer", "premium"]));
    let mine: Vec<String> = app
        .conn()
        .smembers(keys.user_part(&ann.id, UserPart::Tags))
        .await
        .unwrap();
    assert_eq!(mine.len(), 2);
    let premium: Vec<String> = app
        .conn()
        .smembers(keys.tag_users("premium"))
        .await
        .unwrap();
    assert_eq!(premium, vec![ann.id.clone()]);

    for _ in 0..2 {
        let response = app
            .delete("/v1/users/me/tags/premium", Some(&ann.token))
            .await;
        assert_eq!(response.status(), 204);
    }
    let tags = app.get_ok("/v1/users/me/tags", Some(&ann.token)).await;
    assert_eq!(tags, serde_json::json!(["developer"]));
    let premium: u64 = app.conn().scard(keys.tag_users("premium")).await.unwrap();
    assert_eq!(premium, 0);
}

#[tokio::test]
async fn tagging_needs_the_owner_or_an_admin_and_a_valid_tag() {
    let app = spawn_app().await;
    let [bea, cal] = <[_; 2]>::try_from(app.users(&["bea", "cal"]).await).unwrap();
    let admin = app.admin("boss").await;
    let path = format!("/v1/users/{}/tags/vip", bea.id);

    problem(app.put(&path, None).await, 401).await;
    problem(app.put(&path, Some(&cal.token)).await, 403).await;
    problem(app.delete(&path, Some(&cal.token)).await, 403).await;
    assert_eq!(app.put(&path, Some(&admin.token)).await.status(), 204);
    let keys_before = app.all_keys().await;

    let unknown = app
        .put("/v1/users/999999/tags/vip", Some(&admin.token))
        .await;
    problem(unknown, 404).await;
    for bad in ["a:b", "%7Bx%7D", "a%20b", "x*", &"t".repeat(33)] {
        let body = problem(
            app.put(&format!("/v1/users/me/tags/{bad}"), Some(&bea.token))
                .await,
            422,
        )
        .await;
        assert!(body["errors"]["tag"].is_string(), "{bad}: {body}");
        problem(app.get(&format!("/v1/tags/{bad}/users"), None).await, 422).await;
    }
    problem(app.get("/v1/users/999999/tags", None).await, 404).await;
    problem(app.get("/v1/users/a:b/tags", None).await, 422).await;
    assert_eq!(
        app.all_keys().await,
        keys_before,
        "rejected requests write nothing"
    );
}

#[tokio::test]
async fn tags_all_and_tags_any_find_users_without_crossslot_errors() {
    let app = spawn_app().await;
    let users = app.users(&["dan", "eve", "fay", "gus"]).await;
    let tag_sets = [
        vec!["premium", "developer"],
        vec!["premium", "designer"],
        vec!["developer"],
        vec!["gamer"],
    ];
    for (user, tags) in users.iter().zip(&tag_sets) {
        for tag in tags {
            app.put(&format!("/v1/users/me/tags/{tag}"), Some(&user.token))
                .await;
        }
    }
    if cluster_mode() {
        let keys = &app.redis.keys;
        assert_ne!(
            slot(&keys.tag_users("premium")),
            slot(&keys.tag_users("developer")),
            "the test must cover tag sets in different slots"
        );
    }
    let id = |i: usize| users[i].id.clone();

    let all = app
        .get_ok("/v1/users?tags_all=premium,developer", None)
        .await;
    assert_eq!(ids(&all), vec![id(0)]);
    assert_eq!(all["items"][0]["username"], "dan");
    assert_eq!(all["items"][0]["follower_count"], 0);
    assert!(all["next_cursor"].is_null());

    let any = app
        .get_ok("/v1/users?tags_any=designer,developer,nobody", None)
        .await;
    assert_eq!(sorted(ids(&any)), sorted(vec![id(0), id(1), id(2)]));

    let none = app.get_ok("/v1/users?tags_all=premium,nobody", None).await;
    assert_eq!(ids(&none), Vec::<String>::new());

    let everyone = sorted((0..4).map(id).collect());
    let first = app
        .get_ok("/v1/users?tags_any=premium,developer,gamer&limit=3", None)
        .await;
    assert_eq!(ids(&first).len(), 3);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get_ok(
            &format!("/v1/users?tags_any=premium,developer,gamer&limit=3&cursor={cursor}"),
            None,
        )
        .await;
    // Pages come in no particular order (SSCAN); together they hold everyone once.
    assert_eq!(sorted([ids(&first), ids(&second)].concat()), everyone);
    assert!(second["next_cursor"].is_null());
}

#[tokio::test]
async fn tag_searches_reject_bad_queries_with_422() {
    let app = spawn_app().await;
    for (query, field) in [
        ("", "tags_all"),
        ("?tags_all=a&tags_any=b", "tags_all"),
        ("?tags_all=a:b", "tags_all"),
        ("?tags_any=,", "tags_any"),
        ("?tags_any=a,b,c,d,e,f,g,h,i,j,k", "tags_any"),
        ("?tags_all=a&limit=0", "limit"),
        ("?tags_all=a&limit=x", "limit"),
        ("?tags_all=a&cursor=zz", "cursor"),
    ] {
        let body = problem(app.get(&format!("/v1/users{query}"), None).await, 422).await;
        assert!(body["errors"][field].is_string(), "{query}: {body}");
    }
    assert!(app.all_keys().await.is_empty());
}

#[tokio::test]
async fn tag_members_are_listed_a_page_at_a_time() {
    let app = spawn_app().await;
    let users = app.users(&["hal", "ida", "jon"]).await;
    for user in &users {
        app.put("/v1/users/me/tags/rust", Some(&user.token)).await;
    }
    let expected = sorted(users.iter().map(|u| u.id.clone()).collect());

    let first = app.get_ok("/v1/tags/rust/users?limit=2", None).await;
    assert_eq!(ids(&first).len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get_ok(
            &format!("/v1/tags/rust/users?limit=2&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(sorted([ids(&first), ids(&second)].concat()), expected);
    assert!(second["next_cursor"].is_null());
    let empty = app.get_ok("/v1/tags/nothing/users", None).await;
    assert_eq!(ids(&empty), Vec::<String>::new());
}

#[tokio::test]
async fn a_tag_index_entry_whose_user_is_gone_is_skipped_and_removed() {
    let app = spawn_app().await;
    let kim = app.user("kim").await;
    app.put("/v1/users/me/tags/ops", Some(&kim.token)).await;
    // A delete that raced a tag: the index names a user who no longer exists.
    let index = app.redis.keys.tag_users("ops");
    let _: u64 = app.conn().sadd(&index, "424242").await.unwrap();

    let members = app.get_ok("/v1/tags/ops/users", None).await;
    let found = app.get_ok("/v1/users?tags_any=ops", None).await;

    assert_eq!(ids(&members), vec![kim.id.clone()]);
    assert_eq!(ids(&found), vec![kim.id.clone()]);
    let left: Vec<String> = app.conn().smembers(&index).await.unwrap();
    assert_eq!(left, vec![kim.id.clone()], "the dangling entry is pruned");
}

#[tokio::test]
async fn deleting_a_user_removes_them_from_every_tag_index() {
    let app = spawn_app().await;
    let [lea, max] = <[_; 2]>::try_from(app.users(&["lea", "max"]).await).unwrap();
    for tag in ["a", "b"] {
        app.put(&format!("/v1/users/me/tags/{tag}"), Some(&lea.token))
            .await;
        app.put(&format!("/v1/users/me/tags/{tag}"), Some(&max.token))
            .await;
    }

    assert_eq!(
        app.delete("/v1/users/me", Some(&lea.token)).await.status(),
        204
    );

    for tag in ["a", "b"] {
        let members: Vec<String> = app
            .conn()
            .smembers(app.redis.keys.tag_users(tag))
            .await
            .unwrap();
        assert_eq!(members, vec![max.id.clone()]);
    }
    let user_tags: bool = app
        .conn()
        .exists(app.redis.keys.user_part(&lea.id, UserPart::Tags))
        .await
        .unwrap();
    assert!(!user_tags);
}
