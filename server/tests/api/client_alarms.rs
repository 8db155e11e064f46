//! What ChatCLI's desktop client (SciTechMC/ChatCLI, src/client/ChatCLI/src/renderer/scripts)
//! shows its users, with none of the false alarms Hearth once caused:
//! - every `chat_created` reads "You were added to a chat by …" (chats/chatList.js): it never
//!   goes to the creator, and each member gets it once however the chat is announced (the client
//!   sends its own `chat_created` after /chat/create-chat and /chat/create-group, main.js);
//! - a 1008 close reads "Authentication failed. Please log in again." (sockets/websocket_services.js):
//!   the client's own logout closes its socket with 1000 instead, whose reason it shows;
//! - one `typing` frame per keystroke (main.js): past the budget they are dropped, never a close.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp, PASSWORD};
use crate::nodes::two_nodes;
use crate::on_both_backends;
use crate::ws_client::{Ended, WsClient};

on_both_backends!(
    chat_created_never_reaches_its_creator,
    each_member_hears_of_a_chat_once_however_it_is_announced,
    own_logout_closes_the_own_socket_normally_and_the_others_at_once,
    held_typing_key_is_dropped_past_the_budget_and_never_closes_the_socket,
);

const WAIT: Duration = Duration::from_secs(5);

fn announced(chat: i64, creator: &str) -> Value {
    json!({"type": "chat_created", "chatID": chat, "creator": creator})
}

/// The frame ChatCLI's client sends once a chat is created.
fn client_announces(chat: i64, me: &str) -> Value {
    json!({"type": "chat_created", "chatID": chat, "creator": me})
}

fn logged_out() -> Option<Ended> {
    Some(Ended::Closed { code: 1000, reason: "You logged out.".into() })
}

fn session_ended() -> Option<Ended> {
    Some(Ended::Closed { code: 1008, reason: "session ended".into() })
}

async fn add_members(app: &TestApp, access: &str, chat: i64, members: &[&str]) {
    let reply =
        app.post("/chat/add-members", json!({"session_token": access, "chatID": chat, "members": members})).await;
    assert_eq!(reply.status, 200, "add-members: {}", reply.text);
}

async fn chat_created_never_reaches_its_creator(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.signed_in("alice").await;
    let alice_phone = app.login("alice", PASSWORD).await;
    let bob = app.signed_in("bob").await;
    let carol = app.signed_in("carol").await;
    let (mut alice_socket, _) = WsClient::signed_in(&app, &alice.access).await;
    let (mut alice_phone_socket, _) = WsClient::signed_in(&app, &alice_phone.access).await;
    let (mut bob_socket, _) = WsClient::signed_in(&app, &bob.access).await;
    let (mut carol_socket, _) = WsClient::signed_in(&app, &carol.access).await;

    let chat = app.create_chat(&alice.access, "bob").await;
    let group = app.create_group(&alice.access, "G", &["alice", "bob"]).await;
    add_members(&app, &alice.access, group, &["carol"]).await;

    for socket in [&mut alice_socket, &mut alice_phone_socket] {
        assert_eq!(socket.frames_before_barrier().await, Vec::<Value>::new(), "the creator is told nothing");
    }
    assert_eq!(bob_socket.frames_before_barrier().await, [announced(chat, "alice"), announced(group, "alice")]);
    assert_eq!(carol_socket.frames_before_barrier().await, [announced(group, "alice")]);
    app.stop().await;
}

