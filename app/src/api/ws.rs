//! The WebSocket protocol at `/ws`: every frame of ChatCLI's wire, plus Hearth's additions
//! (`nonce`/`ack` on `post_msg`, `after` on `join_chat`). JSON text frames with a `"type"`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ids::Id;

/// A message as every surface shows it (ChatCLI's `/chat/messages` items and `new_message`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChatMessage {
    #[serde(rename = "messageID")]
    pub message_id: i64,
    #[serde(rename = "chatID")]
    pub chat_id: i64,
    #[serde(rename = "userID")]
    pub user_id: i64,
    pub username: String,
    /// Empty once deleted.
    pub message: String,
    /// RFC 3339 UTC.
    pub timestamp: String,
    pub edited_at: Option<String>,
    pub deleted_at: Option<String>,
    /// Hearth's addition: files attached with `/api/upload/complete`; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<super::files::FileAttachment>,
    /// Hearth's addition: the message this one answers; absent when none. On the WebSocket only
    /// for clients that declared the `replies` capability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<ReplyPreview>,
    /// Hearth's addition: reactions, in the order each emoji was first used; absent when none.
    /// On the WebSocket only for clients that declared the `reactions` capability.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    /// Hearth's addition: true while the message is pinned in its chat; absent otherwise. On the
    /// WebSocket only for clients that declared the `pins` capability.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pinned: bool,
}

impl ChatMessage {
    /// The message as ChatCLI's own clients know it: without what only capable clients read.
    pub fn for_capabilities(mut self, capabilities: Capabilities) -> ChatMessage {
        if !capabilities.replies {
            self.reply_to = None;
        }
        if !capabilities.reactions {
            self.reactions = Vec::new();
        }
        if !capabilities.pins {
            self.pinned = false;
        }
        self
    }
}

/// The quoted preview of the message a reply answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReplyPreview {
    #[serde(rename = "messageID")]
    pub message_id: i64,
    pub username: String,
    /// The start of its text (at most `REPLY_PREVIEW_CHARS` characters); empty once deleted.
    pub message: String,
    /// True once the answered message was deleted.
    #[serde(default)]
    pub deleted: bool,
}

/// How much of the answered message a reply quotes.
pub const REPLY_PREVIEW_CHARS: usize = 140;

/// One emoji on a message: how many people chose it, and who (in the order they did).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Reaction {
    pub emoji: String,
    pub count: i64,
    pub users: Vec<String>,
}

/// What a client declared it understands in its `auth` frame (`capabilities`). ChatCLI's own
/// clients declare nothing and get exactly ChatCLI's frames.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// `reply_to` on messages.
    pub replies: bool,
    /// `reactions` on messages, and `reaction_changed` frames.
    pub reactions: bool,
    /// `pinned` on messages, and `pin_changed` frames.
    pub pins: bool,
}

impl Capabilities {
    /// Every capability this server has, as clients name them.
    pub const KNOWN: &'static [&'static str] = &["replies", "reactions", "pins"];

    /// Reads a client's list; names this server does not know are left out.
    pub fn from_names(names: &[String]) -> Capabilities {
        let has = |name: &str| names.iter().any(|n| n == name);
        Capabilities { replies: has("replies"), reactions: has("reactions"), pins: has("pins") }
    }

    pub fn all() -> Capabilities {
        Capabilities { replies: true, reactions: true, pins: true }
    }

    /// The names of what is on, for `auth_ack`.
    pub fn names(self) -> Vec<String> {
        let on = [self.replies, self.reactions, self.pins];
        Capabilities::KNOWN.iter().zip(on).filter(|(_, on)| *on).map(|(name, _)| name.to_string()).collect()
    }
}

#[cfg(feature = "ssr")]
impl From<crate::domain::chats::Message> for ChatMessage {
    fn from(m: crate::domain::chats::Message) -> Self {
        use crate::domain::store::rfc3339;
        ChatMessage {
            message_id: m.id,
            chat_id: m.chat_id,
            user_id: m.user_id,
            username: m.username,
            message: if m.deleted_at.is_some() { String::new() } else { m.body },
            timestamp: rfc3339(m.created_at),
            edited_at: m.edited_at.map(rfc3339),
            deleted_at: m.deleted_at.map(rfc3339),
            attachments: m.attachments.into_iter().map(super::files::FileAttachment::from).collect(),
            reply_to: m.parent,
            reactions: m.reactions,
            pinned: m.pinned_at.is_some(),
        }
    }
}

