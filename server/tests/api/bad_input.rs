//! Every client mistake gets its surface's envelope and a 4xx: malformed bodies, wrong types,
//! over-long values, oversized bodies, unknown routes, wrong methods, and floods (429).

use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with, Backend, PASSWORD};
use crate::on_both_backends;

/// Every ChatCLI account route that takes a JSON body.
const CHATCLI_POST_ROUTES: &[&str] = &[
    "/subscribe",
    "/user/register",
    "/user/verify-email",
    "/user/resend-verification",
    "/user/login",
    "/user/refresh-token",
    "/user/reset-password-request",
    "/user/reset-password",
    "/user/profile",
    "/user/submit-profile",
    "/user/language",
    "/user/set-language",
    "/user/change-password",
    "/user/logout",
    "/user/logout-all",
];

const NCHAT_POST_ROUTES: &[&str] = &[
    "/api/auth/signup",
    "/api/auth/signin",
    "/api/auth/refresh",
    "/api/auth/verify-password",
    "/api/auth/change-password",
    "/api/auth/verify-email",
    "/api/auth/resend-verification",
    "/api/auth/signout",
];

on_both_backends!(
    malformed_bodies_are_invalid_json_on_every_chatcli_route,
    malformed_bodies_get_the_nchat_envelope,
    wrong_types_and_missing_fields_are_named,
    over_long_values_are_refused_with_the_rule,
    bodies_over_the_limit_are_refused,
    unknown_routes_and_wrong_methods_answer_json,
    hostile_bodies_never_cause_a_server_error,
    sign_in_floods_are_limited_per_account_and_per_address,
);

async fn malformed_bodies_are_invalid_json_on_every_chatcli_route(backend: Backend) {
    let app = spawn_app(backend).await;
    for route in CHATCLI_POST_ROUTES {
        for body in ["", "not json", "[]", "{}", "\"text\"", "{\"unterminated\": "] {
            let reply = app.post_raw(route, "application/json", body).await;
            assert_eq!(reply.status, 400, "{route} with {body:?}: {}", reply.text);
            assert_eq!(
                reply.body,
                json!({"status": "error", "message": "Invalid JSON format.", "code": "BAD_REQUEST"}),
                "{route} {body:?}"
            );
        }
        // No content type at all is the same mistake.
        let reply = app.send(app.client.post(app.url(route)).body("{{{")).await;
        reply.assert_chatcli_error(400, "Invalid JSON format.");
    }
    app.stop().await;
}

async fn malformed_bodies_get_the_nchat_envelope(backend: Backend) {
    let app = spawn_app(backend).await;
    for route in NCHAT_POST_ROUTES {
        for body in ["", "nope", "[1,2]"] {
            let reply = app.post_raw(route, "application/json", body).await;
            reply.assert_nchat_error(400, "BAD_REQUEST");
            assert_eq!(reply.body["error"], "Request body must be a JSON object.");
        }
    }
    app.stop().await;
}

async fn wrong_types_and_missing_fields_are_named(backend: Backend) {
    let app = spawn_app(backend).await;
    app.post("/user/login", json!({"username": "alice"})).await.assert_chatcli_error(400, "Missing field: password.");
    let reply = app.post("/user/login", json!({"username": 42, "password": PASSWORD})).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert!(reply.field("message").contains("expected a string"), "{}", reply.text);
    let reply = app.post("/user/submit-profile", json!({"session_token": "t", "disable": "yes"})).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    let reply = app.post("/api/auth/signin", json!({"email": ["a"], "password": PASSWORD})).await;
    reply.assert_nchat_error(400, "BAD_REQUEST");
    app.post("/api/auth/signin", json!({"password": PASSWORD})).await.assert_nchat_error(400, "BAD_REQUEST");
    app.stop().await;
}

async fn over_long_values_are_refused_with_the_rule(backend: Backend) {
    let app = spawn_app(backend).await;
    let register = |username: String, email: String, password: &str| json!({"username": username, "email": email, "password": password});
    app.post("/user/register", register("u".repeat(21), "a@example.org".into(), PASSWORD))
        .await
        .assert_chatcli_error(400, "Username must be at most 20 characters.");
    app.post("/user/register", register("ok".into(), format!("{}@example.org", "e".repeat(250)), PASSWORD))
        .await
        .assert_chatcli_error(400, "Email must be at most 254 characters.");
    app.post("/user/register", register("ok".into(), "a@example.org".into(), &format!("Aa1!{}", "x".repeat(200))))
        .await
        .assert_chatcli_error(400, "Password must be at most 128 characters.");
    for (password, rule) in [
        ("alllower1!", "Password must contain an upper-case letter."),
        ("ALLUPPER1!", "Password must contain a lower-case letter."),
        ("NoDigits!!", "Password must contain a digit."),
        ("NoPunct123", "Password must contain a punctuation character."),
    ] {
        app.post("/user/register", register("ok".into(), "a@example.org".into(), password))
            .await
            .assert_chatcli_error(400, rule);
    }
    app.post("/user/register", register("a:b".into(), "a@example.org".into(), PASSWORD))
        .await
        .assert_chatcli_error(400, "Username cannot contain ':'.");
    // A huge password at sign-in is refused without hashing it, in the same words.
    app.post("/user/login", json!({"username": "ok", "password": "x".repeat(20_000)}))
        .await
        .assert_chatcli_error(400, "Username or password is incorrect.");
    // Nothing was created along the way.
    assert!(app.mail.all().is_empty());
    app.stop().await;
}

