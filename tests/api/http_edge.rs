//! The HTTP edge under a hostile client: connections that never send a request,
//! connection caps, CSRF on cookie sessions, error shapes of the framework's own
//! rejections, metric labels, request ids (README "Hardening / HTTP edge").

use std::time::{Duration, Instant};

use redis::AsyncCommands;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, problem, spawn_app, spawn_app_with};

/// `host:port` of the app, for raw sockets.
fn host(app: &TestApp) -> String {
    app.address.trim_start_matches("http://").to_string()
}

/// Reads (discarding) until the server closes the connection; how long that took, or
/// `None` if it was still open after `patience`.
async fn closed_after(stream: &mut TcpStream, patience: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let left = patience.checked_sub(started.elapsed())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

/// Sends one `GET path` on a raw keep-alive connection and reads the whole response
/// (headers and a `Content-Length` body); the status code.
async fn raw_get(stream: &mut TcpStream, path: &str) -> u16 {
    let request = format!("GET {path} HTTP/1.1\r\nHost: agora\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("a response within 5 s")
            .unwrap();
        assert!(n > 0, "closed before the response was complete");
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                return text[9..12].parse().unwrap();
            }
        }
    }
}

/// Guards finding 2: a socket that sends nothing, half a request line, or trickles a
/// byte at a time used to stay open for ever (no header-read timeout), so a stranger
/// could exhaust the process's file descriptors. Each is now closed once
/// `AGORA_HEADER_READ_TIMEOUT_MS` has passed, trickling or not.
#[tokio::test]
async fn silent_half_sent_and_trickling_connections_are_closed_after_the_header_timeout() {
    let app = spawn_app_with(|s| s.header_read_timeout_ms = 400).await;
    let patience = Duration::from_secs(4);

    let mut silent = TcpStream::connect(host(&app)).await.unwrap();
    let mut half = TcpStream::connect(host(&app)).await.unwrap();
    half.write_all(b"GET /healthz HT").await.unwrap();
    let mut trickle = TcpStream::connect(host(&app)).await.unwrap();
    let trickler = tokio::spawn(async move {
        // One byte every 50 ms: always "making progress", never done within 4 s.
        let request = b"GET /healthz HTTP/1.1\r\nHost: agora\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
        let started = Instant::now();
        for byte in request {
            if trickle.write_all(&[*byte]).await.is_err() {
                return (trickle, Some(started.elapsed()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (trickle, None)
    });

    for (name, stream) in [("silent", &mut silent), ("half-sent", &mut half)] {
        let closed = closed_after(stream, patience).await;
        assert!(
            closed.is_some_and(|d| d < Duration::from_secs(2)),
            "{name} connection still open ({closed:?})"
        );
    }
    let (mut trickle, write_failed) = trickler.await.unwrap();
    let closed = match write_failed {
        Some(after) => Some(after),
        None => closed_after(&mut trickle, Duration::from_millis(100)).await,
    };
    assert!(
        closed.is_some_and(|d| d < Duration::from_secs(2)),
        "trickling connection still open ({closed:?})"
    );
    // The server itself is fine.
    assert_eq!(app.get("/healthz", None).await.status(), 200);
}

/// Guards finding 2: a keep-alive connection left idle after a response is closed
/// after the header-read timeout (hyper restarts that timer when the connection goes
/// idle), instead of being held for ever.
#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let app = spawn_app_with(|s| s.header_read_timeout_ms = 400).await;
    let mut stream = TcpStream::connect(host(&app)).await.unwrap();

    assert_eq!(raw_get(&mut stream, "/healthz").await, 200);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        raw_get(&mut stream, "/healthz").await,
        200,
        "kept alive between requests"
    );
    let closed = closed_after(&mut stream, Duration::from_secs(4)).await;
    assert!(
        closed.is_some_and(|d| d < Duration::from_secs(2)),
        "idle keep-alive connection still open ({closed:?})"
    );
}

/// Guards finding 2: connections beyond `AGORA_MAX_CONNECTIONS` wait (in the listen
/// backlog) instead of each taking a descriptor; the open ones are still served, and
/// a waiting client is served as soon as one closes. Also checks that the client's
/// address still reaches the handlers (`ConnectInfo`, used by the API limiter).
#[tokio::test]
async fn over_the_connection_cap_new_clients_wait_while_open_connections_are_served() {
    let app = spawn_app_with(|s| {
        s.max_connections = 2;
        s.header_read_timeout_ms = 10_000;
    })
    .await;
    let mut first = TcpStream::connect(host(&app)).await.unwrap();
    let second = TcpStream::connect(host(&app)).await.unwrap();
    assert_eq!(raw_get(&mut first, "/healthz").await, 200);

    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(600))
        .build()
        .unwrap();
    let over = client.get(app.url("/healthz")).send().await;
    assert!(
        over.is_err(),
        "a third connection was served over a cap of 2: {over:?}"
    );
    assert_eq!(
        raw_get(&mut first, "/v1/users/1").await,
        404,
        "an open connection is still served"
    );

    drop(second);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(response) = client.get(app.url("/healthz")).send().await {
            assert_eq!(response.status(), 200);
            break;
        }
        assert!(Instant::now() < deadline, "not served after a slot freed");
    }
    // The anonymous `/v1` request above was limited by the client's address.
    let key = app.redis.keys.rate_limit_ip("127.0.0.1");
    let exists: bool = app.conn().exists(&key).await.unwrap();
    assert!(exists, "ConnectInfo reached the limiter ({key})");
}