/// Frames a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    Auth {
        token: String,
        /// Hearth's addition: the frames and fields beyond ChatCLI's that the client understands
        /// (`Capabilities::KNOWN`); unknown names, and anything but a list of names, are ignored:
        /// a client is never refused for what it hoped to get.
        #[serde(default, deserialize_with = "names_or_nothing")]
        #[cfg_attr(feature = "ssr", schema(value_type = Vec<String>))]
        capabilities: Vec<String>,
    },
    JoinIdle,
    JoinChat {
        #[serde(rename = "chatID")]
        chat_id: Id,
        /// Replay every message after this id first, then stream live ones.
        #[serde(default)]
        after: Option<Id>,
    },
    LeaveChat {
        #[serde(rename = "chatID")]
        chat_id: Id,
    },
    PostMsg {
        #[serde(rename = "chatID")]
        chat_id: Id,
        text: String,
        /// The client's idempotency key: answered by `ack`, never stored twice.
        #[serde(default)]
        nonce: Option<String>,
        /// Hearth's addition: the id of the message of this chat that this one answers.
        #[serde(default)]
        reply_to: Option<Id>,
    },
    EditMsg {
        #[serde(rename = "chatID")]
        chat_id: Id,
        #[serde(rename = "messageID")]
        message_id: Id,
        text: String,
    },
    DeleteMsg {
        #[serde(rename = "chatID")]
        chat_id: Id,
        #[serde(rename = "messageID")]
        message_id: Id,
    },
    /// Hearth's addition: adds the caller's reaction (an emoji, or a `:shortcode:`).
    AddReaction {
        #[serde(rename = "chatID")]
        chat_id: Id,
        #[serde(rename = "messageID")]
        message_id: Id,
        emoji: String,
    },
    /// Hearth's addition: takes the caller's reaction back.
    RemoveReaction {
        #[serde(rename = "chatID")]
        chat_id: Id,
        #[serde(rename = "messageID")]
        message_id: Id,
        emoji: String,
    },
    /// Hearth's addition: pins a message of the chat for everyone in it.
    PinMessage {
        #[serde(rename = "chatID")]
        chat_id: Id,
        #[serde(rename = "messageID")]
        message_id: Id,
    },
    /// Hearth's addition: unpins it.
    UnpinMessage {
        #[serde(rename = "chatID")]
        chat_id: Id,
        #[serde(rename = "messageID")]
        message_id: Id,
    },
    /// Sent per keystroke by ChatCLI's client: past the socket's budget it is dropped, not refused.
    Typing {
        #[serde(rename = "chatID")]
        chat_id: Id,
    },
    /// A client announcing the chat it created: the server told the members already, so this
    /// only checks the chat (ChatCLI's client adds `creator`, which is ignored).
    ChatCreated {
        #[serde(rename = "chatID")]
        chat_id: Id,
    },
    CallInvite {
        #[serde(rename = "chatID")]
        chat_id: Id,
    },
    CallAccept {
        #[serde(rename = "chatID")]
        chat_id: Id,
        call_id: String,
    },
    CallDecline {
        #[serde(rename = "chatID")]
        chat_id: Id,
    },
    CallEnd {
        #[serde(rename = "chatID")]
        chat_id: Id,
    },
}

/// The strings of a JSON list; nothing for any other value.
fn names_or_nothing<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    let names = match value {
        Value::Array(items) => items.into_iter().filter_map(|item| item.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    };
    Ok(names)
}

const CLIENT_FRAME_TYPES: &[&str] = &[
    "auth",
    "join_idle",
    "join_chat",
    "leave_chat",
    "post_msg",
    "edit_msg",
    "delete_msg",
    "add_reaction",
    "remove_reaction",
    "pin_message",
    "unpin_message",
    "typing",
    "chat_created",
    "call_invite",
    "call_accept",
    "call_decline",
    "call_end",
];

impl ClientFrame {
    /// Reads a text frame, or says in a sentence what is wrong with it.
    pub fn parse(text: &str) -> Result<ClientFrame, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|_| "Frames must be JSON objects with a \"type\".".to_string())?;
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| "Frames must be JSON objects with a \"type\".".to_string())?;
        if !CLIENT_FRAME_TYPES.contains(&kind) {
            let shown: String = kind.chars().take(40).collect();
            return Err(format!("Unknown frame type \"{shown}\"."));
        }
        let kind = kind.to_string();
        serde_json::from_value(value).map_err(|e| format!("Invalid {kind} frame: {e}."))
    }
}

