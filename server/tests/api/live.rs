//! The WebSocket at `/ws`: handshake, every frame, permissions, presence, resume with `after`,
//! nonces, revocation, and the limits (slow readers, floods, oversized frames).

use std::time::Duration;

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp, Tokens, PASSWORD};
use crate::on_both_backends;
use crate::ws_client::{Ended, WsClient};

on_both_backends!(
    handshake_needs_a_valid_auth_frame_first,
    silent_unauthenticated_socket_is_closed,
    posted_message_reaches_every_member_once,
    rest_and_websocket_posts_reach_each_other,
    edits_and_deletes_follow_ownership,
    bad_frames_get_errors_and_the_socket_stays_open,
    typing_reaches_others_only_and_is_throttled,
    presence_follows_the_last_open_connection,
    repeated_nonce_is_acknowledged_once_stored_once,
    resume_after_a_dropped_connection_loses_nothing,
    resume_while_messages_keep_arriving_has_no_gap_or_duplicate,
    ended_sessions_close_their_sockets_at_once,
    removed_member_stops_receiving_at_once,
    new_chats_are_announced_to_their_members,
    slow_reader_is_cut_off_while_others_keep_receiving,
    floods_and_oversized_frames_close_the_socket,
);

/// Alice and Bob, signed in, sharing a 1:1 chat.
async fn pair(app: &TestApp) -> (Tokens, Tokens, i64) {
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    let chat = app.create_chat(&alice.access, "bob").await;
    (alice, bob, chat)
}

async fn joined(app: &TestApp, tokens: &Tokens, chat: i64) -> WsClient {
    let (mut client, _) = WsClient::signed_in(app, &tokens.access).await;
    client.send(json!({"type": "join_chat", "chatID": chat})).await;
    client.sync().await;
    client
}

async fn handshake_needs_a_valid_auth_frame_first(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob, _) = pair(&app).await;
    for first in [
        json!({"type": "auth", "token": "forged.token.value"}),
        json!({"type": "join_idle"}),
        json!({"type": "auth"}),
        json!({"hello": "world"}),
    ] {
        let mut client = WsClient::connect(&app).await;
        client.send(first.clone()).await;
        assert_eq!(client.close_code().await, 1008, "first frame {first}");
    }
    let mut client = WsClient::connect(&app).await;
    client.send_raw(Message::Text("not json".into())).await;
    assert_eq!(client.close_code().await, 1008);

    // A good token: ack, then who of Alice's contacts is online (her included).
    let (bob_socket, online) = WsClient::signed_in(&app, &bob.access).await;
    assert_eq!(online, ["bob"]);
    let (_alice_socket, online) = WsClient::signed_in(&app, &alice.access).await;
    assert_eq!(online, ["alice", "bob"]);
    bob_socket.close().await;
    app.stop().await;
}

async fn silent_unauthenticated_socket_is_closed(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.ws_auth_timeout_secs = 1).await;
    let mut client = WsClient::connect(&app).await;
    match client.ended(Duration::from_secs(3)).await {
        Some(Ended::Closed { code, reason }) => {
            assert_eq!((code, reason.as_str()), (1008, "authenticate within the time limit"))
        }
        other => panic!("expected a 1008 close, got {other:?}"),
    }
    app.stop().await;
}

