//! One call socket at `/ws/call/{call_id}` (also `/call/{call_id}`, where ChatCLI's reference
//! serves it): the `auth` frame first, then a member of the call's chat joins the call. With
//! `LIVEKIT_URL` set, Hearth opens LiveKit's signalling WebSocket for them and relays frames both
//! ways, text and binary, until either side closes; without it, JSON frames go to the call's
//! other sockets on every node, and a socket that closes sends them `{"type":"leave"}`.

use std::sync::Arc;
use std::time::Duration;

use app::api::calls::CallFrame;
use app::api::ws::Capabilities;
use app::domain::calls::{self, Call, CallError};
use app::domain::events::Event;
use app::domain::sessions::{random_token, Caller};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Map, Value};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame as UpstreamCloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message as UpstreamMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::hub::{CloseReason, Conn, Frame, CLOSE_CALL_ENDED};
use super::socket::{
    authenticate, close_message, frame_too_big, write_frames, FrameBudget, Live, Sink, Stream, CLOSE_FLOOD,
    CLOSE_TOO_BIG,
};

pub const CLOSE_CALL_REFUSED: CloseReason = CloseReason { code: 1008, reason: "call not available" };
pub const CLOSE_LIVEKIT_DOWN: CloseReason = CloseReason { code: 1013, reason: "voice server unavailable" };
pub const CLOSE_LIVEKIT_LOST: CloseReason = CloseReason { code: 1011, reason: "voice server connection lost" };
const LIVEKIT_UNAVAILABLE: &str = "LIVEKIT_UNAVAILABLE";

/// Once one side of the relay has closed, the other gets this long to finish its close handshake.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// A side that does not take a frame within this long is cut off.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

type Upstream = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub async fn upgrade(
    ws: WebSocketUpgrade,
    Path(call_id): Path<String>,
    RawQuery(query): RawQuery,
    State(live): State<Live>,
) -> Response {
    let limit = live.config.max_frame_bytes;
    ws.max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| call_connection(socket, live, call_id, query.unwrap_or_default()))
}

async fn call_connection(socket: WebSocket, live: Live, call_id: String, query: String) {
    let (mut sink, mut stream) = socket.split();
    let caller = match authenticate(&mut stream, &live).await {
        Ok((caller, _)) => caller,
        Err(reason) => return goodbye(&mut sink, None, reason).await,
    };
    let call = match calls::admit(&live.app, &caller, &call_id).await {
        Ok(call) => call,
        Err(refusal) => return refuse(&mut sink, &call_id, &refusal).await,
    };
    let livekit_url = live.app.settings.livekit.as_ref().and_then(|livekit| livekit.url.clone());
    match livekit_url {
        Some(base) => proxy(sink, stream, &live, caller, call, &base, &query).await,
        None => relay(sink, stream, &live, caller, call).await,
    }
}

/// Sends a last frame (if any) and a close, without waiting long for a client that does not read.
async fn goodbye(sink: &mut Sink, last: Option<CallFrame>, reason: CloseReason) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        if let Some(frame) = last {
            sink.send(Message::Text(frame.to_json().into())).await?;
        }
        sink.send(close_message(reason)).await
    })
    .await;
}

/// `call_ws_error`, then close 1008: the reference's rejection.
async fn refuse(sink: &mut Sink, call_id: &str, refusal: &CallError) {
    if let CallError::Failed(error) = refusal {
        tracing::error!(%error, "a call socket could not join its call");
    }
    let frame = CallFrame::CallWsError {
        call_id: call_id.chars().take(64).collect(),
        code: refusal.code().into(),
        message: refusal.to_string(),
    };
    goodbye(sink, Some(frame), CLOSE_CALL_REFUSED).await;
}

fn livekit_unavailable(call: &Call, message: &str) -> CallFrame {
    CallFrame::CallError {
        chat_id: call.chat_id,
        code: LIVEKIT_UNAVAILABLE.into(),
        message: message.into(),
        call_id: Some(call.id.clone()),
    }
}