async fn each_member_hears_of_a_chat_once_however_it_is_announced(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    let carol = app.signed_in("carol").await;
    let dave = app.signed_in("dave").await;
    let (mut alice_socket, _) = WsClient::signed_in(&app, &alice.access).await;
    let (mut bob_socket, _) = WsClient::signed_in(&app, &bob.access).await;
    let (mut carol_socket, _) = WsClient::signed_in(&app, &carol.access).await;
    let (mut dave_socket, _) = WsClient::signed_in(&app, &dave.access).await;

    // What the client does: create over REST, then announce the chat itself.
    let chat = app.create_chat(&alice.access, "bob").await;
    alice_socket.send(client_announces(chat, "alice")).await;
    let group = app.create_group(&alice.access, "G", &["bob", "carol"]).await;
    alice_socket.send(client_announces(group, "alice")).await;
    // Opening the same private chat again returns it, and the client announces it again.
    assert_eq!(app.create_chat(&alice.access, "bob").await, chat);
    alice_socket.send(client_announces(chat, "alice")).await;
    // A client that announces after adding someone.
    add_members(&app, &alice.access, group, &["dave"]).await;
    alice_socket.send(client_announces(group, "alice")).await;
    // Once answered, everything Alice's frames relayed is queued for the others.
    let alice_got = alice_socket.frames_before_barrier().await;

    // A member who did not create the group announces it too: nobody hears of it again.
    bob_socket.send(client_announces(group, "bob")).await;
    assert_eq!(bob_socket.frames_before_barrier().await, [announced(chat, "alice"), announced(group, "alice")]);
    assert_eq!(carol_socket.frames_before_barrier().await, [announced(group, "alice")]);
    assert_eq!(dave_socket.frames_before_barrier().await, [announced(group, "alice")]);
    // The announcing client gets nothing back (the reference sent `null`).
    assert_eq!(alice_got, Vec::<Value>::new());
    assert_eq!(alice_socket.frames_before_barrier().await, Vec::<Value>::new());

    // Announcing a chat one is not in is refused, as before.
    dave_socket.send(client_announces(chat, "dave")).await;
    assert_eq!(dave_socket.recv_type("error").await["message"], "Chat not found.");
    assert_eq!(bob_socket.frames_before_barrier().await, Vec::<Value>::new());
    app.stop().await;
}

async fn own_logout_closes_the_own_socket_normally_and_the_others_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.signed_in("alice").await;
    let (mut socket, _) = WsClient::signed_in(&app, &alice.access).await;
    let reply = app.post("/user/logout", json!({"session_token": alice.access, "refresh_token": alice.refresh})).await;
    assert_eq!((reply.status.as_u16(), reply.field("message")), (200, "Logged out successfully."));
    assert_eq!(socket.ended(WAIT).await, logged_out());

    // Logging out everywhere from the laptop: the laptop's socket closes normally, the phone's as
    // a session that ended.
    let laptop = app.login("alice", PASSWORD).await;
    let phone = app.login("alice", PASSWORD).await;
    let (mut laptop_socket, _) = WsClient::signed_in(&app, &laptop.access).await;
    let (mut second_laptop_socket, _) = WsClient::signed_in(&app, &laptop.access).await;
    let (mut phone_socket, _) = WsClient::signed_in(&app, &phone.access).await;
    let reply = app.post("/user/logout-all", json!({"session_token": laptop.access})).await;
    assert_eq!((reply.status.as_u16(), reply.field("message")), (200, "Logged out from all sessions successfully."));
    assert_eq!(phone_socket.ended(Duration::from_secs(1)).await, session_ended());
    assert_eq!(laptop_socket.ended(WAIT).await, logged_out());
    assert_eq!(second_laptop_socket.ended(WAIT).await, logged_out());

    // nchat's sign-out is the same logout.
    let tablet = app.login("alice", PASSWORD).await;
    let (mut tablet_socket, _) = WsClient::signed_in(&app, &tablet.access).await;
    assert_eq!(app.post_bearer("/api/auth/signout", &tablet.access, json!({})).await.status, 200);
    assert_eq!(tablet_socket.ended(WAIT).await, logged_out());

    // A logged-out token opens no socket: that one is an authentication failure.
    let mut again = WsClient::connect(&app).await;
    again.send(json!({"type": "auth", "token": laptop.access})).await;
    assert_eq!(again.close_code().await, 1008);
    app.stop().await;
}

