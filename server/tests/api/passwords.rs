//! Password change and reset: sessions end, mailed links work once and expire, and the reset page
//! works with and without JavaScript (the form post).

use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp, PASSWORD};
use crate::on_both_backends;

const NEW_PASSWORD: &str = "N3w-password!";

on_both_backends!(
    password_change_ends_every_session,
    reset_link_from_the_mail_sets_a_new_password,
    reset_link_is_refused_when_used_expired_or_for_another_name,
    reset_request_answers_the_same_for_unknown_accounts,
    reset_page_form_post_works_without_javascript,
    common_passwords_are_refused_on_every_chatcli_route,
);

async fn password_change_ends_every_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.signed_in("alice").await;
    let second = app.login("alice", PASSWORD).await;
    let change = |current: &str, new: &str| json!({"session_token": first.access, "current_password": current, "new_password": new});

    app.post("/user/change-password", change("Wrong-pass1", NEW_PASSWORD))
        .await
        .assert_chatcli_error(403, "Incorrect current password.");
    app.post("/user/change-password", change(PASSWORD, "weak"))
        .await
        .assert_chatcli_error(400, "Password must be at least 8 characters.");
    assert_eq!(app.profile(&first.access).await.status, 200, "a refused change ends nothing");

    let reply = app.post("/user/change-password", change(PASSWORD, NEW_PASSWORD)).await;
    assert_eq!(reply.body, json!({"message": "Password changed successfully."}), "{}", reply.text);
    for tokens in [&first, &second] {
        app.profile(&tokens.access).await.assert_chatcli_error(401, "Invalid or expired session token.");
    }
    app.post("/user/login", json!({"username": "alice", "password": PASSWORD}))
        .await
        .assert_chatcli_error(400, "Username or password is incorrect.");
    app.login("alice", NEW_PASSWORD).await;
    app.stop().await;
}

/// The token and username from a mailed link.
fn link_parts(link: &str) -> (String, String) {
    let query = link.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let value = |name: &str| {
        query.split('&').find_map(|pair| pair.strip_prefix(&format!("{name}="))).unwrap_or_default().to_string()
    };
    (value("token"), value("username"))
}

async fn reset(app: &TestApp, token: &str, username: &str, password: &str, confirm: &str) -> crate::helpers::Reply {
    app.post(
        "/user/reset-password",
        json!({"token": token, "username": username, "password": password, "confirm_password": confirm}),
    )
    .await
}