/// Frames the server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    AuthAck {
        status: String,
        /// Hearth's addition: the capabilities the client declared that this server has; absent
        /// when the client declared none.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        capabilities: Vec<String>,
    },
    OnlineUsers {
        users: Vec<String>,
    },
    NewMessage(ChatMessage),
    EditedMessage(ChatMessage),
    DeletedMessage {
        #[serde(rename = "messageID")]
        message_id: i64,
        #[serde(rename = "chatID")]
        chat_id: i64,
        deleted_at: String,
    },
    UserTyping {
        username: String,
        #[serde(rename = "chatID")]
        chat_id: i64,
    },
    UserStatus {
        username: String,
        online: bool,
    },
    /// A chat is in the recipient's list: once per member, never to its creator.
    ChatCreated {
        #[serde(rename = "chatID")]
        chat_id: i64,
        creator: String,
    },
    /// Someone added or took back a reaction: the message's reactions as they now are. Only for
    /// clients that declared the `reactions` capability.
    ReactionChanged {
        #[serde(rename = "chatID")]
        chat_id: i64,
        #[serde(rename = "messageID")]
        message_id: i64,
        username: String,
        emoji: String,
        added: bool,
        reactions: Vec<Reaction>,
    },
    /// A message was pinned or unpinned. Only for clients that declared the `pins` capability.
    PinChanged {
        #[serde(rename = "chatID")]
        chat_id: i64,
        #[serde(rename = "messageID")]
        message_id: i64,
        pinned: bool,
        username: String,
    },
    /// The `post_msg` with this nonce is stored as `messageID`.
    Ack {
        nonce: String,
        #[serde(rename = "messageID")]
        message_id: i64,
    },
    Error {
        message: String,
    },
}

impl ServerFrame {
    pub fn error(message: impl Into<String>) -> Self {
        ServerFrame::Error { message: message.into() }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("server frames always serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_frames_read_the_reference_shapes() {
        assert_eq!(
            ClientFrame::parse(r#"{"type":"auth","token":"t"}"#).unwrap(),
            ClientFrame::Auth { token: "t".into(), capabilities: Vec::new() }
        );
        assert_eq!(
            ClientFrame::parse(r#"{"type":"post_msg","chatID":3,"text":"hi"}"#).unwrap(),
            ClientFrame::PostMsg { chat_id: Id(3), text: "hi".into(), nonce: None, reply_to: None }
        );
        assert_eq!(ClientFrame::parse(r#"{"type":"join_idle"}"#).unwrap(), ClientFrame::JoinIdle);
    }

    #[test]
    fn capabilities_are_read_leniently() {
        let auth = |json: &str| match ClientFrame::parse(json).unwrap() {
            ClientFrame::Auth { capabilities, .. } => capabilities,
            other => panic!("not auth: {other:?}"),
        };
        assert_eq!(auth(r#"{"type":"auth","token":"t","capabilities":["replies",7,"pins"]}"#), ["replies", "pins"]);
        assert!(auth(r#"{"type":"auth","token":"t","capabilities":"replies"}"#).is_empty());
        assert!(auth(r#"{"type":"auth","token":"t","capabilities":null}"#).is_empty());
        assert_eq!(Capabilities::from_names(&["pins".into(), "holograms".into()]).names(), ["pins"]);
    }

    #[test]
    fn bad_frames_are_explained() {
        assert_eq!(ClientFrame::parse("nope").unwrap_err(), "Frames must be JSON objects with a \"type\".");
        assert_eq!(ClientFrame::parse(r#"{"type":"dance"}"#).unwrap_err(), "Unknown frame type \"dance\".");
        assert!(ClientFrame::parse(r#"{"type":"post_msg","chatID":"x","text":"hi"}"#)
            .unwrap_err()
            .starts_with("Invalid post_msg frame"));
    }

    #[test]
    fn server_frames_have_the_reference_shapes() {
        let frame = ServerFrame::UserTyping { username: "a".into(), chat_id: 2 };
        assert_eq!(frame.to_json(), r#"{"type":"user_typing","username":"a","chatID":2}"#);
        let message = ChatMessage {
            message_id: 1,
            chat_id: 2,
            user_id: 3,
            username: "a".into(),
            message: "hi".into(),
            timestamp: "t".into(),
            edited_at: None,
            deleted_at: None,
            attachments: Vec::new(),
            reply_to: None,
            reactions: Vec::new(),
            pinned: false,
        };
        let json: Value = serde_json::from_str(&ServerFrame::NewMessage(message).to_json()).unwrap();
        assert_eq!(json["type"], "new_message");
        assert_eq!(json["messageID"], 1);
        assert!(json["edited_at"].is_null());
    }
}
