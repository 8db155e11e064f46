//! Both surfaces' envelopes as clients read them: an nchat success carries its data twice (under
//! `data`, as nchat's handlers answer, and at the top level, as its guide and spec read), and every
//! error arrives with its own status straight from the route.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, Backend, PASSWORD};
use crate::on_both_backends;

on_both_backends!(nchat_successes_repeat_their_data_at_the_top_level, errors_carry_their_own_status_on_both_surfaces,);

fn assert_data_repeated(path: &str, body: &Value) {
    assert_eq!(body["success"], true, "{path}: {body}");
    let data = body["data"].as_object().unwrap_or_else(|| panic!("{path}: data is an object: {body}"));
    for (name, value) in data {
        assert_eq!(&body[name], value, "{path}: `{name}` is at the top level too");
    }
}

async fn nchat_successes_repeat_their_data_at_the_top_level(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = app.register_verified("ann").await;
    let signin = app.post("/api/auth/signin", json!({"email": email, "password": PASSWORD})).await;
    assert_eq!(signin.status, 200, "{}", signin.text);
    assert_data_repeated("/api/auth/signin", &signin.body);
    // What the guide's examples read.
    let token = signin.body["accessToken"].as_str().expect("accessToken at the top level").to_string();
    assert_eq!(signin.body["user"]["username"], "ann");

    let health = app.get("/api/health").await;
    assert_data_repeated("/api/health", &health.body);
    assert_eq!(health.body["status"], "healthy");

    let config = app.get("/api/config").await;
    assert_data_repeated("/api/config", &config.body);
    assert!(config.body["config"].is_object(), "getConfig() reads data.config: {}", config.text);

    let check = app.post_bearer("/api/auth/verify-password", &token, json!({"password": PASSWORD})).await;
    assert_data_repeated("/api/auth/verify-password", &check.body);
    app.stop().await;
}

async fn errors_carry_their_own_status_on_both_surfaces(backend: Backend) {
    let app = spawn_app(backend).await;
    // A domain refusal, a body that does not fit the route, and a wrong method, on each surface.
    app.post("/user/login", json!({"username": "nobody", "password": PASSWORD}))
        .await
        .assert_chatcli_error(400, "Username or password is incorrect.");
    let reply = app.post("/user/login", json!({"username": 7})).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(reply.body["status"], "error");
    let reply = app.get("/user/login").await;
    assert_eq!(reply.status, 405, "{}", reply.text);
    assert_eq!(reply.body["status"], "error");

    app.post("/api/auth/signin", json!({"email": "nobody@example.com", "password": PASSWORD}))
        .await
        .assert_nchat_error(401, "UNAUTHORIZED");
    app.post("/api/auth/signin", json!({"email": ["not", "text"], "password": PASSWORD}))
        .await
        .assert_nchat_error(400, "BAD_REQUEST");
    app.get("/api/auth/signin").await.assert_nchat_error(405, "METHOD_NOT_ALLOWED");
    app.post("/api/health", json!({})).await.assert_nchat_error(405, "METHOD_NOT_ALLOWED");
    app.get("/api/no-such-route").await.assert_nchat_error(404, "NOT_FOUND");
    // Path segments that do not decode to text (a fuzzer found the webhook one).
    for path in ["/api/webhook/%FF", "/api/webhook/%FF/token", "/api/files/%FF", "/api/logos/%FF"] {
        app.get(path).await.assert_nchat_error(400, "BAD_REQUEST");
    }
    app.stop().await;
}
