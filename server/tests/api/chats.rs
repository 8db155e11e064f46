//! The `/chat/*` routes: 1:1 chats and groups, membership rules, archive, and history paging.

use serde_json::json;

use crate::helpers::{spawn_app, Backend};
use crate::on_both_backends;

on_both_backends!(
    private_chat_is_created_once_and_unarchived,
    group_membership_follows_the_rules,
    history_pages_backwards_and_forwards,
    strangers_cannot_see_or_touch_a_chat,
    posting_checks_text_and_honours_nonces,
    guests_read_but_do_not_write,
    chat_list_shows_the_last_message_and_unread_count,
);

async fn private_chat_is_created_once_and_unarchived(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    let chat = app.create_chat(&alice.access, "Bob").await;
    assert_eq!(app.create_chat(&alice.access, "bob").await, chat, "one chat per pair");
    assert_eq!(app.create_chat(&bob.access, "alice").await, chat, "from either side");

    let list = app.post("/chat/fetch-chats", json!({"session_token": bob.access})).await;
    let item = &list.body["response"][0];
    assert_eq!(
        (&item["chatID"], &item["name"], &item["type"]),
        (&json!(chat), &json!("alice"), &json!("private")),
        "{}",
        list.text
    );
    assert_eq!(list.body["response"].as_array().map(Vec::len), Some(1));

    app.post("/chat/create-chat", json!({"session_token": alice.access, "receiver": "alice"}))
        .await
        .assert_chatcli_error(400, "Cannot chat with yourself.");
    app.post("/chat/create-chat", json!({"session_token": alice.access, "receiver": "nobody"}))
        .await
        .assert_chatcli_error(404, "User not found.");

    let reply = app.post("/chat/archive-chat", json!({"session_token": alice.access, "chatID": chat})).await;
    assert_eq!(reply.body, json!({"message": "Chat archived"}), "{}", reply.text);
    let active = app.post("/chat/fetch-chats", json!({"session_token": alice.access})).await;
    assert_eq!(active.body, json!({"response": []}));
    let archived = app.post("/chat/fetch-archived", json!({"session_token": alice.access})).await;
    assert_eq!(archived.body["response"][0]["chatID"], chat);
    // Archiving is personal: bob still sees it.
    let bobs = app.post("/chat/fetch-chats", json!({"session_token": bob.access})).await;
    assert_eq!(bobs.body["response"].as_array().map(Vec::len), Some(1));

    assert_eq!(app.create_chat(&alice.access, "bob").await, chat);
    let active = app.post("/chat/fetch-chats", json!({"session_token": alice.access})).await;
    assert_eq!(active.body["response"][0]["name"], "bob", "create-chat un-archives: {}", active.text);

    app.post("/chat/archive-chat", json!({"session_token": alice.access, "chatID": chat})).await;
    let reply = app.post("/chat/unarchive-chat", json!({"session_token": alice.access, "chatID": chat})).await;
    assert_eq!(reply.body, json!({"message": "Chat unarchived"}));
    app.stop().await;
}

