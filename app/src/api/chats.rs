//! The ChatCLI chat routes (`/chat/*`), shaped as `shared/reference/chatcli-wire.md` gives them,
//! plus Hearth's `/chat/post-message`, `before`/`after` cursors on `/chat/messages`.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ChatCliError;
use super::ids::Id;
#[cfg(feature = "ssr")]
use super::request::{caller, set_status, state};
use super::ws::{ChatMessage, Reaction};
#[cfg(feature = "ssr")]
use crate::domain::{chats, edits, pins, reactions, saved};

/// The longest message any surface takes, in characters: the server's rule (`domain::chats`)
/// and the browser's check before sending share it.
pub const MESSAGE_MAX_CHARS: usize = 4000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChatListItem {
    #[serde(rename = "chatID")]
    pub chat_id: i64,
    pub name: String,
    /// `private` or `group`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Hearth's addition: the newest message, for chat list previews.
    #[serde(default)]
    pub last_message: Option<ChatMessage>,
    /// Hearth's addition: messages from others since the caller's read marker (`/chat/mark-read`).
    #[serde(default)]
    pub unread: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChatList {
    pub response: Vec<ChatListItem>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChatIdReply {
    #[serde(rename = "chatID")]
    pub chat_id: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MembersReply {
    pub members: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MessagesReply {
    pub messages: Vec<ChatMessage>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PostedReply {
    #[serde(rename = "messageID")]
    pub message_id: i64,
    #[serde(rename = "chatID")]
    pub chat_id: i64,
    pub timestamp: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReactionsReply {
    #[serde(rename = "chatID")]
    pub chat_id: i64,
    #[serde(rename = "messageID")]
    pub message_id: i64,
    /// The message's reactions after the change.
    pub reactions: Vec<Reaction>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PinnedReply {
    #[serde(rename = "chatID")]
    pub chat_id: i64,
    #[serde(rename = "messageID")]
    pub message_id: i64,
    pub pinned: bool,
}

/// A pinned message, who pinned it and when (RFC 3339).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PinnedMessage {
    pub message: ChatMessage,
    pub pinned_by: String,
    pub pinned_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PinsReply {
    /// The latest pinned first.
    pub pins: Vec<PinnedMessage>,
}

/// One edit of a message: the text before and after, who made it and when (RFC 3339).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MessageEdit {
    pub username: String,
    pub previous: String,
    pub message: String,
    pub edited_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HistoryReply {
    #[serde(rename = "chatID")]
    pub chat_id: i64,
    #[serde(rename = "messageID")]
    pub message_id: i64,
    /// Oldest first.
    pub edits: Vec<MessageEdit>,
    pub total: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SavedReply {
    #[serde(rename = "chatID")]
    pub chat_id: i64,
    #[serde(rename = "messageID")]
    pub message_id: i64,
    pub saved: bool,
}

/// A message the caller saved, with their note and when (RFC 3339).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SavedMessage {
    pub message: ChatMessage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub saved_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SavedListReply {
    /// The latest saved first.
    pub saved: Vec<SavedMessage>,
    pub total: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StatusReply {
    pub message: String,
}

#[cfg(feature = "ssr")]
async fn chat_list(archived: bool) -> Result<ChatList, ChatCliError> {
    let state = state()?;
    let caller = caller(&state).await?;
    let chats = chats::list_chats(&state, &caller, archived).await?;
    Ok(ChatList {
        response: chats
            .into_iter()
            .map(|c| ChatListItem {
                chat_id: c.id,
                name: c.name,
                kind: c.kind.as_str().into(),
                last_message: c.last_message.map(ChatMessage::from),
                unread: c.unread,
            })
            .collect(),
    })
}

/// The caller's chats, most recently active first (archived ones excluded).
#[server(prefix = "/chat", endpoint = "fetch-chats", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn fetch_chats(
    #[server(rename = "session_token")] _session_token: Option<String>,
) -> Result<ChatList, ChatCliError> {
    chat_list(false).await
}

#[server(prefix = "/chat", endpoint = "fetch-archived", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn fetch_archived(
    #[server(rename = "session_token")] _session_token: Option<String>,
) -> Result<ChatList, ChatCliError> {
    chat_list(true).await
}

/// The 1:1 chat with `receiver`: created once, then returned again (and un-archived).
#[server(prefix = "/chat", endpoint = "create-chat", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn create_chat(
    #[server(rename = "session_token")] _session_token: Option<String>,
    receiver: String,
) -> Result<ChatIdReply, ChatCliError> {
    let state = state()?;
    let caller = caller(&state).await?;
    let chat_id = chats::open_private_chat(&state, &caller, &receiver).await?;
    set_status(http::StatusCode::CREATED);
    Ok(ChatIdReply { chat_id })
}

#[server(prefix = "/chat", endpoint = "create-group", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn create_group(
    #[server(rename = "session_token")] _session_token: Option<String>,
    name: String,
    #[server(default)] members: Vec<String>,
) -> Result<ChatIdReply, ChatCliError> {
    let state = state()?;
    let caller = caller(&state).await?;
    let chat_id = chats::create_group(&state, &caller, &name, &members).await?;
    set_status(http::StatusCode::CREATED);
    Ok(ChatIdReply { chat_id })
}

#[server(prefix = "/chat", endpoint = "add-members", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn add_members(
    #[server(rename = "session_token")] _session_token: Option<String>,
    #[server(rename = "chatID")] chat_id: Id,
    members: Vec<String>,
) -> Result<ChatIdReply, ChatCliError> {
    let state = state()?;
    let caller = caller(&state).await?;
    chats::add_members(&state, &caller, chat_id.0, &members).await?;
    Ok(ChatIdReply { chat_id: chat_id.0 })
}

/// A member may remove themselves (leave); the creator and moderators may remove anyone.
#[server(prefix = "/chat", endpoint = "remove-members", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn remove_members(
    #[server(rename = "session_token")] _session_token: Option<String>,
    #[server(rename = "chatID")] chat_id: Id,
    members: Vec<String>,
) -> Result<ChatIdReply, ChatCliError> {
    let state = state()?;
    let caller = caller(&state).await?;
    chats::remove_members(&state, &caller, chat_id.0, &members).await?;
    Ok(ChatIdReply { chat_id: chat_id.0 })
}

#[server(prefix = "/chat", endpoint = "get-members", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn get_members(
    #[server(rename = "session_token")] _session_token: Option<String>,
    #[server(rename = "chatID")] chat_id: Id,
) -> Result<MembersReply, ChatCliError> {
    let state = state()?;
    let caller = caller(&state).await?;
    Ok(MembersReply { members: chats::member_names(&state, &caller, chat_id.0).await? })
}

/// History, oldest first: the latest `limit` (default 50, 1–200), or those `before` a message id
/// (scrolling back), or those `after` one (catching up).
#[server(prefix = "/chat", endpoint = "messages", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn messages(
    #[server(rename = "session_token")] _session_token: Option<String>,
    #[server(rename = "chatID")] chat_id: Id,
    limit: Option<i64>,
    before: Option<Id>,
    after: Option<Id>,
) -> Result<MessagesReply, ChatCliError> {
    let state = state()?;
    let caller = caller(&state).await?;
    let page = chats::Page { limit, before: before.map(i64::from), after: after.map(i64::from) };
    let messages = chats::history(&state, &caller, chat_id.0, page).await?;
    Ok(MessagesReply { messages: messages.into_iter().map(ChatMessage::from).collect() })
}

/// Posts a message, as `post_msg` does on the WebSocket; `nonce` makes retries safe, `reply_to`
/// names the message of this chat that it answers.
#[server(prefix = "/chat", endpoint = "post-message", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn post_message(
    #[server(rename = "session_token")] _session_token: Option<String>,
    #[server(rename = "chatID")] chat_id: Id,
    text: String,
    nonce: Option<String>,
    reply_to: Option<Id>,
) -> Result<PostedReply, ChatCliError> {
    let state = state()?;
    let caller = caller(&state).await?;
    let new = chats::NewMessage::text(chat_id.0, chats::Author::Member(&caller), &text, nonce.as_deref())
        .replying_to(reply_to.map(i64::from));
    let posted = chats::post(&state, new).await?;
    set_status(if posted.is_new { http::StatusCode::CREATED } else { http::StatusCode::OK });
    let message = ChatMessage::from(posted.message);
    Ok(PostedReply { message_id: message.message_id, chat_id: message.chat_id, timestamp: message.timestamp })
}

