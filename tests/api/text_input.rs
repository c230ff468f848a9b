//! Text inputs refuse characters a person would not type (hardening finding 21):
//! controls, invisible format characters (zero-width, bidi overrides and isolates,
//! BOM) and line/paragraph separators in one-line fields; controls other than newline
//! and tab, bidi controls and separators in multi-line fields; and values with nothing
//! visible. Each answer is a 422 naming the field, and nothing is written.

use serde_json::{Value, json};

use crate::helpers::{problem, spawn_app};

/// Asserts a 422 problem whose `errors` names `field`.
async fn refused(response: reqwest::Response, field: &str) {
    let body: Value = problem(response, 422).await;
    assert!(
        body["errors"][field].is_string(),
        "expected an error on {field}: {body}"
    );
}

/// Guards finding 21 for one-line fields (user name, post title, product name,
/// leaderboard username, config text): a zero-width-only name, a bidi override and
/// U+2028 were accepted before.
#[tokio::test]
async fn one_line_fields_refuse_invisible_bidi_and_separator_characters() {
    let app = spawn_app().await;
    let user = app.user("textual").await;
    let admin = app.admin("textadmin").await;

    // Registration: a name of zero-width characters only is blank.
    let register = |name: &str| {
        json!({"username": "ghost", "email": "ghost@example.com",
               "password": "a long password", "name": name})
    };
    for name in [
        "\u{200B}",
        "\u{200B}\u{200C}\u{FEFF}",
        "\u{3164}",
        "evil\u{202E}gnp.exe",
    ] {
        refused(app.post("/v1/users", None, &register(name)).await, "name").await;
    }
    let path = format!("/v1/users/{}", user.id);
    refused(
        app.patch(
            &path,
            Some(&user.token),
            &json!({"name": "two\u{2028}lines"}),
        )
        .await,
        "name",
    )
    .await;
    let stored = app.hgetall(&app.redis.keys.user(&user.id)).await;
    assert_eq!(stored["name"], "textual", "a refused patch writes nothing");
    // A Persian name with a zero-width non-joiner between letters is a real name.
    let ok = app
        .patch(
            &path,
            Some(&user.token),
            &json!({"name": "می\u{200C}خواهم"}),
        )
        .await;
    assert_eq!(ok.status(), 200);

    refused(
        app.post(
            "/v1/posts",
            Some(&user.token),
            &json!({"title": "invoice\u{2066}fdp.exe\u{2069}", "content": "x"}),
        )
        .await,
        "title",
    )
    .await;
    refused(
        app.post(
            "/v1/products",
            Some(&admin.token),
            &json!({"name": "\u{200D}\u{200D}", "price_cents": 100, "stock": 1,
                    "category": "misc", "sku": "ZW-1"}),
        )
        .await,
        "name",
    )
    .await;
    refused(
        app.post(
            "/v1/leaderboards/weekly/scores",
            Some(&user.token),
            &json!({"player_id": "p1", "score": 5, "username": "\u{202E}reyalp"}),
        )
        .await,
        "username",
    )
    .await;
    refused(
        app.patch(
            "/v1/config",
            Some(&admin.token),
            &json!({"theme": "dark\u{2029}"}),
        )
        .await,
        "theme",
    )
    .await;
}

/// Guards finding 21 for multi-line fields (bio, post body, comment body, product
/// description): newlines and tabs pass, bidi controls, U+2028/U+2029 and other
/// controls do not, and a body of invisible characters is empty.
#[tokio::test]
async fn multi_line_fields_keep_newlines_and_tabs_but_refuse_bidi_controls() {
    let app = spawn_app().await;
    let user = app.user("writer").await;
    let admin = app.admin("writeradmin").await;
    let path = format!("/v1/users/{}", user.id);

    let ok = app
        .patch(
            &path,
            Some(&user.token),
            &json!({"bio": "line one\n\tline two"}),
        )
        .await;
    assert_eq!(ok.status(), 200);
    refused(
        app.patch(
            &path,
            Some(&user.token),
            &json!({"bio": "hi \u{202E}olleh"}),
        )
        .await,
        "bio",
    )
    .await;

    refused(
        app.post(
            "/v1/posts",
            Some(&user.token),
            &json!({"title": "Fine", "content": "para\u{2029}graph"}),
        )
        .await,
        "content",
    )
    .await;
    refused(
        app.post(
            "/v1/posts",
            Some(&user.token),
            &json!({"title": "Fine", "content": "\u{200B}\n\t"}),
        )
        .await,
        "content",
    )
    .await;
    let posts = app
        .get_ok(&format!("/v1/users/{}/posts", user.id), None)
        .await;
    assert_eq!(posts["items"], json!([]), "nothing was posted");

    let post = app.publish(&user, "Real post").await;
    let comments = format!("/v1/posts/{}/comments", post["id"].as_str().unwrap());
    refused(
        app.post(
            &comments,
            Some(&user.token),
            &json!({"content": "bell\u{7}"}),
        )
        .await,
        "content",
    )
    .await;
    let ok = app
        .post(
            &comments,
            Some(&user.token),
            &json!({"content": "two\nlines"}),
        )
        .await;
    assert_eq!(ok.status(), 201);

    refused(
        app.post(
            "/v1/products",
            Some(&admin.token),
            &json!({"name": "Kettle", "price_cents": 100, "stock": 1, "category": "misc",
                    "sku": "KT-9", "description": "boils \u{2067}fast\u{2069}"}),
        )
        .await,
        "description",
    )
    .await;
}
