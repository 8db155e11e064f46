//! Graceful shutdown: new connections are refused, every WebSocket is told to reconnect (close
//! 1012), requests in flight finish, and whatever outlasts the grace period is cut off in time.
//! In-process (RunningServer::shutdown) and as a real process receiving SIGTERM.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_backends;
use crate::ws_client::{Ended, WsClient};

on_both_backends!(shutdown_finishes_requests_and_sends_sockets_away);

/// Sends a request's head and the first half of its body: the server is now handling it.
async fn half_sent(app: &TestApp, path: &str, body: &str) -> (TcpStream, String) {
    let addr = app.base.trim_start_matches("http://");
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    let (first, rest) = body.split_at(body.len() / 2);
    tcp.write_all(head.as_bytes()).await.expect("head");
    tcp.write_all(first.as_bytes()).await.expect("first half");
    (tcp, rest.to_string())
}

async fn finish(mut tcp: TcpStream, rest: &str) -> String {
    tcp.write_all(rest.as_bytes()).await.expect("second half");
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_string(&mut answer))
        .await
        .expect("an answer before the connection closes")
        .expect("read");
    answer
}

async fn shutdown_finishes_requests_and_sends_sockets_away(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    let chat = app.create_chat(&alice.access, "bob").await;
    let (mut bob_socket, _) = WsClient::signed_in(&app, &bob.access).await;
    bob_socket.send(json!({"type": "join_chat", "chatID": chat})).await;
    bob_socket.sync().await;
    let mut unauthenticated = WsClient::connect(&app).await;
    let body = json!({"session_token": alice.access, "chatID": chat, "text": "posted while shutting down"});
    let (in_flight, rest) = half_sent(&app, "/chat/post-message", &body.to_string()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let server = app.take_server();
    let addr = server.addr;
    let shutdown = tokio::spawn(server.shutdown(Duration::from_secs(10)));

    // Both sockets, signed in or not, are told to come back later.
    for socket in [&mut bob_socket, &mut unauthenticated] {
        match socket.ended(Duration::from_secs(5)).await {
            Some(Ended::Closed { code, reason }) => {
                assert_eq!(code, 1012, "{reason}");
                assert!(reason.contains("reconnect"), "{reason}");
            }
            other => panic!("expected close 1012, got {other:?}"),
        }
    }
    // Nobody new gets in (the listener closes as soon as the accept loop sees the signal).
    let mut refused = false;
    for _ in 0..100 {
        if TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "new connections were still accepted while shutting down");
    // The request that was in flight is answered in full.
    let answer = finish(in_flight, &rest).await;
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert!(answer.contains("\"messageID\""), "{answer}");
    assert!(shutdown.await.expect("shutdown task"), "shutdown finished within its grace period");
}

on_both_backends!(shutdown_gives_up_after_its_grace_period);

async fn shutdown_gives_up_after_its_grace_period(backend: Backend) {
    let mut app = spawn_app(backend).await;
    // A client that sends half a request and then nothing: it must not hold the server up.
    let (_stalled, _) = half_sent(&app, "/user/login", r#"{"username":"someone","password":"secret"}"#).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let finished = app.take_server().shutdown(Duration::from_secs(1)).await;
    let took = started.elapsed();
    assert!(!finished, "a stalled request cannot have finished");
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(4), "took {took:?}");
}

/// The binary itself: SIGTERM, sockets closed with 1012, exit status 0 within the grace period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_process_within_its_grace_period() {
    let data_dir = hearth::testing::scratch_dir("sigterm");
    let database = hearth::testing::fresh_database(Backend::Sqlite, &data_dir).await.expect("database");
    let data = data_dir.display().to_string();
    let mut server = hearth::testing::ChildServer::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_hearth")),
        None,
        &[
            ("DATABASE_URL", &database),
            ("HEARTH_DATA_DIR", &data),
            ("HEARTH_JWT_SECRET", "test-secret-test-secret-test-secret-0123"),
            ("HEARTH_SHUTDOWN_GRACE_SECS", "2"),
        ],
    )
    .await
    .expect("hearth starts");
    let url = format!("ws://{}/ws", server.addr);
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("WebSocket connects");
    // A stalled request keeps the server waiting until the grace period is over.
    let mut stalled = TcpStream::connect(server.addr).await.expect("connect");
    stalled.write_all(b"POST /user/login HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{").await.expect("write");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    server.terminate();
    use futures_util::StreamExt;
    let close = tokio::time::timeout(Duration::from_secs(5), socket.next()).await.expect("a close frame in time");
    match close {
        Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(frame)))) => {
            assert_eq!(u16::from(frame.code), 1012, "{frame:?}")
        }
        other => panic!("expected close 1012, got {other:?}"),
    }
    let status = server.wait_exit(Duration::from_secs(6)).await.expect("hearth exits");
    let took = started.elapsed();
    assert!(status.success(), "exit status {status}; log:\n{}", server.log());
    assert!(took >= Duration::from_millis(1800) && took < Duration::from_secs(5), "took {took:?}");
    drop(stalled);
    let _ = std::fs::remove_dir_all(&data_dir);
}
