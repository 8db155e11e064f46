//! The nchat auth routes under `/api/auth`: envelopes, Bearer tokens, refresh, password checks,
//! with the statuses and fields of nchat's spec and handlers, and the guide's curl examples.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp, PASSWORD};
use crate::on_both_backends;
use hearth::config::EmailVerification;

on_both_backends!(
    signup_verify_signin_and_refresh,
    verify_and_change_password_need_a_bearer_token,
    signin_failures_use_the_nchat_envelope,
    signout_ends_the_session,
    the_guides_curl_signup_and_signin_work_as_written,
    a_wrong_password_is_never_a_success,
    change_password_reads_nchats_fields,
    refresh_names_the_user_and_wants_a_token,
    signup_follows_nchats_username_and_password_rules,
);

async fn signup(app: &TestApp, name: &str) -> Value {
    let reply = app
        .post("/api/auth/signup", json!({"email": format!("{name}@example.org"), "password": PASSWORD, "username": name, "displayName": "Display Name"}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
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
    assert_eq!(body["data"]["requiresEmailVerification"], true);
    assert!(body["data"].get("accessToken").is_none(), "no tokens before the address is verified");

    // The password is right but the address is not verified yet: nchat says so.
    let unverified = app.post("/api/auth/signin", json!({"email": "alice@example.org", "password": PASSWORD})).await;
    unverified.assert_nchat_error(403, "EMAIL_NOT_VERIFIED");
    assert_eq!(unverified.body["details"]["requiresEmailVerification"], true, "{}", unverified.text);
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
    assert_eq!(reply.body, json!({"success": true, "valid": true, "data": {"valid": true}}), "{}", reply.text);
    app.post_bearer("/api/auth/verify-password", access, json!({"password": "Wrong-pass1"}))
        .await
        .assert_nchat_error(401, "INVALID_CREDENTIALS");

    app.post_bearer(
        "/api/auth/change-password",
        access,
        json!({"currentPassword": "Wrong-pass1", "newPassword": "N3w-password!"}),
    )
    .await
    .assert_nchat_error(401, "INVALID_CREDENTIALS");
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

/// The guide's curl examples, bodies as written: sign-up (`securePassword123`, which nchat's own
/// rule accepts), then sign-in; the spec's AuthResponse fields come back.
async fn the_guides_curl_signup_and_signin_work_as_written(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.email_verification = EmailVerification::Off).await;
    let signup = app
        .post_raw(
            "/api/auth/signup",
            "application/json",
            r#"{
"email": "newuser@example.com",
"password": "securePassword123",
"username": "johndoe",
"displayName": "John Doe"
}"#,
        )
        .await;
    assert_eq!(signup.status, 200, "{}", signup.text);
    let data = &signup.body["data"];
    assert_eq!(data["user"]["username"], "johndoe");
    assert_eq!(data["user"]["displayName"], "John Doe");
    assert_eq!(data["user"]["role"], "owner", "the first account is the owner");
    assert!(data["accessToken"].as_str().is_some_and(|t| !t.is_empty()), "{}", signup.text);
    assert!(data["refreshToken"].as_str().is_some_and(|t| !t.is_empty()), "{}", signup.text);
    assert_eq!(data["requiresEmailVerification"], false);

    let signin = app
        .post_raw(
            "/api/auth/signin",
            "application/json",
            r#"{
"email": "newuser@example.com",
"password": "securePassword123"
}"#,
        )
        .await;
    assert_eq!(signin.status, 200, "{}", signin.text);
    // The spec's AuthResponse at the top level, as the guide's examples read it.
    assert!(signin.body["accessToken"].as_str().is_some_and(|t| !t.is_empty()), "{}", signin.text);
    let user = &signin.body["user"];
    for field in ["id", "email", "username", "displayName", "role", "status"] {
        assert!(user[field].as_str().is_some_and(|v| !v.is_empty()), "user.{field}: {}", signin.text);
    }
    // The guide's second sign-in example uses a password that is wrong here: 401, not a success.
    app.post_raw("/api/auth/signin", "application/json", r#"{"email":"user@example.com","password":"pass123"}"#)
        .await
        .assert_nchat_error(401, "UNAUTHORIZED");
    app.stop().await;
}

/// nchat's own client treats any 2xx from verify-password as "verified": a wrong password must
/// never be one, and neither an empty one.
async fn a_wrong_password_is_never_a_success(backend: Backend) {
    let app = spawn_app(backend).await;
    let data = signed_in(&app, "gina").await;
    let access = data["accessToken"].as_str().expect("access token");
    for wrong in ["Wrong-pass1", "corr3ct-horse", "Corr3ct-horse ", &"x".repeat(600)] {
        let reply = app.post_bearer("/api/auth/verify-password", access, json!({"password": wrong})).await;
        reply.assert_nchat_error(401, "INVALID_CREDENTIALS");
        assert!(reply.body.get("data").is_none(), "{}", reply.text);
    }
    let empty = app.post_bearer("/api/auth/verify-password", access, json!({"password": ""})).await;
    empty.assert_nchat_error(400, "VALIDATION_ERROR");
    assert_eq!(empty.body["details"]["field"], "password");
    app.post_bearer("/api/auth/verify-password", access, json!({})).await.assert_nchat_error(400, "BAD_REQUEST");
    app.post_bearer("/api/auth/verify-password", access, json!({"password": 12345678}))
        .await
        .assert_nchat_error(400, "BAD_REQUEST");
    // The right one still works afterwards: nothing was locked or changed.
    let right = app.post_bearer("/api/auth/verify-password", access, json!({"password": PASSWORD})).await;
    assert_eq!(right.status, 200, "{}", right.text);
    app.stop().await;
}

/// nchat's client sends `{userId, currentPassword, newPassword}`; the id must be the caller's.
async fn change_password_reads_nchats_fields(backend: Backend) {
    let app = spawn_app(backend).await;
    let data = signed_in(&app, "hal").await;
    let access = data["accessToken"].as_str().expect("access token");
    let id = data["user"]["id"].as_str().expect("user id").to_string();
    let change = |user_id: Value, current: &str, new: &str| json!({"userId": user_id, "currentPassword": current, "newPassword": new});

    let other =
        app.post_bearer("/api/auth/change-password", access, change(json!("999"), PASSWORD, "N3w-password!")).await;
    other.assert_nchat_error(403, "FORBIDDEN");
    let weak = app.post_bearer("/api/auth/change-password", access, change(json!(id), PASSWORD, "lowercase1")).await;
    weak.assert_nchat_error(400, "VALIDATION_ERROR");
    assert_eq!(weak.body["error"], "Password must contain at least one uppercase letter");
    assert_eq!(weak.body["details"]["field"], "newPassword");
    let common = app.post_bearer("/api/auth/change-password", access, change(json!(id), PASSWORD, "Password123")).await;
    common.assert_nchat_error(400, "VALIDATION_ERROR");
    assert!(common.body["error"].as_str().unwrap_or_default().contains("too common"), "{}", common.text);
    let empty = app.post_bearer("/api/auth/change-password", access, change(json!(id), "", "N3w-password!")).await;
    empty.assert_nchat_error(400, "VALIDATION_ERROR");
    assert_eq!(empty.body["details"]["field"], "currentPassword");
    app.post_bearer("/api/auth/change-password", access, change(json!([1]), PASSWORD, "N3w-password!"))
        .await
        .assert_nchat_error(400, "VALIDATION_ERROR");
    assert_eq!(app.post_bearer("/api/auth/verify-password", access, json!({"password": PASSWORD})).await.status, 200);

    // nchat's rule, not ChatCLI's: no punctuation needed.
    let done = app.post_bearer("/api/auth/change-password", access, change(json!(id), PASSWORD, "NewPassword42")).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(done.body["data"]["message"].as_str().is_some_and(|m| m.starts_with("Password updated successfully")));
    let signin = app.post("/api/auth/signin", json!({"email": "hal@example.org", "password": "NewPassword42"})).await;
    assert_eq!(signin.status, 200, "{}", signin.text);
    app.stop().await;
}

/// nchat's refresh answers the user beside the new tokens; a missing token is the client's mistake.
async fn refresh_names_the_user_and_wants_a_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let data = signed_in(&app, "ivy").await;
    let renewed = app.post("/api/auth/refresh", json!({"refreshToken": data["refreshToken"]})).await;
    assert_eq!(renewed.status, 200, "{}", renewed.text);
    let fresh = &renewed.body["data"];
    assert_eq!(fresh["user"]["username"], "ivy");
    assert_eq!(fresh["user"]["email"], "ivy@example.org");
    assert_eq!(fresh["expiresIn"], 86400);
    assert!(fresh["refreshToken"].as_str().is_some_and(|t| t != data["refreshToken"].as_str().unwrap_or_default()));
    let access = fresh["accessToken"].as_str().expect("access token");
    assert_eq!(app.post_bearer("/api/auth/verify-password", access, json!({"password": PASSWORD})).await.status, 200);

    let empty = app.post("/api/auth/refresh", json!({"refreshToken": " "})).await;
    empty.assert_nchat_error(400, "VALIDATION_ERROR");
    assert_eq!(empty.body["details"]["field"], "refreshToken");
    app.post("/api/auth/refresh", json!({})).await.assert_nchat_error(400, "BAD_REQUEST");
    app.post("/api/auth/refresh", json!({"refreshToken": "forged"})).await.assert_nchat_error(401, "INVALID_TOKEN");
    app.stop().await;
}

