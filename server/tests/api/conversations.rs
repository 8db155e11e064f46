//! Replies and reactions (issue 13), through every face: the WebSocket (only for clients that
//! declared the capability), ChatCLI's `/chat/*` and nchat's `/api/messages/{id}/reactions`.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::helpers::{spawn_app, Backend, TestApp};
use crate::nodes::two_nodes;
use crate::on_both_backends;
use crate::ws_client::WsClient;

on_both_backends!(
    replies_quote_the_message_they_answer,
    bad_replies_are_refused_and_store_nothing,
    reactions_reach_capable_clients_and_history,
    bad_reactions_are_refused,
    nchat_reaction_routes_follow_nchat,
    pins_are_shared_live_and_bounded,
    edits_keep_their_history_until_deletion,
    saved_messages_are_ones_own,
);

/// The keys of a `new_message` as ChatCLI's own clients know them.
const CHATCLI_MESSAGE_KEYS: [&str; 9] =
    ["type", "messageID", "chatID", "userID", "username", "message", "timestamp", "edited_at", "deleted_at"];

/// A socket that declared what Hearth's browser app understands.
async fn capable_socket(app: &TestApp, access: &str) -> WsClient {
    let mut socket = WsClient::connect(app).await;
    let declared = ["replies", "reactions", "pins", "holograms"];
    socket.send(json!({"type": "auth", "token": access, "capabilities": declared})).await;
    let ack = socket.recv().await;
    assert_eq!(ack, json!({"type": "auth_ack", "status": "ok", "capabilities": ["replies", "reactions", "pins"]}));
    assert_eq!(socket.recv().await["type"], "online_users");
    socket
}

async fn join(socket: &mut WsClient, chat_id: i64) {
    socket.send(json!({"type": "join_chat", "chatID": chat_id})).await;
    socket.sync().await;
}

fn keys(frame: &Value) -> BTreeSet<&str> {
    frame.as_object().expect("an object").keys().map(String::as_str).collect()
}

/// alice, bob and carol in one group; their tokens and the group.
async fn group_of_three(app: &TestApp) -> (String, String, String, i64) {
    let alice = app.signed_in("alice").await.access;
    let bob = app.signed_in("bob").await.access;
    let carol = app.signed_in("carol").await.access;
    let group = app.create_group(&alice, "Team", &["bob", "carol"]).await;
    (alice, bob, carol, group)
}

