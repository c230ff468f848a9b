//! Security proofs over the whole API, driven by the OpenAPI document.
//!
//! The authorization matrix: every mutating operation (POST, PUT, PATCH, DELETE in
//! `agora::app::openapi()`) is called by an anonymous client, another user, the
//! resource's owner and an admin, each against a fresh resource, and answers the
//! status its access rule implies. The operation list comes from the document, so a
//! new mutating endpoint without a row here fails the test until someone decides who
//! may call it.
//!
//! Key injection: every path parameter of every operation, given key syntax (`:`,
//! `{}`, `*`), a 300-character string or non-ASCII text, answers 4xx and leaves no key
//! holding the injected text.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, TestUser, spawn_app, spawn_app_with};

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Anyone, without a session.
    Public,
    /// Any logged-in user.
    AnyUser,
    /// The user the resource belongs to, or an admin.
    OwnerOrAdmin,
    /// Admins only (the owner of the resource included, when there is one).
    AdminOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Actor {
    Anonymous,
    Other,
    Owner,
    Admin,
}

const ACTORS: [Actor; 4] = [Actor::Anonymous, Actor::Other, Actor::Owner, Actor::Admin];

impl Access {
    /// The status class an actor gets: 2 (any 2xx), or an exact 401 / 403.
    fn expected(self, actor: Actor) -> u16 {
        match (self, actor) {
            (Access::Public, _) => 2,
            (_, Actor::Anonymous) => 401,
            (Access::AnyUser, _) | (_, Actor::Admin) => 2,
            (Access::OwnerOrAdmin, Actor::Owner) => 2,
            (Access::OwnerOrAdmin | Access::AdminOnly, _) => 403,
        }
    }
}

/// One mutating operation: who may call it.
struct Row {
    method: &'static str,
    path: &'static str,
    access: Access,
}

const fn row(method: &'static str, path: &'static str, access: Access) -> Row {
    Row {
        method,
        path,
        access,
    }
}

use Access::{AdminOnly, AnyUser, OwnerOrAdmin, Public};