async fn posted_message_reaches_every_member_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob, chat) = pair(&app).await;
    let mut alice_socket = joined(&app, &alice, chat).await;
    let mut bob_socket = joined(&app, &bob, chat).await;
    alice_socket.send(json!({"type": "post_msg", "chatID": chat, "text": "hello bob"})).await;

    let to_bob = bob_socket.recv_type("new_message").await;
    assert_eq!(
        (to_bob["chatID"].as_i64(), to_bob["username"].as_str(), to_bob["message"].as_str()),
        (Some(chat), Some("alice"), Some("hello bob"))
    );
    assert!(to_bob["messageID"].as_i64().is_some() && to_bob["userID"].as_i64().is_some());
    assert!(to_bob["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')), "{to_bob}");
    let to_alice = alice_socket.recv_type("new_message").await;
    assert_eq!(to_alice, to_bob, "the sender sees the same frame");
    // Once: no echo of the echo.
    alice_socket.expect_quiet(300).await;
    bob_socket.expect_quiet(100).await;
    assert_eq!(app.message_texts(&bob.access, chat, json!({})).await, ["hello bob"]);
    app.stop().await;
}

async fn rest_and_websocket_posts_reach_each_other(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob, chat) = pair(&app).await;
    let mut bob_socket = joined(&app, &bob, chat).await;
    let id = app.post_message(&alice.access, chat, "via REST").await;
    let frame = bob_socket.recv_type("new_message").await;
    assert_eq!((frame["messageID"].as_i64(), frame["message"].as_str()), (Some(id), Some("via REST")));
    bob_socket.send(json!({"type": "post_msg", "chatID": chat, "text": "via socket"})).await;
    bob_socket.recv_type("new_message").await;
    assert_eq!(app.message_texts(&alice.access, chat, json!({})).await, ["via REST", "via socket"]);
    app.stop().await;
}

async fn edits_and_deletes_follow_ownership(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob, chat) = pair(&app).await;
    let mut alice_socket = joined(&app, &alice, chat).await;
    let mut bob_socket = joined(&app, &bob, chat).await;
    let id = app.post_message(&alice.access, chat, "typo").await;
    alice_socket.recv_type("new_message").await;
    bob_socket.recv_type("new_message").await;

    bob_socket.send(json!({"type": "edit_msg", "chatID": chat, "messageID": id, "text": "hacked"})).await;
    assert_eq!(bob_socket.recv_type("error").await["message"], "You can only edit your own messages.");
    bob_socket.send(json!({"type": "delete_msg", "chatID": chat, "messageID": id})).await;
    assert_eq!(bob_socket.recv_type("error").await["message"], "You can only delete your own messages.");

    alice_socket.send(json!({"type": "edit_msg", "chatID": chat, "messageID": id, "text": "fixed"})).await;
    let edited = bob_socket.recv_type("edited_message").await;
    assert_eq!((edited["messageID"].as_i64(), edited["message"].as_str()), (Some(id), Some("fixed")));
    assert!(edited["edited_at"].is_string(), "{edited}");
    alice_socket.recv_type("edited_message").await;

    alice_socket.send(json!({"type": "delete_msg", "chatID": chat, "messageID": id})).await;
    let deleted = bob_socket.recv_type("deleted_message").await;
    assert_eq!((deleted["messageID"].as_i64(), deleted["chatID"].as_i64()), (Some(id), Some(chat)));
    assert!(deleted["deleted_at"].is_string());
    alice_socket.recv_type("deleted_message").await;
    alice_socket.send(json!({"type": "edit_msg", "chatID": chat, "messageID": id, "text": "again"})).await;
    assert_eq!(alice_socket.recv_type("error").await["message"], "Message not found.");

    // History keeps the place but not the words.
    let history = app.messages(&bob.access, chat, json!({})).await;
    assert_eq!((history[0]["message"].as_str(), history[0]["deleted_at"].is_string()), (Some(""), true));
    app.stop().await;
}