async fn replies_quote_the_message_they_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob, carol, group) = group_of_three(&app).await;
    let mut capable = capable_socket(&app, &alice).await;
    let (mut chatcli, _) = WsClient::signed_in(&app, &carol).await;
    join(&mut capable, group).await;
    join(&mut chatcli, group).await;

    let question = app.post_message(&alice, group, "Lunch at noon?").await;
    capable.recv_type("new_message").await;
    chatcli.recv_type("new_message").await;

    // Over REST…
    let reply = app
        .post(
            "/chat/post-message",
            json!({"session_token": bob, "chatID": group, "text": "Yes!", "reply_to": question}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let quoted = json!({"messageID": question, "username": "alice", "message": "Lunch at noon?", "deleted": false});
    let live = capable.recv_type("new_message").await;
    assert_eq!(live["message"], "Yes!");
    assert_eq!(live["reply_to"], quoted);
    // …ChatCLI's client gets exactly the frame it always got.
    let plain = chatcli.recv_type("new_message").await;
    assert_eq!(keys(&plain), CHATCLI_MESSAGE_KEYS.into_iter().collect(), "{plain}");

    // …and over the socket, acknowledged as ever.
    capable
        .send(json!({"type": "post_msg", "chatID": group, "text": "Me too", "nonce": "n-1", "reply_to": question}))
        .await;
    let frames = capable.frames_before_barrier().await;
    let posted = frames.iter().find(|f| f["type"] == "new_message").expect("new_message");
    assert_eq!(posted["reply_to"], quoted);
    assert!(frames.iter().any(|f| f["type"] == "ack" && f["nonce"] == "n-1"), "{frames:?}");

    let history = app.messages(&carol, group, json!({})).await;
    let texts: Vec<(&str, &Value)> = history.iter().map(|m| (m["message"].as_str().unwrap(), &m["reply_to"])).collect();
    assert_eq!(texts, [("Lunch at noon?", &Value::Null), ("Yes!", &quoted), ("Me too", &quoted)]);

    // The answered message deleted: replies keep their place and say so.
    capable.send(json!({"type": "delete_msg", "chatID": group, "messageID": question})).await;
    capable.recv_type("deleted_message").await;
    let history = app.messages(&bob, group, json!({})).await;
    assert_eq!(
        history[1]["reply_to"],
        json!({"messageID": question, "username": "alice", "message": "", "deleted": true})
    );
}

async fn bad_replies_are_refused_and_store_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob, _carol, group) = group_of_three(&app).await;
    let dave = app.signed_in("dave").await.access;
    let elsewhere = app.create_chat(&alice, "dave").await;
    let other_chat_message = app.post_message(&dave, elsewhere, "private").await;
    let gone = app.post_message(&alice, group, "soon gone").await;
    let mut socket = capable_socket(&app, &alice).await;
    socket.send(json!({"type": "delete_msg", "chatID": group, "messageID": gone})).await;
    socket.sync().await;
    let before = app.messages(&alice, group, json!({})).await.len();

    let post = |token: &str, chat: i64, reply_to: Value| {
        app.post(
            "/chat/post-message",
            json!({"session_token": token, "chatID": chat, "text": "hi", "reply_to": reply_to}),
        )
    };
    post(&bob, group, json!(other_chat_message))
        .await
        .assert_chatcli_error(400, "You can only reply to a message of this chat.");
    post(&bob, group, json!(999_999)).await.assert_chatcli_error(400, "You can only reply to a message of this chat.");
    post(&bob, group, json!(gone)).await.assert_chatcli_error(400, "You cannot reply to a deleted message.");
    // A stranger to the chat learns nothing about it or its messages.
    post(&dave, group, json!(gone)).await.assert_chatcli_error(404, "Chat not found.");
    let reply = post(&bob, group, json!("first")).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    // The socket says the same in an error frame.
    socket.send(json!({"type": "post_msg", "chatID": group, "text": "hi", "reply_to": other_chat_message})).await;
    let refusal = socket.recv_type("error").await;
    assert_eq!(refusal["message"], "You can only reply to a message of this chat.");

    assert_eq!(app.messages(&alice, group, json!({})).await.len(), before, "nothing was stored");
}

