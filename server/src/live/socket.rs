//! One WebSocket at `/ws`: the `auth` frame first, then the chat protocol of `app::api::ws`.
//! A reader (this task) handles frames; a writer task drains the connection's bounded queue.
//! Bad frames get an `error` frame and the socket stays open; only a failed `auth`, a flood,
//! an oversized frame, a slow reader or an ended session close it, each with its own code.
//! `typing` frames past their budget are dropped instead: clients send one per keystroke.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::api::caller::caller_of_token;
use app::api::ws::{Capabilities, ChatMessage, ClientFrame, ServerFrame};
use app::domain::events::Event;
use app::domain::sessions::{self, Caller, SessionState};
use app::domain::{chats, pins, reactions};
use app::domain::{AppState, DomainError};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use super::hub::{frame, CloseReason, Conn, Frame, CLOSE_LOGGED_OUT, CLOSE_RESTARTING, CLOSE_SESSION_ENDED};
use super::Hub;

pub const CLOSE_AUTH_FAILED: CloseReason = CloseReason { code: 1008, reason: "authentication failed" };
pub const CLOSE_AUTH_TIMEOUT: CloseReason = CloseReason { code: 1008, reason: "authenticate within the time limit" };
pub const CLOSE_FLOOD: CloseReason = CloseReason { code: 1008, reason: "too many frames" };
pub const CLOSE_TOO_BIG: CloseReason = CloseReason { code: 1009, reason: "frame too large" };

#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// Frames queued for one connection before it counts as not reading.
    pub queue_frames: usize,
    pub max_frame_bytes: usize,
    /// Sustained frames per second a client may send (bursts of twice that).
    pub frames_per_sec: u32,
    pub auth_timeout: Duration,
    /// How often an open socket re-checks that its session is still alive.
    pub session_check_every: Duration,
    /// Typing frames forwarded per user and chat at most this often.
    pub typing_every: Duration,
    /// How long a call socket waits for LiveKit to accept its signalling connection.
    pub livekit_connect_timeout: Duration,
}

#[derive(Clone)]
pub struct Live {
    pub app: AppState,
    pub hub: Arc<Hub>,
    pub config: Arc<LiveConfig>,
}

pub async fn upgrade(ws: WebSocketUpgrade, State(live): State<Live>) -> Response {
    let limit = live.config.max_frame_bytes;
    // tungstenite's default 128 KiB read buffer is zero-filled on each read, so it would stay
    // resident for every idle socket; 4 KiB grows as needed for larger frames.
    ws.read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| connection(socket, live))
}

pub(crate) type Sink = SplitSink<WebSocket, Message>;
pub(crate) type Stream = SplitStream<WebSocket>;

pub(crate) fn close_message(reason: CloseReason) -> Message {
    Message::Close(Some(CloseFrame { code: reason.code, reason: reason.reason.into() }))
}

async fn connection(socket: WebSocket, live: Live) {
    let (mut sink, mut stream) = socket.split();
    let (caller, capabilities) = match authenticate(&mut stream, &live).await {
        Ok(authenticated) => authenticated,
        Err(reason) => {
            let _ = tokio::time::timeout(Duration::from_secs(1), sink.send(close_message(reason))).await;
            return;
        }
    };
    let contacts = chats::contacts(&live.app, caller.user_id).await.unwrap_or_else(|_| vec![caller.user_id]);
    let (outbox, queue) = mpsc::channel(live.config.queue_frames.max(4));
    let conn = Conn::new(caller.user_id, caller.session_id, caller.username.clone(), capabilities, outbox);
    conn.send(frame(&ServerFrame::AuthAck { status: "ok".into(), capabilities: capabilities.names() }));
    let mut online = live.hub.online_among(&contacts);
    if !online.contains(&caller.username) {
        online.push(caller.username.clone());
        online.sort();
    }
    conn.send(frame(&ServerFrame::OnlineUsers { users: online }));

    if live.hub.register(&conn) {
        announce_presence(&live, &caller, true, contacts).await;
    }
    // A logout that raced with the handshake has no event left to deliver: look once more.
    if let Some(reason) = session_end(&live.app, &caller).await {
        conn.close(reason);
    }
    let writer = tokio::spawn(write_frames(sink, queue, conn.clone()));
    read_frames(&mut stream, &live, &conn, &caller).await;
    conn.reading_done.cancel();
    conn.closed.cancel();
    if live.hub.unregister(&conn) {
        let contacts = chats::contacts(&live.app, caller.user_id).await.unwrap_or_else(|_| vec![caller.user_id]);
        announce_presence(&live, &caller, false, contacts).await;
    }
    let _ = writer.await;
}