async fn held_typing_key_is_dropped_past_the_budget_and_never_closes_the_socket(backend: Backend) {
    // One frame a second, bursts of two.
    let app = spawn_app_with(backend, |c| c.ws_frames_per_sec = 1).await;
    let alice = app.signed_in("alice").await;
    let mut others = Vec::new();
    for name in ["bob", "carol", "dave"] {
        let tokens = app.signed_in(name).await;
        let chat = app.create_chat(&alice.access, name).await;
        let (mut socket, _) = WsClient::signed_in(&app, &tokens.access).await;
        socket.send(json!({"type": "join_chat", "chatID": chat})).await;
        // Two frames: their whole budget, so below they only listen.
        assert_eq!(socket.frames_before_barrier().await, Vec::<Value>::new());
        others.push((chat, socket));
    }
    let (mut alice_socket, _) = WsClient::signed_in(&app, &alice.access).await;

    // Typing in three chats at once: the first two are relayed, the third is past the budget.
    for (chat, _) in &others {
        alice_socket.send(json!({"type": "typing", "chatID": chat})).await;
    }
    // A held key: many more, all dropped.
    let bobs_chat = others[0].0;
    for _ in 0..40 {
        alice_socket.send(json!({"type": "typing", "chatID": bobs_chat})).await;
    }
    // Still open, and the other frames have their whole budget: a message, then the barrier
    // (once answered, everything those frames relayed is queued for the others).
    alice_socket.send(json!({"type": "post_msg", "chatID": bobs_chat, "text": "typed it"})).await;
    assert_eq!(alice_socket.frames_before_barrier().await, Vec::<Value>::new());

    let typing = |chat: i64| json!({"type": "user_typing", "username": "alice", "chatID": chat});
    let (bob_chat, bob_socket) = &mut others[0];
    assert_eq!(bob_socket.recv_type("user_typing").await, typing(*bob_chat));
    // Next comes the message: no second `user_typing`.
    assert_eq!(bob_socket.recv_type("new_message").await["message"], "typed it");
    let (carol_chat, carol_socket) = &mut others[1];
    assert_eq!(carol_socket.recv_type("user_typing").await, typing(*carol_chat));
    let (_, dave_socket) = &mut others[2];
    dave_socket.expect_quiet(300).await; // past the budget: dropped
    for (_, socket) in &mut others[..2] {
        socket.expect_quiet(100).await;
    }

    // Other frames still close the socket past theirs.
    for _ in 0..10 {
        alice_socket.send(json!({"type": "join_idle"})).await;
    }
    match alice_socket.ended(WAIT).await {
        Some(Ended::Closed { code, reason }) => assert_eq!((code, reason.as_str()), (1008, "too many frames")),
        other => panic!("a flood of other frames closes with 1008, got {other:?}"),
    }
    app.stop().await;
}

/// Two nodes, frames a second per socket: 5 (bursts of 10).
async fn nodes() -> (TestApp, TestApp) {
    two_nodes(|c| c.ws_frames_per_sec = 5).await
}

/// The next frames on `socket` (presence aside) up to and including a `new_message`.
async fn frames_through_next_message(socket: &mut WsClient) -> Vec<Value> {
    let mut seen: Vec<Value> = Vec::new();
    while seen.last().is_none_or(|f| f["type"] != "new_message") {
        let frame = socket.recv().await;
        if frame["type"] != "user_status" {
            seen.push(frame);
        }
    }
    seen
}