/// Guards finding 2 (its slow-read variant): hyper has no write timeout, so a client
/// that asks for large responses and stops reading held its connection for ever once
/// the socket buffers were full. A write that makes no progress for
/// `AGORA_WRITE_STALL_TIMEOUT_MS` now closes the connection.
#[tokio::test]
async fn a_client_that_stops_reading_its_responses_is_disconnected() {
    let app = spawn_app_with(|s| {
        s.write_stall_timeout_ms = 300;
        s.header_read_timeout_ms = 20_000;
    })
    .await;
    let one = app
        .get("/openapi.json", None)
        .await
        .bytes()
        .await
        .unwrap()
        .len();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(host(&app).parse().unwrap()).await.unwrap();
    let requests = 40;
    let pipelined = "GET /openapi.json HTTP/1.1\r\nHost: agora\r\n\r\n".repeat(requests);
    stream.write_all(pipelined.as_bytes()).await.unwrap();

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut received = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received += n,
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the connection was still open after {received} bytes"
    );
    assert!(
        received < requests * one / 2,
        "{received} bytes of {} were sent: the stalled connection was kept",
        requests * one
    );
}

/// `Cookie: agora_session=<token>` for `token`.
fn session_cookie(token: &str) -> String {
    format!("agora_session={token}")
}