async fn announce_presence(live: &Live, caller: &Caller, online: bool, recipients: Vec<i64>) {
    live.app.events.publish(Event::Presence {
        node: live.hub.node.clone(),
        user_id: caller.user_id,
        username: caller.username.clone(),
        online,
        recipients,
    });
}

/// How the socket closes because its session ended, or None while it lives (or the database
/// cannot tell: the next check or event decides).
async fn session_end(app: &AppState, caller: &Caller) -> Option<CloseReason> {
    match sessions::session_state(app, caller.session_id).await {
        Ok(SessionState::LoggedOut) => Some(CLOSE_LOGGED_OUT),
        Ok(SessionState::Ended) => Some(CLOSE_SESSION_ENDED),
        Ok(SessionState::Alive) | Err(_) => None,
    }
}

/// Waits for the `auth` frame and checks its token; returns the caller and what the client
/// declared it understands.
pub(crate) async fn authenticate(stream: &mut Stream, live: &Live) -> Result<(Caller, Capabilities), CloseReason> {
    let first = tokio::select! {
        first = tokio::time::timeout(live.config.auth_timeout, stream.next()) => first.map_err(|_| CLOSE_AUTH_TIMEOUT)?,
        _ = live.hub.shutting_down.cancelled() => return Err(CLOSE_RESTARTING),
    };
    let Some(Ok(Message::Text(text))) = first else { return Err(CLOSE_AUTH_FAILED) };
    let Ok(ClientFrame::Auth { token, capabilities }) = ClientFrame::parse(&text) else {
        return Err(CLOSE_AUTH_FAILED);
    };
    let caller = caller_of_token(&live.app, Some(&token)).await.map_err(|_| CLOSE_AUTH_FAILED)?;
    Ok((caller, Capabilities::from_names(&capabilities)))
}

/// Drains the queue into the socket until the connection ends, then says why.
pub(crate) async fn write_frames(mut sink: Sink, mut queue: mpsc::Receiver<Frame>, conn: Arc<Conn>) {
    loop {
        tokio::select! {
            biased;
            _ = conn.closed.cancelled() => {
                let reason = conn.close_reason();
                // Shutting down: the frame being handled is finished, and what was queued (acks of
                // posts that were stored) still goes out before the close.
                if reason == Some(CLOSE_RESTARTING) {
                    let _ = tokio::time::timeout(Duration::from_secs(5), conn.reading_done.cancelled()).await;
                    while let Ok(text) = queue.try_recv() {
                        if !matches!(tokio::time::timeout(Duration::from_secs(1), sink.send(Message::Text(text))).await, Ok(Ok(()))) {
                            break;
                        }
                    }
                }
                if let Some(reason) = reason {
                    let _ = tokio::time::timeout(Duration::from_secs(1), sink.send(close_message(reason))).await;
                }
                break;
            }
            next = queue.recv() => {
                let Some(text) = next else { break };
                match tokio::time::timeout(Duration::from_secs(10), sink.send(Message::Text(text))).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => break,
                    Err(_) => {
                        conn.close(super::hub::CLOSE_TOO_SLOW);
                        break;
                    }
                }
            }
        }
    }
    conn.closed.cancel();
}

