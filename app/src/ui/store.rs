//! What the chat screen knows: the chat list, loaded messages, who is online and typing, and
//! the connection's state. Server frames and the person's own actions update it; views read it.

use std::collections::{HashMap, HashSet};

use leptos::prelude::*;

use super::browser;
use crate::api::calls::CallFrame;
use crate::api::chats::ChatListItem;
use crate::api::ids::Id;
use crate::api::ws::{ChatMessage, ClientFrame, Reaction, ReplyPreview, ServerFrame};
use crate::api::ApiError;

/// A message as the screen shows it: stored, or still on its way.
#[derive(Debug, Clone, PartialEq)]
pub struct UiMessage {
    pub id: Option<i64>,
    /// Set for the person's own messages until the server acknowledges them.
    pub nonce: Option<String>,
    pub username: String,
    pub text: String,
    pub timestamp: String,
    pub edited: bool,
    pub deleted: bool,
    pub pending: bool,
    pub failed: bool,
    /// The message this one answers.
    pub reply_to: Option<ReplyPreview>,
    pub reactions: Vec<Reaction>,
    pub pinned: bool,
}

impl UiMessage {
    pub fn from_wire(message: ChatMessage) -> Self {
        UiMessage {
            id: Some(message.message_id),
            nonce: None,
            username: message.username,
            text: message.message,
            timestamp: message.timestamp,
            edited: message.edited_at.is_some(),
            deleted: message.deleted_at.is_some(),
            pending: false,
            failed: false,
            reply_to: message.reply_to,
            reactions: message.reactions,
            pinned: message.pinned,
        }
    }

    /// A key that changes whenever the message's look does, for keyed lists.
    pub fn render_key(&self) -> String {
        let reactions: Vec<String> =
            self.reactions.iter().map(|r| format!("{}{}", r.emoji, r.users.join(","))).collect();
        format!(
            "{:?}/{:?}/{}/{}/{}/{}/{}/{:?}/{}/{}",
            self.id,
            self.nonce,
            self.edited,
            self.deleted,
            self.pending,
            self.failed,
            self.text.len(),
            self.reply_to.as_ref().map(|r| (r.message_id, r.deleted)),
            reactions.join(";"),
            self.pinned
        )
    }
}

/// One of the person's own messages not acknowledged yet: sent again after a reconnect.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingPost {
    pub chat_id: i64,
    pub nonce: String,
    pub text: String,
    pub reply_to: Option<i64>,
}

impl PendingPost {
    pub fn frame(self) -> ClientFrame {
        ClientFrame::PostMsg {
            chat_id: Id(self.chat_id),
            text: self.text,
            nonce: Some(self.nonce),
            reply_to: self.reply_to.map(Id),
        }
    }
}

/// A call in one chat, as this person sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallState {
    pub call_id: String,
    pub caller: String,
    /// Someone answered: the call is on.
    pub active: bool,
    /// This person is in it (they rang or answered).
    pub joined: bool,
    /// Where and how this person joins the call's audio: (LiveKit URL, their token); None
    /// without LiveKit.
    pub livekit: Option<(String, String)>,
}

/// The call audio in this browser.
#[derive(Debug, Clone, PartialEq)]
pub enum Audio {
    Off,
    Connecting,
    On,
    /// With the audio library's reason, when it gave one.
    Failed(Option<String>),
}

/// Something the person should know, kept as what happened: the view says it in the page's
/// language (and again in another one if they switch).
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// A server call failed.
    Failed(ApiError),
    /// The live connection refused a frame, with the server's (English) reason.
    Refused(String),
    /// A call action was refused; the wire's code (`CALL_NOT_FOUND`, …).
    CallRefused(String),
    /// A message over the length limit was not sent.
    TooLong { max: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Online,
    Reconnecting,
}

/// History of one chat as far as it is loaded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conversation {
    pub messages: Vec<UiMessage>,
    /// False once the first message of the chat is loaded.
    pub has_older: bool,
    pub loaded: bool,
}

impl Conversation {
    pub fn last_id(&self) -> Option<i64> {
        self.messages.iter().rev().find_map(|m| m.id)
    }

    pub fn first_id(&self) -> Option<i64> {
        self.messages.iter().find_map(|m| m.id)
    }

    /// Adds or updates a stored message, adopting the pending copy it replaces.
    fn upsert(&mut self, message: UiMessage, me: &str) {
        let id = message.id;
        if let Some(existing) = self.messages.iter_mut().find(|m| m.id.is_some() && m.id == id) {
            *existing = UiMessage { nonce: existing.nonce.take(), ..message };
            return;
        }
        if message.username == me {
            if let Some(pending) =
                self.messages.iter_mut().find(|m| m.pending && m.id.is_none() && m.text == message.text)
            {
                *pending = UiMessage { nonce: pending.nonce.take(), ..message };
                return;
            }
        }
        let at = self.messages.iter().position(|m| m.id.is_none() || m.id > id).unwrap_or(self.messages.len());
        self.messages.insert(at, message);
    }
}

