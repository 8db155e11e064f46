//! Voice calls: ringing, answering, declining and hanging up on `/ws`; who may; the ring timeout;
//! the token routes; call sockets relaying JSON among participants, or LiveKit's signalling
//! through a stand-in LiveKit; a LiveKit that is down or silent; and all of it across two nodes.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp, Tokens};
use crate::livekit_standin::{refused_url, verified_claims, LiveKitStandIn, SilentServer, API_KEY, API_SECRET};
use crate::on_both_backends;
use crate::ws_client::{Ended, WsClient};

on_both_backends!(
    ringing_answering_and_hanging_up_reach_every_member,
    declines_cancels_and_group_calls,
    strangers_unknown_and_ended_calls_are_refused,
    unanswered_calls_stop_ringing,
    call_tokens_over_http_on_both_surfaces,
    call_sockets_relay_json_among_participants,
    call_sockets_relay_livekit_signalling_both_ways,
    a_livekit_that_is_down_or_silent_gets_a_clear_call_error,
    oversized_frames_close_call_sockets,
    joining_a_chat_mid_call_tells_of_the_call,
);

const WAIT: Duration = Duration::from_secs(5);

/// Alice and Bob, signed in, sharing a 1:1 chat.
async fn pair(app: &TestApp) -> (Tokens, Tokens, i64) {
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    let chat = app.create_chat(&alice.access, "bob").await;
    (alice, bob, chat)
}

/// The user id inside one of Hearth's access tokens.
fn user_id(tokens: &Tokens) -> String {
    let token = jsonwebtoken::dangerous::insecure_decode::<Value>(&tokens.access).expect("an access token");
    token.claims["sub"].as_str().expect("sub").to_string()
}

fn with_livekit(url: Option<String>) -> impl FnOnce(&mut hearth::config::ServeArgs) {
    move |c| {
        c.livekit_url = url;
        c.livekit_api_key = Some(API_KEY.into());
        c.livekit_api_secret = Some(API_SECRET.into());
    }
}

/// Rings `chat` from `socket` and returns the new call's id (frames before the answer are skipped).
async fn ring(socket: &mut WsClient, chat: i64) -> String {
    socket.send(json!({"type": "call_invite", "chatID": chat})).await;
    let own = socket.recv_until("call_invite").await;
    own["call_id"].as_str().expect("call_id").to_string()
}

/// A call socket, authenticated.
async fn call_socket(app: &TestApp, path: &str, tokens: &Tokens) -> WsClient {
    let mut socket = WsClient::connect_to(app, path).await;
    socket.send(json!({"type": "auth", "token": tokens.access})).await;
    socket
}

/// Waits until the relay handles this socket's frames: a frame that is not JSON always gets a
/// `call_error` back, once the socket is in the call.
async fn call_sync(socket: &mut WsClient) {
    socket.send_raw(Message::Text("sync".into())).await;
    assert_eq!(socket.recv().await["code"], "BAD_FRAME");
}

async fn ringing_answering_and_hanging_up_reach_every_member(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob, chat) = pair(&app).await;
    let (mut alice_ws, _) = WsClient::signed_in(&app, &alice.access).await;
    let (mut bob_ws, _) = WsClient::signed_in(&app, &bob.access).await;

    alice_ws.send(json!({"type": "call_invite", "chatID": chat})).await;
    let own = alice_ws.recv_type("call_invite").await;
    let call_id = own["call_id"].as_str().expect("call_id").to_string();
    let invite = json!({
        "type": "call_invite", "chatID": chat, "call_id": call_id, "caller": "alice", "lk_token": null, "lk_url": null
    });
    assert_eq!(own, invite, "the caller learns the call id");
    assert_eq!(bob_ws.recv_type("call_invite").await, invite);
    alice_ws.expect_quiet(200).await;

    bob_ws.send(json!({"type": "call_accept", "chatID": chat, "call_id": call_id})).await;
    let accepted = json!({
        "type": "call_accepted", "chatID": chat, "call_id": call_id, "accepted_by": "bob", "lk_token": null, "lk_url": null
    });
    assert_eq!(alice_ws.recv_type("call_accepted").await, accepted);
    assert_eq!(bob_ws.recv_type("call_accepted").await, accepted);
    // Accepting again changes nothing: only Bob hears back.
    bob_ws.send(json!({"type": "call_accept", "chatID": chat, "call_id": call_id})).await;
    assert_eq!(bob_ws.recv_type("call_accepted").await, accepted);
    alice_ws.expect_quiet(200).await;

    // One call per chat: a second is refused, naming the live one.
    bob_ws.send(json!({"type": "call_invite", "chatID": chat})).await;
    assert_eq!(
        bob_ws.recv_type("call_error").await,
        json!({
            "type": "call_error", "chatID": chat, "code": "CALL_IN_PROGRESS",
            "message": "A call is already going on in this chat.", "call_id": call_id
        })
    );

    // In a call of two, a hang-up ends it for both.
    alice_ws.send(json!({"type": "call_end", "chatID": chat})).await;
    let ended = json!({
        "type": "call_ended", "chatID": chat, "call_id": call_id, "ended_by": "alice", "initiator": "alice",
        "reason": "hangup"
    });
    assert_eq!(alice_ws.recv_type("call_ended").await, ended);
    assert_eq!(bob_ws.recv_type("call_ended").await, ended);
    bob_ws.send(json!({"type": "call_end", "chatID": chat})).await;
    let error = bob_ws.recv_type("call_error").await;
    assert_eq!((error["code"].as_str(), error["chatID"].as_i64()), (Some("CALL_NOT_FOUND"), Some(chat)));

    // The chat can ring again.
    let again = ring(&mut bob_ws, chat).await;
    assert_ne!(again, call_id);
    assert_eq!(alice_ws.recv_type("call_invite").await["caller"], "bob");
    app.stop().await;
}