/// Marks the chat read up to `messageID` (unread counts in `fetch-chats` start after it).
#[server(prefix = "/chat", endpoint = "mark-read", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn mark_read(
    #[server(rename = "session_token")] _session_token: Option<String>,
    #[server(rename = "chatID")] chat_id: Id,
    #[server(rename = "messageID")] message_id: Id,
) -> Result<StatusReply, ChatCliError> {
    let state = state()?;
    let caller = caller(&state).await?;
    chats::mark_read(&state, &caller, chat_id.0, message_id.0).await?;
    Ok(StatusReply { message: "Chat marked read".into() })
}

#[server(prefix = "/chat", endpoint = "archive-chat", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn archive_chat(
    #[server(rename = "session_token")] _session_token: Option<String>,
    #[server(rename = "chatID")] chat_id: Id,
) -> Result<StatusReply, ChatCliError> {
    let state = state()?;
    let caller = caller(&state).await?;
    chats::set_archived(&state, &caller, chat_id.0, true).await?;
    Ok(StatusReply { message: "Chat archived".into() })
}

#[server(prefix = "/chat", endpoint = "unarchive-chat", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn unarchive_chat(
    #[server(rename = "session_token")] _session_token: Option<String>,
    #[server(rename = "chatID")] chat_id: Id,
) -> Result<StatusReply, ChatCliError> {
    let state = state()?;
    let caller = caller(&state).await?;
    chats::set_archived(&state, &caller, chat_id.0, false).await?;
    Ok(StatusReply { message: "Chat unarchived".into() })
}