/// LiveKit's signalling address for one participant: `<LIVEKIT_URL>/rtc`, the client's own query
/// (protocol version, SDK, reconnect flags) and the token Hearth minted in place of any it sent.
pub fn signalling_url(base: &str, client_query: &str, token: &str) -> String {
    let base = base.trim().trim_end_matches('/');
    let base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_string()
    };
    let mut params: Vec<(String, String)> = serde_urlencoded::from_str(client_query).unwrap_or_default();
    params.retain(|(name, _)| name != "access_token");
    params.push(("access_token".into(), token.into()));
    let query = serde_urlencoded::to_string(&params).unwrap_or_default();
    format!("{base}/rtc?{query}")
}

async fn proxy(mut sink: Sink, stream: Stream, live: &Live, caller: Caller, call: Call, base: &str, query: &str) {
    let Some(livekit) = live.app.settings.livekit.as_ref() else { return };
    let token = match livekit.token(&call.id, caller.user_id, &caller.username) {
        Ok(minted) => minted.token,
        Err(error) => {
            tracing::error!(%error, "could not mint a LiveKit token");
            let frame = livekit_unavailable(&call, "Could not prepare the call. Try again later.");
            return goodbye(&mut sink, Some(frame), CLOSE_LIVEKIT_DOWN).await;
        }
    };
    let limit = live.config.max_frame_bytes;
    let config = WebSocketConfig::default().max_message_size(Some(limit)).max_frame_size(Some(limit));
    let url = signalling_url(base, query, &token);
    let connecting = tokio_tungstenite::connect_async_with_config(url, Some(config), true);
    // A LiveKit that is down answers at once; one that hangs is given up on after the timeout.
    let upstream = match tokio::time::timeout(live.config.livekit_connect_timeout, connecting).await {
        Ok(Ok((upstream, _))) => upstream,
        Ok(Err(error)) => {
            tracing::warn!(%error, "LiveKit refused a call socket");
            let frame = livekit_unavailable(&call, "The voice server could not be reached. Try again later.");
            return goodbye(&mut sink, Some(frame), CLOSE_LIVEKIT_DOWN).await;
        }
        Err(_) => {
            tracing::warn!(timeout = ?live.config.livekit_connect_timeout, "LiveKit did not answer a call socket in time");
            let frame = livekit_unavailable(&call, "The voice server did not answer in time. Try again later.");
            return goodbye(&mut sink, Some(frame), CLOSE_LIVEKIT_DOWN).await;
        }
    };
    // Proxied frames bypass the hub; it only closes this socket (call ended, session ended), and
    // anything queued for it is dropped, never counted against it.
    let (outbox, _) = mpsc::channel(1);
    let conn = Conn::new(caller.user_id, caller.session_id, caller.username.clone(), Capabilities::default(), outbox);
    let socket_id = random_token();
    if let Err(refusal) = enter(live, &caller, &call, &conn, &socket_id).await {
        let mut upstream = upstream;
        let _ = tokio::time::timeout(Duration::from_secs(1), upstream.close(None)).await;
        return refuse(&mut sink, &call.id, &refusal).await;
    }
    relay_both_ways(sink, stream, upstream, &conn).await;
    live.hub.leave_call(&call.id, &conn);
    if let Err(refusal) = calls::socket_closed(&live.app, &caller, &call.id, &socket_id).await {
        tracing::error!(error = %refusal, "could not record a participant leaving a call");
    }
}

fn to_upstream_close(frame: Option<CloseFrame>) -> UpstreamMessage {
    UpstreamMessage::Close(
        frame.map(|f| UpstreamCloseFrame { code: CloseCode::from(f.code), reason: f.reason.as_str().into() }),
    )
}

fn to_client_close(frame: Option<UpstreamCloseFrame>) -> Message {
    Message::Close(frame.map(|f| CloseFrame { code: u16::from(f.code), reason: f.reason.as_str().into() }))
}

fn client_close(reason: CloseReason) -> Message {
    close_message(reason)
}

fn upstream_close(code: u16, reason: &str) -> UpstreamMessage {
    UpstreamMessage::Close(Some(UpstreamCloseFrame { code: CloseCode::from(code), reason: reason.into() }))
}