async fn declines_cancels_and_group_calls(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob, chat) = pair(&app).await;
    let carol = app.signed_in("carol").await;
    let dave = app.signed_in("dave").await;
    let (mut alice_ws, _) = WsClient::signed_in(&app, &alice.access).await;
    let (mut bob_ws, _) = WsClient::signed_in(&app, &bob.access).await;

    // 1:1: the one person who could answer declines, and the call is over.
    let call_id = ring(&mut alice_ws, chat).await;
    bob_ws.recv_type("call_invite").await;
    bob_ws.send(json!({"type": "call_decline", "chatID": chat})).await;
    let declined =
        json!({"type": "call_declined", "chatID": chat, "call_id": call_id, "by": "bob", "initiator": "alice"});
    assert_eq!(alice_ws.recv_type("call_declined").await, declined);
    assert_eq!(bob_ws.recv_type("call_declined").await, declined);
    let ended = alice_ws.recv_type("call_ended").await;
    assert_eq!((ended["ended_by"].as_str(), ended["reason"].as_str()), (Some("bob"), Some("declined")));
    bob_ws.recv_type("call_ended").await;

    // The caller hangs up before anyone answers: cancelled.
    let call_id = ring(&mut alice_ws, chat).await;
    bob_ws.recv_type("call_invite").await;
    alice_ws.send(json!({"type": "call_end", "chatID": chat})).await;
    let ended = bob_ws.recv_type("call_ended").await;
    assert_eq!(
        (ended["call_id"].as_str(), ended["ended_by"].as_str(), ended["reason"].as_str()),
        (Some(call_id.as_str()), Some("alice"), Some("cancelled"))
    );
    alice_ws.recv_type("call_ended").await;

    // A group: one decline leaves it ringing for the others; it ends when fewer than two are left.
    let group = app.create_group(&alice.access, "Band", &["bob", "carol", "dave"]).await;
    bob_ws.recv_type("chat_created").await;
    let (mut carol_ws, _) = WsClient::signed_in(&app, &carol.access).await;
    let (mut dave_ws, _) = WsClient::signed_in(&app, &dave.access).await;
    let call_id = ring(&mut alice_ws, group).await;
    for socket in [&mut bob_ws, &mut carol_ws, &mut dave_ws] {
        assert_eq!(socket.recv_type("call_invite").await["call_id"], call_id.as_str());
    }
    dave_ws.send(json!({"type": "call_decline", "chatID": group})).await;
    for socket in [&mut alice_ws, &mut bob_ws, &mut carol_ws, &mut dave_ws] {
        assert_eq!(socket.recv_type("call_declined").await["by"], "dave");
    }
    for socket in [&mut bob_ws, &mut carol_ws] {
        socket.send(json!({"type": "call_accept", "chatID": group, "call_id": call_id})).await;
        socket.recv_type("call_accepted").await;
    }
    alice_ws.recv_type("call_accepted").await;
    alice_ws.recv_type("call_accepted").await;
    alice_ws.send(json!({"type": "call_end", "chatID": group})).await;
    alice_ws.expect_quiet(300).await; // Bob and Carol are still talking.
    carol_ws.send(json!({"type": "call_end", "chatID": group})).await;
    let ended = bob_ws.recv_until("call_ended").await;
    assert_eq!((ended["ended_by"].as_str(), ended["reason"].as_str()), (Some("carol"), Some("hangup")));
    assert_eq!(alice_ws.recv_type("call_ended").await["call_id"], call_id.as_str());
    app.stop().await;
}