async fn reactions_reach_capable_clients_and_history(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob, carol, group) = group_of_three(&app).await;
    let message = app.post_message(&alice, group, "We shipped!").await;
    let mut alice_socket = capable_socket(&app, &alice).await;
    let mut bob_socket = capable_socket(&app, &bob).await;
    let (mut chatcli, _) = WsClient::signed_in(&app, &carol).await;
    for socket in [&mut alice_socket, &mut bob_socket, &mut chatcli] {
        join(socket, group).await;
    }

    bob_socket.send(json!({"type": "add_reaction", "chatID": group, "messageID": message, "emoji": "👍"})).await;
    let changed = alice_socket.recv_type("reaction_changed").await;
    assert_eq!(
        changed,
        json!({"type": "reaction_changed", "chatID": group, "messageID": message, "username": "bob", "emoji": "👍",
               "added": true, "reactions": [{"emoji": "👍", "count": 1, "users": ["bob"]}]})
    );
    assert_eq!(bob_socket.recv_type("reaction_changed").await, changed, "the reactor's other views follow too");

    // A shortcode over REST; the answer is the message's reactions now.
    let reply = app
        .post(
            "/chat/add-reaction",
            json!({"session_token": carol, "chatID": group, "messageID": message, "emoji": ":tada:"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let both = json!([{"emoji": "👍", "count": 1, "users": ["bob"]}, {"emoji": "🎉", "count": 1, "users": ["carol"]}]);
    assert_eq!(reply.body["reactions"], both);
    assert_eq!(alice_socket.recv_type("reaction_changed").await["reactions"], both);
    // Reacting again with the same emoji changes nothing and announces nothing.
    let again = app
        .post(
            "/chat/add-reaction",
            json!({"session_token": carol, "chatID": group, "messageID": message, "emoji": "🎉"}),
        )
        .await;
    assert_eq!(again.body["reactions"], both);
    alice_socket.send(json!({"type": "add_reaction", "chatID": group, "messageID": message, "emoji": "👍🏽"})).await;
    let third = alice_socket.recv_type("reaction_changed").await;
    assert_eq!(third["reactions"][2], json!({"emoji": "👍🏽", "count": 1, "users": ["alice"]}));
    assert!(
        alice_socket.frames_before_barrier().await.iter().all(|f| f["type"] != "reaction_changed"),
        "the repeated reaction was not announced"
    );

    // A malformed capability list is ignored, never a reason to refuse the socket.
    let mut odd = WsClient::connect(&app).await;
    odd.send(json!({"type": "auth", "token": carol, "capabilities": "everything"})).await;
    assert_eq!(odd.recv().await, json!({"type": "auth_ack", "status": "ok"}));

    // ChatCLI's client never hears of reactions.
    let frames = chatcli.frames_before_barrier().await;
    assert!(frames.is_empty(), "a client without capabilities got {frames:?}");

    // History carries them (a fixed number of queries however long the page).
    let history = app.messages(&carol, group, json!({})).await;
    assert_eq!(history[0]["reactions"].as_array().map(Vec::len), Some(3));

    // Taking one back.
    bob_socket.send(json!({"type": "remove_reaction", "chatID": group, "messageID": message, "emoji": "👍"})).await;
    let removed = alice_socket.recv_type("reaction_changed").await;
    assert_eq!(removed["added"], false);
    assert_eq!(
        removed["reactions"].as_array().map(|r| r.iter().map(|r| r["emoji"].clone()).collect::<Vec<_>>()),
        Some(vec![json!("🎉"), json!("👍🏽")])
    );
    let reply = app
        .post(
            "/chat/remove-reaction",
            json!({"session_token": carol, "chatID": group, "messageID": message, "emoji": "🎉"}),
        )
        .await;
    assert_eq!(reply.body["reactions"], json!([{"emoji": "👍🏽", "count": 1, "users": ["alice"]}]));
}

async fn bad_reactions_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob, _carol, group) = group_of_three(&app).await;
    let dave = app.signed_in("dave").await.access;
    let gwen = app.signed_in("gwen").await.access;
    let output = app.hearth_command(&["user", "set-role", "gwen", "guest"]);
    assert!(output.status.success(), "set-role: {}", String::from_utf8_lossy(&output.stderr));
    let reply =
        app.post("/chat/add-members", json!({"session_token": alice, "chatID": group, "members": ["gwen"]})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let message = app.post_message(&alice, group, "React to me").await;
    let deleted = app.post_message(&alice, group, "Gone").await;
    let mut socket = capable_socket(&app, &alice).await;
    socket.send(json!({"type": "delete_msg", "chatID": group, "messageID": deleted})).await;
    socket.sync().await;

    let react = |token: &str, message_id: i64, emoji: &str| {
        app.post(
            "/chat/add-reaction",
            json!({"session_token": token, "chatID": group, "messageID": message_id, "emoji": emoji}),
        )
    };
    for not_an_emoji in ["abc", "👍👍", ":no_such_shortcode:", "<img src=x>"] {
        react(&bob, message, not_an_emoji)
            .await
            .assert_chatcli_error(400, "Reactions must be a single emoji or an emoji :shortcode:.");
    }
    react(&bob, message, " ").await.assert_chatcli_error(400, "Choose an emoji to react with.");
    react(&gwen, message, "👍").await.assert_chatcli_error(403, "Guests have read-only access.");
    react(&dave, message, "👍").await.assert_chatcli_error(404, "Chat not found.");
    react(&bob, deleted, "👍").await.assert_chatcli_error(404, "Message not found.");
    react(&bob, 999_999, "👍").await.assert_chatcli_error(404, "Message not found.");
    socket.send(json!({"type": "add_reaction", "chatID": group, "messageID": message, "emoji": "nope"})).await;
    assert_eq!(socket.recv_type("error").await["message"], "Reactions must be a single emoji or an emoji :shortcode:.");
    socket.send(json!({"type": "add_reaction", "chatID": group, "messageID": message})).await;
    assert!(socket.recv_type("error").await["message"].as_str().unwrap().starts_with("Invalid add_reaction frame"));

    // At most 50 different emoji on one message; existing ones still count up.
    let many = emojis_for_test();
    for emoji in &many[..50] {
        let reply = react(&alice, message, emoji).await;
        assert_eq!(reply.status, 200, "{emoji}: {}", reply.text);
    }
    react(&bob, message, &many[50]).await.assert_chatcli_error(400, "A message can carry at most 50 different emoji.");
    assert_eq!(react(&bob, message, &many[0]).await.status, 200);

    let history = app.messages(&alice, group, json!({})).await;
    assert_eq!(history[0]["reactions"].as_array().map(Vec::len), Some(50), "nothing past the limit was stored");
    assert!(history[1].get("reactions").is_none(), "the deleted message has none");
}

/// 51 different emoji, each one code point.
fn emojis_for_test() -> Vec<String> {
    let faces =
        "😀😃😄😁😆😅😂🤣😊😇🙂🙃😉😌😍🥰😘😗😙😚😋😛😝😜🤪🤨🧐🤓😎🤩🥳😏😒😞😔😟😕🙁😣😖😫😩🥺😢😭😤😠😡🤬🤯😳";
    let emojis: Vec<String> = faces.chars().map(String::from).collect();
    assert!(emojis.len() >= 51);
    emojis
}

async fn nchat_reaction_routes_follow_nchat(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob, _carol, group) = group_of_three(&app).await;
    let dave = app.signed_in("dave").await.access;
    let message = app.post_message(&alice, group, "nchat, meet Hearth").await;
    let path = format!("/api/messages/{message}/reactions");
    let bearer = |method: reqwest::Method, token: &str, path: &str| {
        app.client.request(method, app.url(path)).bearer_auth(token.to_string())
    };
    let profile = app.send(bearer(reqwest::Method::GET, &bob, "/api/users/me/profile")).await;
    let bob_id = profile.body["data"]["profile"]["id"].as_str().expect("nchat's string id").to_string();

    let added =
        app.send(bearer(reqwest::Method::POST, &bob, &path).json(&json!({"userId": bob_id, "emoji": "❤️"}))).await;
    assert_eq!(added.status, 201, "{}", added.text);
    assert_eq!(added.body["success"], true);
    assert_eq!(added.body["data"]["added"], true);
    assert_eq!(added.body["added"], true, "data's fields at the top level too");
    let listed = app.send(bearer(reqwest::Method::GET, &alice, &path)).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let hearts = &listed.body["data"]["reactions"][0];
    assert_eq!(hearts["emoji"], "❤️");
    assert_eq!(hearts["count"], 1);
    assert_eq!(hearts["users"][0]["id"], bob_id);
    assert_eq!(hearts["users"][0]["username"], "bob");
    assert_eq!(hearts["hasReacted"], false, "alice did not react");
    assert_eq!(listed.body["reactions"], listed.body["data"]["reactions"]);

    let toggled = app.send(bearer(reqwest::Method::PATCH, &alice, &path).json(&json!({"emoji": "❤"}))).await;
    assert_eq!(toggled.body["data"]["action"], "added", "{}", toggled.text);
    assert_eq!(toggled.body["data"]["reactions"][0]["count"], 2);
    assert_eq!(toggled.body["data"]["reactions"][0]["hasReacted"], true);
    let toggled = app.send(bearer(reqwest::Method::PATCH, &alice, &path).json(&json!({"emoji": "❤️"}))).await;
    assert_eq!(toggled.body["data"]["action"], "removed");
    let removed = app.send(bearer(reqwest::Method::DELETE, &bob, &format!("{path}?emoji=%E2%9D%A4%EF%B8%8F"))).await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    assert_eq!(removed.body["data"], json!({"removed": true, "reactions": []}));

    // Bad input, in nchat's envelope.
    app.send(bearer(reqwest::Method::POST, &bob, &path).json(&json!({"userId": "someone-else", "emoji": "👍"})))
        .await
        .assert_nchat_error(403, "FORBIDDEN");
    app.send(bearer(reqwest::Method::POST, &bob, &path).json(&json!({"emoji": "not one"})))
        .await
        .assert_nchat_error(400, "VALIDATION_ERROR");
    app.send(bearer(reqwest::Method::POST, &bob, &path).json(&json!({})))
        .await
        .assert_nchat_error(400, "VALIDATION_ERROR");
    app.send(bearer(reqwest::Method::POST, &bob, "/api/messages/abc/reactions").json(&json!({"emoji": "👍"})))
        .await
        .assert_nchat_error(400, "VALIDATION_ERROR");
    app.send(bearer(reqwest::Method::POST, &dave, &path).json(&json!({"emoji": "👍"})))
        .await
        .assert_nchat_error(404, "NOT_FOUND");
    app.send(bearer(reqwest::Method::GET, &dave, &path)).await.assert_nchat_error(404, "NOT_FOUND");
    app.send(app.client.get(app.url(&path))).await.assert_nchat_error(401, "UNAUTHORIZED");
    let history = app.messages(&alice, group, json!({})).await;
    assert!(history[0].get("reactions").is_none(), "every reaction was taken back: {}", history[0]);
}

