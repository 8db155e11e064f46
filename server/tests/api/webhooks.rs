//! Incoming webhooks: who may create, list and revoke them, the token shown once, posts that
//! reach WebSocket clients and history, and the refusals (bad token, revoked, bad content).

use serde_json::json;

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};

use crate::helpers::{spawn_app, spawn_app_with, Backend, Reply, TestApp};
use crate::on_both_backends;
use crate::ws_client::WsClient;

on_both_backends!(
    managing_webhooks_takes_an_admin_or_the_groups_creator,
    webhook_posts_reach_members_live,
    signed_posts_must_match_the_servers_webhook_secret,
);

async fn create(app: &TestApp, access: &str, chat: i64, name: &str) -> Reply {
    app.post_bearer("/api/webhooks", access, json!({"chatId": chat, "name": name})).await
}

async fn list(app: &TestApp, access: &str, chat: i64) -> Reply {
    app.send(app.client.get(app.url(&format!("/api/webhooks?chatId={chat}"))).bearer_auth(access)).await
}

async fn revoke(app: &TestApp, access: &str, id: &str) -> Reply {
    app.post_bearer("/api/webhooks/revoke", access, json!({"id": id})).await
}

async fn delete(app: &TestApp, access: &str, id: &str) -> Reply {
    app.send(app.client.delete(app.url(&format!("/api/webhooks/{id}"))).bearer_auth(access)).await
}

async fn managing_webhooks_takes_an_admin_or_the_groups_creator(backend: Backend) {
    let app = spawn_app(backend).await;
    // The first account is the server's owner.
    let olive = app.signed_in("olive").await;
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    let carol = app.signed_in("carol").await;
    let dave = app.signed_in("dave").await;
    let group = app.create_group(&alice.access, "Builds", &["bob"]).await;
    let private = app.create_chat(&alice.access, "bob").await;

    create(&app, &bob.access, group, "CI").await.assert_nchat_error(403, "FORBIDDEN");
    create(&app, &carol.access, group, "CI").await.assert_nchat_error(404, "NOT_FOUND");
    create(&app, &alice.access, private, "CI").await.assert_nchat_error(403, "FORBIDDEN");
    create(&app, &alice.access, 999_999, "CI").await.assert_nchat_error(404, "NOT_FOUND");
    create(&app, &alice.access, group, "  ").await.assert_nchat_error(400, "VALIDATION_ERROR");
    create(&app, &alice.access, group, &"n".repeat(81)).await.assert_nchat_error(400, "VALIDATION_ERROR");
    app.post("/api/webhooks", json!({"chatId": group, "name": "CI"})).await.assert_nchat_error(401, "UNAUTHORIZED");

    let by_creator = create(&app, &alice.access, group, "CI").await;
    assert_eq!(by_creator.status, 201, "{}", by_creator.text);
    let token = by_creator.body["data"]["token"].as_str().expect("token").to_string();
    let id = by_creator.body["data"]["id"].as_str().expect("id").to_string();
    assert_eq!(by_creator.body["data"]["url"], app.url(&format!("/api/webhook/{id}/{token}")));
    // Owners and admins manage any chat's webhooks, members of it or not.
    let by_owner = create(&app, &olive.access, private, "Alerts").await;
    assert_eq!(by_owner.status, 201, "{}", by_owner.text);

    let listed = list(&app, &alice.access, group).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let hooks = listed.body["data"].as_array().expect("list");
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["name"], "CI");
    assert!(!listed.text.contains(&token), "the token is shown once only");
    list(&app, &bob.access, group).await.assert_nchat_error(403, "FORBIDDEN");
    list(&app, &carol.access, group).await.assert_nchat_error(404, "NOT_FOUND");
    assert_eq!(list(&app, &olive.access, private).await.body["data"].as_array().map(Vec::len), Some(1));
    // A server admin too, once promoted.
    let promoted = app.hearth_command(&["user", "set-role", "carol", "admin"]);
    assert!(promoted.status.success(), "{}", String::from_utf8_lossy(&promoted.stderr));
    let by_admin = create(&app, &carol.access, group, "Admin's").await;
    assert_eq!(by_admin.status, 201, "{}", by_admin.text);
    assert_eq!(list(&app, &carol.access, group).await.body["data"].as_array().map(Vec::len), Some(2));

    // Revoking: not by plain members or strangers; by the creator, over either route.
    revoke(&app, &bob.access, &id).await.assert_nchat_error(403, "FORBIDDEN");
    revoke(&app, &dave.access, &id).await.assert_nchat_error(404, "NOT_FOUND");
    delete(&app, &bob.access, &id).await.assert_nchat_error(403, "FORBIDDEN");
    delete(&app, &alice.access, "nope").await.assert_nchat_error(404, "NOT_FOUND");
    let revoked = revoke(&app, &alice.access, &id).await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    revoke(&app, &alice.access, &id).await.assert_nchat_error(404, "NOT_FOUND");
    let left = list(&app, &alice.access, group).await;
    assert_eq!(left.body["data"].as_array().map(Vec::len), Some(1), "{}", left.text);
    assert_eq!(left.body["data"][0]["name"], "Admin's");
    let owner_hook = by_owner.body["data"]["id"].as_str().expect("id").to_string();
    let deleted = delete(&app, &olive.access, &owner_hook).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    app.send(app.client.delete(app.url("/api/webhooks/1"))).await.assert_nchat_error(401, "UNAUTHORIZED");
    app.stop().await;
}