async fn strangers_unknown_and_ended_calls_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob, chat) = pair(&app).await;
    let eve = app.signed_in("eve").await;
    let (mut alice_ws, _) = WsClient::signed_in(&app, &alice.access).await;
    let (mut eve_ws, _) = WsClient::signed_in(&app, &eve.access).await;
    let call_id = ring(&mut alice_ws, chat).await;

    // Only members ring, answer, decline, hang up or join.
    for frame in [
        json!({"type": "call_invite", "chatID": chat}),
        json!({"type": "call_accept", "chatID": chat, "call_id": call_id}),
        json!({"type": "call_decline", "chatID": chat}),
        json!({"type": "call_end", "chatID": chat}),
    ] {
        eve_ws.send(frame.clone()).await;
        let error = eve_ws.recv_type("call_error").await;
        assert_eq!(error["code"], "ACCESS_DENIED", "{frame}: {error}");
        assert_eq!(error["message"], "You are not a member of this chat.");
    }
    let mut eve_call = call_socket(&app, &format!("/ws/call/{call_id}"), &eve).await;
    let refused = eve_call.recv().await;
    assert_eq!((refused["type"].as_str(), refused["code"].as_str()), (Some("call_ws_error"), Some("ACCESS_DENIED")));
    assert_eq!(refused["call_id"], call_id.as_str());
    assert_eq!(eve_call.close_code().await, 1008);
    let body = json!({"session_token": eve.access, "call_id": call_id});
    app.post("/chat/call-token", body).await.assert_chatcli_error(403, "You are not a member of this call's chat.");
    app.post_bearer("/api/calls/token", &eve.access, json!({"callId": call_id}))
        .await
        .assert_nchat_error(403, "FORBIDDEN");

    // Unknown call ids.
    let unknown = "0123456789abcdef0123456789abcdef";
    alice_ws.send(json!({"type": "call_accept", "chatID": chat, "call_id": unknown})).await;
    assert_eq!(alice_ws.recv_type("call_error").await["code"], "CALL_NOT_FOUND");
    for id in [unknown, "not%20an%20id", "x"] {
        let mut socket = call_socket(&app, &format!("/ws/call/{id}"), &alice).await;
        assert_eq!(socket.recv().await["code"], "CALL_NOT_FOUND", "{id}");
        assert_eq!(socket.close_code().await, 1008);
    }
    let body = json!({"session_token": alice.access, "call_id": unknown});
    app.post("/chat/call-token", body).await.assert_chatcli_error(404, "Call not found.");
    app.post_bearer("/api/calls/token", &alice.access, json!({"callId": unknown}))
        .await
        .assert_nchat_error(404, "NOT_FOUND");
    let body = json!({"call_id": call_id});
    assert_eq!(app.post("/chat/call-token", body).await.status, 401);

    // Frames before auth, and bad call frames on /ws.
    let mut early = WsClient::connect_to(&app, &format!("/ws/call/{call_id}")).await;
    early.send(json!({"type": "offer", "sdp": "v=0"})).await;
    assert_eq!(early.close_code().await, 1008);
    alice_ws.send(json!({"type": "call_accept", "chatID": chat})).await;
    let error = alice_ws.recv_type("error").await;
    assert_eq!(error["message"], "Invalid call_accept frame: missing field `call_id`.");

    // Ended calls can be neither answered nor joined.
    alice_ws.send(json!({"type": "call_end", "chatID": chat})).await;
    alice_ws.recv_type("call_ended").await;
    let (mut bob_ws, _) = WsClient::signed_in(&app, &bob.access).await;
    bob_ws.send(json!({"type": "call_accept", "chatID": chat, "call_id": call_id})).await;
    assert_eq!(bob_ws.recv_type("call_error").await["code"], "CALL_NOT_ACTIVE");
    let mut late = call_socket(&app, &format!("/ws/call/{call_id}"), &bob).await;
    assert_eq!(late.recv().await["code"], "CALL_NOT_ACTIVE");
    assert_eq!(late.close_code().await, 1008);
    let body = json!({"session_token": bob.access, "call_id": call_id});
    app.post("/chat/call-token", body).await.assert_chatcli_error(409, "This call has ended.");

    // Guests read but do not ring.
    let output = app.hearth_command(&["user", "set-role", "bob", "guest"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let (mut guest_ws, _) = WsClient::signed_in(&app, &bob.access).await;
    guest_ws.send(json!({"type": "call_invite", "chatID": chat})).await;
    assert_eq!(guest_ws.recv_type("call_error").await["message"], "Guests cannot start calls.");
    app.stop().await;
}

async fn unanswered_calls_stop_ringing(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.call_ring_secs = 1).await;
    let (alice, bob, chat) = pair(&app).await;
    let (mut alice_ws, _) = WsClient::signed_in(&app, &alice.access).await;
    let (mut bob_ws, _) = WsClient::signed_in(&app, &bob.access).await;
    let started = Instant::now();
    let call_id = ring(&mut alice_ws, chat).await;
    bob_ws.recv_type("call_invite").await;
    let ended = json!({
        "type": "call_ended", "chatID": chat, "call_id": call_id, "ended_by": null, "initiator": "alice",
        "reason": "timeout"
    });
    assert_eq!(bob_ws.recv_type("call_ended").await, ended);
    assert_eq!(alice_ws.recv_type("call_ended").await, ended);
    assert!(started.elapsed() >= Duration::from_secs(1), "rang for the ring time first");
    // Ended once only.
    alice_ws.expect_quiet(1500).await;
    // An answered call is not cut off by the ring timeout.
    let call_id = ring(&mut alice_ws, chat).await;
    bob_ws.send(json!({"type": "call_accept", "chatID": chat, "call_id": call_id})).await;
    alice_ws.recv_type("call_accepted").await;
    alice_ws.expect_quiet(2500).await;
    app.stop().await;
}