/// Allows `rate` frames a second on average, in bursts of up to twice that.
pub(crate) struct FrameBudget {
    tokens: f64,
    rate: f64,
    last: Instant,
}

impl FrameBudget {
    pub(crate) fn new(rate: u32) -> Self {
        let rate = f64::from(rate.max(1));
        FrameBudget { tokens: rate * 2.0, rate, last: Instant::now() }
    }

    pub(crate) fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.rate * 2.0);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// True when a read failed because the client's frame was over the size limit.
pub(crate) fn frame_too_big(error: &axum::Error) -> bool {
    let text = error.to_string().to_lowercase();
    text.contains("too long") || text.contains("too big") || text.contains("limit")
}

async fn read_frames(stream: &mut Stream, live: &Live, conn: &Arc<Conn>, caller: &Caller) {
    let mut budget = FrameBudget::new(live.config.frames_per_sec);
    // Typing has a budget of its own, so a held key never eats the one other frames need.
    let mut typing_budget = FrameBudget::new(live.config.frames_per_sec);
    let mut session_check = tokio::time::interval(live.config.session_check_every);
    session_check.tick().await;
    let mut last_typing: HashMap<i64, Instant> = HashMap::new();
    loop {
        let next = tokio::select! {
            _ = conn.closed.cancelled() => return,
            _ = session_check.tick() => {
                if let Some(reason) = session_end(&live.app, caller).await {
                    conn.close(reason);
                }
                continue;
            }
            next = stream.next() => next,
        };
        let message = match next {
            Some(Ok(message)) => message,
            Some(Err(error)) => {
                if frame_too_big(&error) {
                    conn.close(CLOSE_TOO_BIG);
                }
                return;
            }
            None => return,
        };
        let text = match message {
            Message::Text(text) => text,
            Message::Binary(_) => {
                if !budget.take() {
                    conn.close(CLOSE_FLOOD);
                    return;
                }
                conn.send(frame(&ServerFrame::error("Only JSON text frames are understood.")));
                continue;
            }
            Message::Close(_) => return,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        let parsed = ClientFrame::parse(&text);
        if matches!(parsed, Ok(ClientFrame::Typing { .. })) {
            if !typing_budget.take() {
                continue;
            }
        } else if !budget.take() {
            conn.close(CLOSE_FLOOD);
            return;
        }
        let reply = match parsed {
            Ok(frame) => handle(frame, live, conn, caller, &mut last_typing).await,
            Err(explanation) => Err(explanation),
        };
        if let Err(message) = reply {
            conn.send(frame(&ServerFrame::error(message)));
        }
    }
}

/// The sentence an `error` frame carries for a refused action.
fn refusal(error: DomainError) -> String {
    if let DomainError::Internal(detail) = &error {
        tracing::error!(%detail, "internal error on the WebSocket");
    }
    error.to_string()
}

async fn handle(
    frame_in: ClientFrame,
    live: &Live,
    conn: &Arc<Conn>,
    caller: &Caller,
    last_typing: &mut HashMap<i64, Instant>,
) -> Result<(), String> {
    let app = &live.app;
    match frame_in {
        ClientFrame::Auth { .. } => Err("Already authenticated.".into()),
        ClientFrame::JoinIdle => {
            live.hub.unsubscribe_all(conn);
            Ok(())
        }
        ClientFrame::JoinChat { chat_id, after } => {
            let chat_id = chat_id.0;
            if !chats::is_member(app, chat_id, caller.user_id).await.map_err(refusal)? {
                return Err("Chat not found.".into());
            }
            live.hub.subscribe(conn, chat_id, after.is_some());
            if let Some(after) = after {
                replay(live, conn, chat_id, after.0).await;
            }
            // A page that loads or reconnects mid-call learns of the call at once.
            if let Ok(Some((call, change))) = app::domain::calls::live_call_for(app, caller, chat_id).await {
                conn.send(live.hub.call_frame_for(chat_id, &call.id, &change, caller.user_id, &caller.username));
            }
            Ok(())
        }
        ClientFrame::LeaveChat { chat_id } => {
            // A chat the user is not in gets an error, like every other frame naming one.
            if !chats::is_member(app, chat_id.0, caller.user_id).await.map_err(refusal)? {
                return Err("Chat not found.".into());
            }
            live.hub.unsubscribe(conn, chat_id.0);
            Ok(())
        }
        ClientFrame::PostMsg { chat_id, text, nonce, reply_to } => {
            let new = chats::NewMessage::text(chat_id.0, chats::Author::Member(caller), &text, nonce.as_deref())
                .replying_to(reply_to.map(i64::from));
            let posted = chats::post(app, new).await.map_err(refusal)?;
            if let Some(nonce) = nonce {
                conn.send(frame(&ServerFrame::Ack { nonce, message_id: posted.message.id }));
            }
            Ok(())
        }
        ClientFrame::EditMsg { chat_id, message_id, text } => {
            chats::edit_message(app, caller, chat_id.0, message_id.0, &text).await.map_err(refusal)?;
            Ok(())
        }
        ClientFrame::DeleteMsg { chat_id, message_id } => {
            chats::delete_message(app, caller, chat_id.0, message_id.0).await.map_err(refusal)?;
            Ok(())
        }
        ClientFrame::AddReaction { chat_id, message_id, emoji } => {
            reactions::set_reaction(app, caller, chat_id.0, message_id.0, &emoji, true).await.map_err(refusal)?;
            Ok(())
        }
        ClientFrame::RemoveReaction { chat_id, message_id, emoji } => {
            reactions::set_reaction(app, caller, chat_id.0, message_id.0, &emoji, false).await.map_err(refusal)?;
            Ok(())
        }
        ClientFrame::PinMessage { chat_id, message_id } => {
            pins::set_pinned(app, caller, chat_id.0, message_id.0, true).await.map_err(refusal)?;
            Ok(())
        }
        ClientFrame::UnpinMessage { chat_id, message_id } => {
            pins::set_pinned(app, caller, chat_id.0, message_id.0, false).await.map_err(refusal)?;
            Ok(())
        }
        ClientFrame::Typing { chat_id } => {
            let now = Instant::now();
            let recent =
                last_typing.get(&chat_id.0).is_some_and(|at| now.duration_since(*at) < live.config.typing_every);
            if !recent {
                chats::typing(app, caller, chat_id.0).await.map_err(refusal)?;
                last_typing.insert(chat_id.0, now);
            }
            Ok(())
        }
        ClientFrame::ChatCreated { chat_id } => chats::announce_chat(app, caller, chat_id.0).await.map_err(refusal),
        // Refusals come back as `call_error`, not `error`.
        call @ (ClientFrame::CallInvite { .. }
        | ClientFrame::CallAccept { .. }
        | ClientFrame::CallDecline { .. }
        | ClientFrame::CallEnd { .. }) => {
            super::calls::handle(call, live, conn, caller).await;
            Ok(())
        }
    }
}

const REPLAY_PAGE: i64 = 200;

/// Sends every message after `after`, then lets the live frames that waited through.
async fn replay(live: &Live, conn: &Arc<Conn>, chat_id: i64, after: i64) {
    let mut last = after;
    loop {
        let page = match chats::messages_between(&live.app, chat_id, Some(last), None, REPLAY_PAGE).await {
            Ok(page) => page,
            Err(error) => {
                conn.send(frame(&ServerFrame::error(refusal(error))));
                break;
            }
        };
        let full = page.len() as i64 == REPLAY_PAGE;
        for message in page {
            last = message.id;
            let message = ChatMessage::from(message).for_capabilities(conn.capabilities);
            if !conn.send_waiting(frame(&ServerFrame::NewMessage(message))).await {
                return;
            }
        }
        if !full {
            break;
        }
    }
    live.hub.finish_replay(conn, chat_id, last);
}