async fn webhook_posts_reach_members_live(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    let group = app.create_group(&alice.access, "Deploys", &["bob"]).await;
    let created = create(&app, &alice.access, group, "Deploy bot").await;
    assert_eq!(created.status, 201, "{}", created.text);
    let data = &created.body["data"];
    let (id, token) =
        (data["id"].as_str().expect("id").to_string(), data["token"].as_str().expect("token").to_string());
    let bot = data["username"].as_str().expect("username").to_string();
    assert!(bot.starts_with("webhook:"), "{bot}");

    let (mut socket, _) = WsClient::signed_in(&app, &bob.access).await;
    socket.send(json!({"type": "join_chat", "chatID": group})).await;
    socket.sync().await;

    // The guide's curl: `POST /api/webhook/webhook-id/token` with content and username.
    let posted = app
        .post(&format!("/api/webhook/{id}/{token}"), json!({"content": "deploy done", "username": "CI/CD Bot"}))
        .await;
    assert_eq!(posted.status, 200, "{}", posted.text);
    let live = socket.recv_type("new_message").await;
    assert_eq!(
        (live["message"].as_str(), live["username"].as_str()),
        (Some("deploy done"), Some(bot.as_str())),
        "{live}"
    );
    assert_eq!(live["chatID"], group);
    // nchat's answer: where the message went, as strings.
    assert_eq!(posted.body["data"]["messageId"], live["messageID"].to_string(), "{}", posted.text);
    assert_eq!(posted.body["data"]["channelId"], group.to_string());
    assert_eq!(posted.body["data"]["message"]["messageID"], live["messageID"]);

    let embeds =
        json!([{"title": "Build 42", "description": "green", "url": "https://ci.example/42", "color": "#00ff00"}]);
    let by_query = app
        .post(
            &format!("/api/webhook/{id}?token={token}"),
            json!({"content": "second", "avatar_url": "https://ci.example/bot.png", "embeds": embeds}),
        )
        .await;
    assert_eq!(by_query.status, 200, "{}", by_query.text);
    assert_eq!(socket.recv_type("new_message").await["message"], "second");
    assert_eq!(app.message_texts(&alice.access, group, json!({})).await, vec!["deploy done", "second"]);

    // nchat's WebhookInfo (snake_case, as its spec and handler write it), never with the token.
    let info = app.get(&format!("/api/webhook/{id}?token={token}")).await;
    assert_eq!(info.status, 200, "{}", info.text);
    let data = &info.body["data"];
    assert_eq!((&data["id"], &data["name"]), (&json!(id), &json!("Deploy bot")), "{}", info.text);
    assert_eq!((&data["channel_id"], &data["status"]), (&json!(group.to_string()), &json!("active")));
    assert!(data["created_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{}", info.text);
    let history = app.messages(&alice.access, group, json!({})).await;
    assert_eq!(data["last_used_at"], history[1]["timestamp"], "last used: its latest post");
    assert!(!info.text.contains(&token));
    assert_eq!(app.get(&format!("/api/webhook/{id}/{token}")).await.status, 200);
    // A webhook that never posted has no last_used_at.
    let quiet = create(&app, &alice.access, group, "Quiet bot").await;
    let (quiet_id, quiet_token) =
        (quiet.body["data"]["id"].as_str().expect("id"), quiet.body["data"]["token"].as_str().expect("token"));
    let never = app.get(&format!("/api/webhook/{quiet_id}/{quiet_token}")).await;
    assert_eq!(never.status, 200, "{}", never.text);
    assert!(never.body["data"].get("last_used_at").is_none(), "{}", never.text);
    // Missing and wrong tokens: 401, as nchat's spec says.
    app.get(&format!("/api/webhook/{id}")).await.assert_nchat_error(401, "UNAUTHORIZED");
    app.get(&format!("/api/webhook/{id}?token=wrong")).await.assert_nchat_error(401, "INVALID_TOKEN");
    app.get(&format!("/api/webhook/{id}/{quiet_token}")).await.assert_nchat_error(401, "INVALID_TOKEN");

    let bad_token = app.post(&format!("/api/webhook/{id}/{}", "0".repeat(64)), json!({"content": "hi"})).await;
    bad_token.assert_nchat_error(401, "INVALID_TOKEN");
    app.post(&format!("/api/webhook/{id}"), json!({"content": "hi"})).await.assert_nchat_error(401, "UNAUTHORIZED");
    app.post(&format!("/api/webhook/999/{token}"), json!({"content": "hi"})).await.assert_nchat_error(404, "NOT_FOUND");
    app.post(&format!("/api/webhook/x/{token}"), json!({"content": "hi"})).await.assert_nchat_error(404, "NOT_FOUND");
    app.post("/api/webhook/999", json!({"content": "hi"})).await.assert_nchat_error(404, "NOT_FOUND");
    let path = format!("/api/webhook/{id}/{token}");
    for bad in [
        json!({}),
        json!({"content": "  "}),
        json!({"content": 5}),
        json!({"content": "x".repeat(2001)}),
        json!({"content": "hi", "username": 5}),
        json!({"content": "hi", "avatar_url": ["x"]}),
        json!({"content": "hi", "embeds": {"title": "x"}}),
        json!({"content": "hi", "embeds": [1]}),
        json!({"content": "hi", "embeds": vec![json!({}); 11]}),
    ] {
        app.post(&path, bad).await.assert_nchat_error(400, "VALIDATION_ERROR");
    }
    assert_eq!(app.post(&path, json!({"content": "y".repeat(2000)})).await.status, 200, "2000 characters fit");
    assert_eq!(socket.recv_type("new_message").await["message"].as_str().map(str::len), Some(2000));
    app.post_raw(&path, "application/json", "not json").await.assert_nchat_error(400, "BAD_REQUEST");
    app.post_raw(&path, "application/json", "[1]").await.assert_nchat_error(400, "BAD_REQUEST");
    // The bot cannot sign in.
    let login = app.post("/api/auth/signin", json!({"email": bot, "password": "Whatever-1"})).await;
    assert_eq!(login.status, 401, "{}", login.text);

    let revoked = app.post_bearer("/api/webhooks/revoke", &alice.access, json!({"id": id})).await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    app.post(&path, json!({"content": "after revoke"})).await.assert_nchat_error(404, "NOT_FOUND");
    app.get(&format!("/api/webhook/{id}?token={token}")).await.assert_nchat_error(404, "NOT_FOUND");
    assert_eq!(app.message_texts(&bob.access, group, json!({})).await.len(), 3);
    socket.expect_quiet(300).await;

    // Alice is the server's owner (first account), so she reads every audit entry.
    let audit =
        app.send(app.client.get(app.url("/api/audit?category=channel&limit=100")).bearer_auth(&alice.access)).await;
    assert_eq!(audit.status, 200, "{}", audit.text);
    let actions: Vec<&str> = audit.body["data"]["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in ["webhook.created", "webhook.used", "webhook.revoked"] {
        assert!(actions.contains(&action), "{action} missing from {actions:?}");
    }
    app.stop().await;
}

fn hmac_hex<M: Mac + KeyInit>(key: &str, body: &str) -> String {
    let mut mac = <M as KeyInit>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

async fn signed_posts_must_match_the_servers_webhook_secret(backend: Backend) {
    const SECRET: &str = "shared-webhook-secret";
    let app = spawn_app_with(backend, |config| config.webhook_secret = Some(SECRET.into())).await;
    let alice = app.signed_in("alice").await;
    let group = app.create_group(&alice.access, "Deploys", &[]).await;
    let created = create(&app, &alice.access, group, "Deploy bot").await;
    let data = &created.body["data"];
    let url = format!("/api/webhook/{}/{}", data["id"].as_str().expect("id"), data["token"].as_str().expect("token"));
    // The signature covers the bytes as sent, spacing included.
    let send = |body: &'static str, header: &'static str, signature: String| {
        let request = app.client.post(app.url(&url)).header("content-type", "application/json");
        app.send(request.header(header, signature).body(body))
    };

    let body = r#"{ "content": "signed sha256" }"#;
    let signature = format!("sha256={}", hmac_hex::<Hmac<sha2::Sha256>>(SECRET, body));
    let posted = send(body, "X-Webhook-Signature", signature).await;
    assert_eq!(posted.status, 200, "{}", posted.text);

    let body = r#"{"content":"signed the GitHub way"}"#;
    let signature = format!("sha1={}", hmac_hex::<Hmac<sha1::Sha1>>(SECRET, body));
    assert_eq!(send(body, "X-Hub-Signature", signature).await.status, 200);

    // Signed with another key, or over other bytes: refused, and nothing is posted.
    let body = r#"{"content":"forged"}"#;
    let wrong_key = format!("sha256={}", hmac_hex::<Hmac<sha2::Sha256>>("another key", body));
    send(body, "X-Webhook-Signature", wrong_key).await.assert_nchat_error(401, "INVALID_SIGNATURE");
    let other_bytes = format!("sha256={}", hmac_hex::<Hmac<sha2::Sha256>>(SECRET, r#"{"content":"other"}"#));
    send(body, "X-Hub-Signature-256", other_bytes).await.assert_nchat_error(401, "INVALID_SIGNATURE");
    send(body, "X-Webhook-Signature", "sha256=not-hex".into()).await.assert_nchat_error(401, "INVALID_SIGNATURE");

    // Unsigned posts still need only the token, as nchat's handler has it.
    assert_eq!(app.post(&url, json!({"content": "unsigned"})).await.status, 200);
    assert_eq!(
        app.message_texts(&alice.access, group, json!({})).await,
        vec!["signed sha256", "signed the GitHub way", "unsigned"]
    );
    app.stop().await;
}