#[derive(Clone, Copy)]
pub struct ChatStore {
    pub me: RwSignal<String>,
    pub chats: RwSignal<Vec<ChatListItem>>,
    pub archived: RwSignal<Vec<ChatListItem>>,
    pub conversations: RwSignal<HashMap<i64, Conversation>>,
    pub online: RwSignal<HashSet<String>>,
    /// chat → (username, until epoch ms)
    pub typing: RwSignal<HashMap<i64, Vec<(String, f64)>>>,
    pub connection: RwSignal<Connection>,
    pub open_chat: RwSignal<Option<i64>>,
    /// Bumped when the chat list should be fetched again (a chat appeared).
    pub list_version: RwSignal<u32>,
    /// Bumped when a message was pinned or unpinned (the details panel lists them again).
    pub pins_version: RwSignal<u32>,
    /// The ids of the messages this person saved (the latest 100 at start, then as they change).
    pub saved: RwSignal<HashSet<i64>>,
    /// A message for the person, shown until dismissed.
    pub notice: RwSignal<Option<Notice>>,
    /// Live calls by chat.
    pub calls: RwSignal<HashMap<i64, CallState>>,
    pub audio: RwSignal<Audio>,
}

/// How long a typing indicator lasts without a new `user_typing`.
const TYPING_SHOWN_MS: f64 = 5000.0;

impl ChatStore {
    pub fn new() -> Self {
        ChatStore {
            me: RwSignal::new(String::new()),
            chats: RwSignal::new(Vec::new()),
            archived: RwSignal::new(Vec::new()),
            conversations: RwSignal::new(HashMap::new()),
            online: RwSignal::new(HashSet::new()),
            typing: RwSignal::new(HashMap::new()),
            connection: RwSignal::new(Connection::Connecting),
            open_chat: RwSignal::new(None),
            list_version: RwSignal::new(0),
            pins_version: RwSignal::new(0),
            saved: RwSignal::new(HashSet::new()),
            notice: RwSignal::new(None),
            calls: RwSignal::new(HashMap::new()),
            audio: RwSignal::new(Audio::Off),
        }
    }

    /// Applies one frame from the server.
    pub fn apply(&self, frame: ServerFrame) {
        let me = self.me.get_untracked();
        match frame {
            ServerFrame::NewMessage(message) | ServerFrame::EditedMessage(message) => {
                let chat_id = message.chat_id;
                let from_me = message.username == me;
                let is_new = !self.conversations.with_untracked(|c| {
                    c.get(&chat_id).is_some_and(|conv| conv.messages.iter().any(|m| m.id == Some(message.message_id)))
                });
                self.clear_typing(chat_id, &message.username);
                self.chats.update(|chats| {
                    if let Some(at) = chats.iter().position(|c| c.chat_id == chat_id) {
                        let mut chat = chats.remove(at);
                        if chat.last_message.as_ref().is_none_or(|last| last.message_id <= message.message_id) {
                            chat.last_message = Some(message.clone());
                        }
                        if is_new && !from_me && self.open_chat.get_untracked() != Some(chat_id) {
                            chat.unread += 1;
                        }
                        // Most recent activity first.
                        chats.insert(if is_new { 0 } else { at }, chat);
                    }
                });
                self.conversations.update(|c| {
                    let conversation = c.entry(chat_id).or_default();
                    conversation.upsert(UiMessage::from_wire(message), &me);
                });
            }
            ServerFrame::DeletedMessage { message_id, chat_id, .. } => {
                self.conversations.update(|c| {
                    if let Some(m) =
                        c.get_mut(&chat_id).and_then(|conv| conv.messages.iter_mut().find(|m| m.id == Some(message_id)))
                    {
                        m.deleted = true;
                        m.text.clear();
                    }
                });
            }
            ServerFrame::Ack { nonce, message_id } => {
                self.conversations.update(|c| {
                    for conversation in c.values_mut() {
                        let already = conversation.messages.iter().any(|m| m.id == Some(message_id));
                        if let Some(at) =
                            conversation.messages.iter().position(|m| m.nonce.as_deref() == Some(&nonce) && m.pending)
                        {
                            if already {
                                conversation.messages.remove(at);
                            } else {
                                let m = &mut conversation.messages[at];
                                m.id = Some(message_id);
                                m.pending = false;
                                m.failed = false;
                            }
                        }
                    }
                });
            }
            ServerFrame::ReactionChanged { chat_id, message_id, reactions, .. } => {
                self.conversations.update(|c| {
                    if let Some(m) =
                        c.get_mut(&chat_id).and_then(|conv| conv.messages.iter_mut().find(|m| m.id == Some(message_id)))
                    {
                        m.reactions = reactions;
                    }
                });
            }
            ServerFrame::PinChanged { chat_id, message_id, pinned, .. } => {
                self.conversations.update(|c| {
                    if let Some(m) =
                        c.get_mut(&chat_id).and_then(|conv| conv.messages.iter_mut().find(|m| m.id == Some(message_id)))
                    {
                        m.pinned = pinned;
                    }
                });
                self.pins_version.update(|v| *v += 1);
            }
            ServerFrame::UserTyping { username, chat_id } => {
                let until = browser::now_ms() + TYPING_SHOWN_MS;
                self.typing.update(|t| {
                    let list = t.entry(chat_id).or_default();
                    list.retain(|(name, _)| name != &username);
                    list.push((username, until));
                });
            }
            ServerFrame::UserStatus { username, online } => {
                self.online.update(|set| {
                    if online {
                        set.insert(username);
                    } else {
                        set.remove(&username);
                    }
                });
            }
            ServerFrame::OnlineUsers { users } => self.online.set(users.into_iter().collect()),
            ServerFrame::ChatCreated { .. } => self.list_version.update(|v| *v += 1),
            ServerFrame::Error { message } => self.notice.set(Some(Notice::Refused(message))),
            ServerFrame::AuthAck { .. } => {}
        }
    }

