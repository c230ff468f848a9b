//! Follows: both sides written and removed together, newest-first pages with stable
//! cursors, counts, common followers on one node and on a cluster, and what deleting
//! a user or a crash between the two steps leaves.

use redis::AsyncCommands;
use serde_json::Value;

use agora::redis::keys::{UserPart, slot};

use crate::helpers::{TestApp, cluster_mode, problem, spawn_app};

fn ids(page: &Value) -> Vec<String> {
    page.get("items")
        .unwrap_or(page)
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["user_id"].as_str().unwrap().to_string())
        .collect()
}

async fn score(app: &TestApp, user: &str, part: UserPart, member: &str) -> Option<f64> {
    app.conn()
        .zscore(app.redis.keys.user_part(user, part), member)
        .await
        .unwrap()
}

/// Every page of a follow list, following `next_cursor`: the user ids.
async fn all_pages(app: &TestApp, path: &str, limit: usize) -> Vec<String> {
    ids(&Value::Array(app.all_items(path, limit, None).await))
}

#[tokio::test]
async fn following_is_idempotent_and_writes_both_sides_with_one_time() {
    let app = spawn_app().await;
    let [amy, ben] = <[_; 2]>::try_from(app.users(&["amy", "ben"]).await).unwrap();
    let path = format!("/v1/users/me/following/{}", ben.id);

    assert_eq!(app.put(&path, Some(&amy.token)).await.status(), 204);
    let first = score(&app, &amy.id, UserPart::Following, &ben.id).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert_eq!(app.put(&path, Some(&amy.token)).await.status(), 204);

    assert!(first.is_some());
    assert_eq!(
        score(&app, &amy.id, UserPart::Following, &ben.id).await,
        first
    );
    assert_eq!(
        score(&app, &ben.id, UserPart::Followers, &amy.id).await,
        first
    );
    let ben_user = app.get_ok(&format!("/v1/users/{}", ben.id), None).await;
    let amy_user = app.get_ok("/v1/users/me", Some(&amy.token)).await;
    assert_eq!(ben_user["follower_count"], 1);
    assert_eq!(amy_user["following_count"], 1);

    let following = app
        .get_ok(&format!("/v1/users/{}/following", amy.id), None)
        .await;
    assert_eq!(ids(&following), vec![ben.id.clone()]);
    assert_eq!(following["items"][0]["username"], "ben");
    let followed_at = following["items"][0]["followed_at"].as_str().unwrap();
    assert!(followed_at.ends_with('Z') && followed_at.len() == 24);
    let followers = app
        .get_ok(&format!("/v1/users/{}/followers", ben.id), None)
        .await;
    assert_eq!(ids(&followers), vec![amy.id.clone()]);
    assert_eq!(followers["items"][0]["followed_at"], followed_at);

    let activity = app
        .get_ok(&format!("/v1/users/{}/activity", amy.id), None)
        .await;
    let follows: Vec<&Value> = activity["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["type"] == "follow")
        .collect();
    assert_eq!(follows.len(), 1, "a repeated follow is one activity");
    assert_eq!(follows[0]["target_id"], ben.id.as_str());
}

#[tokio::test]
async fn follow_errors_are_401_403_404_and_422_and_write_nothing() {
    let app = spawn_app().await;
    let [cat, dot] = <[_; 2]>::try_from(app.users(&["cat", "dot"]).await).unwrap();
    let keys_before = app.all_keys().await;

    problem(
        app.put(&format!("/v1/users/me/following/{}", dot.id), None)
            .await,
        401,
    )
    .await;
    problem(
        app.put(
            &format!("/v1/users/{}/following/{}", dot.id, cat.id),
            Some(&cat.token),
        )
        .await,
        403,
    )
    .await;
    let own = problem(
        app.put(
            &format!("/v1/users/me/following/{}", cat.id),
            Some(&cat.token),
        )
        .await,
        422,
    )
    .await;
    assert!(own["errors"]["target"].is_string());
    problem(
        app.put("/v1/users/me/following/me", Some(&cat.token)).await,
        422,
    )
    .await;
    problem(
        app.put("/v1/users/me/following/999999", Some(&cat.token))
            .await,
        404,
    )
    .await;
    for bad in ["a:b", "%7B1%7D", "a%20b", "*"] {
        let body = problem(
            app.put(&format!("/v1/users/me/following/{bad}"), Some(&cat.token))
                .await,
            422,
        )
        .await;
        assert!(body["errors"]["target"].is_string());
        problem(
            app.get(&format!("/v1/users/{bad}/followers"), None).await,
            422,
        )
        .await;
    }
    problem(app.get("/v1/users/999999/followers", None).await, 404).await;
    problem(app.get("/v1/users/999999/following", None).await, 404).await;
    for query in ["limit=0", "limit=101", "cursor=nothex"] {
        problem(
            app.get(&format!("/v1/users/{}/followers?{query}", cat.id), None)
                .await,
            422,
        )
        .await;
    }

    assert_eq!(app.all_keys().await, keys_before);
}

#[tokio::test]
async fn unfollowing_removes_both_sides_and_is_idempotent() {
    let app = spawn_app().await;
    let [eli, fox] = <[_; 2]>::try_from(app.users(&["eli", "fox"]).await).unwrap();
    let path = format!("/v1/users/me/following/{}", fox.id);
    app.put(&path, Some(&eli.token)).await;

    for _ in 0..2 {
        assert_eq!(app.delete(&path, Some(&eli.token)).await.status(), 204);
    }

    assert_eq!(
        score(&app, &eli.id, UserPart::Following, &fox.id).await,
        None
    );
    assert_eq!(
        score(&app, &fox.id, UserPart::Followers, &eli.id).await,
        None
    );
    let fox_user = app.get_ok(&format!("/v1/users/{}", fox.id), None).await;
    assert_eq!(fox_user["follower_count"], 0);
    problem(app.delete(&path, None).await, 401).await;
}

#[tokio::test]
async fn follow_lists_page_newest_first_and_inserts_never_shift_a_cursor() {
    let app = spawn_app().await;
    let star = app.user("star").await;
    let fans = app.users(&["fan1", "fan2", "fan3", "fan4", "fan5"]).await;
    for fan in &fans {
        app.put(
            &format!("/v1/users/me/following/{}", star.id),
            Some(&fan.token),
        )
        .await;
    }
    let key = app.redis.keys.user_part(&star.id, UserPart::Followers);
    let newest_first: Vec<String> = app.conn().zrevrange(&key, 0, -1).await.unwrap();
    let path = format!("/v1/users/{}/followers", star.id);

    let first = app.get_ok(&format!("{path}?limit=2"), None).await;
    assert_eq!(ids(&first), newest_first[..2].to_vec());
    // A new follower arrives between two pages: it is newer than the cursor, so the
    // next pages neither repeat nor skip anyone.
    let late = app.user("late").await;
    app.put(
        &format!("/v1/users/me/following/{}", star.id),
        Some(&late.token),
    )
    .await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get_ok(&format!("{path}?limit=2&cursor={cursor}"), None)
        .await;
    assert_eq!(ids(&second), newest_first[2..4].to_vec());
    let cursor = second["next_cursor"].as_str().unwrap();
    let third = app
        .get_ok(&format!("{path}?limit=2&cursor={cursor}"), None)
        .await;
    assert_eq!(ids(&third), newest_first[4..].to_vec());
    assert!(third["next_cursor"].is_null());

    let everyone = all_pages(&app, &path, 4).await;
    assert_eq!(everyone[0], late.id);
    assert_eq!(everyone.len(), 6);
}

#[tokio::test]
async fn pages_never_split_or_repeat_entries_with_the_same_time() {
    let app = spawn_app().await;
    let hub = app.user("hub").await;
    // 30 followers in the same millisecond: more ties than one fetch's slack.
    let key = app.redis.keys.user_part(&hub.id, UserPart::Followers);
    let mut expected = Vec::new();
    for i in 0..30 {
        let id = format!("9{i:03}");
        let _: () = app
            .conn()
            .hset_multiple(
                app.redis.keys.user(&id),
                &[("id", id.as_str()), ("username", "twin")],
            )
            .await
            .unwrap();
        let _: u64 = app
            .conn()
            .zadd(&key, &id, 1_700_000_000_000i64)
            .await
            .unwrap();
        expected.push(id);
    }
    let _: u64 = app
        .conn()
        .zadd(&key, "9999", 1_600_000_000_000i64)
        .await
        .unwrap();
    let _: () = app
        .conn()
        .hset(app.redis.keys.user("9999"), "id", "9999")
        .await
        .unwrap();
    expected.sort();
    expected.reverse();
    expected.push("9999".to_string());

    let seen = all_pages(&app, &format!("/v1/users/{}/followers", hub.id), 7).await;

    assert_eq!(seen, expected);
}

#[tokio::test]
async fn common_followers_are_found_on_one_node_and_across_cluster_slots() {
    let app = spawn_app().await;
    let users = app.users(&["xia", "yan", "alf", "bob", "cyd"]).await;
    let (x, y) = (&users[0], &users[1]);
    for (fan, targets) in [
        (&users[2], vec![x, y]),
        (&users[3], vec![x, y]),
        (&users[4], vec![x]),
    ] {
        for target in targets {
            app.put(
                &format!("/v1/users/me/following/{}", target.id),
                Some(&fan.token),
            )
            .await;
        }
        // Distinct follow times, so "newest first" has one answer.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    if cluster_mode() {
        let keys = &app.redis.keys;
        assert_ne!(
            slot(&keys.user_part(&x.id, UserPart::Followers)),
            slot(&keys.user_part(&y.id, UserPart::Followers)),
            "the test must cover follower sets in different slots"
        );
    }

    let common = app
        .get_ok(
            &format!("/v1/users/{}/common-followers?with={}", x.id, y.id),
            None,
        )
        .await;

    // Newest common follow first: bob followed y after alf did.
    assert_eq!(ids(&common), vec![users[3].id.clone(), users[2].id.clone()]);
    let later = score(&app, &y.id, UserPart::Followers, &users[3].id)
        .await
        .unwrap() as i64;
    assert_eq!(
        common["items"][0]["followed_at"],
        agora::time::rfc3339_from_ms(later)
    );
    let paged = app
        .get_ok(
            &format!("/v1/users/{}/common-followers?with=me&limit=1", x.id),
            Some(&y.token),
        )
        .await;
    assert_eq!(ids(&paged), vec![users[3].id.clone()]);
    let cursor = paged["next_cursor"].as_str().unwrap();
    let rest = app
        .get_ok(
            &format!(
                "/v1/users/{}/common-followers?with={}&limit=1&cursor={cursor}",
                x.id, y.id
            ),
            None,
        )
        .await;
    assert_eq!(ids(&rest), vec![users[2].id.clone()]);
    assert!(rest["next_cursor"].is_null());

    let missing = problem(
        app.get(&format!("/v1/users/{}/common-followers", x.id), None)
            .await,
        422,
    )
    .await;
    assert!(missing["errors"]["with"].is_string());
    problem(
        app.get(
            &format!("/v1/users/{}/common-followers?with=a:b", x.id),
            None,
        )
        .await,
        422,
    )
    .await;
    problem(
        app.get(
            &format!("/v1/users/{}/common-followers?with=999999", x.id),
            None,
        )
        .await,
        404,
    )
    .await;
    problem(
        app.get(
            &format!("/v1/users/{}/common-followers?with=me", x.id),
            None,
        )
        .await,
        401,
    )
    .await;
}

#[tokio::test]
async fn deleting_a_user_removes_them_from_everyones_follow_sets() {
    let app = spawn_app().await;
    let [gil, hoa, ivo] = <[_; 3]>::try_from(app.users(&["gil", "hoa", "ivo"]).await).unwrap();
    let follow = |from: &crate::helpers::TestUser, to: &str| {
        let path = format!("/v1/users/me/following/{to}");
        let token = from.token.clone();
        let app = &app;
        async move { app.put(&path, Some(&token)).await }
    };
    follow(&gil, &hoa.id).await;
    follow(&hoa, &gil.id).await;
    follow(&ivo, &gil.id).await;

    assert_eq!(
        app.delete("/v1/users/me", Some(&gil.token)).await.status(),
        204
    );

    let hoa_user = app.get_ok(&format!("/v1/users/{}", hoa.id), None).await;
    let ivo_user = app.get_ok(&format!("/v1/users/{}", ivo.id), None).await;
    assert_eq!(hoa_user["follower_count"], 0);
    assert_eq!(hoa_user["following_count"], 0);
    assert_eq!(ivo_user["following_count"], 0);
    let leftovers: Vec<String> = app
        .all_keys()
        .await
        .into_iter()
        .filter(|k| k.contains(&format!("{{{}}}", gil.id)))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn a_follow_interrupted_between_its_two_steps_is_completed_by_retrying() {
    let app = spawn_app().await;
    let [jo, kai] = <[_; 2]>::try_from(app.users(&["joe", "kai"]).await).unwrap();
    // A crash after the follower's side: jo's following lists kai, kai's followers
    // lack jo.
    let _: u64 = app
        .conn()
        .zadd(
            app.redis.keys.user_part(&jo.id, UserPart::Following),
            &kai.id,
            1_700_000_000_000i64,
        )
        .await
        .unwrap();

    let followers = app
        .get_ok(&format!("/v1/users/{}/followers", kai.id), None)
        .await;
    let following = app
        .get_ok(&format!("/v1/users/{}/following", jo.id), None)
        .await;
    assert_eq!(ids(&followers), Vec::<String>::new());
    assert_eq!(ids(&following), vec![kai.id.clone()]);

    let retry = app
        .put(
            &format!("/v1/users/me/following/{}", kai.id),
            Some(&jo.token),
        )
        .await;

    assert_eq!(retry.status(), 204);
    assert_eq!(
        score(&app, &kai.id, UserPart::Followers, &jo.id).await,
        Some(1_700_000_000_000.0),
        "both sides carry the original time"
    );
    // The follow had not been recorded as new, so it is not in the activity twice.
    let activity = app
        .get_ok(&format!("/v1/users/{}/activity", jo.id), None)
        .await;
    assert_eq!(activity["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn twenty_concurrent_follows_of_one_user_are_all_counted_once() {
    let app = spawn_app().await;
    let idol = app.user("idol").await;
    let names: Vec<String> = (0..20).map(|i| format!("crowd{i}")).collect();
    let crowd = app
        .users(&names.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    let path = format!("/v1/users/me/following/{}", idol.id);

    let statuses = futures::future::join_all(
        crowd
            .iter()
            .chain(std::iter::repeat_n(&crowd[0], 10))
            .map(|fan| app.put(&path, Some(&fan.token))),
    )
    .await;

    assert!(statuses.iter().all(|r| r.status() == 204));
    let idol_user = app.get_ok(&format!("/v1/users/{}", idol.id), None).await;
    assert_eq!(idol_user["follower_count"], 20);
    let zcard: u64 = app
        .conn()
        .zcard(app.redis.keys.user_part(&idol.id, UserPart::Followers))
        .await
        .unwrap();
    assert_eq!(zcard, 20);
    let activity = app
        .get_ok(&format!("/v1/users/{}/activity", crowd[0].id), None)
        .await;
    assert_eq!(
        activity["items"].as_array().unwrap().len(),
        1,
        "eleven concurrent follows by one user are one follow"
    );
}
