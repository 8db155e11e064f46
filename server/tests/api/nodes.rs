//! Several nodes: two Hearth servers sharing one PostgreSQL database and linked by NATS deliver
//! every live event to clients on either node.

use std::time::Duration;

use serde_json::json;

use hearth::config::ServeArgs;

use crate::helpers::{spawn_app_with, Backend, TestApp, PASSWORD};
use crate::ws_client::{Ended, WsClient};

fn nats_url() -> String {
    std::env::var("HEARTH_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// Two nodes on one PostgreSQL database, linked by NATS on a subject of their own; `adjust`
/// configures both.
pub async fn two_nodes(adjust: impl Fn(&mut ServeArgs)) -> (TestApp, TestApp) {
    let subject = format!("hearth.test.{:016x}", rand::random::<u64>());
    let first = spawn_app_with(Backend::Postgres, |c| {
        c.nats_url = Some(nats_url());
        c.nats_subject = subject.clone();
        c.node_id = Some("node-a".into());
        adjust(c);
    })
    .await;
    let shared_database = first.database_url.clone();
    let second = spawn_app_with(Backend::Postgres, |c| {
        c.storage.database_url = Some(shared_database.clone());
        c.nats_url = Some(nats_url());
        c.nats_subject = subject.clone();
        c.node_id = Some("node-b".into());
        adjust(c);
    })
    .await;
    (first, second)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_database_deliver_across_nodes() {
    let (first, second) = two_nodes(|_| {}).await;

    // Accounts made on one node work on the other: the database is shared.
    let alice = first.signed_in("alice").await;
    second.register_verified("bob").await;
    let bob = second.login("bob", PASSWORD).await;
    let carol = first.signed_in("carol").await;
    let group = first.create_group(&alice.access, "Across", &["bob", "carol"]).await;

    let (mut alice_socket, _) = WsClient::signed_in(&first, &alice.access).await;
    alice_socket.send(json!({"type": "join_chat", "chatID": group})).await;
    alice_socket.sync().await;
    let (mut bob_socket, _) = WsClient::signed_in(&second, &bob.access).await;
    // Presence crosses nodes.
    assert_eq!(alice_socket.recv().await, json!({"type": "user_status", "username": "bob", "online": true}));
    bob_socket.send(json!({"type": "join_chat", "chatID": group})).await;
    bob_socket.sync().await;
    let (_, online) = WsClient::signed_in(&first, &carol.access).await;
    assert_eq!(online, ["alice", "bob", "carol"], "who is online counts both nodes");

    // Messages, both ways.
    bob_socket.send(json!({"type": "post_msg", "chatID": group, "text": "from node b", "nonce": "b1"})).await;
    assert_eq!(alice_socket.recv_type("new_message").await["message"], "from node b");
    // Bob gets his ack and his own message (over NATS, in either order).
    let mut own = Vec::new();
    while own.len() < 2 {
        let frame = bob_socket.recv().await;
        if frame["type"] != "user_status" {
            own.push(frame["type"].clone());
        }
    }
    own.sort_by_key(|t| t.to_string());
    assert_eq!(own, [json!("ack"), json!("new_message")]);
    let id = first.post_message(&alice.access, group, "from node a").await;
    let frame = bob_socket.recv_type("new_message").await;
    assert_eq!((frame["messageID"].as_i64(), frame["message"].as_str()), (Some(id), Some("from node a")));
    // Edits and typing.
    alice_socket.send(json!({"type": "typing", "chatID": group})).await;
    assert_eq!(bob_socket.recv_type("user_typing").await["username"], "alice");
    alice_socket.send(json!({"type": "edit_msg", "chatID": group, "messageID": id, "text": "edited on a"})).await;
    assert_eq!(bob_socket.recv_type("edited_message").await["message"], "edited on a");

    // Membership: removed on node a, Bob on node b stops receiving.
    let reply = first
        .post("/chat/remove-members", json!({"session_token": alice.access, "chatID": group, "members": ["bob"]}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    tokio::time::sleep(Duration::from_millis(200)).await;
    first.post_message(&alice.access, group, "bob is out").await;
    bob_socket.expect_quiet(500).await;
    // Back in the group, so Alice follows his presence again.
    first.post("/chat/add-members", json!({"session_token": alice.access, "chatID": group, "members": ["bob"]})).await;

    // Revocation: logging out everywhere from another device, on node a, closes Bob's socket on node b.
    let elsewhere = first.login("bob", PASSWORD).await;
    let reply = first.post("/user/logout-all", json!({"session_token": elsewhere.access})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(matches!(bob_socket.ended(Duration::from_secs(1)).await, Some(Ended::Closed { code: 1008, .. })));
    // And Bob shows as offline on node a.
    assert_eq!(
        alice_socket.recv_until("user_status").await,
        json!({"type": "user_status", "username": "bob", "online": false})
    );

    second.stop().await;
    first.stop().await;
}
