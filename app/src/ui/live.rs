//! The browser's WebSocket to `/ws`: authenticates, joins every chat (resuming each with `after`
//! the last message it has), resends messages still waiting for their `ack`, and reconnects by
//! itself with growing pauses. Frames to send queue while it is away.

use futures::channel::mpsc::{unbounded, UnboundedSender};
use leptos::prelude::*;

use super::session::SessionStore;
use super::store::{ChatStore, PendingPost};
use crate::api::ids::Id;
use crate::api::ws::{ClientFrame, ReplyPreview};

/// Where components send frames.
#[derive(Clone, Copy)]
pub struct LiveLink {
    outgoing: StoredValue<UnboundedSender<String>>,
}

impl LiveLink {
    pub fn send(&self, frame: &ClientFrame) {
        if let Ok(text) = serde_json::to_string(frame) {
            self.outgoing.with_value(|tx| {
                let _ = tx.unbounded_send(text);
            });
        }
    }

    /// Ends the connection for good (the chat screen is gone).
    pub fn close(&self) {
        let _ = self.outgoing.try_with_value(|tx| tx.close_channel());
    }

    /// Follows every chat in the list (again after a reconnect), resuming where history ends.
    pub fn join_all(&self, store: &ChatStore) {
        for frame in join_frames(store) {
            self.send(&frame);
        }
    }

    /// Posts a message (answering `reply_to`, when given) and shows it as pending until acked.
    pub fn post(&self, store: &ChatStore, chat_id: i64, text: &str, reply_to: Option<ReplyPreview>) {
        let nonce = super::browser::random_id();
        let reply_to_id = reply_to.as_ref().map(|r| r.message_id);
        store.add_pending(chat_id, &nonce, text, reply_to);
        let post = PendingPost { chat_id, nonce: nonce.clone(), text: text.into(), reply_to: reply_to_id };
        self.send(&post.frame());
        // Not acknowledged in 10 s: offer a retry (it keeps trying after reconnects anyway).
        let store = *store;
        leptos::task::spawn_local(async move {
            super::browser::sleep_ms(10_000).await;
            store.mark_failed(&[nonce]);
        });
    }
}

fn join_frames(store: &ChatStore) -> Vec<ClientFrame> {
    let ids: Vec<i64> = store.chats.with_untracked(|c| c.iter().map(|c| c.chat_id).collect());
    store.conversations.with_untracked(|conversations| {
        ids.into_iter()
            .map(|chat_id| ClientFrame::JoinChat {
                chat_id: Id(chat_id),
                after: conversations.get(&chat_id).filter(|c| c.loaded).and_then(|c| c.last_id()).map(Id),
            })
            .collect()
    })
}

/// Starts the connection (in the browser; on the server it only makes the queue).
pub fn connect(store: ChatStore, session: SessionStore) -> LiveLink {
    let (outgoing, incoming) = unbounded::<String>();
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(client::run(store, session, incoming));
    #[cfg(not(feature = "hydrate"))]
    let _ = (store, session, incoming);
    LiveLink { outgoing: StoredValue::new(outgoing) }
}

#[cfg(feature = "hydrate")]
mod client {
    use futures::channel::mpsc::UnboundedReceiver;
    use futures::stream::FusedStream;
    use futures::{SinkExt, StreamExt};
    use gloo_net::websocket::futures::WebSocket;
    use gloo_net::websocket::{Message, WebSocketError};
    use leptos::prelude::*;

    use super::super::browser;
    use super::super::session::SessionStore;
    use super::super::store::{ChatStore, Connection, PendingPost};
    use super::join_frames;
    use crate::api::calls::CallFrame;
    use crate::api::ws::{Capabilities, ClientFrame, ServerFrame};

    enum Outcome {
        /// The token was refused (expired or revoked).
        Refused,
        /// The connection could not open or ended.
        Dropped,
    }

    pub async fn run(store: ChatStore, session: SessionStore, mut outgoing: UnboundedReceiver<String>) {
        let mut pause = 500;
        loop {
            // Signed out, or the chat screen closed the queue: stop.
            if session.0.get_untracked().is_none() || outgoing.is_terminated() {
                return;
            }
            match connect_once(&store, &session, &mut outgoing).await {
                Outcome::Refused => {
                    if !session.renew().await && session.0.get_untracked().is_none() {
                        return;
                    }
                }
                Outcome::Dropped => {}
            }
            if store.connection.get_untracked() == Connection::Online {
                pause = 500;
            }
            store.connection.set(Connection::Reconnecting);
            browser::sleep_ms(pause).await;
            pause = (pause * 2).min(10_000);
        }
    }

    fn text(frame: &ClientFrame) -> Message {
        Message::Text(serde_json::to_string(frame).unwrap_or_default())
    }

    async fn connect_once(
        store: &ChatStore,
        session: &SessionStore,
        outgoing: &mut UnboundedReceiver<String>,
    ) -> Outcome {
        let Ok(socket) = WebSocket::open(&browser::socket_url()) else { return Outcome::Dropped };
        let (mut write, mut read) = socket.split();
        let token = session.access_token().unwrap_or_default();
        let capabilities = Capabilities::all().names();
        if write.send(text(&ClientFrame::Auth { token, capabilities })).await.is_err() {
            return Outcome::Dropped;
        }
        match read.next().await {
            Some(Ok(Message::Text(first))) if first.contains("auth_ack") => {}
            Some(Err(WebSocketError::ConnectionClose(event))) if event.code == 1008 => return Outcome::Refused,
            _ => return Outcome::Dropped,
        }
        store.connection.set(Connection::Online);
        // Calls may have ended while away: the joins below tell of every live one again.
        store.calls.set(Default::default());
        let mut hello: Vec<ClientFrame> = join_frames(store);
        hello.extend(store.pending().into_iter().map(PendingPost::frame));
        for frame in &hello {
            if write.send(text(frame)).await.is_err() {
                return Outcome::Dropped;
            }
        }
        let reader = async {
            while let Some(Ok(message)) = read.next().await {
                if let Message::Text(body) = message {
                    if let Ok(frame) = serde_json::from_str::<ServerFrame>(&body) {
                        store.apply(frame);
                    } else if let Ok(frame) = serde_json::from_str::<CallFrame>(&body) {
                        store.apply_call(frame);
                    }
                }
            }
        };
        let writer = async {
            while let Some(frame) = outgoing.next().await {
                if write.send(Message::Text(frame)).await.is_err() {
                    break;
                }
            }
        };
        futures::future::select(Box::pin(reader), Box::pin(writer)).await;
        if outgoing.is_terminated() {
            let _ = write.close().await;
        }
        Outcome::Dropped
    }
}
