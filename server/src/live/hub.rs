//! This node's open connections, and the fan-out of live events to them. Chat events go to the
//! connections that joined the chat; user events (new chat, presence, revocation, calls) to the
//! user's connections; call signals to the call's sockets. Frames are serialised once per event
//! and queued without blocking: a connection whose queue is full is cut off, never buffered
//! without limit.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use axum::extract::ws::Utf8Bytes;

use app::api::calls::CallFrame;
use app::api::ws::{Capabilities, ChatMessage, ServerFrame};
use app::domain::chats::Message;
use app::domain::events::{CallChange, Event};
use app::domain::livekit::LiveKit;
use app::domain::store::rfc3339;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A frame serialised once and shared by every connection it goes to.
pub type Frame = Utf8Bytes;

/// Why the server closes a socket, as a WebSocket close code and reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseReason {
    pub code: u16,
    pub reason: &'static str,
}

pub const CLOSE_SESSION_ENDED: CloseReason = CloseReason { code: 1008, reason: "session ended" };
/// The client's own logout: a normal closure, which ChatCLI's client shows as this sentence
/// (1008 would read "Authentication failed").
pub const CLOSE_LOGGED_OUT: CloseReason = CloseReason { code: 1000, reason: "You logged out." };
pub const CLOSE_TOO_SLOW: CloseReason = CloseReason { code: 1013, reason: "not reading fast enough" };
pub const CLOSE_CALL_ENDED: CloseReason = CloseReason { code: 1000, reason: "call ended" };
/// The server is shutting down: the client should reconnect (to this node once it is back, or
/// to another).
pub const CLOSE_RESTARTING: CloseReason = CloseReason { code: 1012, reason: "server restarting, reconnect" };

/// One open, authenticated WebSocket.
pub struct Conn {
    pub id: u64,
    pub user_id: i64,
    pub session_id: i64,
    pub username: String,
    outbox: mpsc::Sender<Frame>,
    /// Cancelled to end the connection; `close_reason` says why.
    pub closed: CancellationToken,
    /// Cancelled once the connection reads no more frames: a frame being handled is finished.
    pub reading_done: CancellationToken,
    close_reason: Mutex<Option<CloseReason>>,
    chats: Mutex<HashMap<i64, ChatSubscription>>,
    /// What the client declared it understands: frames and fields beyond ChatCLI's go only to
    /// clients that said so.
    pub capabilities: Capabilities,
}

/// How a connection follows one chat.
#[derive(Default)]
struct ChatSubscription {
    /// While history is replayed after `join_chat {after}`, live frames wait here.
    held: Option<Vec<(Option<i64>, Frame)>>,
    /// New messages with ids up to this were sent by the replay: skip their live copies.
    replayed_up_to: i64,
}