async fn group_membership_follows_the_rules(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.signed_in("olga").await; // first account: the server's owner
    let creator = app.signed_in("carl").await;
    let member = app.signed_in("mia").await;
    let other = app.signed_in("otto").await;
    app.signed_in("pia").await;

    app.post("/chat/create-group", json!({"session_token": creator.access, "name": "G", "members": ["mia", "ghost"]}))
        .await
        .assert_chatcli_error(404, "One or more members not found.");
    app.post("/chat/create-group", json!({"session_token": creator.access, "name": " ", "members": ["mia"]}))
        .await
        .assert_chatcli_error(400, "Give the group a name.");
    let group = app.create_group(&creator.access, "Book club", &["mia", "otto"]).await;
    let members = app.post("/chat/get-members", json!({"session_token": member.access, "chatID": group})).await;
    assert_eq!(members.body, json!({"members": ["carl", "mia", "otto"]}), "{}", members.text);

    // Any member may add people.
    let reply = app
        .post("/chat/add-members", json!({"session_token": member.access, "chatID": group, "members": ["pia"]}))
        .await;
    assert_eq!(reply.body, json!({"chatID": group}), "{}", reply.text);
    // A member may not remove someone else...
    app.post("/chat/remove-members", json!({"session_token": member.access, "chatID": group, "members": ["otto"]}))
        .await
        .assert_chatcli_error(403, "Only the group's creator or a moderator can remove other members.");
    // ...but may leave.
    let reply = app
        .post("/chat/remove-members", json!({"session_token": other.access, "chatID": group, "members": ["otto"]}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    app.post("/chat/messages", json!({"session_token": other.access, "chatID": group}))
        .await
        .assert_chatcli_error(404, "Chat not found.");
    // The creator may remove anyone.
    let reply = app
        .post("/chat/remove-members", json!({"session_token": creator.access, "chatID": group, "members": ["pia"]}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let members = app.post("/chat/get-members", json!({"session_token": creator.access, "chatID": group})).await;
    assert_eq!(members.body, json!({"members": ["carl", "mia"]}));
    // A server moderator in the group may remove anyone too.
    app.post("/chat/add-members", json!({"session_token": creator.access, "chatID": group, "members": ["olga"]})).await;
    let reply = app
        .post("/chat/remove-members", json!({"session_token": owner.access, "chatID": group, "members": ["carl"]}))
        .await;
    assert_eq!(reply.status, 200, "owner removes the creator: {}", reply.text);

    let private = app.create_chat(&member.access, "otto").await;
    app.post("/chat/add-members", json!({"session_token": member.access, "chatID": private, "members": ["pia"]}))
        .await
        .assert_chatcli_error(400, "Members can only be added to a group.");
    app.post("/chat/remove-members", json!({"session_token": member.access, "chatID": private, "members": ["otto"]}))
        .await
        .assert_chatcli_error(400, "Members cannot be removed from a private chat.");
    app.post("/chat/add-members", json!({"session_token": member.access, "chatID": group, "members": []}))
        .await
        .assert_chatcli_error(400, "Name at least one member, by username.");
    app.stop().await;
}

async fn history_pages_backwards_and_forwards(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.signed_in("alice").await;
    app.signed_in("bob").await;
    let chat = app.create_chat(&alice.access, "bob").await;
    let mut ids = Vec::new();
    for i in 1..=7 {
        ids.push(app.post_message(&alice.access, chat, &format!("m{i}")).await);
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow: {ids:?}");

    let texts = |v: Vec<serde_json::Value>| {
        v.iter().map(|m| m["message"].as_str().unwrap_or_default().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(texts(app.messages(&alice.access, chat, json!({})).await).len(), 7);
    assert_eq!(texts(app.messages(&alice.access, chat, json!({"limit": 3})).await), ["m5", "m6", "m7"]);
    assert_eq!(
        texts(app.messages(&alice.access, chat, json!({"limit": 3, "before": ids[4]})).await),
        ["m2", "m3", "m4"]
    );
    assert_eq!(
        texts(app.messages(&alice.access, chat, json!({"limit": 3, "after": ids[1]})).await),
        ["m3", "m4", "m5"]
    );
    assert_eq!(texts(app.messages(&alice.access, chat, json!({"after": ids[6]})).await), Vec::<String>::new());
    assert_eq!(
        texts(app.messages(&alice.access, chat, json!({"after": ids[0], "before": ids[3]})).await),
        ["m2", "m3"]
    );

    let first = &app.messages(&alice.access, chat, json!({"limit": 1})).await[0];
    assert_eq!((first["username"].as_str(), first["chatID"].as_i64()), (Some("alice"), Some(chat)));
    assert!(first["timestamp"].as_str().is_some_and(|t| t.ends_with('Z') && t.contains('T')), "RFC 3339 UTC: {first}");
    assert!(first["edited_at"].is_null() && first["deleted_at"].is_null());

    for limit in [0, 201, -1] {
        app.post("/chat/messages", json!({"session_token": alice.access, "chatID": chat, "limit": limit}))
            .await
            .assert_chatcli_error(400, "limit must be between 1 and 200.");
    }
    // Ids may come as numeric strings too (some clients send them so).
    let reply = app
        .post("/chat/messages", json!({"session_token": alice.access, "chatID": chat.to_string(), "limit": 1}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reply = app.post("/chat/messages", json!({"session_token": alice.access, "chatID": "seven"})).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    app.stop().await;
}

async fn strangers_cannot_see_or_touch_a_chat(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.signed_in("alice").await;
    app.signed_in("bob").await;
    let eve = app.signed_in("eve").await;
    let chat = app.create_chat(&alice.access, "bob").await;
    app.post_message(&alice.access, chat, "secret").await;
    for (route, extra) in [
        ("/chat/messages", json!({})),
        ("/chat/get-members", json!({})),
        ("/chat/archive-chat", json!({})),
        ("/chat/unarchive-chat", json!({})),
        ("/chat/post-message", json!({"text": "let me in"})),
        ("/chat/add-members", json!({"members": ["eve"]})),
        ("/chat/remove-members", json!({"members": ["bob"]})),
    ] {
        let mut body = json!({"session_token": eve.access, "chatID": chat});
        body.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
        app.post(route, body).await.assert_chatcli_error(404, "Chat not found.");
    }
    app.post("/chat/messages", json!({"session_token": eve.access, "chatID": 999_999}))
        .await
        .assert_chatcli_error(404, "Chat not found.");
    app.post("/chat/fetch-chats", json!({"session_token": "forged"}))
        .await
        .assert_chatcli_error(401, "Invalid or expired session token.");
    assert_eq!(app.message_texts(&alice.access, chat, json!({})).await, ["secret"], "nothing was added");
    app.stop().await;
}

async fn posting_checks_text_and_honours_nonces(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.signed_in("alice").await;
    app.signed_in("bob").await;
    let chat = app.create_chat(&alice.access, "bob").await;
    let post = |text: String, nonce: Option<&str>| json!({"session_token": alice.access, "chatID": chat, "text": text, "nonce": nonce});
    app.post("/chat/post-message", post("   ".into(), None))
        .await
        .assert_chatcli_error(400, "A message cannot be empty.");
    app.post("/chat/post-message", post("x".repeat(4001), None))
        .await
        .assert_chatcli_error(400, "A message can be at most 4000 characters.");
    let stored = app.post("/chat/post-message", post("x".repeat(4000), None)).await;
    assert_eq!(stored.status, 201, "{}", stored.text);

    let first = app.post("/chat/post-message", post("once".into(), Some("n-1"))).await;
    let again = app.post("/chat/post-message", post("once".into(), Some("n-1"))).await;
    assert_eq!((first.status.as_u16(), again.status.as_u16()), (201, 200));
    assert_eq!(first.body["messageID"], again.body["messageID"]);
    let texts = app.message_texts(&alice.access, chat, json!({})).await;
    assert_eq!(texts.iter().filter(|t| *t == "once").count(), 1, "a repeated nonce does not post twice");
    // Text is stored as typed: markup stays text.
    let id = app.post_message(&alice.access, chat, "<b>hi</b> & \"you\"").await;
    let last = app.messages(&alice.access, chat, json!({"after": id - 1})).await;
    assert_eq!(last[0]["message"], "<b>hi</b> & \"you\"");
    app.stop().await;
}

async fn guests_read_but_do_not_write(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.signed_in("alice").await;
    let guest = app.signed_in("gwen").await;
    let chat = app.create_chat(&alice.access, "gwen").await;
    app.post_message(&alice.access, chat, "welcome").await;
    let output = app.hearth_command(&["user", "set-role", "gwen", "guest"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    assert_eq!(app.message_texts(&guest.access, chat, json!({})).await, ["welcome"]);
    app.post("/chat/post-message", json!({"session_token": guest.access, "chatID": chat, "text": "hi"}))
        .await
        .assert_chatcli_error(403, "Guests have read-only access.");
    app.post("/chat/create-chat", json!({"session_token": guest.access, "receiver": "alice"}))
        .await
        .assert_chatcli_error(403, "Guests have read-only access.");
    app.post("/chat/create-group", json!({"session_token": guest.access, "name": "G", "members": []}))
        .await
        .assert_chatcli_error(403, "Guests have read-only access.");
    app.stop().await;
}

async fn chat_list_shows_the_last_message_and_unread_count(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    app.signed_in("carol").await;
    let older = app.create_chat(&alice.access, "carol").await;
    let chat = app.create_chat(&alice.access, "bob").await;
    app.post_message(&bob.access, chat, "one").await;
    let second = app.post_message(&bob.access, chat, "two").await;
    app.post_message(&alice.access, chat, "mine").await;
    app.post_message(&alice.access, older, "to carol").await;

    let list = app.post("/chat/fetch-chats", json!({"session_token": alice.access})).await;
    let items = list.body["response"].as_array().expect("list").clone();
    assert_eq!(items[0]["chatID"], older, "most recently active first: {}", list.text);
    let with_bob = &items[1];
    assert_eq!(with_bob["last_message"]["message"], "mine");
    assert_eq!(with_bob["unread"], 2, "others' messages since the read marker");

    let reply =
        app.post("/chat/mark-read", json!({"session_token": alice.access, "chatID": chat, "messageID": second})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    // Never moves back.
    app.post("/chat/mark-read", json!({"session_token": alice.access, "chatID": chat, "messageID": 1})).await;
    let list = app.post("/chat/fetch-chats", json!({"session_token": alice.access})).await;
    assert_eq!(list.body["response"][1]["unread"], 0, "{}", list.text);
    let eve = app.signed_in("eve").await;
    app.post("/chat/mark-read", json!({"session_token": eve.access, "chatID": chat, "messageID": second}))
        .await
        .assert_chatcli_error(404, "Chat not found.");
    app.stop().await;
}
