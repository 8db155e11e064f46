//! Sign-up, e-mail verification, sign-in, profile changes, invites and the first-owner rule on
//! the ChatCLI surface.

use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with, Backend, PASSWORD};
use crate::on_both_backends;

on_both_backends!(
    server_answers_connection_checks,
    new_account_verifies_its_email_then_signs_in,
    names_and_addresses_are_unique_ignoring_case,
    wrong_expired_and_overused_codes_are_refused,
    resend_gives_a_working_new_code,
    registration_without_verification_signs_in_at_once,
    invite_mode_needs_a_code_from_the_admin_command,
    profile_changes_name_and_reverifies_a_new_address,
    disabled_account_can_no_longer_sign_in,
    deleted_account_frees_its_name,
    subscribe_keeps_one_entry_per_address,
    first_account_owns_the_server_and_roles_are_set_by_command,
);

async fn server_answers_connection_checks(backend: Backend) {
    let app = spawn_app(backend).await;
    for reply in [
        app.post("/verify-connection", json!({"version": "electron_app"})).await,
        app.post_raw("/verify-connection", "application/json", "").await,
        app.get("/verify-connection").await,
    ] {
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.body, json!({"message": "Server is reachable!"}));
    }
    app.stop().await;
}

async fn new_account_verifies_its_email_then_signs_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let reply = app
        .post("/user/register", json!({"username": "alice", "password": PASSWORD, "email": "alice@example.org"}))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.body, json!({"message": "Verification email sent!"}));

    // Not verified yet: the same answer as a wrong password.
    app.post("/user/login", json!({"username": "alice", "password": PASSWORD}))
        .await
        .assert_chatcli_error(400, "Username or password is incorrect.");

    let code = app.mail.verification_code("alice@example.org").await;
    let reply = app.post("/user/verify-email", json!({"username": "alice", "email_token": code})).await;
    assert_eq!(reply.body, json!({"message": "Email verified!"}), "{}", reply.text);
    // A code works once.
    app.post("/user/verify-email", json!({"username": "alice", "email_token": code}))
        .await
        .assert_chatcli_error(400, "Invalid or expired code.");

    let tokens = app.login("ALICE", PASSWORD).await;
    let profile = app.profile(&tokens.access).await;
    assert_eq!(profile.body, json!({"username": "alice", "email": "alice@example.org"}));
    // The token may also come as a Bearer header.
    let profile = app.post_bearer("/user/profile", &tokens.access, json!({})).await;
    assert_eq!(profile.body["username"], "alice", "{}", profile.text);
    app.stop().await;
}

async fn names_and_addresses_are_unique_ignoring_case(backend: Backend) {
    let app = spawn_app(backend).await;
    app.register("Carol").await;
    app.post("/user/register", json!({"username": "carol", "password": PASSWORD, "email": "other@example.org"}))
        .await
        .assert_chatcli_error(409, "User 'carol' already exists.");
    app.post("/user/register", json!({"username": "carol2", "password": PASSWORD, "email": "CAROL@example.org"}))
        .await
        .assert_chatcli_error(409, "An account with this email already exists.");
    app.stop().await;
}

async fn wrong_expired_and_overused_codes_are_refused(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.verification_code_ttl_secs = 1).await;
    app.register("dave").await;
    let code = app.mail.verification_code("dave@example.org").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for bad in [wrong, "12345", "abcdef", ""] {
        app.post("/user/verify-email", json!({"username": "dave", "email_token": bad}))
            .await
            .assert_chatcli_error(400, "Invalid or expired code.");
    }
    crate::helpers::pause(1200).await;
    app.post("/user/verify-email", json!({"username": "dave", "email_token": code}))
        .await
        .assert_chatcli_error(400, "Invalid or expired code.");

    // Five wrong guesses burn a code even before it expires.
    let app = spawn_app(backend).await;
    app.register("erin").await;
    let code = app.mail.verification_code("erin@example.org").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        app.post("/user/verify-email", json!({"username": "erin", "email_token": wrong})).await;
    }
    app.post("/user/verify-email", json!({"username": "erin", "email_token": code}))
        .await
        .assert_chatcli_error(400, "Invalid or expired code.");
    app.stop().await;
}