async fn bad_frames_get_errors_and_the_socket_stays_open(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob, chat) = pair(&app).await;
    let eve = app.signed_in("eve").await;
    let other_chat = app.create_chat(&bob.access, "eve").await;
    let foreign_message = app.post_message(&bob.access, other_chat, "not for alice").await;
    let (mut socket, _) = WsClient::signed_in(&app, &alice.access).await;
    let cases: Vec<(Message, &str)> = vec![
        (Message::Text("not json".into()), "Frames must be JSON objects with a \"type\"."),
        (Message::Text("[1,2]".into()), "Frames must be JSON objects with a \"type\"."),
        (Message::Text(r#"{"type":"dance"}"#.into()), "Unknown frame type \"dance\"."),
        (Message::Text(r#"{"type":"post_msg","chatID":"x","text":"hi"}"#.into()), "Invalid post_msg frame"),
        (Message::Text(r#"{"type":"post_msg","chatID":1}"#.into()), "Invalid post_msg frame: missing field `text`"),
        (Message::Text(json!({"type": "join_chat", "chatID": other_chat}).to_string().into()), "Chat not found."),
        (
            Message::Text(json!({"type": "post_msg", "chatID": other_chat, "text": "x"}).to_string().into()),
            "Chat not found.",
        ),
        (Message::Text(json!({"type": "typing", "chatID": other_chat}).to_string().into()), "Chat not found."),
        (
            Message::Text(
                json!({"type": "edit_msg", "chatID": chat, "messageID": foreign_message, "text": "x"})
                    .to_string()
                    .into(),
            ),
            "Message not found.",
        ),
        (
            Message::Text(json!({"type": "post_msg", "chatID": chat, "text": ""}).to_string().into()),
            "A message cannot be empty.",
        ),
        (
            Message::Text(json!({"type": "post_msg", "chatID": chat, "text": "a\u{0}b"}).to_string().into()),
            "Text cannot contain NUL characters.",
        ),
        (Message::Text(json!({"type": "auth", "token": alice.access}).to_string().into()), "Already authenticated."),
        (Message::Binary(vec![1, 2, 3].into()), "Only JSON text frames are understood."),
    ];
    for (frame, expected) in cases {
        socket.send_raw(frame.clone()).await;
        let error = socket.recv_type("error").await;
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(expected), "{frame:?}: expected {expected:?}, got {message:?}");
    }
    // Still open and working.
    socket.send(json!({"type": "join_chat", "chatID": chat})).await;
    socket.send(json!({"type": "post_msg", "chatID": chat, "text": "still here"})).await;
    assert_eq!(socket.recv_type("new_message").await["message"], "still here");
    drop(eve);
    app.stop().await;
}

async fn typing_reaches_others_only_and_is_throttled(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob, chat) = pair(&app).await;
    let mut alice_socket = joined(&app, &alice, chat).await;
    let mut bob_socket = joined(&app, &bob, chat).await;
    alice_socket.send(json!({"type": "typing", "chatID": chat})).await;
    assert_eq!(
        bob_socket.recv_type("user_typing").await,
        json!({"type": "user_typing", "username": "alice", "chatID": chat})
    );
    alice_socket.send(json!({"type": "typing", "chatID": chat})).await;
    bob_socket.expect_quiet(500).await; // within 2 s: not forwarded again
    alice_socket.expect_quiet(100).await; // never to the typer
    app.stop().await;
}

async fn presence_follows_the_last_open_connection(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob, _chat) = pair(&app).await;
    app.signed_in("stranger").await;
    let (mut alice_socket, _) = WsClient::signed_in(&app, &alice.access).await;
    let (first, _) = WsClient::signed_in(&app, &bob.access).await;
    assert_eq!(alice_socket.recv().await, json!({"type": "user_status", "username": "bob", "online": true}));
    // A second connection, then the first closes: Bob is still online (the reference's bug).
    let (second, online) = WsClient::signed_in(&app, &bob.access).await;
    assert_eq!(online, ["alice", "bob"]);
    first.close().await;
    alice_socket.expect_quiet(400).await;
    second.close().await;
    assert_eq!(alice_socket.recv().await, json!({"type": "user_status", "username": "bob", "online": false}));
    app.stop().await;
}

async fn repeated_nonce_is_acknowledged_once_stored_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob, chat) = pair(&app).await;
    let mut alice_socket = joined(&app, &alice, chat).await;
    let mut bob_socket = joined(&app, &bob, chat).await;
    let post = json!({"type": "post_msg", "chatID": chat, "text": "exactly once", "nonce": "client-42"});
    alice_socket.send(post.clone()).await;
    let delivered = alice_socket.recv_type("new_message").await;
    let ack = alice_socket.recv_type("ack").await;
    assert_eq!(ack, json!({"type": "ack", "nonce": "client-42", "messageID": delivered["messageID"]}));
    // The client did not see the ack (say it reconnected) and sends again.
    alice_socket.send(post).await;
    assert_eq!(alice_socket.recv_type("ack").await, ack);
    bob_socket.recv_type("new_message").await;
    bob_socket.expect_quiet(300).await;
    assert_eq!(app.message_texts(&alice.access, chat, json!({})).await, ["exactly once"]);
    app.stop().await;
}