/// A reaction on one node reaches a capable socket on the other (through NATS), and the
/// socket without capabilities on either node hears nothing of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_and_replies_cross_nodes() {
    let (first, second) = two_nodes(|_| {}).await;
    let (alice, bob, carol, group) = group_of_three(&first).await;
    let message = first.post_message(&alice, group, "Across the wire").await;
    let mut far = capable_socket(&second, &alice).await;
    let (mut plain, _) = WsClient::signed_in(&second, &carol).await;
    join(&mut far, group).await;
    join(&mut plain, group).await;

    let reply = first
        .post("/chat/add-reaction", json!({"session_token": bob, "chatID": group, "messageID": message, "emoji": "🚀"}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        far.recv_type("reaction_changed").await["reactions"],
        json!([{"emoji": "🚀", "count": 1, "users": ["bob"]}])
    );
    let reply = first
        .post("/chat/post-message", json!({"session_token": bob, "chatID": group, "text": "yes", "reply_to": message}))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(far.recv_type("new_message").await["reply_to"]["messageID"], message);
    let plain_message = plain.recv_type("new_message").await;
    assert_eq!(keys(&plain_message), CHATCLI_MESSAGE_KEYS.into_iter().collect(), "{plain_message}");
    assert!(plain.frames_before_barrier().await.is_empty());
}