/// Guards finding 24: an `Authorization` header of another scheme (`Basic`, sent by a
/// proxy or a browser's saved credentials) used to hide a valid session cookie (401);
/// the cookie now authenticates whenever there is no Bearer token, and a Bearer token
/// still wins over the cookie.
#[tokio::test]
async fn a_basic_authorization_header_does_not_hide_the_session_cookie() {
    let app = spawn_app().await;
    let alice = app.user("alice_basic").await;
    let bob = app.user("bob_basic").await;

    let response = app
        .client
        .get(app.url("/v1/users/me"))
        .header("Authorization", "Basic dXNlcjpwYXNz")
        .header("Cookie", session_cookie(&alice.token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let me: serde_json::Value = response.json().await.unwrap();
    assert_eq!(me["id"], alice.id.as_str());

    let both = app
        .client
        .get(app.url("/v1/users/me"))
        .bearer_auth(&bob.token)
        .header("Cookie", session_cookie(&alice.token))
        .send()
        .await
        .unwrap();
    let me: serde_json::Value = both.json().await.unwrap();
    assert_eq!(
        me["id"],
        bob.id.as_str(),
        "a Bearer token wins over the cookie"
    );

    let basic_only = app
        .client
        .get(app.url("/v1/users/me"))
        .header("Authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    problem(basic_only, 401).await;
}

/// Guards finding 12: a cross-site form POST carrying the session cookie used to be
/// obeyed (`POST /v1/orders/{id}/cancel` has no body, so no content-type check stops
/// it). A cookie-authenticated request that may change state is now refused (403
/// `/problems/cross-site-request`) when `Sec-Fetch-Site` or `Origin` says it comes
/// from another origin; same-origin, listed origins, non-browser clients and every
/// Bearer-authenticated request are unaffected, and so are reads.
#[tokio::test]
async fn cookie_authenticated_state_changes_from_other_origins_are_refused() {
    let app = spawn_app_with(|s| s.allowed_origins = vec!["https://app.example.com".into()]).await;
    let user = app.user("csrf_target").await;
    let own_origin = app.address.clone();
    let cookie = session_cookie(&user.token);
    let tags = || async {
        app.get_ok(&format!("/v1/users/{}/tags", user.id), None)
            .await
    };

    let send = |method: reqwest::Method, path: &str, headers: &[(&str, &str)], bearer: bool| {
        let mut request = app.client.request(method, app.url(path));
        request = if bearer {
            request.bearer_auth(&user.token)
        } else {
            request.header("Cookie", &cookie)
        };
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };

    // The finding's request: a body-less cancel from a foreign page.
    let cancel = send(
        reqwest::Method::POST,
        "/v1/orders/999999/cancel",
        &[
            ("Sec-Fetch-Site", "cross-site"),
            ("Origin", "https://evil.example"),
        ],
        false,
    )
    .await
    .unwrap();
    let body = problem(cancel, 403).await;
    assert_eq!(body["type"], "/problems/cross-site-request");
    let cancel_own = send(
        reqwest::Method::POST,
        "/v1/orders/999999/cancel",
        &[("Origin", &own_origin), ("Sec-Fetch-Site", "same-origin")],
        false,
    )
    .await
    .unwrap();
    problem(cancel_own, 404).await;

    let refused: [&[(&str, &str)]; 5] = [
        &[("Sec-Fetch-Site", "cross-site")],
        &[("Sec-Fetch-Site", "same-site")],
        &[("Origin", "https://evil.example")],
        &[("Origin", "null")],
        &[
            ("Origin", "http://127.0.0.1:1"),
            ("Sec-Fetch-Site", "same-origin"),
        ],
    ];
    for headers in refused {
        let response = send(
            reqwest::Method::PUT,
            "/v1/users/me/tags/refused",
            headers,
            false,
        )
        .await
        .unwrap();
        let body = problem(response, 403).await;
        assert_eq!(body["type"], "/problems/cross-site-request", "{headers:?}");
    }
    assert_eq!(tags().await, json!([]), "nothing was changed");

    type Case<'a> = (&'a [(&'a str, &'a str)], bool, &'a str);
    let accepted: [Case; 5] = [
        (
            &[("Origin", &own_origin), ("Sec-Fetch-Site", "same-origin")],
            false,
            "own",
        ),
        (
            &[
                ("Origin", "https://app.example.com"),
                ("Sec-Fetch-Site", "cross-site"),
            ],
            false,
            "listed",
        ),
        (
            &[("Sec-Fetch-Site", "same-origin")],
            false,
            "fetch-same-origin",
        ),
        (&[], false, "cli"),
        (
            &[
                ("Origin", "https://evil.example"),
                ("Sec-Fetch-Site", "cross-site"),
            ],
            true,
            "bearer",
        ),
    ];
    for (headers, bearer, tag) in accepted {
        let path = format!("/v1/users/me/tags/{tag}");
        let response = send(reqwest::Method::PUT, &path, headers, bearer)
            .await
            .unwrap();
        assert_eq!(response.status(), 204, "{tag}");
    }
    let read = send(
        reqwest::Method::GET,
        "/v1/users/me",
        &[
            ("Sec-Fetch-Site", "cross-site"),
            ("Origin", "https://evil.example"),
        ],
        false,
    )
    .await
    .unwrap();
    assert_eq!(read.status(), 200, "reads are not refused");
    let mut stored: Vec<String> = serde_json::from_value(tags().await).unwrap();
    stored.sort();
    assert_eq!(
        stored,
        ["bearer", "cli", "fetch-same-origin", "listed", "own"]
    );
}

/// Guards finding 15: an unknown route (404) and a wrong method (405) used to answer
/// with empty bodies, and a path parameter that is not UTF-8 after percent-decoding
/// (`/v1/users/%ff`) with a text/plain 400. Every one is problem+json now, and the 405
/// keeps its `Allow` header.
#[tokio::test]
async fn unknown_routes_wrong_methods_and_undecodable_paths_answer_problem_json() {
    let app = spawn_app().await;

    let unknown = app.get("/v1/no-such-thing", None).await;
    let body = problem(unknown, 404).await;
    assert_eq!(body["type"], "/problems/not-found");
    let unknown_post = app.post("/nowhere", None, &json!({})).await;
    problem(unknown_post, 404).await;

    let wrong = app.delete("/v1/posts", None).await;
    let allow = wrong.headers()["allow"].to_str().unwrap().to_string();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    let body = problem(wrong, 405).await;
    assert_eq!(body["type"], "/problems/method-not-allowed");

    for path in ["/v1/users/%ff", "/v1/users/%ff/tags", "/v1/posts/%c3%28"] {
        let response = app.get(path, None).await;
        let body = problem(response, 400).await;
        assert_eq!(body["type"], "/problems/bad-request", "{path}");
        assert!(body["detail"].as_str().unwrap().contains("UTF-8"), "{body}");
    }
}

/// Guards finding 13: the raw method name was a metrics label, so made-up methods grew
/// `/metrics` without bound (5,000 requests: 0.47 → 12.5 MB). Methods outside the
/// standard ones are now `other`, and unmatched paths are one `unmatched` route.
#[tokio::test]
async fn made_up_methods_and_paths_do_not_become_metric_labels() {
    let app = spawn_app().await;
    let tag = format!("{:x}", rand_suffix());
    for i in 0..20 {
        let method = reqwest::Method::from_bytes(format!("M{tag}X{i}").as_bytes()).unwrap();
        for path in ["/v1/users/1".to_string(), format!("/p{tag}/{i}")] {
            let response = app
                .client
                .request(method.clone(), app.url(&path))
                .send()
                .await
                .unwrap();
            assert!(response.status().is_client_error(), "{path}");
        }
        app.get(&format!("/q{tag}/{i}"), None).await;
    }
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        !metrics.contains(&tag),
        "a made-up method or path became a label"
    );
    let other = metrics.lines().find(|l| {
        l.starts_with("http_requests_total")
            && l.contains(r#"method="other""#)
            && l.contains(r#"route="/v1/users/{id}""#)
    });
    assert!(other.is_some(), "{metrics}");
    assert!(
        metrics.contains(r#"route="unmatched""#),
        "unmatched paths are counted under one label"
    );
}

/// A number unlikely to appear in `/metrics` by chance.
fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now()) | (1 << 60)
}

/// Guards finding 20: a client's `X-Request-Id` was echoed and logged verbatim (log
/// forging, unbounded size). Only 1 to 64 of `A-Z a-z 0-9 . _ -` is kept now; anything
/// else is replaced by a generated id.
#[tokio::test]
async fn only_plain_request_ids_are_echoed_others_are_replaced() {
    let app = spawn_app().await;
    let echoed = |id: &'static [u8]| {
        let request = app.client.get(app.url("/healthz")).header(
            "x-request-id",
            reqwest::header::HeaderValue::from_bytes(id).unwrap(),
        );
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.headers()["x-request-id"].as_bytes().to_vec()
        }
    };

    let plain: &[u8] = b"trace-3f2b0c1e.6a0e_4d6c";
    assert_eq!(echoed(plain).await, plain);
    let forged: [&'static [u8]; 3] = [
        b"x\" level=ERROR msg=\"admin password reset for alice",
        b"caf\xc3\xa9",
        b"0123456789012345678901234567890123456789012345678901234567890123456789",
    ];
    for id in forged {
        let got = echoed(id).await;
        assert_ne!(got, id);
        assert_eq!(
            got.len(),
            36,
            "a generated UUID: {}",
            String::from_utf8_lossy(&got)
        );
    }
}

/// The edge applies tower-http's CORS and gzip only where they act (a preflight, a
/// client sending `Accept-Encoding`) and the constant headers they add everywhere else:
/// every answer, found or not, compressed or not, carries the same CORS headers, `Vary`
/// and a request id; a client accepting gzip gets a gzip body of a large document.
#[tokio::test]
async fn cors_compression_and_request_ids_apply_to_every_answer() {
    let app = spawn_app().await;
    let preflight = app
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/posts", app.address),
        )
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,authorization",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    for (name, value) in [
        ("access-control-allow-origin", "*"),
        ("access-control-allow-methods", "*"),
        ("access-control-allow-headers", "*"),
    ] {
        assert_eq!(preflight.headers()[name], value, "{name}");
    }

    for accept in [None, Some("gzip")] {
        for (path, status) in [
            ("/healthz", 200),
            ("/openapi.json", 200),
            ("/v1/no-such-thing", 404),
        ] {
            let mut request = app
                .client
                .get(format!("{}{path}", app.address))
                .header("origin", "https://app.example");
            if let Some(accept) = accept {
                request = request.header("accept-encoding", accept);
            }
            let response = request.send().await.unwrap();
            let headers = response.headers();
            let what = format!("{path} with accept-encoding {accept:?}");
            assert_eq!(response.status(), status, "{what}");
            assert_eq!(headers["access-control-allow-origin"], "*", "{what}");
            assert_eq!(headers["access-control-expose-headers"], "*", "{what}");
            assert!(headers.contains_key("x-request-id"), "{what}");
            let vary: Vec<&str> = headers
                .get_all("vary")
                .iter()
                .map(|v| v.to_str().unwrap())
                .collect();
            assert!(
                vary.iter().any(|v| v.contains("origin")),
                "{what}: {vary:?}"
            );
            if path == "/openapi.json" {
                assert!(vary.contains(&"accept-encoding"), "{what}: {vary:?}");
                let gzip = accept.is_some();
                assert_eq!(
                    headers.get("content-encoding").is_some_and(|v| v == "gzip"),
                    gzip,
                    "{what}"
                );
                let body = response.bytes().await.unwrap();
                assert_eq!(body.starts_with(&[0x1f, 0x8b]), gzip, "{what}");
            }
        }
    }
}