/// One end of the relay: whether it can still be read, and whether a close went to or came from it.
#[derive(Default)]
struct End {
    done: bool,
    closing: bool,
}

/// Relays frames between the client and LiveKit, unchanged, until either side closes; its close
/// frame is passed on to the other side, which then has a moment to finish the handshake.
async fn relay_both_ways(mut client_sink: Sink, mut client_stream: Stream, upstream: Upstream, conn: &Arc<Conn>) {
    let (mut upstream_sink, mut upstream_stream) = upstream.split();
    let (mut client, mut server) = (End::default(), End::default());
    let mut deadline: Option<Instant> = None;
    loop {
        if client.done && server.done {
            break;
        }
        // A side that closed, or close frames on both sides: the rest is a handshake to finish.
        if (client.done || server.done || (client.closing && server.closing)) && deadline.is_none() {
            deadline = Some(Instant::now() + CLOSE_GRACE);
        }
        let grace = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = grace => break,
            _ = conn.closed.cancelled(), if !client.closing => {
                // The call or the session ended: both sides are told.
                let reason = conn.close_reason().unwrap_or(CLOSE_CALL_ENDED);
                client.closing = true;
                let _ = tokio::time::timeout(SEND_TIMEOUT, client_sink.send(client_close(reason))).await;
                if !server.closing {
                    server.closing = true;
                    let close = upstream_close(1000, reason.reason);
                    let _ = tokio::time::timeout(SEND_TIMEOUT, upstream_sink.send(close)).await;
                }
            }
            next = client_stream.next(), if !client.done => {
                let forward = match next {
                    Some(Ok(Message::Text(text))) => Some(UpstreamMessage::Text(text.as_str().into())),
                    Some(Ok(Message::Binary(bytes))) => Some(UpstreamMessage::Binary(bytes)),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => None,
                    Some(Ok(Message::Close(frame))) => {
                        client.closing = true;
                        (!server.closing).then(|| to_upstream_close(frame))
                    }
                    Some(Err(error)) => {
                        client.done = true;
                        if frame_too_big(&error) && !client.closing {
                            client.closing = true;
                            let _ = tokio::time::timeout(SEND_TIMEOUT, client_sink.send(client_close(CLOSE_TOO_BIG))).await;
                        }
                        (!server.closing).then(|| upstream_close(1001, "client went away"))
                    }
                    None => {
                        client.done = true;
                        (!server.closing).then(|| upstream_close(1001, "client went away"))
                    }
                };
                if let Some(message) = forward {
                    server.closing |= matches!(message, UpstreamMessage::Close(_));
                    if !matches!(tokio::time::timeout(SEND_TIMEOUT, upstream_sink.send(message)).await, Ok(Ok(()))) {
                        server.done = true;
                        server.closing = true;
                    }
                }
            }
            next = upstream_stream.next(), if !server.done => {
                let forward = match next {
                    Some(Ok(UpstreamMessage::Text(text))) => Some(Message::Text(text.as_str().into())),
                    Some(Ok(UpstreamMessage::Binary(bytes))) => Some(Message::Binary(bytes)),
                    Some(Ok(UpstreamMessage::Ping(_) | UpstreamMessage::Pong(_) | UpstreamMessage::Frame(_))) => None,
                    Some(Ok(UpstreamMessage::Close(frame))) => {
                        server.closing = true;
                        (!client.closing).then(|| to_client_close(frame))
                    }
                    Some(Err(error)) => {
                        tracing::warn!(%error, "the LiveKit side of a call socket failed");
                        server.done = true;
                        (!client.closing).then(|| client_close(CLOSE_LIVEKIT_LOST))
                    }
                    None => {
                        server.done = true;
                        (!client.closing).then(|| client_close(CLOSE_LIVEKIT_LOST))
                    }
                };
                if let Some(message) = forward {
                    client.closing |= matches!(message, Message::Close(_));
                    if !matches!(tokio::time::timeout(SEND_TIMEOUT, client_sink.send(message)).await, Ok(Ok(()))) {
                        client.done = true;
                        client.closing = true;
                    }
                }
            }
        }
    }
}