async fn resend_gives_a_working_new_code(backend: Backend) {
    let app = spawn_app(backend).await;
    app.register("frank").await;
    let reply = app.post("/user/resend-verification", json!({"username": "frank"})).await;
    assert_eq!(reply.body, json!({"message": "Verification email resent!"}), "{}", reply.text);
    assert_eq!(app.mail.count_to("frank@example.org"), 2);
    let code = app.mail.verification_code("frank@example.org").await;
    let reply = app.post("/user/verify-email", json!({"username": "frank", "email_token": code})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    app.post("/user/resend-verification", json!({"username": "frank"}))
        .await
        .assert_chatcli_error(400, "Email is already verified.");
    app.post("/user/resend-verification", json!({"username": "nobody"}))
        .await
        .assert_chatcli_error(404, "User not found.");
    app.stop().await;
}

async fn registration_without_verification_signs_in_at_once(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.email_verification = hearth::config::EmailVerification::Off).await;
    let reply = app
        .post("/user/register", json!({"username": "gina", "password": PASSWORD, "email": "gina@example.org"}))
        .await;
    assert_eq!((reply.status.as_u16(), &reply.body), (201, &json!({"message": "Email Verification skipped!"})));
    let tokens = app.login("gina", PASSWORD).await;
    assert_eq!(app.profile(&tokens.access).await.body["email"], "gina@example.org");
    assert!(app.mail.all().is_empty(), "no mail is sent when verification is off");
    app.stop().await;
}