async fn received_ids(socket: &mut WsClient, count: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    while ids.len() < count {
        let frame = socket.recv_type("new_message").await;
        ids.push(frame["messageID"].as_i64().expect("messageID"));
    }
    ids
}

async fn resume_after_a_dropped_connection_loses_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob, chat) = pair(&app).await;
    let mut bob_socket = joined(&app, &bob, chat).await;
    app.post_message(&alice.access, chat, "before").await;
    let last_seen = received_ids(&mut bob_socket, 1).await[0];
    bob_socket.close().await;

    let mut missed = Vec::new();
    for i in 0..5 {
        missed.push(app.post_message(&alice.access, chat, &format!("while away {i}")).await);
    }
    let (mut bob_socket, _) = WsClient::signed_in(&app, &bob.access).await;
    bob_socket.send(json!({"type": "join_chat", "chatID": chat, "after": last_seen})).await;
    assert_eq!(received_ids(&mut bob_socket, 5).await, missed, "the missed messages, in order");
    let live = app.post_message(&alice.access, chat, "live again").await;
    assert_eq!(received_ids(&mut bob_socket, 1).await, [live]);
    bob_socket.expect_quiet(300).await;
    app.stop().await;
}

async fn resume_while_messages_keep_arriving_has_no_gap_or_duplicate(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob, chat) = pair(&app).await;
    let mut first_ids = Vec::new();
    for i in 0..300 {
        first_ids.push(app.post_message(&alice.access, chat, &format!("backlog {i}")).await);
    }
    // Alice keeps posting while Bob resumes from the start of the backlog.
    let poster = {
        let (base, access) = (app.base.clone(), alice.access.clone());
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut ids = Vec::new();
            for i in 0..60 {
                let reply: Value = client
                    .post(format!("{base}/chat/post-message"))
                    .json(&json!({"session_token": access, "chatID": chat, "text": format!("live {i}")}))
                    .send()
                    .await
                    .expect("post")
                    .json()
                    .await
                    .expect("json");
                ids.push(reply["messageID"].as_i64().expect("id"));
            }
            ids
        })
    };
    let (mut bob_socket, _) = WsClient::signed_in(&app, &bob.access).await;
    bob_socket.send(json!({"type": "join_chat", "chatID": chat, "after": first_ids[0]})).await;
    let live_ids = poster.await.expect("poster");
    let expected: Vec<i64> = first_ids[1..].iter().chain(&live_ids).copied().collect();
    let received = received_ids(&mut bob_socket, expected.len()).await;
    assert_eq!(received, expected, "every message after the cursor, once, in order");
    bob_socket.expect_quiet(300).await;
    app.stop().await;
}

/// Sessions ended from elsewhere (the caller's own socket: `client_alarms`).
async fn ended_sessions_close_their_sockets_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_alice, _bob, _chat) = pair(&app).await;
    let laptop = app.login("alice", PASSWORD).await;
    let phone = app.login("alice", PASSWORD).await;
    let (mut phone_socket, _) = WsClient::signed_in(&app, &phone.access).await;
    app.post("/user/logout-all", json!({"session_token": laptop.access})).await;
    match phone_socket.ended(Duration::from_secs(1)).await {
        Some(Ended::Closed { code, reason }) => assert_eq!((code, reason.as_str()), (1008, "session ended")),
        other => panic!("logout-all should close the other sessions' sockets within a second, got {other:?}"),
    }

    let tokens = app.login("alice", PASSWORD).await;
    let (mut socket, _) = WsClient::signed_in(&app, &tokens.access).await;
    let change = json!({"session_token": tokens.access, "current_password": PASSWORD, "new_password": "N3w-password!"});
    assert_eq!(app.post("/user/change-password", change).await.status, 200);
    assert!(matches!(socket.ended(Duration::from_secs(1)).await, Some(Ended::Closed { code: 1008, .. })));
    // A revoked token cannot open a new socket either.
    let mut again = WsClient::connect(&app).await;
    again.send(json!({"type": "auth", "token": tokens.access})).await;
    assert_eq!(again.close_code().await, 1008);
    app.stop().await;
}