async fn pins_are_shared_live_and_bounded(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob, carol, group) = group_of_three(&app).await;
    let dave = app.signed_in("dave").await.access;
    let message = app.post_message(&alice, group, "The plan for Friday").await;
    let mut capable = capable_socket(&app, &alice).await;
    let (mut plain, _) = WsClient::signed_in(&app, &carol).await;
    join(&mut capable, group).await;
    join(&mut plain, group).await;
    let pin = |token: &str, route: &'static str, message_id: i64| {
        app.post(route, json!({"session_token": token, "chatID": group, "messageID": message_id}))
    };

    let reply = pin(&bob, "/chat/pin-message", message).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["pinned"], true);
    assert_eq!(
        capable.recv_type("pin_changed").await,
        json!({"type": "pin_changed", "chatID": group, "messageID": message, "pinned": true, "username": "bob"})
    );
    let pins = pin(&carol, "/chat/pins", 0).await;
    assert_eq!(pins.body["pins"].as_array().map(Vec::len), Some(1), "{}", pins.text);
    assert_eq!(pins.body["pins"][0]["pinned_by"], "bob");
    assert_eq!(pins.body["pins"][0]["message"]["message"], "The plan for Friday");
    assert_eq!(app.messages(&carol, group, json!({})).await[0]["pinned"], true);
    // Pinning again changes nothing and announces nothing; the plain client hears of no pin.
    assert_eq!(pin(&alice, "/chat/pin-message", message).await.body["pinned"], true);
    assert!(capable.frames_before_barrier().await.is_empty());
    assert!(plain.frames_before_barrier().await.is_empty());

    capable.send(json!({"type": "unpin_message", "chatID": group, "messageID": message})).await;
    assert_eq!(capable.recv_type("pin_changed").await["pinned"], false);
    assert_eq!(pin(&carol, "/chat/pins", 0).await.body["pins"], json!([]));
    assert!(app.messages(&carol, group, json!({})).await[0].get("pinned").is_none());

    // nchat's route.
    let path = format!("/api/messages/{message}/pin");
    let bearer = |method: reqwest::Method, token: &str, path: &str| {
        app.client.request(method, app.url(path)).bearer_auth(token.to_string())
    };
    let pinned =
        app.send(bearer(reqwest::Method::POST, &bob, &path).json(&json!({"channelId": group.to_string()}))).await;
    assert_eq!(pinned.status, 201, "{}", pinned.text);
    assert_eq!(pinned.body["data"]["isPinned"], true);
    let status = app.send(bearer(reqwest::Method::GET, &carol, &path)).await;
    assert_eq!(status.body["isPinned"], true, "{}", status.text);
    assert_eq!(status.body["messageId"], message.to_string());
    app.send(bearer(reqwest::Method::POST, &bob, &path).json(&json!({"channelId": "12345"})))
        .await
        .assert_nchat_error(400, "VALIDATION_ERROR");
    app.send(bearer(reqwest::Method::POST, &bob, &path).json(&json!({"userId": "someone"})))
        .await
        .assert_nchat_error(403, "FORBIDDEN");
    app.send(bearer(reqwest::Method::GET, &dave, &path)).await.assert_nchat_error(404, "NOT_FOUND");
    let unpinned = app.send(bearer(reqwest::Method::DELETE, &bob, &path)).await;
    assert_eq!(unpinned.body["data"]["isPinned"], false, "{}", unpinned.text);

    // Guests and strangers; a deleted message loses its pin.
    let output = app.hearth_command(&["user", "set-role", "carol", "guest"]);
    assert!(output.status.success());
    pin(&carol, "/chat/pin-message", message).await.assert_chatcli_error(403, "Guests have read-only access.");
    pin(&dave, "/chat/pin-message", message).await.assert_chatcli_error(404, "Chat not found.");
    assert_eq!(pin(&bob, "/chat/pin-message", message).await.status, 200);
    capable.send(json!({"type": "delete_msg", "chatID": group, "messageID": message})).await;
    let frames = capable.frames_before_barrier().await;
    assert!(frames.iter().any(|f| f["type"] == "deleted_message"), "{frames:?}");
    assert_eq!(pin(&bob, "/chat/pins", 0).await.body["pins"], json!([]));
    pin(&bob, "/chat/pin-message", message).await.assert_chatcli_error(404, "Message not found.");

    // At most 100 pins in a chat.
    for i in 0..100 {
        let id = app.post_message(&alice, group, &format!("pin me {i}")).await;
        assert_eq!(pin(&alice, "/chat/pin-message", id).await.status, 200);
    }
    let one_more = app.post_message(&alice, group, "one too many").await;
    pin(&alice, "/chat/pin-message", one_more)
        .await
        .assert_chatcli_error(400, "A chat can have at most 100 pinned messages: unpin one first.");
    assert_eq!(pin(&bob, "/chat/pins", 0).await.body["pins"].as_array().map(Vec::len), Some(100));
}