async fn call_tokens_over_http_on_both_surfaces(backend: Backend) {
    let app = spawn_app_with(backend, with_livekit(Some("wss://livekit.example.org".into()))).await;
    let (alice, bob, chat) = pair(&app).await;
    let (mut alice_ws, _) = WsClient::signed_in(&app, &alice.access).await;
    let (mut bob_ws, _) = WsClient::signed_in(&app, &bob.access).await;
    alice_ws.send(json!({"type": "call_invite", "chatID": chat})).await;
    let own = alice_ws.recv_type("call_invite").await;
    let call_id = own["call_id"].as_str().expect("call_id").to_string();
    let room = format!("hearth-call-{call_id}");

    // Each recipient's frame carries their own token.
    assert_eq!(own["lk_url"], "wss://livekit.example.org");
    let claims = verified_claims(own["lk_token"].as_str().expect("lk_token"));
    assert_eq!((claims["sub"].as_str(), claims["name"].as_str()), (Some(user_id(&alice).as_str()), Some("alice")));
    let invite = bob_ws.recv_type("call_invite").await;
    let claims = verified_claims(invite["lk_token"].as_str().expect("lk_token"));
    assert_eq!((claims["sub"].as_str(), claims["name"].as_str()), (Some(user_id(&bob).as_str()), Some("bob")));
    assert_eq!(claims["iss"], API_KEY);
    assert_eq!(claims["video"]["room"], room.as_str());
    assert_eq!(claims["video"]["roomJoin"], true);
    assert_eq!(
        (claims["video"]["canPublish"].as_bool(), claims["video"]["canSubscribe"].as_bool()),
        (Some(true), Some(true))
    );
    let lifetime = claims["exp"].as_i64().unwrap_or_default() - claims["nbf"].as_i64().unwrap_or_default();
    assert!((600..=601).contains(&lifetime), "a short-lived token: {lifetime} s");

    // ChatCLI's route.
    let reply =
        app.post("/chat/call-token", json!({"session_token": bob.access, "chatID": chat, "call_id": call_id})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["call_id"], call_id.as_str());
    assert_eq!((reply.field("lk_url"), reply.field("room")), ("wss://livekit.example.org", room.as_str()));
    assert_eq!(verified_claims(reply.field("lk_token"))["sub"], user_id(&bob).as_str());
    let reply = app.post_bearer("/chat/call-token", &bob.access, json!({"call_id": call_id})).await;
    assert_eq!(reply.status, 200, "chatID is optional, the token may be a header: {}", reply.text);
    let other_chat = app.create_group(&bob.access, "Other", &["alice"]).await;
    let wrong = json!({"session_token": bob.access, "chatID": other_chat, "call_id": call_id});
    app.post("/chat/call-token", wrong).await.assert_chatcli_error(404, "Call not found.");

    // nchat's route.
    let reply = app.post_bearer("/api/calls/token", &bob.access, json!({"callId": call_id})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["success"], true);
    let data = &reply.body["data"];
    assert_eq!((data["callId"].as_str(), data["room"].as_str()), (Some(call_id.as_str()), Some(room.as_str())));
    assert_eq!((data["url"].as_str(), data["expiresIn"].as_u64()), (Some("wss://livekit.example.org"), Some(600)));
    assert_eq!(verified_claims(data["token"].as_str().expect("token"))["name"], "bob");
    app.post_bearer("/api/calls/token", "forged", json!({"callId": call_id}))
        .await
        .assert_nchat_error(401, "INVALID_TOKEN");
    app.stop().await;

    // Without LiveKit the routes still answer, with no token.
    let app = spawn_app(backend).await;
    let (alice, _bob, chat) = pair(&app).await;
    let (mut alice_ws, _) = WsClient::signed_in(&app, &alice.access).await;
    let call_id = ring(&mut alice_ws, chat).await;
    let reply = app.post("/chat/call-token", json!({"session_token": alice.access, "call_id": call_id})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!((reply.body["lk_token"].is_null(), reply.body["lk_url"].is_null()), (true, true));
    app.stop().await;
}

async fn call_sockets_relay_json_among_participants(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob, chat) = pair(&app).await;
    let (mut alice_ws, _) = WsClient::signed_in(&app, &alice.access).await;
    let (mut bob_ws, _) = WsClient::signed_in(&app, &bob.access).await;
    let call_id = ring(&mut alice_ws, chat).await;
    bob_ws.recv_type("call_invite").await;

    let mut alice_call = call_socket(&app, &format!("/ws/call/{call_id}"), &alice).await;
    call_sync(&mut alice_call).await;
    // Bob joins at the reference's path; joining answers the call.
    let mut bob_call = call_socket(&app, &format!("/call/{call_id}"), &bob).await;
    call_sync(&mut bob_call).await;
    assert_eq!(alice_ws.recv_type("call_accepted").await["accepted_by"], "bob");
    bob_ws.recv_type("call_accepted").await;

    let offer = json!({"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n", "note": "héllo ✓"});
    alice_call.send(offer.clone()).await;
    assert_eq!(bob_call.recv().await, offer, "relayed as sent");
    let answer = json!({"type": "answer", "sdp": "v=0"});
    bob_call.send(answer.clone()).await;
    assert_eq!(alice_call.recv().await, answer);
    alice_call.expect_quiet(200).await; // never echoed to the sender

    // What is not a JSON object is refused, and the socket stays.
    alice_call.send_raw(Message::Binary(vec![1, 2, 3].into())).await;
    let error = alice_call.recv().await;
    assert_eq!(
        error,
        json!({
            "type": "call_error", "chatID": chat, "code": "BAD_FRAME", "message": "Call frames must be JSON objects.",
            "call_id": call_id
        })
    );
    bob_call.expect_quiet(200).await;

    // A peer that disconnects: the others hear `leave`; the call goes on while someone is in it.
    bob_call.close().await;
    assert_eq!(alice_call.recv().await, json!({"type": "leave"}));
    bob_ws.expect_quiet(300).await;
    // The last one out ends it.
    alice_call.close().await;
    let ended = bob_ws.recv_type("call_ended").await;
    assert_eq!((ended["call_id"].as_str(), ended["reason"].as_str()), (Some(call_id.as_str()), Some("empty")));

    // Ending a call closes its sockets.
    let call_id = ring(&mut alice_ws, chat).await;
    let mut alice_call = call_socket(&app, &format!("/ws/call/{call_id}"), &alice).await;
    call_sync(&mut alice_call).await;
    let mut bob_call = call_socket(&app, &format!("/ws/call/{call_id}"), &bob).await;
    call_sync(&mut bob_call).await;
    bob_ws.send(json!({"type": "call_end", "chatID": chat})).await;
    for socket in [&mut alice_call, &mut bob_call] {
        match socket.ended(WAIT).await {
            Some(Ended::Closed { code, reason }) => assert_eq!((code, reason.as_str()), (1000, "call ended")),
            other => panic!("an ended call closes its sockets, got {other:?}"),
        }
    }

    // Logging out closes one's call sockets too, normally: it is the client's own doing.
    let call_id = ring(&mut alice_ws, chat).await;
    let mut alice_call = call_socket(&app, &format!("/ws/call/{call_id}"), &alice).await;
    call_sync(&mut alice_call).await;
    app.post("/user/logout", json!({"session_token": alice.access})).await;
    assert_eq!(alice_call.close_code().await, 1000);
    app.stop().await;
}