async fn reset_link_from_the_mail_sets_a_new_password(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = app.signed_in("bob").await;
    let reply = app.post("/user/reset-password-request", json!({"username": "bob"})).await;
    assert_eq!(reply.body, json!({"message": "Password reset email sent!"}), "{}", reply.text);
    let link = app.mail.reset_link("bob@example.org").await;
    assert!(link.starts_with(&app.base), "the link points at this server: {link}");
    let (token, username) = link_parts(&link);
    assert_eq!(username, "bob");

    // The page the link opens is a form for this account.
    let page = app.send(app.client.get(&link)).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("Choose a new password") && page.text.contains("bob"), "{}", page.text);
    assert!(page.text.contains(r#"<form method="post" action="/user/reset-password""#), "{}", page.text);

    reset(&app, &token, "bob", NEW_PASSWORD, "Different-1!").await.assert_chatcli_error(400, "Passwords do not match.");
    reset(&app, &token, "bob", "short", "short")
        .await
        .assert_chatcli_error(400, "Password must be at least 8 characters.");
    let reply = reset(&app, &token, "bob", NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(reply.body, json!({"message": "Password reset successfully"}), "{}", reply.text);

    app.profile(&before.access).await.assert_chatcli_error(401, "Invalid or expired session token.");
    app.login("bob", NEW_PASSWORD).await;

    // Asking by address works too.
    let reply = app.post("/user/reset-password-request", json!({"email": "BOB@example.org"})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(app.mail.all().iter().filter(|m| m.subject.contains("Reset")).count(), 2);
    app.stop().await;
}

async fn reset_link_is_refused_when_used_expired_or_for_another_name(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.reset_link_ttl_secs = 1).await;
    app.register_verified("carol").await;
    app.register_verified("dave").await;
    app.post("/user/reset-password-request", json!({"username": "carol"})).await;
    let (token, _) = link_parts(&app.mail.reset_link("carol@example.org").await);
    reset(&app, &token, "dave", NEW_PASSWORD, NEW_PASSWORD)
        .await
        .assert_chatcli_error(400, "Invalid or expired reset link.");
    reset(&app, "forged", "carol", NEW_PASSWORD, NEW_PASSWORD)
        .await
        .assert_chatcli_error(400, "Invalid or expired reset link.");
    crate::helpers::pause(1200).await;
    reset(&app, &token, "carol", NEW_PASSWORD, NEW_PASSWORD)
        .await
        .assert_chatcli_error(400, "Invalid or expired reset link.");

    let app = spawn_app(backend).await;
    app.register_verified("erin").await;
    app.post("/user/reset-password-request", json!({"username": "erin"})).await;
    let (token, _) = link_parts(&app.mail.reset_link("erin@example.org").await);
    assert_eq!(reset(&app, &token, "erin", NEW_PASSWORD, NEW_PASSWORD).await.status, 200);
    reset(&app, &token, "erin", "An0ther-pass!", "An0ther-pass!")
        .await
        .assert_chatcli_error(400, "Invalid or expired reset link.");
    app.login("erin", NEW_PASSWORD).await;
    app.stop().await;
}

async fn reset_request_answers_the_same_for_unknown_accounts(backend: Backend) {
    let app = spawn_app(backend).await;
    let reply = app.post("/user/reset-password-request", json!({"username": "nobody"})).await;
    assert_eq!((reply.status.as_u16(), &reply.body), (200, &json!({"message": "Password reset email sent!"})));
    app.post("/user/reset-password-request", json!({"session_token": "x"}))
        .await
        .assert_chatcli_error(400, "Missing field: username (or email).");
    crate::helpers::pause(200).await;
    assert!(app.mail.all().is_empty(), "nothing is mailed for an unknown account");
    app.stop().await;
}

async fn reset_page_form_post_works_without_javascript(backend: Backend) {
    let app = spawn_app(backend).await;
    app.register_verified("fay").await;
    app.post("/user/reset-password-request", json!({"username": "fay"})).await;
    let (token, _) = link_parts(&app.mail.reset_link("fay@example.org").await);
    let form_post = |fields: Vec<(&str, String)>| {
        app.client
            .post(app.url("/user/reset-password"))
            .header("accept", "text/html,application/xhtml+xml")
            .form(&fields)
    };

    // A mistake sends the browser back to the form with the reason shown.
    let reply = app
        .send(form_post(vec![
            ("token", token.clone()),
            ("username", "fay".into()),
            ("password", NEW_PASSWORD.into()),
            ("confirm_password", "Mismatch-1!".into()),
        ]))
        .await;
    assert_eq!(reply.status, 303, "{}", reply.text);
    let location = reply.headers["location"].to_str().expect("ascii location").to_string();
    assert!(location.starts_with("/user/reset-password?") && location.contains(&token), "{location}");
    let page = app.get(&location).await;
    assert!(page.text.contains("Passwords do not match."), "{}", page.text);

    let reply = app
        .send(form_post(vec![
            ("token", token.clone()),
            ("username", "fay".into()),
            ("password", NEW_PASSWORD.into()),
            ("confirm_password", NEW_PASSWORD.into()),
        ]))
        .await;
    assert_eq!(reply.status, 303);
    assert_eq!(reply.headers["location"], "/user/reset-password?done=1");
    let page = app.get("/user/reset-password?done=1").await;
    assert!(page.text.contains("Your password has been changed."), "{}", page.text);
    app.login("fay", NEW_PASSWORD).await;
    app.stop().await;
}

/// The floor under ChatCLI's own rule: a password from the shipped list of common ones is refused,
/// whatever its case, at sign-up, change and reset; the composition messages stay ChatCLI's.
async fn common_passwords_are_refused_on_every_chatcli_route(backend: Backend) {
    let app = spawn_app(backend).await;
    let too_common = "Password is too common. Choose one that is harder to guess.";
    for common in ["P@ssw0rd", "p@SSW0RD", "Password1!"] {
        app.post("/user/register", json!({"username": "mona", "password": common, "email": "mona@example.org"}))
            .await
            .assert_chatcli_error(400, too_common);
    }
    app.post("/user/register", json!({"username": "mona", "password": "password", "email": "mona@example.org"}))
        .await
        .assert_chatcli_error(400, "Password must contain an upper-case letter.");

    let tokens = app.signed_in("nora").await;
    let change = json!({"session_token": tokens.access, "current_password": PASSWORD, "new_password": "Pa$$w0rd"});
    app.post("/user/change-password", change).await.assert_chatcli_error(400, too_common);
    assert_eq!(app.profile(&tokens.access).await.status, 200, "a refused change ends nothing");

    app.post("/user/reset-password-request", json!({"username": "nora"})).await;
    let (token, _) = link_parts(&app.mail.reset_link("nora@example.org").await);
    reset(&app, &token, "nora", "P@ssw0rd", "P@ssw0rd").await.assert_chatcli_error(400, too_common);
    // The link was not used up by the refusal.
    assert_eq!(reset(&app, &token, "nora", NEW_PASSWORD, NEW_PASSWORD).await.status, 200);
    app.login("nora", NEW_PASSWORD).await;
    app.stop().await;
}