/// The matrix. Locks are owned by their fencing token, not by a user: anyone holding
/// the token may extend or release, so they are `AnyUser` (the token is in the body).
const MATRIX: &[Row] = &[
    row("POST", "/v1/analytics/pageviews", Public),
    row("POST", "/v1/analytics/visits", Public),
    row("PATCH", "/v1/config", AdminOnly),
    row("PUT", "/v1/experiments/{name}", AdminOnly),
    row(
        "POST",
        "/v1/experiments/{name}/assignments/{subject}",
        Public,
    ),
    row(
        "POST",
        "/v1/leaderboards/{board}/players/{player_id}/results",
        OwnerOrAdmin,
    ),
    row("POST", "/v1/leaderboards/{board}/scores", OwnerOrAdmin),
    row("POST", "/v1/locks/{resource}", AnyUser),
    row("PATCH", "/v1/locks/{resource}", AnyUser),
    row("DELETE", "/v1/locks/{resource}", AnyUser),
    row("POST", "/v1/orders", AnyUser),
    row("PATCH", "/v1/orders/{id}", AdminOnly),
    row("POST", "/v1/orders/{id}/cancel", OwnerOrAdmin),
    row("POST", "/v1/posts", AnyUser),
    row("DELETE", "/v1/posts/{id}", OwnerOrAdmin),
    row("POST", "/v1/posts/{id}/comments", AnyUser),
    row("PUT", "/v1/posts/{id}/likes/{user}", OwnerOrAdmin),
    row("DELETE", "/v1/posts/{id}/likes/{user}", OwnerOrAdmin),
    row("POST", "/v1/products", AdminOnly),
    row("PATCH", "/v1/products/{id}", AdminOnly),
    row("POST", "/v1/products/{id}/discount", AdminOnly),
    row("POST", "/v1/products/{id}/purchase", AnyUser),
    row("POST", "/v1/products/{id}/restock", AdminOnly),
    row("POST", "/v1/rate-limits/check", AnyUser),
    row("POST", "/v1/sessions", Public),
    row("DELETE", "/v1/sessions/current", AnyUser),
    row("POST", "/v1/users", Public),
    row("PATCH", "/v1/users/{id}", OwnerOrAdmin),
    row("PUT", "/v1/users/me/password", AnyUser),
    row("DELETE", "/v1/users/{id}", OwnerOrAdmin),
    row("DELETE", "/v1/users/{id}/cart", OwnerOrAdmin),
    row("POST", "/v1/users/{id}/cart/items", OwnerOrAdmin),
    row(
        "PUT",
        "/v1/users/{id}/cart/items/{product_id}",
        OwnerOrAdmin,
    ),
    row(
        "DELETE",
        "/v1/users/{id}/cart/items/{product_id}",
        OwnerOrAdmin,
    ),
    row("PUT", "/v1/users/{id}/following/{target}", OwnerOrAdmin),
    row("DELETE", "/v1/users/{id}/following/{target}", OwnerOrAdmin),
    row("DELETE", "/v1/users/{id}/sessions", OwnerOrAdmin),
    row(
        "DELETE",
        "/v1/users/{id}/sessions/{session_id}",
        OwnerOrAdmin,
    ),
    row("PUT", "/v1/users/{id}/tags/{tag}", OwnerOrAdmin),
    row("DELETE", "/v1/users/{id}/tags/{tag}", OwnerOrAdmin),
    // RealWorld (`/api`): the same rules as the /v1 operations each one adapts.
    row("POST", "/api/users", Public),
    row("POST", "/api/users/login", Public),
    row("PUT", "/api/user", AnyUser),
    row("POST", "/api/profiles/{username}/follow", AnyUser),
    row("DELETE", "/api/profiles/{username}/follow", AnyUser),
    row("POST", "/api/articles", AnyUser),
    row("PUT", "/api/articles/{slug}", OwnerOrAdmin),
    row("DELETE", "/api/articles/{slug}", OwnerOrAdmin),
    row("POST", "/api/articles/{slug}/favorite", AnyUser),
    row("DELETE", "/api/articles/{slug}/favorite", AnyUser),
    row("POST", "/api/articles/{slug}/comments", AnyUser),
    row("DELETE", "/api/articles/{slug}/comments/{id}", OwnerOrAdmin),
];

/// One operation of the OpenAPI document.
struct Operation {
    method: String,
    path: String,
    /// Every status the document lists for it.
    documented: BTreeSet<u16>,
}

fn operations() -> Vec<Operation> {
    let doc = serde_json::to_value(agora::app::openapi()).unwrap();
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(responses) = operation.get("responses").and_then(Value::as_object) else {
                continue; // `parameters` shared by the path item, not an operation
            };
            operations.push(Operation {
                method: method.to_uppercase(),
                path: path.clone(),
                documented: responses.keys().filter_map(|s| s.parse().ok()).collect(),
            });
        }
    }
    operations
}

fn is_mutating(method: &str) -> bool {
    matches!(method, "POST" | "PUT" | "PATCH" | "DELETE")
}

/// The values a case fills into path templates and bodies.
#[derive(Debug, Clone)]
struct Ctx {
    /// Unique per case, for names that must not collide (SKUs, usernames, boards).
    n: usize,
    owner_id: String,
    owner_name: String,
    other_id: String,
    post: String,
    product: String,
    order: String,
    lock_token: String,
    session: String,
    /// The owner's article (`/api/articles/{slug}`), its comment's number, and a
    /// user none of the actors is (`/api/profiles/{username}`: nobody follows
    /// themselves).
    slug: String,
    comment: String,
    target_name: String,
}