#[cfg(feature = "ssr")]
async fn react(chat_id: Id, message_id: Id, emoji: &str, on: bool) -> Result<ReactionsReply, ChatCliError> {
    let state = state()?;
    let caller = caller(&state).await?;
    let reactions = reactions::set_reaction(&state, &caller, chat_id.0, message_id.0, emoji, on).await?;
    Ok(ReactionsReply { chat_id: chat_id.0, message_id: message_id.0, reactions: reactions::summary(&reactions) })
}

/// Adds the caller's reaction (an emoji, or a `:shortcode:`), as `add_reaction` does on the
/// WebSocket; adding it again changes nothing.
#[server(prefix = "/chat", endpoint = "add-reaction", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn add_reaction(
    #[server(rename = "session_token")] _session_token: Option<String>,
    #[server(rename = "chatID")] chat_id: Id,
    #[server(rename = "messageID")] message_id: Id,
    emoji: String,
) -> Result<ReactionsReply, ChatCliError> {
    react(chat_id, message_id, &emoji, true).await
}

/// Takes the caller's reaction back, as `remove_reaction` does on the WebSocket.
#[server(prefix = "/chat", endpoint = "remove-reaction", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn remove_reaction(
    #[server(rename = "session_token")] _session_token: Option<String>,
    #[server(rename = "chatID")] chat_id: Id,
    #[server(rename = "messageID")] message_id: Id,
    emoji: String,
) -> Result<ReactionsReply, ChatCliError> {
    react(chat_id, message_id, &emoji, false).await
}

#[cfg(feature = "ssr")]
async fn pin(chat_id: Id, message_id: Id, pinned: bool) -> Result<PinnedReply, ChatCliError> {
    let state = state()?;
    let caller = caller(&state).await?;
    let pinned = pins::set_pinned(&state, &caller, chat_id.0, message_id.0, pinned).await?;
    Ok(PinnedReply { chat_id: chat_id.0, message_id: message_id.0, pinned })
}

/// Pins a message for everyone in the chat, as `pin_message` does on the WebSocket.
#[server(prefix = "/chat", endpoint = "pin-message", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn pin_message(
    #[server(rename = "session_token")] _session_token: Option<String>,
    #[server(rename = "chatID")] chat_id: Id,
    #[server(rename = "messageID")] message_id: Id,
) -> Result<PinnedReply, ChatCliError> {
    pin(chat_id, message_id, true).await
}

#[server(prefix = "/chat", endpoint = "unpin-message", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn unpin_message(
    #[server(rename = "session_token")] _session_token: Option<String>,
    #[server(rename = "chatID")] chat_id: Id,
    #[server(rename = "messageID")] message_id: Id,
) -> Result<PinnedReply, ChatCliError> {
    pin(chat_id, message_id, false).await
}

