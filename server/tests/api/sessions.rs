//! Tokens and sessions: refresh rotation with theft detection, logout and logout-all taking
//! effect at once, and access tokens that die with their session.

use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with, Backend, PASSWORD};
use crate::on_both_backends;

on_both_backends!(
    refresh_rotates_and_the_old_token_dies,
    reused_refresh_token_revokes_the_whole_session,
    logout_ends_only_this_session_at_once,
    logout_all_ends_every_session_at_once,
    expired_access_token_is_refused_and_refresh_renews_it,
    signing_in_again_keeps_other_devices_signed_in,
);

async fn refresh_rotates_and_the_old_token_dies(backend: Backend) {
    let app = spawn_app(backend).await;
    let tokens = app.signed_in("alice").await;
    let reply = app.post("/user/refresh-token", json!({"refresh_token": tokens.refresh})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!((&reply.body["ok"], &reply.body["message"]), (&json!(true), &json!("Token refreshed")));
    let new_access = reply.field("access_token").to_string();
    let new_refresh = reply.field("refresh_token").to_string();
    assert_ne!(new_refresh, tokens.refresh);
    assert_eq!(app.profile(&new_access).await.status, 200);

    for bad in ["", "nonsense", &"f".repeat(64), &"x".repeat(10_000)] {
        app.post("/user/refresh-token", json!({"refresh_token": bad}))
            .await
            .assert_chatcli_error(401, "Invalid or expired refresh token.");
    }
    // The new one keeps working, once.
    let reply = app.post("/user/refresh-token", json!({"refresh_token": new_refresh})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    app.stop().await;
}

async fn reused_refresh_token_revokes_the_whole_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let tokens = app.signed_in("bob").await;
    let rotated = app.post("/user/refresh-token", json!({"refresh_token": tokens.refresh})).await;
    let stolen_chain_access = rotated.field("access_token").to_string();
    let stolen_chain_refresh = rotated.field("refresh_token").to_string();

    // Someone replays the first token: that is theft, so the session ends for everyone.
    app.post("/user/refresh-token", json!({"refresh_token": tokens.refresh}))
        .await
        .assert_chatcli_error(401, "Invalid or expired refresh token.");
    app.profile(&stolen_chain_access).await.assert_chatcli_error(401, "Invalid or expired session token.");
    app.profile(&tokens.access).await.assert_chatcli_error(401, "Invalid or expired session token.");
    app.post("/user/refresh-token", json!({"refresh_token": stolen_chain_refresh}))
        .await
        .assert_chatcli_error(401, "Invalid or expired refresh token.");
    // The account itself is fine: signing in again works.
    app.login("bob", PASSWORD).await;
    app.stop().await;
}

async fn logout_ends_only_this_session_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let laptop = app.signed_in("carol").await;
    let phone = app.login("carol", PASSWORD).await;
    let reply =
        app.post("/user/logout", json!({"session_token": laptop.access, "refresh_token": laptop.refresh})).await;
    assert_eq!(reply.body, json!({"message": "Logged out successfully."}), "{}", reply.text);
    app.profile(&laptop.access).await.assert_chatcli_error(401, "Invalid or expired session token.");
    app.post("/user/refresh-token", json!({"refresh_token": laptop.refresh}))
        .await
        .assert_chatcli_error(401, "Invalid or expired refresh token.");
    assert_eq!(app.profile(&phone.access).await.status, 200);

    // A refresh token from another session cannot be used to log that one out.
    app.post("/user/logout", json!({"session_token": phone.access, "refresh_token": laptop.refresh}))
        .await
        .assert_chatcli_error(403, "That refresh token belongs to another session.");
    app.post("/user/logout", json!({"session_token": "garbage"}))
        .await
        .assert_chatcli_error(401, "Invalid or expired session token.");
    app.stop().await;
}

async fn logout_all_ends_every_session_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.signed_in("dave").await;
    let second = app.login("dave", PASSWORD).await;
    let other_user = app.signed_in("erin").await;
    let reply = app.post("/user/logout-all", json!({"session_token": second.access})).await;
    assert_eq!(reply.body, json!({"message": "Logged out from all sessions successfully."}), "{}", reply.text);
    for tokens in [&first, &second] {
        app.profile(&tokens.access).await.assert_chatcli_error(401, "Invalid or expired session token.");
        app.post("/user/refresh-token", json!({"refresh_token": tokens.refresh}))
            .await
            .assert_chatcli_error(401, "Invalid or expired refresh token.");
    }
    assert_eq!(app.profile(&other_user.access).await.status, 200, "other accounts are untouched");
    app.stop().await;
}

async fn expired_access_token_is_refused_and_refresh_renews_it(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.access_token_ttl_secs = 1).await;
    let tokens = app.signed_in("fay").await;
    assert_eq!(app.profile(&tokens.access).await.status, 200);
    crate::helpers::pause(2100).await;
    app.profile(&tokens.access).await.assert_chatcli_error(401, "Invalid or expired session token.");
    let renewed = app.post("/user/refresh-token", json!({"refresh_token": tokens.refresh})).await;
    assert_eq!(app.profile(renewed.field("access_token")).await.status, 200);
    app.stop().await;
}

async fn signing_in_again_keeps_other_devices_signed_in(backend: Backend) {
    // The reference server logs every other session out on login; Hearth does not.
    let app = spawn_app(backend).await;
    let first = app.signed_in("gus").await;
    let _second = app.login("gus", PASSWORD).await;
    assert_eq!(app.profile(&first.access).await.status, 200);
    app.stop().await;
}