impl Ctx {
    /// Plausible values and no fixtures: enough for requests that must be rejected
    /// before any of them is looked up.
    fn placeholder(n: usize) -> Ctx {
        Ctx {
            n,
            owner_id: "1".into(),
            owner_name: "nobody".into(),
            other_id: "2".into(),
            post: "p1".into(),
            product: "1001".into(),
            order: "1".into(),
            lock_token: "0".repeat(32),
            session: "0".repeat(64),
            slug: "mine".into(),
            comment: "1".into(),
            target_name: "nobody".into(),
        }
    }

    /// The value of a path parameter, by the template it appears in.
    fn param(&self, path: &str, name: &str) -> String {
        let n = self.n;
        match name {
            "id" if path.starts_with("/v1/users/") => self.owner_id.clone(),
            "id" if path.starts_with("/v1/posts/") => self.post.clone(),
            "id" if path.starts_with("/v1/products/") => self.product.clone(),
            "id" if path.starts_with("/v1/orders/") => self.order.clone(),
            "id" if path.starts_with("/api/articles/") => self.comment.clone(),
            "slug" => self.slug.clone(),
            "username" => self.target_name.clone(),
            "user" | "player_id" => self.owner_id.clone(),
            "target" => self.other_id.clone(),
            "product_id" => self.product.clone(),
            "session_id" => self.session.clone(),
            "tag" => "rust".into(),
            "name" => format!("exp-{n}"),
            "subject" => format!("visitor-{n}"),
            "board" => format!("board-{n}"),
            "resource" => format!("resource-{n}"),
            "key" => "config:app".into(),
            "date" => "2026-01-05".into(),
            other => panic!("no value for path parameter {{{other}}} of {path}: add one"),
        }
    }

    /// `template` with every `{param}` filled in; `inject` replaces one of them.
    fn path(&self, template: &str, inject: Option<(&str, &str)>) -> String {
        let mut path = String::new();
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            let end = start + rest[start..].find('}').unwrap();
            let name = &rest[start + 1..end];
            path.push_str(&rest[..start]);
            match inject {
                Some((param, text)) if param == name => path.push_str(&encode(text)),
                _ => path.push_str(&self.param(template, name)),
            }
            rest = &rest[end + 1..];
        }
        path.push_str(rest);
        path
    }

    /// A valid body for the operation, if it takes one.
    fn body(&self, method: &str, path: &str) -> Option<Value> {
        let n = self.n;
        let body = match (method, path) {
            ("POST", "/v1/analytics/pageviews") => json!({"path": "/home"}),
            ("POST", "/v1/analytics/visits") => json!({"visitor_id": format!("v{n}")}),
            ("PATCH", "/v1/config") => json!({"theme": "dark"}),
            ("PUT", "/v1/experiments/{name}") => json!({"variants": {"a": 50, "b": 50}}),
            ("POST", "/v1/experiments/{name}/assignments/{subject}") => json!({}),
            ("POST", "/v1/leaderboards/{board}/players/{player_id}/results") => {
                json!({"outcome": "win", "points": 5})
            }
            ("POST", "/v1/leaderboards/{board}/scores") => {
                json!({"player_id": self.owner_id, "score": 10})
            }
            ("POST", "/v1/locks/{resource}") => json!({"ttl_ms": 10_000}),
            ("PATCH", "/v1/locks/{resource}") => {
                json!({"token": self.lock_token, "ttl_ms": 10_000})
            }
            ("DELETE", "/v1/locks/{resource}") => json!({"token": self.lock_token}),
            ("POST", "/v1/orders") => {
                json!({"items": [{"product_id": self.product, "quantity": 1}]})
            }
            ("PATCH", "/v1/orders/{id}") => json!({"status": "paid"}),
            ("POST", "/v1/posts") => json!({"title": "Hello", "content": "world"}),
            ("POST", "/v1/posts/{id}/comments") => json!({"content": "nice"}),
            ("POST", "/v1/products") => json!({
                "name": "Lamp", "price_cents": 2500, "stock": 10,
                "category": "home", "sku": format!("SKU-{n}")
            }),
            ("PATCH", "/v1/products/{id}") => json!({"name": "Renamed"}),
            ("POST", "/v1/products/{id}/discount") => json!({"amount_cents": 100}),
            ("POST", "/v1/products/{id}/purchase" | "/v1/products/{id}/restock") => {
                json!({"quantity": 1})
            }
            ("POST", "/v1/rate-limits/check") => {
                json!({"key": format!("k{n}"), "limit": 10, "window_ms": 1000})
            }
            ("POST", "/v1/sessions") => json!({"login": self.owner_name, "password": PASSWORD}),
            ("POST", "/v1/users") => json!({
                "username": format!("newcomer{n}"),
                "email": format!("newcomer{n}@example.com"),
                "password": PASSWORD
            }),
            ("PATCH", "/v1/users/{id}") => json!({"bio": "updated"}),
            ("PUT", "/v1/users/me/password") => json!({
                "current_password": crate::helpers::PASSWORD,
                "new_password": format!("a new passphrase {}", self.n),
            }),
            ("POST", "/v1/users/{id}/cart/items") => {
                json!({"product_id": self.product, "quantity": 1})
            }
            ("PUT", "/v1/users/{id}/cart/items/{product_id}") => json!({"quantity": 2}),
            ("POST", "/api/users") => json!({"user": {
                "username": format!("rwnew{n}"),
                "email": format!("rwnew{n}@example.com"),
                "password": PASSWORD
            }}),
            ("POST", "/api/users/login") => json!({"user": {
                "email": format!("{}@example.com", self.owner_name), "password": PASSWORD
            }}),
            ("PUT", "/api/user") => json!({"user": {"bio": "updated"}}),
            ("POST", "/api/articles") => {
                json!({"article": {"title": "Hello", "description": "d", "body": "b"}})
            }
            ("PUT", "/api/articles/{slug}") => json!({"article": {"body": "edited"}}),
            ("POST", "/api/articles/{slug}/comments") => json!({"comment": {"body": "nice"}}),
            _ => return None,
        };
        Some(body)
    }
}

