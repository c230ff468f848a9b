//! Strangers see public profiles only (hardening finding 19): e-mail, role and login
//! count of a user are shown to that user and to admins, never to anyone else, in a
//! single user read or in a list of users.

use serde_json::Value;

use crate::helpers::spawn_app;

const PRIVATE: [&str; 3] = ["email", "role", "login_count"];

fn assert_public(user: &Value, context: &str) {
    for field in PRIVATE {
        assert!(
            user.get(field).is_none(),
            "{context}: {field} shown in {user}"
        );
    }
    for field in ["id", "username", "name", "created_at"] {
        assert!(
            user.get(field).is_some(),
            "{context}: {field} missing in {user}"
        );
    }
}

/// Guards finding 19: an anonymous `GET /v1/users/{id}` showed e-mail, role and login
/// count; so did another user's, `?fields=email`, and the tag search.
#[tokio::test]
async fn strangers_see_the_public_profile_and_the_owner_and_admins_see_everything() {
    let app = spawn_app().await;
    let owner = app.user("profiled").await;
    let other = app.user("onlooker").await;
    let admin = app.admin("overseer").await;
    let path = format!("/v1/users/{}", owner.id);

    let anonymous = app.get_ok(&path, None).await;
    assert_public(&anonymous, "anonymous");
    assert_eq!(anonymous["follower_count"], 0);
    assert_public(&app.get_ok(&path, Some(&other.token)).await, "another user");
    let asked = app
        .get_ok(&format!("{path}?fields=email,role,login_count,name"), None)
        .await;
    for field in PRIVATE {
        assert!(
            asked.get(field).is_none(),
            "?fields= leaked {field}: {asked}"
        );
    }
    assert_eq!(asked["name"], "profiled");

    for (who, token) in [("owner", &owner.token), ("admin", &admin.token)] {
        let full = app.get_ok(&path, Some(token)).await;
        assert_eq!(full["email"], "profiled@example.com", "{who}");
        assert_eq!(full["role"], "user", "{who}");
        assert!(full["login_count"].as_u64().unwrap() >= 1, "{who}");
    }
    let me = app
        .get_ok("/v1/users/me?fields=email", Some(&owner.token))
        .await;
    assert_eq!(me["email"], "profiled@example.com");

    // Lists of users: always public profiles, whoever asks.
    let tag = format!("/v1/users/{}/tags/visible", owner.id);
    assert_eq!(app.put(&tag, Some(&owner.token)).await.status(), 204);
    for token in [None, Some(other.token.as_str()), Some(admin.token.as_str())] {
        let found = app.get_ok("/v1/users?tags_any=visible", token).await;
        let items = found["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_public(&items[0], "tag search");
    }
    app.follow(&other, &owner.id).await;
    let followers = app.get_ok(&format!("{path}/followers"), None).await;
    assert!(followers["items"][0].get("email").is_none());
}
