//! The nchat auth routes under `/api/auth`: envelopes, Bearer tokens, refresh, password checks.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, Backend, TestApp, PASSWORD};
use crate::on_both_backends;

on_both_backends!(
    signup_verify_signin_and_refresh,
    verify_and_change_password_need_a_bearer_token,
    signin_failures_use_the_nchat_envelope,
    signout_ends_the_session,
);

async fn signup(app: &TestApp, name: &str) -> Value {
    let reply = app
        .post("/api/auth/signup", json!({"email": format!("{name}@example.org"), "password": PASSWORD, "username": name, "displayName": "Display Name"}))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body
}

async fn signed_in(app: &TestApp, name: &str) -> Value {
    signup(app, name).await;
    let code = app.mail.verification_code(&format!("{name}@example.org")).await;
    let reply = app.post("/api/auth/verify-email", json!({"username": name, "code": code})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reply =
        app.post("/api/auth/signin", json!({"email": format!("{name}@example.org"), "password": PASSWORD})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["data"].clone()
}

async fn signup_verify_signin_and_refresh(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = signup(&app, "alice").await;
    assert_eq!(body["success"], true);
    let user = &body["data"]["user"];
    assert_eq!((user["username"].as_str(), user["displayName"].as_str()), (Some("alice"), Some("Display Name")));
    assert_eq!(user["id"], "1");
    assert_eq!(body["data"]["verificationRequired"], true);
    assert!(body["data"].get("accessToken").is_none(), "no tokens before the address is verified");

    // The password is right but the address is not verified yet: nchat says so.
    app.post("/api/auth/signin", json!({"email": "alice@example.org", "password": PASSWORD}))
        .await
        .assert_nchat_error(403, "EMAIL_NOT_VERIFIED");
    let code = app.mail.verification_code("alice@example.org").await;
    app.post("/api/auth/verify-email", json!({"email": "alice@example.org", "code": "000000x"}))
        .await
        .assert_nchat_error(400, "INVALID_CODE");
    let verified = app.post("/api/auth/verify-email", json!({"email": "alice@example.org", "code": code})).await;
    assert_eq!(verified.body["data"]["emailVerified"], true, "{}", verified.text);

    let signin = app.post("/api/auth/signin", json!({"email": "ALICE@example.org", "password": PASSWORD})).await;
    assert_eq!(signin.status, 200, "{}", signin.text);
    let data = &signin.body["data"];
    assert_eq!(data["user"]["email"], "alice@example.org");
    assert_eq!(data["expiresIn"], 86400);
    let refresh = data["refreshToken"].as_str().expect("refresh token");

    let renewed = app.post("/api/auth/refresh", json!({"refreshToken": refresh})).await;
    assert_eq!(renewed.status, 200, "{}", renewed.text);
    assert!(renewed.body["data"]["accessToken"].as_str().is_some_and(|t| t.len() > 20));
    app.post("/api/auth/refresh", json!({"refreshToken": refresh})).await.assert_nchat_error(401, "INVALID_TOKEN");
    app.stop().await;
}

async fn verify_and_change_password_need_a_bearer_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let data = signed_in(&app, "bob").await;
    let access = data["accessToken"].as_str().expect("access token");

    app.post("/api/auth/verify-password", json!({"password": PASSWORD})).await.assert_nchat_error(401, "UNAUTHORIZED");
    app.post_bearer("/api/auth/verify-password", "not.a.jwt", json!({"password": PASSWORD}))
        .await
        .assert_nchat_error(401, "INVALID_TOKEN");
    let reply = app.post_bearer("/api/auth/verify-password", access, json!({"password": PASSWORD})).await;
    assert_eq!(reply.body, json!({"success": true, "data": {"valid": true}}), "{}", reply.text);
    let reply = app.post_bearer("/api/auth/verify-password", access, json!({"password": "Wrong-pass1"})).await;
    assert_eq!(reply.body["data"]["valid"], false);

    app.post_bearer(
        "/api/auth/change-password",
        access,
        json!({"currentPassword": "Wrong-pass1", "newPassword": "N3w-password!"}),
    )
    .await
    .assert_nchat_error(403, "FORBIDDEN");
    app.post_bearer(
        "/api/auth/change-password",
        access,
        json!({"currentPassword": PASSWORD, "newPassword": "nodigits"}),
    )
    .await
    .assert_nchat_error(400, "VALIDATION_ERROR");
    let reply = app
        .post_bearer(
            "/api/auth/change-password",
            access,
            json!({"currentPassword": PASSWORD, "newPassword": "N3w-password!"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    app.post_bearer("/api/auth/verify-password", access, json!({"password": "N3w-password!"}))
        .await
        .assert_nchat_error(401, "INVALID_TOKEN");
    let signin = app.post("/api/auth/signin", json!({"email": "bob", "password": "N3w-password!"})).await;
    assert_eq!(signin.status, 200, "a username works in the email field too: {}", signin.text);
    app.stop().await;
}

async fn signin_failures_use_the_nchat_envelope(backend: Backend) {
    let app = spawn_app(backend).await;
    signed_in(&app, "carol").await;
    let unknown = app.post("/api/auth/signin", json!({"email": "nobody@example.org", "password": PASSWORD})).await;
    let wrong = app.post("/api/auth/signin", json!({"email": "carol@example.org", "password": "Wrong-pass1"})).await;
    unknown.assert_nchat_error(401, "UNAUTHORIZED");
    wrong.assert_nchat_error(401, "UNAUTHORIZED");
    assert_eq!(unknown.body, wrong.body, "unknown accounts and wrong passwords read the same");

    let reply = app
        .post("/api/auth/signup", json!({"email": "x@example.org", "password": PASSWORD, "username": "carol"}))
        .await;
    reply.assert_nchat_error(409, "CONFLICT");
    let reply = app.post("/api/auth/signup", json!({"email": "bad", "password": PASSWORD, "username": "zed"})).await;
    reply.assert_nchat_error(400, "VALIDATION_ERROR");
    assert_eq!(reply.body["details"], json!({"field": "email"}));
    app.stop().await;
}

async fn signout_ends_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let data = signed_in(&app, "dave").await;
    let access = data["accessToken"].as_str().expect("access token");
    let reply = app.post_bearer("/api/auth/signout", access, json!({})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    app.post_bearer("/api/auth/verify-password", access, json!({"password": PASSWORD}))
        .await
        .assert_nchat_error(401, "INVALID_TOKEN");
    app.post("/api/auth/refresh", json!({"refreshToken": data["refreshToken"]}))
        .await
        .assert_nchat_error(401, "INVALID_TOKEN");
    app.stop().await;
}