/// Percent-encodes a path segment (reqwest would otherwise let `{`, `}`, spaces and
/// non-ASCII through in ways that change what reaches the router).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
    n: usize,
) -> reqwest::Response {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = app
        .client
        .request(method, app.url(path))
        .header("idempotency-key", format!("authz-{n}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

/// 2xx body of a request that sets up a case.
async fn setup(app: &TestApp, method: &str, path: &str, token: &str, body: &Value) -> Value {
    let response = send(app, method, path, Some(token), Some(body), 0).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(
        status.is_success(),
        "setup {method} {path}: {status} {text}"
    );
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn id_of(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_string()
}

/// Creates what `row` acts on, owned by `owner`, and the values to call it with.
async fn fixture(app: &TestApp, row: &Row, n: usize, [owner, other, admin]: [&TestUser; 3]) -> Ctx {
    let mut ctx = Ctx::placeholder(n);
    ctx.owner_id = owner.id.clone();
    ctx.other_id = other.id.clone();
    ctx.owner_name = format!("owner{n}");
    let p = row.path;
    let needs_product = p.contains("/products/{id}")
        || p.contains("{product_id}")
        || p.contains("/orders")
        || p.contains("/cart");
    if needs_product {
        let product = json!({"name": "Mug", "price_cents": 900, "stock": 1000,
            "category": "kitchen", "sku": format!("MUG-{n}")});
        ctx.product = id_of(&setup(app, "POST", "/v1/products", &admin.token, &product).await);
    }
    if p.starts_with("/v1/orders/{id}") {
        let lines = json!({"items": [{"product_id": ctx.product, "quantity": 1}]});
        ctx.order = id_of(&setup(app, "POST", "/v1/orders", &owner.token, &lines).await);
    }
    if p.starts_with("/v1/posts/{id}") {
        let post = json!({"title": "Mine", "content": "by the owner"});
        ctx.post = id_of(&setup(app, "POST", "/v1/posts", &owner.token, &post).await);
    }
    if p.starts_with("/api/articles/{slug}") {
        let post = json!({"title": format!("Mine {n}"), "content": "by the owner"});
        ctx.post = id_of(&setup(app, "POST", "/v1/posts", &owner.token, &post).await);
        ctx.slug = format!("mine-{n}");
        if p.ends_with("{id}") {
            let path = format!("/v1/posts/{}/comments", ctx.post);
            let comment = setup(
                app,
                "POST",
                &path,
                &owner.token,
                &json!({"content": "mine"}),
            )
            .await;
            ctx.comment = id_of(&comment).trim_start_matches('c').to_string();
        }
    }
    if p.starts_with("/api/profiles/{username}") {
        ctx.target_name = format!("target{n}");
        app.user(&ctx.target_name).await;
    }
    if p.starts_with("/v1/experiments/{name}/") {
        let path = ctx.path("/v1/experiments/{name}", None);
        let variants = json!({"variants": {"a": 50, "b": 50}});
        setup(app, "PUT", &path, &admin.token, &variants).await;
    }
    if p == "/v1/locks/{resource}" && row.method != "POST" {
        let path = ctx.path(p, None);
        let lock = setup(app, "POST", &path, &owner.token, &json!({"ttl_ms": 10_000})).await;
        ctx.lock_token = lock["token"].as_str().unwrap().to_string();
    }
    if p.ends_with("{session_id}") {
        let current = app.get_ok("/v1/sessions/current", Some(&owner.token)).await;
        ctx.session = id_of(&current);
    }
    // What a DELETE undoes exists first.
    if row.method == "DELETE" {
        let undone = match p {
            "/v1/posts/{id}/likes/{user}"
            | "/v1/users/{id}/following/{target}"
            | "/v1/users/{id}/tags/{tag}" => Some(("PUT", None)),
            "/v1/users/{id}/cart/items/{product_id}" | "/v1/users/{id}/cart" => Some((
                "POST",
                Some(json!({"product_id": ctx.product, "quantity": 1})),
            )),
            _ => None,
        };
        if let Some((method, body)) = undone {
            let template = if body.is_some() {
                "/v1/users/{id}/cart/items"
            } else {
                p
            };
            let path = ctx.path(template, None);
            let response = send(app, method, &path, Some(&owner.token), body.as_ref(), n).await;
            let status = response.status();
            assert!(status.is_success(), "setup {method} {path}: {status}");
        }
    }
    ctx
}

/// Runs one row for the four actors, each against a fresh owner and resource.
/// Returns the mismatches, as lines for the failure message.
async fn run_row(app: &TestApp, row: &Row, first_n: usize) -> Vec<String> {
    let n = first_n;
    let other = app.user(&format!("other{n}")).await;
    let admin = app.admin(&format!("admin{n}")).await;
    let mut mismatches = Vec::new();
    for (i, actor) in ACTORS.into_iter().enumerate() {
        let n = first_n + i;
        let owner = app.user(&format!("owner{n}")).await;
        let ctx = fixture(app, row, n, [&owner, &other, &admin]).await;
        let path = ctx.path(row.path, None);
        let body = ctx.body(row.method, row.path);
        let token = match actor {
            Actor::Anonymous => None,
            Actor::Other => Some(other.token.as_str()),
            Actor::Owner => Some(owner.token.as_str()),
            Actor::Admin => Some(admin.token.as_str()),
        };
        let response = send(app, row.method, &path, token, body.as_ref(), n).await;
        let status = response.status().as_u16();
        let expected = row.access.expected(actor);
        let ok = if expected == 2 {
            (200..300).contains(&status)
        } else {
            status == expected
        };
        if !ok {
            let text = response.text().await.unwrap_or_default();
            mismatches.push(format!(
                "{} {} as {actor:?}: got {status}, want {} ({text})",
                row.method,
                path,
                if expected == 2 {
                    "2xx".to_string()
                } else {
                    expected.to_string()
                }
            ));
        }
    }
    mismatches
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_mutating_endpoint_answers_anonymous_other_owner_and_admin_as_its_access_rule_says() {
    // The matrix covers exactly the mutating operations of the document.
    let operations = operations();
    let documented: BTreeSet<(String, String)> = operations
        .iter()
        .filter(|o| is_mutating(&o.method))
        .map(|o| (o.method.clone(), o.path.clone()))
        .collect();
    let rows: BTreeSet<(String, String)> = MATRIX
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    assert_eq!(rows.len(), MATRIX.len(), "a row appears twice");
    let missing: Vec<_> = documented.difference(&rows).collect();
    assert!(
        missing.is_empty(),
        "mutating endpoints without an authorization matrix row: {missing:?}"
    );
    let stale: Vec<_> = rows.difference(&documented).collect();
    assert!(stale.is_empty(), "matrix rows for no endpoint: {stale:?}");

    // Every 401/403 the matrix expects is one the document promises.
    for row in MATRIX {
        let op = operations
            .iter()
            .find(|o| o.method == row.method && o.path == row.path)
            .unwrap();
        for actor in ACTORS {
            let expected = row.access.expected(actor);
            if expected != 2 {
                assert!(
                    op.documented.contains(&expected),
                    "{} {} does not document {expected}",
                    row.method,
                    row.path
                );
            }
        }
    }

    // Every row registers and logs in its actors from one address, all at once: more
    // anonymous requests than one client may send a minute (`AGORA_RATE_LIMIT`, 600).
    let app = spawn_app_with(|s| s.rate_limit = 10_000).await;
    let results = futures::future::join_all(
        MATRIX
            .iter()
            .enumerate()
            .map(|(i, row)| run_row(&app, row, i * 10)),
    )
    .await;
    let mismatches: Vec<String> = results.into_iter().flatten().collect();
    assert!(
        mismatches.is_empty(),
        "{} of {} calls broke the matrix:\n{}",
        mismatches.len(),
        MATRIX.len() * ACTORS.len(),
        mismatches.join("\n")
    );
}

/// Texts that must never reach a key: key syntax, a glob, a very long id, non-ASCII.
fn injections() -> Vec<String> {
    vec![
        "a:b".into(),
        "{x}".into(),
        "x}:{y".into(),
        "*".into(),
        "k".repeat(300),
        "é中🙂".into(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn key_syntax_long_and_unicode_path_parameters_get_4xx_and_write_no_key() {
    let app = spawn_app().await;
    let admin = app.admin("gatekeeper").await;
    let ctx = Ctx::placeholder(1);
    let mut calls = 0;
    let mut failures = Vec::new();
    for op in operations() {
        let params: Vec<&str> = op
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        for param in params {
            for text in injections() {
                let path = ctx.path(&op.path, Some((param, &text)));
                let body = ctx.body(&op.method, &op.path).or_else(|| {
                    (is_mutating(&op.method) && op.method != "DELETE").then(|| json!({}))
                });
                // As an admin, so the request gets past authorization to validation.
                let response = send(
                    &app,
                    &op.method,
                    &path,
                    Some(&admin.token),
                    body.as_ref(),
                    1,
                )
                .await;
                calls += 1;
                let status = response.status().as_u16();
                if !(400..500).contains(&status) {
                    let shown: String = text.chars().take(12).collect();
                    failures.push(format!(
                        "{} {} with {{{param}}} = {shown:?}: {status}",
                        op.method, op.path
                    ));
                }
            }
        }
    }
    assert!(
        calls > 200,
        "only {calls} injected calls: the walk missed parameters"
    );
    assert!(failures.is_empty(), "not 4xx:\n{}", failures.join("\n"));

    let keys = app.all_keys().await;
    for text in injections() {
        let hits: Vec<_> = keys.iter().filter(|k| k.contains(&text)).collect();
        assert!(hits.is_empty(), "{text:?} reached keys {hits:?}");
    }
}
