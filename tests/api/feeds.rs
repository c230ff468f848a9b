//! Feeds: the home timeline (fan-out on write, celebrities merged on read, follow and
//! unfollow, deleted posts) and the activity feed.

use redis::AsyncCommands;
use serde_json::{Value, json};

use agora::redis::keys::UserPart;
use agora::social::feeds::model::ActivityKind;
use agora::social::feeds::repo::{ACTIVITY_CAP, TIMELINE_CAP};

use crate::helpers::{TestApp, TestUser, problem, spawn_app, spawn_app_with, titles};

async fn publish(app: &TestApp, user: &TestUser, title: &str) -> String {
    app.publish(user, title).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn follow(app: &TestApp, user: &TestUser, target: &TestUser) {
    app.follow(user, &target.id).await;
}

/// The whole feed of `user`, page by page.
async fn whole_feed(app: &TestApp, user: &TestUser, limit: usize) -> Vec<String> {
    let items = app
        .all_items("/v1/users/me/feed", limit, Some(&user.token))
        .await;
    titles(&Value::Array(items))
}

async fn timeline(app: &TestApp, user: &TestUser) -> Vec<String> {
    app.conn()
        .zrevrange(
            app.redis.keys.user_part(&user.id, UserPart::Timeline),
            0,
            -1,
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn the_home_feed_shows_followed_and_own_posts_newest_first() {
    let app = spawn_app().await;
    let [me, bea, cal, dex] =
        <[_; 4]>::try_from(app.users(&["me1", "bea", "cal", "dex"]).await).unwrap();
    follow(&app, &me, &bea).await;
    follow(&app, &me, &cal).await;

    publish(&app, &bea, "b1").await;
    publish(&app, &dex, "d1 (not followed)").await;
    publish(&app, &cal, "c1").await;
    publish(&app, &me, "mine").await;
    publish(&app, &bea, "b2").await;

    let page = app
        .get_ok("/v1/users/me/feed?limit=3", Some(&me.token))
        .await;
    assert_eq!(titles(&page), ["b2", "mine", "c1"]);
    assert_eq!(page["items"][0]["author_name"], "bea");
    assert_eq!(whole_feed(&app, &me, 2).await, ["b2", "mine", "c1", "b1"]);
    assert_eq!(timeline(&app, &me).await.len(), 4, "pushed on write");
    assert_eq!(whole_feed(&app, &dex, 20).await, ["d1 (not followed)"]);
}

#[tokio::test]
async fn the_home_feed_is_private_and_checks_its_query() {
    let app = spawn_app().await;
    let [eda, fay] = <[_; 2]>::try_from(app.users(&["eda", "fay"]).await).unwrap();
    let admin = app.admin("chief").await;
    publish(&app, &eda, "private").await;

    problem(app.get("/v1/users/me/feed", None).await, 401).await;
    problem(
        app.get(&format!("/v1/users/{}/feed", eda.id), Some(&fay.token))
            .await,
        403,
    )
    .await;
    let as_admin = app
        .get_ok(&format!("/v1/users/{}/feed", eda.id), Some(&admin.token))
        .await;
    assert_eq!(titles(&as_admin), ["private"]);
    for query in ["limit=0", "limit=abc", "cursor=%7B%7D", "cursor=7c"] {
        let body = problem(
            app.get(&format!("/v1/users/me/feed?{query}"), Some(&eda.token))
                .await,
            422,
        )
        .await;
        assert!(body["errors"].is_object(), "{query}");
    }
}

#[tokio::test]
async fn following_merges_recent_posts_and_unfollowing_removes_them() {
    let app = spawn_app().await;
    let [gus, hana, ines] = <[_; 3]>::try_from(app.users(&["gus", "hana", "ines"]).await).unwrap();
    publish(&app, &hana, "h1").await;
    publish(&app, &ines, "i1").await;
    publish(&app, &hana, "h2").await;
    follow(&app, &gus, &ines).await;

    follow(&app, &gus, &hana).await;
    assert_eq!(whole_feed(&app, &gus, 20).await, ["h2", "i1", "h1"]);

    let unfollow = app
        .delete(
            &format!("/v1/users/me/following/{}", hana.id),
            Some(&gus.token),
        )
        .await;
    assert_eq!(unfollow.status(), 204);
    assert_eq!(whole_feed(&app, &gus, 20).await, ["i1"]);
    assert_eq!(timeline(&app, &gus).await.len(), 1);
}

#[tokio::test]
async fn a_celebrity_post_is_merged_into_feeds_in_order_without_being_fanned_out() {
    // Authors with more than 2 followers are celebrities here.
    let app = spawn_app_with(|s| s.fanout_max_followers = 2).await;
    let [ana, ben, cyd, kim, nat] =
        <[_; 5]>::try_from(app.users(&["ana", "ben", "cyd", "kim", "nat"]).await).unwrap();
    for fan in [&ana, &ben, &cyd] {
        follow(&app, fan, &kim).await;
    }
    follow(&app, &ana, &nat).await;

    let n1 = publish(&app, &nat, "n1").await;
    let k1 = publish(&app, &kim, "k1").await;
    publish(&app, &nat, "n2").await;
    let k2 = publish(&app, &kim, "k2").await;
    publish(&app, &nat, "n3").await;

    for fan in [&ana, &ben, &cyd] {
        let pushed = timeline(&app, fan).await;
        assert!(
            !pushed.contains(&k1) && !pushed.contains(&k2),
            "a celebrity's post is not fanned out"
        );
    }
    assert!(timeline(&app, &ana).await.contains(&n1));
    assert!(
        timeline(&app, &kim).await.contains(&k1),
        "own timeline still"
    );
    let celebrities: Vec<String> = app
        .conn()
        .smembers(app.redis.keys.celebrities())
        .await
        .unwrap();
    assert_eq!(celebrities, vec![kim.id.clone()]);

    let expected = ["n3", "k2", "n2", "k1", "n1"];
    assert_eq!(whole_feed(&app, &ana, 20).await, expected);
    for limit in 1..=4 {
        assert_eq!(
            whole_feed(&app, &ana, limit).await,
            expected,
            "limit {limit}"
        );
    }
    assert_eq!(whole_feed(&app, &ben, 20).await, ["k2", "k1"]);
    assert_eq!(whole_feed(&app, &nat, 20).await, ["n3", "n2", "n1"]);

    // nat crosses the threshold: older posts were pushed, newer ones are pulled; the
    // merge shows each once.
    follow(&app, &ben, &nat).await;
    follow(&app, &cyd, &nat).await;
    publish(&app, &nat, "n4").await;
    assert_eq!(
        whole_feed(&app, &ana, 2).await,
        ["n4", "n3", "k2", "n2", "k1", "n1"]
    );

    // Unfollowing a celebrity takes their posts out of the merge.
    app.delete(
        &format!("/v1/users/me/following/{}", kim.id),
        Some(&ana.token),
    )
    .await;
    assert_eq!(whole_feed(&app, &ana, 20).await, ["n4", "n3", "n2", "n1"]);
    // A deleted celebrity post is gone from every feed (ben got nat's older posts
    // when he followed nat).
    app.delete(&format!("/v1/posts/{k2}"), Some(&kim.token))
        .await;
    assert_eq!(
        whole_feed(&app, &ben, 20).await,
        ["n4", "n3", "n2", "k1", "n1"]
    );
}

#[tokio::test]
async fn a_timeline_entry_whose_post_is_gone_never_shows_and_is_removed() {
    let app = spawn_app().await;
    let [ida, jan] = <[_; 2]>::try_from(app.users(&["ida", "jan"]).await).unwrap();
    follow(&app, &ida, &jan).await;
    publish(&app, &jan, "kept").await;
    let gone = publish(&app, &jan, "gone").await;
    publish(&app, &jan, "newest").await;
    let _: u64 = app.conn().del(app.redis.keys.post(&gone)).await.unwrap();

    let first = app
        .get_ok("/v1/users/me/feed?limit=2", Some(&ida.token))
        .await;
    assert_eq!(
        titles(&first),
        ["newest"],
        "the gone post is skipped, not replaced"
    );
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get_ok(
            &format!("/v1/users/me/feed?limit=2&cursor={cursor}"),
            Some(&ida.token),
        )
        .await;
    assert_eq!(titles(&second), ["kept"]);
    assert!(!timeline(&app, &ida).await.contains(&gone));
}

#[tokio::test]
async fn timelines_keep_the_newest_800_and_activity_the_newest_1000() {
    let app = spawn_app().await;
    let kai = app.user("kai").await;
    let entries: Vec<(String, i64)> = (0..TIMELINE_CAP as i64 + 5)
        .map(|n| (format!("p{n}"), 1_700_000_000_000 + n))
        .collect();
    agora::social::feeds::repo::push_to_timelines(
        &app.redis,
        std::slice::from_ref(&kai.id),
        &entries,
    )
    .await
    .unwrap();
    for n in 0..ACTIVITY_CAP as i64 + 5 {
        agora::social::feeds::repo::record_activity(
            &app.redis,
            &kai.id,
            ActivityKind::Like,
            &format!("p{n}"),
            1_700_000_000_000 + n,
        )
        .await
        .unwrap();
    }

    let kept = timeline(&app, &kai).await;
    assert_eq!(kept.len(), TIMELINE_CAP);
    assert_eq!(kept.first().unwrap(), &format!("p{}", TIMELINE_CAP + 4));
    assert_eq!(kept.last().unwrap(), "p5");
    let activity: u64 = app
        .conn()
        .zcard(app.redis.keys.user_part(&kai.id, UserPart::Activity))
        .await
        .unwrap();
    assert_eq!(activity, ACTIVITY_CAP as u64);
    let newest = app
        .get_ok("/v1/users/me/activity?limit=1", Some(&kai.token))
        .await;
    assert_eq!(
        newest["items"][0]["target_id"],
        format!("p{}", ACTIVITY_CAP + 4)
    );
}

#[tokio::test]
async fn fan_out_skips_users_deleted_meanwhile_instead_of_recreating_their_timeline() {
    let app = spawn_app().await;
    let lia = app.user("lia").await;
    agora::social::feeds::repo::push_to_timelines(
        &app.redis,
        &[lia.id.clone(), "424242".to_string()],
        &[("p1".to_string(), 1)],
    )
    .await
    .unwrap();

    assert_eq!(timeline(&app, &lia).await, ["p1"]);
    let orphan: bool = app
        .conn()
        .exists(app.redis.keys.user_part("424242", UserPart::Timeline))
        .await
        .unwrap();
    assert!(!orphan);
}

#[tokio::test]
async fn the_activity_feed_lists_posts_likes_comments_and_follows_newest_first() {
    let app = spawn_app().await;
    let [max, ola] = <[_; 2]>::try_from(app.users(&["max", "ola"]).await).unwrap();
    let post = publish(&app, &ola, "to like").await;
    let mine = publish(&app, &max, "own").await;
    app.put(&format!("/v1/posts/{post}/likes/me"), Some(&max.token))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    app.post(
        &format!("/v1/posts/{post}/comments"),
        Some(&max.token),
        &json!({"content": "nice"}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    follow(&app, &max, &ola).await;

    let activity = app
        .get_ok(&format!("/v1/users/{}/activity", max.id), None)
        .await;

    let items = activity["items"].as_array().unwrap();
    let summary: Vec<(String, String)> = items
        .iter()
        .map(|a| {
            (
                a["type"].as_str().unwrap().to_string(),
                a["target_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("follow".to_string(), ola.id.clone()),
            ("comment".to_string(), post.clone()),
            ("like".to_string(), post.clone()),
            ("post".to_string(), mine.clone()),
        ]
    );
    assert!(items[0]["timestamp"].as_str().unwrap().ends_with('Z'));
    let first = app
        .get_ok(&format!("/v1/users/{}/activity?limit=3", max.id), None)
        .await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = app
        .get_ok(
            &format!("/v1/users/{}/activity?limit=3&cursor={cursor}", max.id),
            None,
        )
        .await;
    assert_eq!(rest["items"][0]["type"], "post");
    assert!(rest["next_cursor"].is_null());
    problem(app.get("/v1/users/999999/activity", None).await, 404).await;
    problem(app.get("/v1/users/a%20b/activity", None).await, 422).await;
    problem(app.get("/v1/users/me/activity", None).await, 401).await;
}

#[tokio::test]
async fn fan_out_and_name_propagation_reload_scripts_redis_forgot() {
    let app = spawn_app().await;
    let [pia, quin] = <[_; 2]>::try_from(app.users(&["pia", "quin"]).await).unwrap();
    follow(&app, &quin, &pia).await;
    let first = publish(&app, &pia, "before").await;

    let _: redis::Value = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut app.conn())
        .await
        .unwrap();
    let renamed = app
        .patch("/v1/users/me", Some(&pia.token), &json!({"name": "Pia N"}))
        .await;
    assert_eq!(renamed.status(), 200);
    let _: redis::Value = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut app.conn())
        .await
        .unwrap();
    publish(&app, &pia, "after").await;

    assert_eq!(whole_feed(&app, &quin, 20).await, ["after", "before"]);
    let post = app.get_ok(&format!("/v1/posts/{first}"), None).await;
    assert_eq!(post["author_name"], "Pia N");
}