async fn bodies_over_the_limit_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let huge = format!("{{\"username\":\"{}\",\"password\":\"x\"}}", "a".repeat(200_000));
    app.post_raw("/user/login", "application/json", huge.clone())
        .await
        .assert_chatcli_error(413, "Request body is larger than 65536 bytes.");
    app.post_raw("/api/auth/signin", "application/json", huge).await.assert_nchat_error(413, "PAYLOAD_TOO_LARGE");
    app.stop().await;
}

async fn unknown_routes_and_wrong_methods_answer_json(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/user/nope", "/chat/nope", "/user"] {
        app.post(path, json!({"a": 1})).await.assert_chatcli_error(404, "No such route.");
        app.get(path).await.assert_chatcli_error(404, "No such route.");
    }
    app.get("/api/nope").await.assert_nchat_error(404, "NOT_FOUND");
    app.post("/api/auth/nope", json!({})).await.assert_nchat_error(404, "NOT_FOUND");
    for path in ["/user/login", "/user/register", "/user/profile"] {
        let reply = app.get(path).await;
        reply.assert_chatcli_error(405, "This route does not accept that method.");
        let reply = app.send(app.client.delete(app.url(path))).await;
        assert_eq!(reply.status, 405, "{path}: {}", reply.text);
    }
    app.get("/api/auth/signin").await.assert_nchat_error(405, "METHOD_NOT_ALLOWED");
    // HEAD is GET without the body, on server functions too.
    for path in ["/api/health", "/api/config", "/verify-connection", "/api/ready"] {
        let reply = app.send(app.client.head(app.url(path))).await;
        assert_eq!((reply.status.as_u16(), reply.text.as_str()), (200, ""), "HEAD {path}");
    }
    // Pages stay HTML: an unknown page is the app's own 404 page.
    let page = app.get("/no/such/page").await;
    assert_eq!(page.status, 404);
    assert!(page.text.contains("Page not found"), "{}", page.text);
    app.stop().await;
}

async fn hostile_bodies_never_cause_a_server_error(backend: Backend) {
    let app = spawn_app(backend).await;
    let hostile = [
        json!({"username": "x' OR 1=1 --", "password": "x", "email": "a@b.co", "email_token": "1", "refresh_token": "'", "token": "\u{0}"}),
        json!({"username": "\u{202e}\u{0}", "password": null, "session_token": 1e300}),
        json!({"username": {"nested": true}, "password": [], "session_token": "a.b.c"}),
        json!({"session_token": "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIiwic2lkIjoxfQ.", "username": "x", "email": "x@y.zz"}),
        json!({"refreshToken": "🔥", "email": "🔥@🔥.🔥", "password": "🔥", "username": "🔥", "code": "🔥🔥🔥🔥🔥🔥"}),
    ];
    for route in CHATCLI_POST_ROUTES.iter().chain(NCHAT_POST_ROUTES) {
        for body in &hostile {
            let reply = app.post(route, body.clone()).await;
            assert!(
                reply.status.is_client_error() || reply.status.is_success(),
                "{route} {body}: {} {}",
                reply.status,
                reply.text
            );
            assert!(reply.body.is_object(), "{route}: answer is JSON: {}", reply.text);
        }
    }
    let reply = app.post("/user/login", json!({"username": "nul\u{0}byte", "password": PASSWORD})).await;
    reply.assert_chatcli_error(400, "Text cannot contain NUL characters.");
    app.stop().await;
}

async fn sign_in_floods_are_limited_per_account_and_per_address(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.auth_limit_per_account = 3;
        c.auth_limit_per_ip = 6;
    })
    .await;
    for _ in 0..3 {
        app.post("/user/login", json!({"username": "target", "password": "Wrong-pass1"}))
            .await
            .assert_chatcli_error(400, "Username or password is incorrect.");
    }
    let limited = app.post("/user/login", json!({"username": "target", "password": "Wrong-pass1"})).await;
    assert_eq!(limited.status, 429, "{}", limited.text);
    assert_eq!(limited.body["code"], "RATE_LIMIT_EXCEEDED");
    let retry_after: u64 = limited.headers["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    // Same account on the other surface: still limited (by name here, the account key).
    app.post("/api/auth/signin", json!({"email": "target", "password": "Wrong-pass1"}))
        .await
        .assert_nchat_error(429, "RATE_LIMIT_EXCEEDED");

    // Other accounts from the same address run into the per-address limit.
    let mut statuses = Vec::new();
    for i in 0..4 {
        statuses.push(
            app.post("/user/login", json!({"username": format!("other{i}"), "password": "x"})).await.status.as_u16(),
        );
    }
    assert!(statuses.contains(&429), "per-address limit reached: {statuses:?}");
    app.stop().await;
}