async fn edits_keep_their_history_until_deletion(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob, _carol, group) = group_of_three(&app).await;
    let dave = app.signed_in("dave").await.access;
    let message = app.post_message(&alice, group, "Meet at 9").await;
    let mut socket = capable_socket(&app, &alice).await;
    join(&mut socket, group).await;
    for text in ["Meet at 10", "Meet at 10", "Meet at 10:30"] {
        socket.send(json!({"type": "edit_msg", "chatID": group, "messageID": message, "text": text})).await;
    }
    let edited: Vec<Value> = socket.frames_before_barrier().await;
    let shown: Vec<&Value> = edited.iter().filter(|f| f["type"] == "edited_message").map(|f| &f["message"]).collect();
    assert_eq!(shown, [&json!("Meet at 10"), &json!("Meet at 10:30")], "an edit that changes nothing is not announced");
    let history = |token: &str, extra: Value| {
        let mut body = json!({"session_token": token, "chatID": group, "messageID": message});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        app.post("/chat/message-history", body)
    };
    let reply = history(&bob, json!({})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let edits: Vec<(&str, &str, &str)> = reply.body["edits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["username"].as_str().unwrap(), e["previous"].as_str().unwrap(), e["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        edits,
        [("alice", "Meet at 9", "Meet at 10"), ("alice", "Meet at 10", "Meet at 10:30")],
        "the same text twice is one edit"
    );
    assert_eq!(reply.body["total"], 2);

    let nchat =
        app.send(app.client.get(app.url(&format!("/api/messages/{message}/history?limit=1"))).bearer_auth(&bob)).await;
    assert_eq!(nchat.status, 200, "{}", nchat.text);
    assert_eq!(nchat.body["data"]["totalCount"], 2);
    assert_eq!(nchat.body["data"]["hasMore"], true);
    let first = &nchat.body["data"]["edits"][0];
    assert_eq!(first["previousContent"], "Meet at 9");
    assert_eq!(first["newContent"], "Meet at 10");
    assert_eq!(first["editor"]["username"], "alice");
    assert_eq!(first["messageId"], message.to_string());

    history(&bob, json!({"limit": 0})).await.assert_chatcli_error(400, "limit must be between 1 and 100.");
    history(&dave, json!({})).await.assert_chatcli_error(404, "Chat not found.");
    app.send(app.client.get(app.url(&format!("/api/messages/{message}/history?limit=x"))).bearer_auth(&bob))
        .await
        .assert_nchat_error(400, "VALIDATION_ERROR");

    // Deleted, its text is gone everywhere, earlier versions included.
    socket.send(json!({"type": "delete_msg", "chatID": group, "messageID": message})).await;
    socket.recv_type("deleted_message").await;
    history(&bob, json!({})).await.assert_chatcli_error(404, "Message not found.");
}

