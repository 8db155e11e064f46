//! One account, two APIs: signed up on one surface, it signs in and works on the other.

use serde_json::json;

use crate::helpers::{spawn_app, Backend, PASSWORD};
use crate::on_both_backends;

on_both_backends!(chatcli_account_signs_in_on_nchat, nchat_account_signs_in_on_chatcli);

async fn chatcli_account_signs_in_on_nchat(backend: Backend) {
    let app = spawn_app(backend).await;
    let chatcli = app.signed_in("alice").await;
    let signin = app.post("/api/auth/signin", json!({"email": "alice@example.org", "password": PASSWORD})).await;
    assert_eq!(signin.status, 200, "{}", signin.text);
    assert_eq!(signin.body["data"]["user"]["username"], "alice");
    // Each surface's token is accepted by the other.
    let nchat_access = signin.body["data"]["accessToken"].as_str().expect("token");
    assert_eq!(app.profile(nchat_access).await.body["username"], "alice");
    let reply = app.post_bearer("/api/auth/verify-password", &chatcli.access, json!({"password": PASSWORD})).await;
    assert_eq!(reply.body["data"]["valid"], true, "{}", reply.text);
    // A ChatCLI refresh token refreshes on nchat.
    let reply = app.post("/api/auth/refresh", json!({"refreshToken": chatcli.refresh})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    app.stop().await;
}

async fn nchat_account_signs_in_on_chatcli(backend: Backend) {
    let app = spawn_app(backend).await;
    let reply = app
        .post("/api/auth/signup", json!({"email": "bob@example.org", "password": PASSWORD, "username": "bob"}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    // The code mailed for the nchat sign-up is confirmed on the ChatCLI route.
    let code = app.mail.verification_code("bob@example.org").await;
    let reply = app.post("/user/verify-email", json!({"username": "bob", "email_token": code})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let tokens = app.login("bob", PASSWORD).await;
    assert_eq!(app.profile(&tokens.access).await.body, json!({"username": "bob", "email": "bob@example.org"}));
    app.stop().await;
}
