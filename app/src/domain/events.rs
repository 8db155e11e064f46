//! Live events: what the domain announces after a change is stored. The server's hub delivers
//! them to open WebSocket connections on every node (through NATS when there are several).

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
    /// Sessions ended (one, or all of a user's): their sockets close.
    SessionsRevoked {
        user_id: i64,
        session_id: Option<i64>,
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

    /// For readiness probes: `Some(result)` when events go through an outside server (NATS).
    fn check(&self) -> Option<Result<(), String>> {
        None
    }
}

pub struct NoEvents;

impl EventSink for NoEvents {
    fn publish(&self, _event: Event) {}
}