    /// Applies one call frame from the server.
    pub fn apply_call(&self, frame: CallFrame) {
        let me = self.me.get_untracked();
        match frame {
            CallFrame::CallInvite { chat_id, call_id, caller, lk_token, lk_url } => {
                let joined = caller == me;
                let livekit = lk_url.zip(lk_token);
                self.calls.update(|c| {
                    c.insert(chat_id, CallState { call_id, caller, active: false, joined, livekit });
                });
            }
            CallFrame::CallAccepted { chat_id, call_id, accepted_by, lk_token, lk_url } => self.calls.update(|c| {
                let call = c.entry(chat_id).or_insert_with(|| CallState {
                    call_id: call_id.clone(),
                    caller: String::new(),
                    active: true,
                    joined: false,
                    livekit: None,
                });
                call.active = true;
                call.joined |= accepted_by == me;
                if let Some(livekit) = lk_url.zip(lk_token) {
                    call.livekit = Some(livekit);
                }
            }),
            // Declined by this person: it stops ringing here (it may ring on for others).
            CallFrame::CallDeclined { chat_id, by, .. } if by == me => self.calls.update(|c| {
                c.remove(&chat_id);
            }),
            CallFrame::CallEnded { chat_id, .. } => self.calls.update(|c| {
                c.remove(&chat_id);
            }),
            CallFrame::CallError { code, .. } => self.notice.set(Some(Notice::CallRefused(code))),
            _ => {}
        }
    }

    fn clear_typing(&self, chat_id: i64, username: &str) {
        self.typing.update(|t| {
            if let Some(list) = t.get_mut(&chat_id) {
                list.retain(|(name, _)| name != username);
            }
        });
    }

    /// Drops typing indicators that ran out.
    pub fn expire_typing(&self) {
        let now = browser::now_ms();
        let stale = self.typing.with_untracked(|t| t.values().flatten().any(|(_, until)| *until <= now));
        if stale {
            self.typing.update(|t| t.values_mut().for_each(|list| list.retain(|(_, until)| *until > now)));
        }
    }

    /// Adds the person's own message as pending, before the server has it.
    pub fn add_pending(&self, chat_id: i64, nonce: &str, text: &str, reply_to: Option<ReplyPreview>) {
        let message = UiMessage {
            id: None,
            nonce: Some(nonce.into()),
            username: self.me.get_untracked(),
            text: text.into(),
            timestamp: String::new(),
            edited: false,
            deleted: false,
            pending: true,
            failed: false,
            reply_to,
            reactions: Vec::new(),
            pinned: false,
        };
        self.conversations.update(|c| c.entry(chat_id).or_default().messages.push(message));
    }

    /// Pending messages, for sending again after a reconnect.
    pub fn pending(&self) -> Vec<PendingPost> {
        self.conversations.with_untracked(|c| {
            c.iter()
                .flat_map(|(chat, conv)| {
                    conv.messages.iter().filter(|m| m.pending).filter_map(|m| {
                        Some(PendingPost {
                            chat_id: *chat,
                            nonce: m.nonce.clone()?,
                            text: m.text.clone(),
                            reply_to: m.reply_to.as_ref().map(|r| r.message_id),
                        })
                    })
                })
                .collect()
        })
    }

    /// Marks messages still waiting after a while as failed, so the person can retry.
    pub fn mark_failed(&self, nonces: &[String]) {
        self.conversations.update(|c| {
            for m in c.values_mut().flat_map(|conv| conv.messages.iter_mut()) {
                if m.pending && m.nonce.as_ref().is_some_and(|n| nonces.contains(n)) {
                    m.failed = true;
                }
            }
        });
    }

    /// Adds a page of history (older or newer) to a chat.
    pub fn add_history(&self, chat_id: i64, page: Vec<ChatMessage>, older_page_full: Option<bool>) {
        let me = self.me.get_untracked();
        self.conversations.update(|c| {
            let conversation = c.entry(chat_id).or_default();
            for message in page {
                conversation.upsert(UiMessage::from_wire(message), &me);
            }
            if let Some(full) = older_page_full {
                conversation.has_older = full;
            }
            conversation.loaded = true;
        });
    }
}

impl Default for ChatStore {
    fn default() -> Self {
        Self::new()
    }
}
