//! Live events: what the domain announces after a change is stored. The server's hub delivers
//! them to open WebSocket connections on every node (through NATS when there are several).

use std::future::Future;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::chats::Message;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    MessagePosted {
        message: Message,
    },
    MessageEdited {
        message: Message,
    },
    MessageDeleted {
        chat_id: i64,
        message_id: i64,
        deleted_at: i64,
    },
    /// Someone reacted or took a reaction back; `reactions` is the message's whole list now.
    ReactionChanged {
        chat_id: i64,
        message_id: i64,
        username: String,
        emoji: String,
        added: bool,
        reactions: Vec<crate::api::ws::Reaction>,
    },
    /// A message was pinned or unpinned.
    PinChanged {
        chat_id: i64,
        message_id: i64,
        pinned: bool,
        username: String,
    },
    Typing {
        chat_id: i64,
        user_id: i64,
        username: String,
    },
    /// A chat appeared in these users' lists (new chat, or they were added).
    ChatCreated {
        chat_id: i64,
        creator: String,
        recipients: Vec<i64>,
    },
    /// These users left or were removed: their connections stop receiving the chat at once.
    MembersRemoved {
        chat_id: i64,
        user_ids: Vec<i64>,
    },
    /// Sessions ended (one, or all of a user's): their sockets close at once, except those of
    /// `spared`, the session whose own logout ended them (they get `LoggedOut` after the answer).
    SessionsRevoked {
        user_id: i64,
        session_id: Option<i64>,
        #[serde(default)]
        spared: Option<i64>,
    },
    /// A client logged its own session out: that session's sockets close normally.
    LoggedOut {
        user_id: i64,
        session_id: i64,
    },
    /// A node's view of a user's connections changed (first opened or last closed there).
    Presence {
        node: String,
        user_id: i64,
        username: String,
        online: bool,
        recipients: Vec<i64>,
    },
    /// Every few seconds each node lists who is connected to it, so others can expire a dead node.
    PresenceHeartbeat {
        node: String,
        users: Vec<(i64, String)>,
    },
    /// A call rang, was answered, declined or ended: these members' sockets hear of it (each
    /// node mints the LiveKit tokens of its own recipients, so no token crosses the bus).
    CallChanged {
        chat_id: i64,
        call_id: String,
        recipients: Vec<i64>,
        change: CallChange,
    },
    /// A JSON frame for a call's sockets (the relay used without LiveKit), except the sender's.
    CallSignal {
        call_id: String,
        from_node: String,
        from_socket: u64,
        frame: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum CallChange {
    Invited {
        caller: String,
    },
    Accepted {
        accepted_by: String,
    },
    Declined {
        by: String,
        initiator: String,
    },
    /// `ended_by` is None when nobody ended it (the ring timeout).
    Ended {
        ended_by: Option<String>,
        initiator: String,
        reason: String,
    },
}

/// Where the domain sends events. The server plugs in its bus; admin commands use `NoEvents`.
pub trait EventSink: Send + Sync {
    fn publish(&self, event: Event);

    /// Publishes once the answer to the HTTP request being handled is sent (see `holding_events`),
    /// or at once outside one: the caller's own socket must not hear of it before the answer.
    fn publish_after_answer(&self, event: Event) {
        let mut event = Some(event);
        let _ = HELD.try_with(|held| held.lock().unwrap_or_else(|p| p.into_inner()).extend(event.take()));
        if let Some(event) = event {
            self.publish(event);
        }
    }

    /// For readiness probes: `Some(result)` when events go through an outside server (NATS).
    fn check(&self) -> Option<Result<(), String>> {
        None
    }
}

tokio::task_local! {
    static HELD: Arc<Mutex<Vec<Event>>>;
}

/// Runs the handling of one HTTP request and returns, with its result, the events it held back
/// with `publish_after_answer`, for the caller to publish once the answer is sent.
pub async fn holding_events<F: Future>(handling: F) -> (F::Output, Vec<Event>) {
    let held = Arc::new(Mutex::new(Vec::new()));
    let output = HELD.scope(held.clone(), handling).await;
    let events = std::mem::take(&mut *held.lock().unwrap_or_else(|p| p.into_inner()));
    (output, events)
}

pub struct NoEvents;

impl EventSink for NoEvents {
    fn publish(&self, _event: Event) {}
}