async fn call_sockets_relay_livekit_signalling_both_ways(backend: Backend) {
    let mut livekit = LiveKitStandIn::start().await;
    let app = spawn_app_with(backend, with_livekit(Some(livekit.url.clone()))).await;
    let (alice, bob, chat) = pair(&app).await;
    let (mut alice_ws, _) = WsClient::signed_in(&app, &alice.access).await;
    let call_id = ring(&mut alice_ws, chat).await;

    // Hearth opens LiveKit's signalling for Alice, with a token of its own.
    let mut alice_call =
        call_socket(&app, &format!("/ws/call/{call_id}?protocol=15&access_token=forged"), &alice).await;
    let mut alice_side = livekit.next_session().await;
    assert_eq!(alice_side.path, "/rtc");
    assert_eq!(alice_side.query.get("protocol").map(String::as_str), Some("15"), "the client's own parameters pass");
    let claims = alice_side.claims();
    assert_eq!(claims["iss"], API_KEY);
    assert_eq!((claims["sub"].as_str(), claims["name"].as_str()), (Some(user_id(&alice).as_str()), Some("alice")));
    let video = &claims["video"];
    assert_eq!(video["room"], format!("hearth-call-{call_id}").as_str());
    assert_eq!((video["roomJoin"].as_bool(), video["canPublish"].as_bool()), (Some(true), Some(true)));
    assert_eq!((video["canSubscribe"].as_bool(), video["canPublishData"].as_bool()), (Some(true), Some(true)));

    // Byte for byte, both ways, binary and text.
    let every_byte: Vec<u8> = (0..=255).collect();
    let text = "{\"signal\":\"offer\",\"sdp\":\"v=0\\r\\n\",\"note\":\"héllo ✓\"}";
    alice_call.send_raw(Message::Binary(every_byte.clone().into())).await;
    assert_eq!(alice_side.recv().await, Message::Binary(every_byte.clone().into()));
    alice_call.send_raw(Message::Text(text.into())).await;
    assert_eq!(alice_side.recv().await, Message::Text(text.into()));
    let backwards: Vec<u8> = every_byte.iter().rev().copied().collect();
    alice_side.send(Message::Binary(backwards.clone().into())).await;
    assert_eq!(alice_call.next_message(WAIT).await, Some(Message::Binary(backwards.into())));
    alice_side.send(Message::Text(text.into())).await;
    assert_eq!(alice_call.next_message(WAIT).await, Some(Message::Text(text.into())));

    // Bob joins through the reference's path: that answers the call.
    let mut bob_call = call_socket(&app, &format!("/call/{call_id}"), &bob).await;
    let mut bob_side = livekit.next_session().await;
    assert_eq!(bob_side.claims()["sub"], user_id(&bob).as_str());
    assert_eq!(alice_ws.recv_type("call_accepted").await["accepted_by"], "bob");

    // The client closes: LiveKit gets the same close frame, and the client its answer.
    let bye = CloseFrame { code: CloseCode::Normal, reason: "bye".into() };
    alice_call.send_raw(Message::Close(Some(bye))).await;
    assert_eq!(alice_side.closed().await, (1000, "bye".to_string()));
    assert_eq!(alice_call.ended(WAIT).await, Some(Ended::Closed { code: 1000, reason: "bye".into() }));
    // LiveKit closes: the client gets LiveKit's close frame.
    let gone = CloseFrame { code: CloseCode::from(4000), reason: "room closed".into() };
    bob_side.send(Message::Close(Some(gone))).await;
    assert_eq!(bob_call.ended(WAIT).await, Some(Ended::Closed { code: 4000, reason: "room closed".into() }));
    // Nobody is left in the call.
    assert_eq!(alice_ws.recv_type("call_ended").await["reason"], "empty");
    app.stop().await;
}