/// The chat's pinned messages, the latest pinned first.
#[server(prefix = "/chat", endpoint = "pins", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn pinned_messages(
    #[server(rename = "session_token")] _session_token: Option<String>,
    #[server(rename = "chatID")] chat_id: Id,
) -> Result<PinsReply, ChatCliError> {
    use crate::domain::store::rfc3339;
    let state = state()?;
    let caller = caller(&state).await?;
    let pins = pins::pinned(&state, &caller, chat_id.0).await?;
    Ok(PinsReply {
        pins: pins
            .into_iter()
            .map(|pin| PinnedMessage {
                message: ChatMessage::from(pin.message),
                pinned_by: pin.pinned_by,
                pinned_at: rfc3339(pin.pinned_at),
            })
            .collect(),
    })
}

/// A message's edits, oldest first (`limit` 1–100, default 50; `offset`).
#[server(prefix = "/chat", endpoint = "message-history", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn message_history(
    #[server(rename = "session_token")] _session_token: Option<String>,
    #[server(rename = "chatID")] chat_id: Id,
    #[server(rename = "messageID")] message_id: Id,
    limit: Option<i64>,
    offset: Option<i64>,
) -> Result<HistoryReply, ChatCliError> {
    use crate::domain::store::rfc3339;
    let state = state()?;
    let caller = caller(&state).await?;
    let (list, total) = edits::history(&state, &caller, chat_id.0, message_id.0, limit, offset).await?;
    Ok(HistoryReply {
        chat_id: chat_id.0,
        message_id: message_id.0,
        edits: list
            .into_iter()
            .map(|edit| MessageEdit {
                username: edit.editor,
                previous: edit.previous_body,
                message: edit.new_body,
                edited_at: rfc3339(edit.edited_at),
            })
            .collect(),
        total,
    })
}

#[cfg(feature = "ssr")]
impl From<saved::Saved> for SavedMessage {
    fn from(saved: saved::Saved) -> Self {
        SavedMessage {
            message: ChatMessage::from(saved.message),
            note: saved.note,
            saved_at: crate::domain::store::rfc3339(saved.saved_at),
        }
    }
}

/// Saves a message for the caller alone (guests too), with an optional note; saving it again
/// keeps the first note.
#[server(prefix = "/chat", endpoint = "save-message", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn save_message(
    #[server(rename = "session_token")] _session_token: Option<String>,
    #[server(rename = "chatID")] chat_id: Id,
    #[server(rename = "messageID")] message_id: Id,
    note: Option<String>,
) -> Result<SavedReply, ChatCliError> {
    let state = state()?;
    let caller = caller(&state).await?;
    saved::save(&state, &caller, chat_id.0, message_id.0, note.as_deref()).await?;
    Ok(SavedReply { chat_id: chat_id.0, message_id: message_id.0, saved: true })
}

#[server(prefix = "/chat", endpoint = "unsave-message", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn unsave_message(
    #[server(rename = "session_token")] _session_token: Option<String>,
    #[server(rename = "chatID")] chat_id: Id,
    #[server(rename = "messageID")] message_id: Id,
) -> Result<SavedReply, ChatCliError> {
    let state = state()?;
    let caller = caller(&state).await?;
    saved::unsave(&state, &caller, chat_id.0, message_id.0).await?;
    Ok(SavedReply { chat_id: chat_id.0, message_id: message_id.0, saved: false })
}

/// The caller's saved messages, the latest saved first (`chatID` narrows to one chat; `limit`
/// 1–100, default 50; `offset`).
#[server(prefix = "/chat", endpoint = "saved-messages", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn saved_messages(
    #[server(rename = "session_token")] _session_token: Option<String>,
    #[server(rename = "chatID")] chat_id: Option<Id>,
    limit: Option<i64>,
    offset: Option<i64>,
) -> Result<SavedListReply, ChatCliError> {
    let state = state()?;
    let caller = caller(&state).await?;
    let (list, total) = saved::list(&state, &caller, chat_id.map(i64::from), limit, offset).await?;
    Ok(SavedListReply { saved: list.into_iter().map(SavedMessage::from).collect(), total })
}