/// Alarms 1 and 2 with the announcement crossing from node a to node b.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_created_reaches_each_other_member_once_across_two_nodes() {
    let (first, second) = nodes().await;
    let laptop = first.signed_in("alice").await;
    let phone = second.login("alice", PASSWORD).await;
    second.register_verified("bob").await;
    let bob = second.login("bob", PASSWORD).await;
    let carol = first.signed_in("carol").await;
    let (mut laptop_socket, _) = WsClient::signed_in(&first, &laptop.access).await;
    let (mut phone_socket, _) = WsClient::signed_in(&second, &phone.access).await;
    let (mut bob_socket, _) = WsClient::signed_in(&second, &bob.access).await;
    let (mut carol_socket, _) = WsClient::signed_in(&first, &carol.access).await;

    // Created on node a, then announced by the client there, then a message from the same socket:
    // events from one node arrive in order, so Bob's frames on node b end with the message.
    let group = first.create_group(&laptop.access, "Across", &["bob", "carol"]).await;
    assert_eq!(bob_socket.recv_type("chat_created").await, announced(group, "alice"));
    bob_socket.send(json!({"type": "join_chat", "chatID": group})).await;
    bob_socket.sync().await;
    laptop_socket.send(client_announces(group, "alice")).await;
    laptop_socket.send(json!({"type": "post_msg", "chatID": group, "text": "announced once"})).await;
    let seen = frames_through_next_message(&mut bob_socket).await;
    assert_eq!(seen.len(), 1, "no second chat_created: {seen:?}");
    assert_eq!(seen[0]["message"], "announced once");
    assert_eq!(carol_socket.recv_type("chat_created").await, announced(group, "alice"));
    carol_socket.expect_quiet(300).await;

    // Each node delivered each event to all its sockets at once: a barrier there shows the rest.
    assert_eq!(phone_socket.frames_before_barrier().await, Vec::<Value>::new(), "the creator, on node b");
    assert_eq!(laptop_socket.frames_before_barrier().await, Vec::<Value>::new(), "the creator, on node a");
    second.stop().await;
    first.stop().await;
}

/// Alarm 3: logging out everywhere from the laptop through node b; the laptop's socket is on node a.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_logout_closes_the_own_socket_normally_across_two_nodes() {
    let (first, second) = nodes().await;
    let laptop = first.signed_in("alice").await;
    let phone = second.login("alice", PASSWORD).await;
    let (mut laptop_socket, _) = WsClient::signed_in(&first, &laptop.access).await;
    let (mut phone_socket, _) = WsClient::signed_in(&second, &phone.access).await;
    let reply = second.post("/user/logout-all", json!({"session_token": laptop.access})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(phone_socket.ended(Duration::from_secs(1)).await, session_ended());
    assert_eq!(laptop_socket.ended(WAIT).await, logged_out());

    let tablet = second.login("alice", PASSWORD).await;
    let (mut tablet_socket, _) = WsClient::signed_in(&first, &tablet.access).await;
    let reply = second.post("/user/logout", json!({"session_token": tablet.access})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(tablet_socket.ended(WAIT).await, logged_out());
    second.stop().await;
    first.stop().await;
}

/// Alarm 4: a held key on node a, relayed to node b once, and the socket stays open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_typing_key_never_closes_the_socket_across_two_nodes() {
    let (first, second) = nodes().await;
    let alice = first.signed_in("alice").await;
    second.register_verified("bob").await;
    let bob = second.login("bob", PASSWORD).await;
    let chat = first.create_chat(&alice.access, "bob").await;
    let (mut alice_socket, _) = WsClient::signed_in(&first, &alice.access).await;
    let (mut bob_socket, _) = WsClient::signed_in(&second, &bob.access).await;
    bob_socket.send(json!({"type": "join_chat", "chatID": chat})).await;
    bob_socket.sync().await;
    for _ in 0..40 {
        alice_socket.send(json!({"type": "typing", "chatID": chat})).await;
    }
    alice_socket.send(json!({"type": "post_msg", "chatID": chat, "text": "typed it"})).await;
    let seen = frames_through_next_message(&mut bob_socket).await;
    assert_eq!(seen[0], json!({"type": "user_typing", "username": "alice", "chatID": chat}));
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1]["message"], "typed it");
    assert_eq!(alice_socket.frames_before_barrier().await, Vec::<Value>::new());
    second.stop().await;
    first.stop().await;
}