/// Joins the call, this socket already listening: nothing announced after the join can miss it.
async fn enter(live: &Live, caller: &Caller, call: &Call, conn: &Arc<Conn>, socket_id: &str) -> Result<(), CallError> {
    live.hub.join_call(&call.id, conn);
    let joined = calls::join(&live.app, caller, call, socket_id).await;
    if joined.is_err() {
        live.hub.leave_call(&call.id, conn);
    }
    joined
}

async fn relay(mut sink: Sink, mut stream: Stream, live: &Live, caller: Caller, call: Call) {
    let (outbox, queue) = mpsc::channel(live.config.queue_frames.max(4));
    let conn = Conn::new(caller.user_id, caller.session_id, caller.username.clone(), Capabilities::default(), outbox);
    let socket_id = random_token();
    if let Err(refusal) = enter(live, &caller, &call, &conn, &socket_id).await {
        return refuse(&mut sink, &call.id, &refusal).await;
    }
    let writer = tokio::spawn(write_frames(sink, queue, conn.clone()));
    read_signals(&mut stream, live, &conn, &call).await;
    conn.reading_done.cancel();
    conn.closed.cancel();
    live.hub.leave_call(&call.id, &conn);
    // Recorded before the others hear `leave`: whatever they do next (hang up, say) finds the
    // call as it now is. Told first, a hang-up on another node could race this update, and the
    // call would end as "empty" by the one who left instead of by the one who hung up.
    if let Err(refusal) = calls::socket_closed(&live.app, &caller, &call.id, &socket_id).await {
        tracing::error!(error = %refusal, "could not record a participant leaving a call");
    }
    live.app.events.publish(Event::CallSignal {
        call_id: call.id.clone(),
        from_node: live.hub.node.clone(),
        from_socket: conn.id,
        frame: CallFrame::Leave.to_json(),
    });
    let _ = writer.await;
}

/// Passes each JSON object the client sends to the call's other sockets, on every node.
async fn read_signals(stream: &mut Stream, live: &Live, conn: &Arc<Conn>, call: &Call) {
    let mut budget = FrameBudget::new(live.config.frames_per_sec);
    loop {
        let next = tokio::select! {
            _ = conn.closed.cancelled() => return,
            next = stream.next() => next,
        };
        let text = match next {
            Some(Ok(Message::Text(text))) => Some(text),
            Some(Ok(Message::Binary(_))) => None,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | None => return,
            Some(Err(error)) => {
                if frame_too_big(&error) {
                    conn.close(CLOSE_TOO_BIG);
                }
                return;
            }
        };
        if !budget.take() {
            conn.close(CLOSE_FLOOD);
            return;
        }
        match text.filter(|t| serde_json::from_str::<Map<String, Value>>(t).is_ok()) {
            Some(text) => live.app.events.publish(Event::CallSignal {
                call_id: call.id.clone(),
                from_node: live.hub.node.clone(),
                from_socket: conn.id,
                frame: text.to_string(),
            }),
            None => {
                let frame = CallFrame::CallError {
                    chat_id: call.chat_id,
                    code: "BAD_FRAME".into(),
                    message: "Call frames must be JSON objects.".into(),
                    call_id: Some(call.id.clone()),
                };
                conn.send(Frame::from(frame.to_json()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::signalling_url;

    #[test]
    fn signalling_goes_to_rtc_with_the_minted_token_only() {
        assert_eq!(signalling_url("wss://lk.example.org/", "", "T"), "wss://lk.example.org/rtc?access_token=T");
        assert_eq!(
            signalling_url("https://lk.example.org/base", "protocol=15&access_token=forged", "T"),
            "wss://lk.example.org/base/rtc?protocol=15&access_token=T"
        );
        assert_eq!(
            signalling_url("http://127.0.0.1:7880", "access_token=a&access_token=b", "T"),
            "ws://127.0.0.1:7880/rtc?access_token=T"
        );
    }
}