async fn a_livekit_that_is_down_or_silent_gets_a_clear_call_error(backend: Backend) {
    let silent = SilentServer::start().await;
    for url in [refused_url().await, format!("ws://{}", silent.addr), format!("wss://{}", silent.addr)] {
        let app = spawn_app_with(backend, |c| {
            with_livekit(Some(url.clone()))(c);
            c.livekit_connect_timeout_secs = 1;
        })
        .await;
        let (alice, _bob, chat) = pair(&app).await;
        let (mut alice_ws, _) = WsClient::signed_in(&app, &alice.access).await;
        let call_id = ring(&mut alice_ws, chat).await;
        let started = Instant::now();
        let mut alice_call = call_socket(&app, &format!("/ws/call/{call_id}"), &alice).await;
        let error = alice_call.recv().await;
        assert_eq!(
            (error["type"].as_str(), error["code"].as_str(), error["call_id"].as_str()),
            (Some("call_error"), Some("LIVEKIT_UNAVAILABLE"), Some(call_id.as_str())),
            "{url}: {error}"
        );
        assert!(error["message"].as_str().is_some_and(|m| m.contains("voice server")), "{error}");
        match alice_call.ended(WAIT).await {
            Some(Ended::Closed { code, reason }) => {
                assert_eq!((code, reason.as_str()), (1013, "voice server unavailable"))
            }
            other => panic!("{url}: expected a 1013 close, got {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(3), "{url}: nothing hangs ({:?})", started.elapsed());
        app.stop().await;
    }
}

async fn oversized_frames_close_call_sockets(backend: Backend) {
    let mut livekit = LiveKitStandIn::start().await;
    let limits = |c: &mut hearth::config::ServeArgs| c.ws_max_frame_bytes = 16 * 1024;
    // Relayed JSON.
    let app = spawn_app_with(backend, limits).await;
    let (alice, _bob, chat) = pair(&app).await;
    let (mut alice_ws, _) = WsClient::signed_in(&app, &alice.access).await;
    let call_id = ring(&mut alice_ws, chat).await;
    let mut alice_call = call_socket(&app, &format!("/ws/call/{call_id}"), &alice).await;
    call_sync(&mut alice_call).await;
    alice_call.send_raw(Message::Text(format!("{{\"x\":\"{}\"}}", "x".repeat(20 * 1024)).into())).await;
    assert_eq!(alice_call.close_code().await, 1009);
    app.stop().await;

    // Through LiveKit: the client is closed with 1009, LiveKit told the client went away.
    let app = spawn_app_with(backend, |c| {
        limits(c);
        with_livekit(Some(livekit.url.clone()))(c);
    })
    .await;
    let (alice, _bob, chat) = pair(&app).await;
    let (mut alice_ws, _) = WsClient::signed_in(&app, &alice.access).await;
    let call_id = ring(&mut alice_ws, chat).await;
    let mut alice_call = call_socket(&app, &format!("/ws/call/{call_id}"), &alice).await;
    let mut alice_side = livekit.next_session().await;
    alice_call.send_raw(Message::Binary(vec![7; 20 * 1024].into())).await;
    assert_eq!(alice_call.close_code().await, 1009);
    assert_eq!(alice_side.closed().await.0, 1001);
    app.stop().await;
}

fn nats_url() -> String {
    std::env::var("HEARTH_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_ring_answer_relay_and_time_out_across_two_nodes() {
    let subject = format!("hearth.test.{:016x}", rand::random::<u64>());
    let node = |name: &'static str, database: Option<String>| {
        let subject = subject.clone();
        move |c: &mut hearth::config::ServeArgs| {
            with_livekit(None)(c);
            if database.is_some() {
                c.storage.database_url = database;
            }
            c.nats_url = Some(nats_url());
            c.nats_subject = subject;
            c.node_id = Some(name.into());
            c.call_ring_secs = 2;
        }
    };
    let first = spawn_app_with(Backend::Postgres, node("node-a", None)).await;
    let second = spawn_app_with(Backend::Postgres, node("node-b", Some(first.database_url.clone()))).await;
    let (alice, bob, chat) = pair(&first).await;
    let (mut alice_ws, _) = WsClient::signed_in(&first, &alice.access).await;
    let (mut bob_ws, _) = WsClient::signed_in(&second, &bob.access).await;

    // Rung on node a, heard on node b with a token node b minted for Bob.
    let call_id = ring(&mut alice_ws, chat).await;
    let invite = bob_ws.recv_type("call_invite").await;
    assert_eq!(invite["call_id"], call_id.as_str());
    assert_eq!(verified_claims(invite["lk_token"].as_str().expect("lk_token"))["sub"], user_id(&bob).as_str());
    bob_ws.send(json!({"type": "call_accept", "chatID": chat, "call_id": call_id})).await;
    assert_eq!(alice_ws.recv_type("call_accepted").await["accepted_by"], "bob");
    bob_ws.recv_type("call_accepted").await;

    // The JSON relay crosses nodes, and so does `leave`.
    let mut alice_call = call_socket(&first, &format!("/ws/call/{call_id}"), &alice).await;
    call_sync(&mut alice_call).await;
    let mut bob_call = call_socket(&second, &format!("/ws/call/{call_id}"), &bob).await;
    call_sync(&mut bob_call).await;
    alice_call.send(json!({"type": "offer", "sdp": "from a"})).await;
    assert_eq!(bob_call.recv().await, json!({"type": "offer", "sdp": "from a"}));
    bob_call.send(json!({"type": "answer", "sdp": "from b"})).await;
    assert_eq!(alice_call.recv().await, json!({"type": "answer", "sdp": "from b"}));
    bob_call.close().await;
    assert_eq!(alice_call.recv().await, json!({"type": "leave"}));

    // Hung up on node a: Bob on node b hears it, and Alice's call socket is closed.
    alice_ws.send(json!({"type": "call_end", "chatID": chat})).await;
    let ended = bob_ws.recv_type("call_ended").await;
    assert_eq!((ended["ended_by"].as_str(), ended["reason"].as_str()), (Some("alice"), Some("hangup")));
    assert_eq!(alice_call.close_code().await, 1000);

    // Both nodes sweep for unanswered calls; the call ends once, announced once.
    let call_id = ring(&mut alice_ws, chat).await;
    bob_ws.recv_type("call_invite").await;
    for socket in [&mut alice_ws, &mut bob_ws] {
        let ended = socket.recv_type("call_ended").await;
        assert_eq!((ended["call_id"].as_str(), ended["reason"].as_str()), (Some(call_id.as_str()), Some("timeout")));
    }
    alice_ws.expect_quiet(2000).await;
    bob_ws.expect_quiet(100).await;
    second.stop().await;
    first.stop().await;
}

async fn joining_a_chat_mid_call_tells_of_the_call(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob, chat) = pair(&app).await;
    let carol = app.signed_in("carol").await;
    let (mut alice_socket, _) = WsClient::signed_in(&app, &alice.access).await;
    let call_id = ring(&mut alice_socket, chat).await;

    // Bob's page loads while it rings: joining the chat tells him it rings for him.
    let (mut bob_socket, _) = WsClient::signed_in(&app, &bob.access).await;
    bob_socket.send(json!({"type": "join_chat", "chatID": chat})).await;
    let ringing = bob_socket.recv_until("call_invite").await;
    assert_eq!((ringing["call_id"].as_str(), ringing["caller"].as_str()), (Some(call_id.as_str()), Some("alice")));

    bob_socket.send(json!({"type": "call_accept", "chatID": chat, "call_id": call_id})).await;
    bob_socket.recv_until("call_accepted").await;
    // Bob reloads mid-call: he is told the call is on, and that he is in it.
    let (mut bob_again, _) = WsClient::signed_in(&app, &bob.access).await;
    bob_again.send(json!({"type": "join_chat", "chatID": chat})).await;
    let on = bob_again.recv_until("call_accepted").await;
    assert_eq!((on["call_id"].as_str(), on["accepted_by"].as_str()), (Some(call_id.as_str()), Some("bob")));

    // Strangers hear nothing; a chat without a call says nothing.
    let (mut carol_socket, _) = WsClient::signed_in(&app, &carol.access).await;
    carol_socket.send(json!({"type": "join_chat", "chatID": chat})).await;
    assert_eq!(carol_socket.recv_until("error").await["message"], "Chat not found.");
    let quiet = app.create_chat(&carol.access, "bob").await;
    bob_again.send(json!({"type": "join_chat", "chatID": quiet})).await;
    bob_again.send(json!({"type": "test-barrier"})).await;
    loop {
        let frame = bob_again.recv().await;
        assert!(!frame["type"].as_str().unwrap_or_default().starts_with("call_"), "no call in that chat: {frame}");
        if frame["type"] == "error" {
            break;
        }
    }
    app.stop().await;
}
