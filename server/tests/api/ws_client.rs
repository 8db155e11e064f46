//! A WebSocket client for tests: connects to `/ws` (or a call socket), speaks JSON frames, and
//! reports closes.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::TestApp;

pub struct WsClient {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// How a connection ended, as the client saw it.
#[derive(Debug, PartialEq)]
pub enum Ended {
    Closed {
        code: u16,
        reason: String,
    },
    /// The TCP connection ended without a close frame.
    Dropped,
}

const WAIT: Duration = Duration::from_secs(5);

impl WsClient {
    pub async fn connect(app: &TestApp) -> WsClient {
        WsClient::connect_to(app, "/ws").await
    }

    /// Connects to another WebSocket route of the app (`/ws/call/{call_id}`, with any query).
    pub async fn connect_to(app: &TestApp, path: &str) -> WsClient {
        let url = format!("{}{path}", app.base.replacen("http", "ws", 1));
        let (stream, _) = tokio_tungstenite::connect_async(url).await.expect("WebSocket connects");
        WsClient { stream }
    }

    /// The next message of any kind within `wait` (pings and pongs skipped), or None.
    pub async fn next_message(&mut self, wait: Duration) -> Option<Message> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await.ok()?? {
                Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                Ok(message) => return Some(message),
                Err(_) => return None,
            }
        }
    }

    /// Connects with a small, fixed receive buffer, so a client that stops reading fills the
    /// server's queue soon (loopback otherwise grows the buffer to many megabytes).
    pub async fn connect_small_buffer(app: &TestApp) -> WsClient {
        let addr: std::net::SocketAddr = app.base.trim_start_matches("http://").parse().expect("socket address");
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(8 * 1024).expect("receive buffer size");
        let tcp = socket.connect(addr).await.expect("connect");
        let url = format!("ws://{addr}/ws");
        let (stream, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(tcp)).await.expect("handshake");
        WsClient { stream }
    }

    /// Authenticates an open socket (after `connect*`).
    pub async fn authenticate(&mut self, access_token: &str) {
        self.send(json!({"type": "auth", "token": access_token})).await;
        assert_eq!(self.recv().await["type"], "auth_ack");
        assert_eq!(self.recv().await["type"], "online_users");
    }

    /// Counts frames of a type until the socket ends or stays silent for `wait`.
    pub async fn count_until_end(&mut self, kind: &str, wait: Duration) -> (usize, bool) {
        let mut count = 0;
        loop {
            match tokio::time::timeout(wait, self.stream.next()).await {
                Err(_) => return (count, false),
                Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => return (count, true),
                Ok(Some(Ok(Message::Text(text)))) => {
                    if serde_json::from_str::<Value>(&text).is_ok_and(|v| v["type"] == kind) {
                        count += 1;
                    }
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Connects, authenticates, and returns the client with the `online_users` it was told.
    pub async fn signed_in(app: &TestApp, access_token: &str) -> (WsClient, Vec<String>) {
        let mut client = WsClient::connect(app).await;
        client.send(json!({"type": "auth", "token": access_token})).await;
        let ack = client.recv().await;
        assert_eq!(ack, json!({"type": "auth_ack", "status": "ok"}));
        let online = client.recv().await;
        assert_eq!(online["type"], "online_users", "{online}");
        let users = online["users"]
            .as_array()
            .expect("users")
            .iter()
            .map(|u| u.as_str().unwrap_or_default().to_string())
            .collect();
        (client, users)
    }

    pub async fn send(&mut self, frame: Value) {
        self.stream.send(Message::Text(frame.to_string().into())).await.expect("frame sent");
    }

    pub async fn send_raw(&mut self, message: Message) {
        let _ = self.stream.send(message).await;
    }

    /// The next JSON frame (fails after 5 s, or if the socket ends).
    pub async fn recv(&mut self) -> Value {
        self.try_recv(WAIT).await.unwrap_or_else(|| panic!("no frame within {WAIT:?}"))
    }

    /// The next JSON frame within `wait`, or None.
    pub async fn try_recv(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = tokio::time::timeout_at(deadline, self.stream.next()).await.ok()??;
            match next {
                Ok(Message::Text(text)) => return Some(serde_json::from_str(&text).expect("server frames are JSON")),
                Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                Ok(other) => panic!("expected a text frame, got {other:?}"),
                Err(e) => panic!("socket failed: {e}"),
            }
        }
    }

    /// The next frame of this type, skipping presence frames (which depend on test timing).
    pub async fn recv_type(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.recv().await;
            if frame["type"] == kind {
                return frame;
            }
            assert_eq!(frame["type"], "user_status", "waiting for {kind}, got {frame}");
        }
    }

    /// Waits until the server has handled every frame sent before: frames on one socket are
    /// handled in order, and an unknown type always gets an `error` back.
    pub async fn sync(&mut self) {
        self.send(json!({"type": "test-barrier"})).await;
        loop {
            let frame = self.recv().await;
            if frame["type"] == "error" && frame["message"] == "Unknown frame type \"test-barrier\"." {
                return;
            }
            // Presence and chat announcements come from other people's actions, at any time.
            assert!(
                matches!(frame["type"].as_str(), Some("user_status" | "chat_created")),
                "while syncing, got {frame}"
            );
        }
    }

    /// The frames but presence the server sent here before it answered a barrier: with one node,
    /// all that earlier frames (on any socket) and answered requests sent to this socket.
    pub async fn frames_before_barrier(&mut self) -> Vec<Value> {
        self.send(json!({"type": "test-barrier"})).await;
        let mut frames = Vec::new();
        loop {
            let frame = self.recv().await;
            if frame["type"] == "error" && frame["message"] == "Unknown frame type \"test-barrier\"." {
                return frames;
            }
            if frame["type"] != "user_status" {
                frames.push(frame);
            }
        }
    }

    /// The next frame of this type, skipping any others.
    pub async fn recv_until(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.recv().await;
            if frame["type"] == kind {
                return frame;
            }
        }
    }

    /// Asserts that nothing but presence arrives for `millis`.
    pub async fn expect_quiet(&mut self, millis: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(millis);
        while let Some(frame) = self.try_recv(deadline.saturating_duration_since(tokio::time::Instant::now())).await {
            assert_eq!(frame["type"], "user_status", "expected quiet, got {frame}");
        }
    }

    /// Reads until the socket ends (skipping frames) and says how, within `wait`.
    pub async fn ended(&mut self, wait: Duration) -> Option<Ended> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return None,
                Ok(None) | Ok(Some(Err(_))) => return Some(Ended::Dropped),
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return Some(match frame {
                        Some(frame) => Ended::Closed { code: u16::from(frame.code), reason: frame.reason.to_string() },
                        None => Ended::Closed { code: 1005, reason: String::new() },
                    })
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// The close code the server ended the socket with (fails if it stays open for 5 s).
    pub async fn close_code(&mut self) -> u16 {
        match self.ended(WAIT).await {
            Some(Ended::Closed { code, .. }) => code,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}
