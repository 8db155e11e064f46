//! nchat's per-message routes (`/api/messages/{id}/…`), shaped as nchat's own handlers shape
//! them. They are axum routes (the id is in the path): `server/src/messages.rs` serves them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The body of `POST`, `PATCH` and `DELETE /api/messages/{id}/reactions` (DELETE also takes
/// `?emoji=`). `userId`, which nchat's client sends, must be the caller's own when given.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReactionInput {
    /// A Unicode emoji, or a `:shortcode:`.
    pub emoji: String,
    #[serde(rename = "userId", default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>))]
    pub user_id: Option<Value>,
}

/// Someone who reacted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReactionUser {
    pub id: String,
    pub username: String,
    #[serde(rename = "displayName")]
    pub display_name: String,
}

/// nchat's ReactionCount: one emoji, who chose it, and whether the caller did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NchatReaction {
    pub emoji: String,
    pub count: i64,
    pub users: Vec<ReactionUser>,
    #[serde(rename = "hasReacted")]
    pub has_reacted: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MessageReactions {
    pub reactions: Vec<NchatReaction>,
}

/// `POST`'s answer (201): nchat's `{added: true}`, with the message's reactions now.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReactionAdded {
    pub added: bool,
    pub reactions: Vec<NchatReaction>,
}

/// `DELETE`'s answer: nchat's `{removed: true}`, with the message's reactions now.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReactionRemoved {
    pub removed: bool,
    pub reactions: Vec<NchatReaction>,
}

/// `PATCH`'s answer: nchat's `{action: "added" | "removed"}`, with the message's reactions now.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReactionToggled {
    pub action: String,
    pub reactions: Vec<NchatReaction>,
}

/// The domain's reactions as nchat lists them for `caller_id`.
#[cfg(feature = "ssr")]
pub fn nchat_reactions(reactions: &[crate::domain::reactions::EmojiReactions], caller_id: i64) -> Vec<NchatReaction> {
    reactions
        .iter()
        .map(|r| NchatReaction {
            emoji: r.emoji.clone(),
            count: r.people.len() as i64,
            users: r
                .people
                .iter()
                .map(|p| ReactionUser {
                    id: p.user_id.to_string(),
                    username: p.username.clone(),
                    display_name: p.display_name.clone(),
                })
                .collect(),
            has_reacted: r.has(caller_id),
        })
        .collect()
}

/// The body of `POST` and `DELETE /api/messages/{id}/pin`: nchat's client sends the channel
/// (checked when given) and itself as `userId` (must be the caller).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PinInput {
    #[serde(rename = "channelId", default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>))]
    pub channel_id: Option<Value>,
    #[serde(rename = "userId", default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>))]
    pub user_id: Option<Value>,
}

/// Whether a message is pinned (nchat's `GET …/pin`, and the answer to pinning and unpinning).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PinStatus {
    #[serde(rename = "messageId")]
    pub message_id: String,
    #[serde(rename = "channelId")]
    pub channel_id: String,
    #[serde(rename = "isPinned")]
    pub is_pinned: bool,
}

/// `GET /api/messages/{id}/history`'s query.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HistoryQuery {
    /// 1–100, default 50.
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EditUser {
    pub id: String,
    pub username: String,
    #[serde(rename = "displayName")]
    pub display_name: String,
}

/// nchat's MessageEdit.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NchatEdit {
    pub id: String,
    pub message_id: String,
    pub editor_id: String,
    pub previous_content: String,
    pub new_content: String,
    /// RFC 3339.
    pub edited_at: String,
    pub editor: EditUser,
}

/// nchat's EditHistoryResult: oldest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EditHistory {
    pub edits: Vec<NchatEdit>,
    pub total_count: i64,
    pub has_more: bool,
}

/// The body of `POST /api/messages/{id}/save`: nchat's fields Hearth keeps (`note`) and checks
/// (`channelId`); collections, tags, stars and reminders are not kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SaveInput {
    #[serde(rename = "channelId", default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>))]
    pub channel_id: Option<Value>,
    #[serde(default)]
    pub note: Option<String>,
}

/// nchat's SavedMessage, the parts Hearth keeps.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NchatSaved {
    pub id: String,
    pub user_id: String,
    pub message_id: String,
    pub channel_id: String,
    /// RFC 3339.
    pub saved_at: String,
    pub message: super::ws::ChatMessage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub is_starred: bool,
    pub tags: Vec<String>,
    pub collection_ids: Vec<String>,
}

#[cfg(feature = "ssr")]
impl NchatSaved {
    pub fn new(user_id: i64, saved: crate::domain::saved::Saved) -> Self {
        NchatSaved {
            id: format!("{user_id}:{}", saved.message.id),
            user_id: user_id.to_string(),
            message_id: saved.message.id.to_string(),
            channel_id: saved.message.chat_id.to_string(),
            saved_at: crate::domain::store::rfc3339(saved.saved_at),
            message: super::ws::ChatMessage::from(saved.message),
            note: saved.note,
            is_starred: false,
            tags: Vec::new(),
            collection_ids: Vec::new(),
        }
    }
}

/// `GET /api/messages/{id}/save`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SaveStatus {
    #[serde(rename = "isSaved")]
    pub is_saved: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved: Option<NchatSaved>,
}

/// `DELETE /api/messages/{id}/save`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Unsaved {
    #[serde(rename = "messageId")]
    pub message_id: String,
}

/// `GET /api/saved-messages`'s query.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SavedQuery {
    #[serde(rename = "channelId")]
    pub channel_id: Option<String>,
    /// 1–100, default 50.
    pub limit: Option<String>,
    pub offset: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SavedStats {
    pub total_saved: i64,
}

/// nchat's saved list: `{messages, pagination, stats}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SavedList {
    pub messages: Vec<NchatSaved>,
    pub pagination: super::search::Pagination,
    pub stats: SavedStats,
}