/// The spec's username pattern and nchat's password rule apply on `/api/auth/signup`; ChatCLI's
/// rule stays on `/user/register`; the common-password floor applies to both.
async fn signup_follows_nchats_username_and_password_rules(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = |username: &str, password: &str| json!({"email": format!("{}@example.org", username.len()), "password": password, "username": username});
    for bad in ["ab", "a.b.c", "twentyone_characters1", "spa ce", "ünï"] {
        let reply = app.post("/api/auth/signup", body(bad, PASSWORD)).await;
        reply.assert_nchat_error(400, "VALIDATION_ERROR");
        assert_eq!(reply.body["details"]["field"], "username", "{bad}: {}", reply.text);
    }
    let short = app.post("/api/auth/signup", body("kim", "abc")).await;
    short.assert_nchat_error(400, "VALIDATION_ERROR");
    assert_eq!(
        short.body["error"],
        "Password must be at least 8 characters. Password must contain at least one uppercase letter. \
         Password must contain at least one number"
    );
    assert_eq!(short.body["details"]["field"], "password");
    let common = app.post("/api/auth/signup", body("kim", "Qwerty123")).await;
    common.assert_nchat_error(400, "VALIDATION_ERROR");
    assert!(common.body["error"].as_str().unwrap_or_default().contains("too common"), "{}", common.text);
    app.post("/api/auth/signup", json!({"email": "", "password": PASSWORD, "username": "kim"}))
        .await
        .assert_nchat_error(400, "VALIDATION_ERROR");
    app.post("/api/auth/signup", json!({"password": PASSWORD, "username": "kim"}))
        .await
        .assert_nchat_error(400, "BAD_REQUEST");

    // The same password on ChatCLI's surface: its own rule wants punctuation.
    let chatcli = app
        .post("/user/register", json!({"username": "lee", "password": "securePassword123", "email": "lee@example.org"}))
        .await;
    chatcli.assert_chatcli_error(400, "Password must contain a punctuation character.");
    let nchat = app.post("/api/auth/signup", body("lee_2", "securePassword123")).await;
    assert_eq!(nchat.status, 200, "{}", nchat.text);
    app.stop().await;
}
