//! A LiveKit stand-in: a WebSocket server on 127.0.0.1 that accepts signalling connections as
//! LiveKit's `/rtc` does and hands each one to the test, which plays LiveKit's side frame by
//! frame. Also the two ways a LiveKit can fail: a closed port, and one that never answers.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub const API_KEY: &str = "APIstandin";
pub const API_SECRET: &str = "stand-in-secret-stand-in-secret-0123456789";

const WAIT: Duration = Duration::from_secs(5);

pub struct LiveKitStandIn {
    /// What Hearth's LIVEKIT_URL is set to.
    pub url: String,
    sessions: mpsc::Receiver<Session>,
    task: JoinHandle<()>,
}

/// One participant's signalling connection, as LiveKit sees it.
pub struct Session {
    pub path: String,
    pub query: HashMap<String, String>,
    socket: WebSocketStream<TcpStream>,
}

impl LiveKitStandIn {
    pub async fn start() -> LiveKitStandIn {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("stand-in binds");
        let url = format!("ws://{}", listener.local_addr().expect("stand-in address"));
        let (found, sessions) = mpsc::channel(16);
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let found = found.clone();
                tokio::spawn(async move {
                    if let Some(session) = handshake(tcp).await {
                        let _ = found.send(session).await;
                    }
                });
            }
        });
        LiveKitStandIn { url, sessions, task }
    }

    /// The next signalling connection Hearth opened.
    pub async fn next_session(&mut self) -> Session {
        tokio::time::timeout(WAIT, self.sessions.recv())
            .await
            .expect("Hearth connects to LiveKit within 5 s")
            .expect("the stand-in is running")
    }
}

impl Drop for LiveKitStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// tungstenite's handshake callback returns its (large) error response by value.
#[allow(clippy::result_large_err)]
async fn handshake(tcp: TcpStream) -> Option<Session> {
    let mut seen = None;
    let record = |request: &Request, response: Response| {
        let uri = request.uri();
        let query: HashMap<String, String> =
            serde_urlencoded::from_str(uri.query().unwrap_or_default()).unwrap_or_default();
        seen = Some((uri.path().to_string(), query));
        Ok(response)
    };
    let socket = tokio_tungstenite::accept_hdr_async(tcp, record).await.ok()?;
    let (path, query) = seen?;
    Some(Session { path, query, socket })
}

/// The claims of a LiveKit token, after checking its signature with the API secret and its issuer.
pub fn verified_claims(token: &str) -> Value {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    validation.set_issuer(&[API_KEY]);
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_secret(API_SECRET.as_bytes()), &validation)
        .unwrap_or_else(|e| panic!("the LiveKit token does not verify with the API secret: {e}"))
        .claims
}

impl Session {
    /// The verified claims of the token Hearth connected with.
    pub fn claims(&self) -> Value {
        verified_claims(self.query.get("access_token").expect("an access_token in the query"))
    }

    /// The next data or close frame from Hearth (fails after 5 s).
    pub async fn recv(&mut self) -> Message {
        loop {
            let next = tokio::time::timeout(WAIT, self.socket.next()).await.expect("a frame from Hearth within 5 s");
            match next {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(message)) => return message,
                other => panic!("the signalling connection ended: {other:?}"),
            }
        }
    }

    pub async fn send(&mut self, message: Message) {
        self.socket.send(message).await.expect("the stand-in sends");
    }

    /// Reads until Hearth's close frame: its code and reason.
    pub async fn closed(&mut self) -> (u16, String) {
        loop {
            match self.recv().await {
                Message::Close(Some(frame)) => return (u16::from(frame.code), frame.reason.to_string()),
                Message::Close(None) => return (1005, String::new()),
                _ => continue,
            }
        }
    }
}

/// A LiveKit that is down: nothing listens on this port.
pub async fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    format!("ws://{addr}")
}

/// A LiveKit that hangs: it accepts connections and never says a word. Returns `host:port`.
pub struct SilentServer {
    pub addr: String,
    task: JoinHandle<()>,
}

impl SilentServer {
    pub async fn start() -> SilentServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address").to_string();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((tcp, _)) = listener.accept().await {
                held.push(tcp);
            }
        });
        SilentServer { addr, task }
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