impl Conn {
    pub fn new(
        user_id: i64,
        session_id: i64,
        username: String,
        capabilities: Capabilities,
        outbox: mpsc::Sender<Frame>,
    ) -> Arc<Conn> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Arc::new(Conn {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            user_id,
            session_id,
            username,
            outbox,
            closed: CancellationToken::new(),
            reading_done: CancellationToken::new(),
            close_reason: Mutex::new(None),
            chats: Mutex::new(HashMap::new()),
            capabilities,
        })
    }

    pub fn close(&self, reason: CloseReason) {
        self.close_reason.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(reason);
        self.closed.cancel();
    }

    pub fn close_reason(&self) -> Option<CloseReason> {
        *self.close_reason.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a frame; a full queue means the client stopped reading, so it is cut off.
    pub fn send(&self, frame: Frame) -> bool {
        match self.outbox.try_send(frame) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.close(CLOSE_TOO_SLOW);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Queues a frame, waiting for room (used by replays, which the connection's own task drives).
    pub async fn send_waiting(&self, frame: Frame) -> bool {
        self.outbox.send(frame).await.is_ok()
    }

    fn chats(&self) -> std::sync::MutexGuard<'_, HashMap<i64, ChatSubscription>> {
        self.chats.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Delivers a chat frame; `message_id` is set for new messages (to skip replayed ones).
    fn deliver_chat_frame(&self, chat_id: i64, message_id: Option<i64>, frame: &Frame) {
        let mut chats = self.chats();
        let Some(subscription) = chats.get_mut(&chat_id) else { return };
        if let Some(held) = subscription.held.as_mut() {
            held.push((message_id, frame.clone()));
            return;
        }
        if message_id.is_some_and(|id| id <= subscription.replayed_up_to) {
            return;
        }
        drop(chats);
        self.send(frame.clone());
    }
}

pub struct Hub {
    pub node: String,
    /// Every open connection by user.
    users: RwLock<HashMap<i64, Vec<Arc<Conn>>>>,
    /// Connections following each chat.
    chats: RwLock<HashMap<i64, HashMap<u64, Arc<Conn>>>>,
    /// Who is connected to which node, as the nodes announced it (this one included).
    presence: Mutex<HashMap<String, HashMap<i64, String>>>,
    /// Call sockets (`/ws/call/{call_id}`) by call.
    calls: RwLock<HashMap<String, HashMap<u64, Arc<Conn>>>>,
    /// Mints each recipient's own LiveKit token for `call_invite` and `call_accepted`.
    livekit: Option<LiveKit>,
    /// For `/api/metrics`: messages announced to this node, and every event it fanned out.
    pub messages_posted: AtomicU64,
    pub events_delivered: AtomicU64,
    /// Cancelled when the server starts shutting down: sockets close with 1012, new ones too.
    pub shutting_down: CancellationToken,
}

impl Hub {
    pub fn new(node: String, livekit: Option<LiveKit>) -> Arc<Hub> {
        Arc::new(Hub {
            node,
            users: RwLock::default(),
            chats: RwLock::default(),
            presence: Mutex::default(),
            calls: RwLock::default(),
            livekit,
            messages_posted: AtomicU64::new(0),
            events_delivered: AtomicU64::new(0),
            shutting_down: CancellationToken::new(),
        })
    }

    /// Tells every socket, chat and call, to reconnect (close 1012); `register` and `join_call`
    /// close the ones that come after.
    pub fn close_all_for_shutdown(&self) {
        self.shutting_down.cancel();
        let users = self.users.read().unwrap_or_else(|p| p.into_inner());
        let calls = self.calls.read().unwrap_or_else(|p| p.into_inner());
        for conn in users.values().flatten().chain(calls.values().flat_map(|sockets| sockets.values())) {
            conn.close(CLOSE_RESTARTING);
        }
    }

    /// A socket registering once `close_all_for_shutdown` has run (which cancels before it looks
    /// under the same locks) is closed here, so none is missed.
    fn close_if_shutting_down(&self, conn: &Conn) {
        if self.shutting_down.is_cancelled() {
            conn.close(CLOSE_RESTARTING);
        }
    }

    /// Chat and call sockets still open on this node.
    pub fn open_sockets(&self) -> usize {
        let calls = self.calls.read().unwrap_or_else(|p| p.into_inner());
        self.connection_count() + calls.values().map(HashMap::len).sum::<usize>()
    }

    /// Adds a connection; true when it is the user's first on this node.
    pub fn register(&self, conn: &Arc<Conn>) -> bool {
        let mut users = self.users.write().unwrap_or_else(|p| p.into_inner());
        let list = users.entry(conn.user_id).or_default();
        list.push(conn.clone());
        self.close_if_shutting_down(conn);
        list.len() == 1
    }

    /// Removes a connection and its subscriptions; true when it was the user's last on this node.
    pub fn unregister(&self, conn: &Arc<Conn>) -> bool {
        let subscribed: Vec<i64> = conn.chats().keys().copied().collect();
        {
            let mut chats = self.chats.write().unwrap_or_else(|p| p.into_inner());
            for chat_id in subscribed {
                if let Some(followers) = chats.get_mut(&chat_id) {
                    followers.remove(&conn.id);
                    if followers.is_empty() {
                        chats.remove(&chat_id);
                    }
                }
            }
        }
        let mut users = self.users.write().unwrap_or_else(|p| p.into_inner());
        let Some(list) = users.get_mut(&conn.user_id) else { return false };
        list.retain(|c| c.id != conn.id);
        let last = list.is_empty();
        if last {
            users.remove(&conn.user_id);
        }
        last
    }

    /// Starts following a chat. With `hold`, live frames wait until `finish_replay`.
    pub fn subscribe(&self, conn: &Arc<Conn>, chat_id: i64, hold: bool) {
        conn.chats().insert(chat_id, ChatSubscription { held: hold.then(Vec::new), replayed_up_to: 0 });
        self.chats.write().unwrap_or_else(|p| p.into_inner()).entry(chat_id).or_default().insert(conn.id, conn.clone());
    }

    /// Ends a replay: releases the frames that waited, minus messages the replay already sent.
    pub fn finish_replay(&self, conn: &Conn, chat_id: i64, replayed_up_to: i64) {
        let mut chats = conn.chats();
        let Some(subscription) = chats.get_mut(&chat_id) else { return };
        subscription.replayed_up_to = replayed_up_to;
        let held = subscription.held.take().unwrap_or_default();
        drop(chats);
        for (message_id, frame) in held {
            if message_id.is_none_or(|id| id > replayed_up_to) {
                conn.send(frame);
            }
        }
    }

    pub fn unsubscribe(&self, conn: &Conn, chat_id: i64) {
        conn.chats().remove(&chat_id);
        let mut chats = self.chats.write().unwrap_or_else(|p| p.into_inner());
        if let Some(followers) = chats.get_mut(&chat_id) {
            followers.remove(&conn.id);
            if followers.is_empty() {
                chats.remove(&chat_id);
            }
        }
    }

    pub fn unsubscribe_all(&self, conn: &Conn) {
        let subscribed: Vec<i64> = conn.chats().keys().copied().collect();
        for chat_id in subscribed {
            self.unsubscribe(conn, chat_id);
        }
    }

    pub fn is_subscribed(&self, conn: &Conn, chat_id: i64) -> bool {
        conn.chats().contains_key(&chat_id)
    }

    /// Usernames among `user_ids` connected to any node.
    pub fn online_among(&self, user_ids: &[i64]) -> Vec<String> {
        let presence = self.presence.lock().unwrap_or_else(|p| p.into_inner());
        let mut names: Vec<String> =
            user_ids.iter().filter_map(|id| presence.values().find_map(|users| users.get(id).cloned())).collect();
        names.sort();
        names.dedup();
        names
    }

    /// Users connected to this node, for heartbeats.
    pub fn local_users(&self) -> Vec<(i64, String)> {
        let users = self.users.read().unwrap_or_else(|p| p.into_inner());
        users.iter().filter_map(|(id, conns)| conns.first().map(|c| (*id, c.username.clone()))).collect()
    }

    pub fn connection_count(&self) -> usize {
        self.users.read().unwrap_or_else(|p| p.into_inner()).values().map(Vec::len).sum()
    }

    /// Adds a call socket: it receives the call's signals, and closes when the call ends.
    pub fn join_call(&self, call_id: &str, conn: &Arc<Conn>) {
        let mut calls = self.calls.write().unwrap_or_else(|p| p.into_inner());
        calls.entry(call_id.to_string()).or_default().insert(conn.id, conn.clone());
        self.close_if_shutting_down(conn);
    }

    pub fn leave_call(&self, call_id: &str, conn: &Conn) {
        let mut calls = self.calls.write().unwrap_or_else(|p| p.into_inner());
        if let Some(sockets) = calls.get_mut(call_id) {
            sockets.remove(&conn.id);
            if sockets.is_empty() {
                calls.remove(call_id);
            }
        }
    }

    fn call_sockets(&self, call_id: &str) -> Vec<Arc<Conn>> {
        let calls = self.calls.read().unwrap_or_else(|p| p.into_inner());
        calls.get(call_id).map(|s| s.values().cloned().collect()).unwrap_or_default()
    }

    /// The user's chat and call sockets on this node.
    fn all_sockets_of(&self, user_id: i64) -> Vec<Arc<Conn>> {
        let mut conns = self.connections_of(&[user_id]);
        conns.extend(self.call_sockets_of(user_id));
        conns
    }

    fn call_sockets_of(&self, user_id: i64) -> Vec<Arc<Conn>> {
        let calls = self.calls.read().unwrap_or_else(|p| p.into_inner());
        calls.values().flat_map(|s| s.values()).filter(|c| c.user_id == user_id).cloned().collect()
    }

    /// The `/ws` frame telling one user of a call change, with their own token where it has one.
    pub fn call_frame_for(
        &self,
        chat_id: i64,
        call_id: &str,
        change: &CallChange,
        user_id: i64,
        username: &str,
    ) -> Frame {
        let (lk_token, lk_url) = match (change, &self.livekit) {
            (CallChange::Invited { .. } | CallChange::Accepted { .. }, Some(livekit)) => {
                match livekit.token(call_id, user_id, username) {
                    Ok(minted) => (Some(minted.token), minted.url),
                    Err(error) => {
                        tracing::error!(%error, "could not mint a LiveKit token");
                        (None, livekit.url.clone())
                    }
                }
            }
            _ => (None, None),
        };
        let call_id = call_id.to_string();
        let frame = match change.clone() {
            CallChange::Invited { caller } => CallFrame::CallInvite { chat_id, call_id, caller, lk_token, lk_url },
            CallChange::Accepted { accepted_by } => {
                CallFrame::CallAccepted { chat_id, call_id, accepted_by, lk_token, lk_url }
            }
            CallChange::Declined { by, initiator } => CallFrame::CallDeclined { chat_id, call_id, by, initiator },
            CallChange::Ended { ended_by, initiator, reason } => {
                CallFrame::CallEnded { chat_id, call_id, ended_by, initiator, reason }
            }
        };
        Frame::from(frame.to_json())
    }

    fn followers(&self, chat_id: i64) -> Vec<Arc<Conn>> {
        let chats = self.chats.read().unwrap_or_else(|p| p.into_inner());
        chats.get(&chat_id).map(|f| f.values().cloned().collect()).unwrap_or_default()
    }

    fn connections_of(&self, user_ids: &[i64]) -> Vec<Arc<Conn>> {
        let users = self.users.read().unwrap_or_else(|p| p.into_inner());
        user_ids.iter().filter_map(|id| users.get(id)).flatten().cloned().collect()
    }

    /// Delivers one event to the connections on this node that should see it.
    pub fn dispatch(&self, event: &Event) {
        self.events_delivered.fetch_add(1, Ordering::Relaxed);
        if matches!(event, Event::MessagePosted { .. }) {
            self.messages_posted.fetch_add(1, Ordering::Relaxed);
        }
        match event {
            Event::MessagePosted { message } => {
                let mut frames = MessageFrames::new(message, ServerFrame::NewMessage);
                for conn in self.followers(message.chat_id) {
                    conn.deliver_chat_frame(message.chat_id, Some(message.id), frames.for_conn(&conn));
                }
            }
            Event::MessageEdited { message } => {
                let mut frames = MessageFrames::new(message, ServerFrame::EditedMessage);
                for conn in self.followers(message.chat_id) {
                    conn.deliver_chat_frame(message.chat_id, None, frames.for_conn(&conn));
                }
            }
            Event::PinChanged { chat_id, message_id, pinned, username } => {
                let frame = frame(&ServerFrame::PinChanged {
                    chat_id: *chat_id,
                    message_id: *message_id,
                    pinned: *pinned,
                    username: username.clone(),
                });
                for conn in self.followers(*chat_id).into_iter().filter(|c| c.capabilities.pins) {
                    conn.deliver_chat_frame(*chat_id, None, &frame);
                }
            }
            Event::ReactionChanged { chat_id, message_id, username, emoji, added, reactions } => {
                let frame = frame(&ServerFrame::ReactionChanged {
                    chat_id: *chat_id,
                    message_id: *message_id,
                    username: username.clone(),
                    emoji: emoji.clone(),
                    added: *added,
                    reactions: reactions.clone(),
                });
                for conn in self.followers(*chat_id).into_iter().filter(|c| c.capabilities.reactions) {
                    conn.deliver_chat_frame(*chat_id, None, &frame);
                }
            }
            Event::MessageDeleted { chat_id, message_id, deleted_at } => {
                let frame = frame(&ServerFrame::DeletedMessage {
                    message_id: *message_id,
                    chat_id: *chat_id,
                    deleted_at: rfc3339(*deleted_at),
                });
                for conn in self.followers(*chat_id) {
                    conn.deliver_chat_frame(*chat_id, None, &frame);
                }
            }
            Event::Typing { chat_id, user_id, username } => {
                let frame = frame(&ServerFrame::UserTyping { username: username.clone(), chat_id: *chat_id });
                for conn in self.followers(*chat_id).into_iter().filter(|c| c.user_id != *user_id) {
                    conn.deliver_chat_frame(*chat_id, None, &frame);
                }
            }
            Event::ChatCreated { chat_id, creator, recipients } => {
                let frame = frame(&ServerFrame::ChatCreated { chat_id: *chat_id, creator: creator.clone() });
                for conn in self.connections_of(recipients) {
                    conn.send(frame.clone());
                }
            }
            Event::MembersRemoved { chat_id, user_ids } => {
                for conn in self.connections_of(user_ids) {
                    self.unsubscribe(&conn, *chat_id);
                }
            }
            Event::SessionsRevoked { user_id, session_id, spared } => {
                for conn in self.all_sockets_of(*user_id) {
                    if session_id.is_none_or(|sid| sid == conn.session_id) && *spared != Some(conn.session_id) {
                        conn.close(CLOSE_SESSION_ENDED);
                    }
                }
            }
            Event::LoggedOut { user_id, session_id } => {
                for conn in self.all_sockets_of(*user_id).into_iter().filter(|c| c.session_id == *session_id) {
                    conn.close(CLOSE_LOGGED_OUT);
                }
            }
            Event::Presence { node, user_id, username, online, recipients } => {
                let changed = {
                    let mut presence = self.presence.lock().unwrap_or_else(|p| p.into_inner());
                    let before = presence.values().any(|users| users.contains_key(user_id));
                    let users = presence.entry(node.clone()).or_default();
                    if *online {
                        users.insert(*user_id, username.clone());
                    } else {
                        users.remove(user_id);
                    }
                    let after = presence.values().any(|users| users.contains_key(user_id));
                    before != after
                };
                if changed {
                    let frame = frame(&ServerFrame::UserStatus { username: username.clone(), online: *online });
                    for conn in self.connections_of(recipients).into_iter().filter(|c| c.user_id != *user_id) {
                        conn.send(frame.clone());
                    }
                }
            }
            Event::PresenceHeartbeat { node, users } => {
                if node != &self.node {
                    let mut presence = self.presence.lock().unwrap_or_else(|p| p.into_inner());
                    presence.insert(node.clone(), users.iter().cloned().collect());
                }
            }
            Event::CallChanged { chat_id, call_id, recipients, change } => {
                if matches!(change, CallChange::Ended { .. }) {
                    for conn in self.call_sockets(call_id) {
                        conn.close(CLOSE_CALL_ENDED);
                    }
                }
                // Tokens differ per user: one frame per user, shared by their connections.
                let mut frames: HashMap<i64, Frame> = HashMap::new();
                for conn in self.connections_of(recipients) {
                    let frame = frames.entry(conn.user_id).or_insert_with(|| {
                        self.call_frame_for(*chat_id, call_id, change, conn.user_id, &conn.username)
                    });
                    conn.send(frame.clone());
                }
            }
            Event::CallSignal { call_id, from_node, from_socket, frame } => {
                let frame = Frame::from(frame.as_str());
                for conn in self.call_sockets(call_id) {
                    if !(from_node == &self.node && conn.id == *from_socket) {
                        conn.send(frame.clone());
                    }
                }
            }
        }
    }

    /// Forgets nodes that stopped sending heartbeats (they crashed or lost the bus).
    pub fn forget_nodes_except(&self, alive: &HashSet<String>) {
        let mut presence = self.presence.lock().unwrap_or_else(|p| p.into_inner());
        presence.retain(|node, _| node == &self.node || alive.contains(node));
    }
}

/// A message's frame as each kind of client gets it, each kind serialised once: clients that
/// declared no capabilities get ChatCLI's fields alone.
struct MessageFrames {
    message: ChatMessage,
    wrap: fn(ChatMessage) -> ServerFrame,
    /// Indexed by `replies | reactions << 1 | pins << 2`.
    built: [Option<Frame>; 8],
}

impl MessageFrames {
    fn new(message: &Message, wrap: fn(ChatMessage) -> ServerFrame) -> MessageFrames {
        MessageFrames { message: ChatMessage::from(message.clone()), wrap, built: Default::default() }
    }

    fn for_conn(&mut self, conn: &Conn) -> &Frame {
        let mut capabilities = conn.capabilities;
        // A message with neither has one frame for everybody.
        capabilities.replies &= self.message.reply_to.is_some();
        capabilities.reactions &= !self.message.reactions.is_empty();
        capabilities.pins &= self.message.pinned;
        let index = usize::from(capabilities.replies)
            | usize::from(capabilities.reactions) << 1
            | usize::from(capabilities.pins) << 2;
        let (message, wrap) = (&self.message, self.wrap);
        self.built[index].get_or_insert_with(|| frame(&wrap(message.clone().for_capabilities(capabilities))))
    }
}

pub fn frame(frame: &ServerFrame) -> Frame {
    Frame::from(frame.to_json())
}
