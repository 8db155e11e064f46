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