async fn removed_member_stops_receiving_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.signed_in("carl").await;
    let mia = app.signed_in("mia").await;
    let group = app.create_group(&owner.access, "G", &["mia"]).await;
    let mut mia_socket = joined(&app, &mia, group).await;
    app.post_message(&owner.access, group, "hi all").await;
    mia_socket.recv_type("new_message").await;
    let reply = app
        .post("/chat/remove-members", json!({"session_token": owner.access, "chatID": group, "members": ["mia"]}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    app.post_message(&owner.access, group, "mia is gone").await;
    mia_socket.expect_quiet(400).await;
    mia_socket.send(json!({"type": "join_chat", "chatID": group})).await;
    assert_eq!(mia_socket.recv_type("error").await["message"], "Chat not found.");
    app.stop().await;
}

async fn new_chats_are_announced_to_their_members(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    let (mut bob_socket, _) = WsClient::signed_in(&app, &bob.access).await;
    let chat = app.create_chat(&alice.access, "bob").await;
    assert_eq!(
        bob_socket.recv_type("chat_created").await,
        json!({"type": "chat_created", "chatID": chat, "creator": "alice"})
    );
    let group = app.create_group(&alice.access, "G", &["bob"]).await;
    assert_eq!(bob_socket.recv_type("chat_created").await["chatID"], group);
    app.stop().await;
}

async fn slow_reader_is_cut_off_while_others_keep_receiving(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.ws_queue_frames = 16).await;
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    let carol = app.signed_in("carol").await;
    let group = app.create_group(&alice.access, "G", &["bob", "carol"]).await;
    // Bob joins and then never reads again.
    let mut bob_socket = WsClient::connect_small_buffer(&app).await;
    bob_socket.authenticate(&bob.access).await;
    bob_socket.send(json!({"type": "join_chat", "chatID": group})).await;
    bob_socket.sync().await;
    let mut carol_socket = joined(&app, &carol, group).await;
    // More than the server's socket buffer (4 MiB here) can hold for a client that does not read.
    let posts = 1600;
    let reader = tokio::spawn(async move {
        let mut got = 0;
        while got < posts {
            carol_socket.recv_type("new_message").await;
            got += 1;
        }
        got
    });
    let big = "x".repeat(3900);
    for _ in 0..posts {
        app.post_message(&alice.access, group, &big).await;
    }
    assert_eq!(reader.await.expect("reader"), posts, "a reading member gets every message");
    // Bob's socket was dropped: reading now yields what was buffered, then the end.
    let (received, ended) = bob_socket.count_until_end("new_message", Duration::from_secs(5)).await;
    assert!(ended, "the slow reader's socket was closed");
    assert!(received < posts, "the slow reader was cut off (got {received} of {posts})");
    app.stop().await;
}

async fn floods_and_oversized_frames_close_the_socket(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.ws_frames_per_sec = 5;
        c.ws_max_frame_bytes = 16 * 1024;
    })
    .await;
    let (alice, _bob, chat) = pair(&app).await;
    let (mut socket, _) = WsClient::signed_in(&app, &alice.access).await;
    socket.send_raw(Message::Text("x".repeat(20 * 1024).into())).await;
    assert_eq!(socket.close_code().await, 1009);

    let (mut socket, _) = WsClient::signed_in(&app, &alice.access).await;
    // Any frame but `typing`, which is dropped past its budget instead (`client_alarms`).
    for _ in 0..30 {
        socket.send_raw(Message::Text(json!({"type": "leave_chat", "chatID": chat}).to_string().into())).await;
    }
    match socket.ended(Duration::from_secs(5)).await {
        Some(Ended::Closed { code, reason }) => assert_eq!((code, reason.as_str()), (1008, "too many frames")),
        other => panic!("a flood closes with 1008, got {other:?}"),
    }
    app.stop().await;
}