async fn invite_mode_needs_a_code_from_the_admin_command(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.registration = hearth::config::RegistrationMode::Invite).await;
    let body = |code: Option<&str>| json!({"username": "hank", "password": PASSWORD, "email": "hank@example.org", "invite_code": code});
    app.post("/user/register", body(None))
        .await
        .assert_chatcli_error(403, "Registration is by invitation: an invite code is required.");
    app.post("/user/register", body(Some("not-a-code")))
        .await
        .assert_chatcli_error(403, "That invite code is not valid or has been used up.");

    let output = app.hearth_command(&["invite", "create", "--uses", "1"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let code = String::from_utf8_lossy(&output.stdout).trim().to_string();
    assert_eq!(code.len(), 16, "printed code: {code:?}");

    let reply = app.post("/user/register", body(Some(&code))).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    // Used up: the next person needs another code.
    let second = json!({"username": "ivy", "password": PASSWORD, "email": "ivy@example.org", "invite_code": code});
    app.post("/user/register", second)
        .await
        .assert_chatcli_error(403, "That invite code is not valid or has been used up.");
    app.stop().await;
}

async fn profile_changes_name_and_reverifies_a_new_address(backend: Backend) {
    let app = spawn_app(backend).await;
    app.register_verified("taken").await;
    let tokens = app.signed_in("jack").await;
    let token = tokens.access.as_str();

    app.post("/user/submit-profile", json!({"session_token": token}))
        .await
        .assert_chatcli_error(400, "No changes requested.");
    app.post("/user/submit-profile", json!({"session_token": token, "username": "Taken"}))
        .await
        .assert_chatcli_error(409, "User 'Taken' already exists.");
    app.post("/user/submit-profile", json!({"session_token": token, "username": "bad name"}))
        .await
        .assert_chatcli_error(400, "Username cannot contain a space.");

    let reply = app.post("/user/submit-profile", json!({"session_token": token, "username": "jacky"})).await;
    assert_eq!(
        reply.body,
        json!({"username": "jacky", "email": "jack@example.org", "verificationSent": false, "message": "Profile updated."})
    );
    assert_eq!(app.profile(token).await.body["username"], "jacky");

    // A new address takes over only once its code comes back.
    let reply = app.post("/user/submit-profile", json!({"session_token": token, "email": "new@example.org"})).await;
    assert_eq!(reply.body["verificationSent"], true, "{}", reply.text);
    assert_eq!(app.profile(token).await.body["email"], "jack@example.org");
    let code = app.mail.verification_code("new@example.org").await;
    let reply = app.post("/user/verify-email", json!({"username": "jacky", "email_token": code})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(app.profile(token).await.body["email"], "new@example.org");
    app.stop().await;
}

async fn disabled_account_can_no_longer_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let tokens = app.signed_in("kate").await;
    let reply = app.post("/user/submit-profile", json!({"session_token": tokens.access, "disable": true})).await;
    assert_eq!(reply.body, json!({"disable": true, "delete": false, "message": "Account disabled."}), "{}", reply.text);
    app.profile(&tokens.access).await.assert_chatcli_error(401, "Invalid or expired session token.");
    app.post("/user/login", json!({"username": "kate", "password": PASSWORD}))
        .await
        .assert_chatcli_error(400, "Username or password is incorrect.");
    app.post("/user/refresh-token", json!({"refresh_token": tokens.refresh}))
        .await
        .assert_chatcli_error(401, "Invalid or expired refresh token.");
    app.stop().await;
}

async fn deleted_account_frees_its_name(backend: Backend) {
    let app = spawn_app(backend).await;
    let tokens = app.signed_in("liam").await;
    let reply = app.post("/user/submit-profile", json!({"session_token": tokens.access, "delete": true})).await;
    assert_eq!(reply.body, json!({"disable": false, "delete": true, "message": "Account deleted."}), "{}", reply.text);
    app.profile(&tokens.access).await.assert_chatcli_error(401, "Invalid or expired session token.");
    app.post("/user/login", json!({"username": "liam", "password": PASSWORD}))
        .await
        .assert_chatcli_error(400, "Username or password is incorrect.");
    // Someone else may take the name and the address.
    app.register_verified("liam").await;
    app.login("liam", PASSWORD).await;
    app.stop().await;
}

async fn subscribe_keeps_one_entry_per_address(backend: Backend) {
    let app = spawn_app(backend).await;
    let reply = app.post("/subscribe", json!({"email": "news@example.org"})).await;
    assert_eq!((reply.status.as_u16(), &reply.body), (200, &json!({"message": "Subscription successful."})));
    app.post("/subscribe", json!({"email": "NEWS@example.org"}))
        .await
        .assert_chatcli_error(409, "This email is already subscribed.");
    app.post("/subscribe", json!({"email": "not-an-address"}))
        .await
        .assert_chatcli_error(400, "Enter a valid email address.");
    let reply = app.get("/subscribe?email=other%40example.org").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    app.stop().await;
}

async fn first_account_owns_the_server_and_roles_are_set_by_command(backend: Backend) {
    let app = spawn_app(backend).await;
    let signup = |name: &str| json!({"email": format!("{name}@example.org"), "password": PASSWORD, "username": name});
    let first = app.post("/api/auth/signup", signup("olga")).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["data"]["user"]["role"], "owner");
    let second = app.post("/api/auth/signup", signup("pete")).await;
    assert_eq!(second.body["data"]["user"]["role"], "member", "{}", second.text);
    // ChatCLI sign-ups after the first are members too.
    app.register_verified("quinn").await;

    let output = app.hearth_command(&["user", "set-role", "pete", "moderator"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let code = app.mail.verification_code("pete@example.org").await;
    app.post("/api/auth/verify-email", json!({"email": "pete@example.org", "code": code})).await;
    let signin = app.post("/api/auth/signin", json!({"email": "pete@example.org", "password": PASSWORD})).await;
    assert_eq!(signin.body["data"]["user"]["role"], "moderator", "{}", signin.text);

    let output = app.hearth_command(&["user", "set-role", "pete", "emperor"]);
    assert!(!output.status.success());
    let output = app.hearth_command(&["user", "set-role", "nobody", "admin"]);
    assert!(!output.status.success());
    app.stop().await;
}