async fn saved_messages_are_ones_own(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob, carol, group) = group_of_three(&app).await;
    let dave = app.signed_in("dave").await.access;
    let first = app.post_message(&alice, group, "Read this later").await;
    let second = app.post_message(&alice, group, "And this").await;
    let save = |token: &str, message_id: i64, note: Value| {
        app.post(
            "/chat/save-message",
            json!({"session_token": token, "chatID": group, "messageID": message_id, "note": note}),
        )
    };
    let list = |token: &str| app.post("/chat/saved-messages", json!({"session_token": token}));

    let reply = save(&bob, first, json!("for Monday")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["saved"], true);
    assert_eq!(save(&bob, second, Value::Null).await.status, 200);
    assert_eq!(save(&bob, first, json!("another note")).await.status, 200, "saving again is fine");
    let saved = list(&bob).await;
    let shown: Vec<(&str, &Value)> = saved.body["saved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["message"]["message"].as_str().unwrap(), &s["note"]))
        .collect();
    assert_eq!(shown, [("And this", &Value::Null), ("Read this later", &json!("for Monday"))], "{}", saved.text);
    assert_eq!(saved.body["total"], 2);
    assert_eq!(list(&carol).await.body["saved"], json!([]), "saved lists are each person's own");

    // nchat's routes.
    let bearer = |method: reqwest::Method, token: &str, path: &str| {
        app.client.request(method, app.url(path)).bearer_auth(token.to_string())
    };
    let path = format!("/api/messages/{first}/save");
    let status = app.send(bearer(reqwest::Method::GET, &bob, &path)).await;
    assert_eq!(status.body["data"]["isSaved"], true, "{}", status.text);
    assert_eq!(status.body["data"]["saved"]["note"], "for Monday");
    app.send(bearer(reqwest::Method::POST, &bob, &path).json(&json!({}))).await.assert_nchat_error(409, "CONFLICT");
    let carol_saves = app.send(bearer(reqwest::Method::POST, &carol, &path).json(&json!({"note": "mine"}))).await;
    assert_eq!(carol_saves.status, 200, "{}", carol_saves.text);
    assert_eq!(carol_saves.body["data"]["messageId"], first.to_string());
    assert_eq!(carol_saves.body["data"]["channelId"], group.to_string());
    let listed = app.send(bearer(reqwest::Method::GET, &carol, "/api/saved-messages?limit=10")).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body["data"]["pagination"]["total"], 1);
    assert_eq!(listed.body["data"]["messages"][0]["note"], "mine");
    assert_eq!(listed.body["data"]["stats"]["totalSaved"], 1);
    let gone = app.send(bearer(reqwest::Method::DELETE, &carol, &path)).await;
    assert_eq!(gone.body["data"]["messageId"], first.to_string(), "{}", gone.text);
    app.send(bearer(reqwest::Method::DELETE, &carol, &path)).await.assert_nchat_error(404, "NOT_FOUND");
    app.send(bearer(reqwest::Method::GET, &carol, "/api/saved-messages?limit=x"))
        .await
        .assert_nchat_error(400, "VALIDATION_ERROR");

    // Bad input and strangers.
    save(&bob, first, json!("x".repeat(501))).await.assert_chatcli_error(400, "A note can be at most 500 characters.");
    save(&dave, first, Value::Null).await.assert_chatcli_error(404, "Chat not found.");
    let reply = app.post("/chat/saved-messages", json!({"session_token": bob, "limit": 0})).await;
    reply.assert_chatcli_error(400, "limit must be between 1 and 100.");

    // What bob can no longer see leaves his list: a deleted message, a chat he left.
    let mut socket = capable_socket(&app, &alice).await;
    socket.send(json!({"type": "delete_msg", "chatID": group, "messageID": second})).await;
    socket.sync().await;
    assert_eq!(list(&bob).await.body["total"], 1);
    let left =
        app.post("/chat/remove-members", json!({"session_token": bob, "chatID": group, "members": ["bob"]})).await;
    assert_eq!(left.status, 200, "{}", left.text);
    assert_eq!(list(&bob).await.body["saved"], json!([]));
}
