//! Managing incoming webhooks (`/api/webhooks`, `/api/webhooks/revoke`). Their public side, with
//! the id and token in the path, is axum routes in `server/src/webhooks.rs`.

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::NchatError;
use super::ids::Id;
use super::nchat::Success;
#[cfg(feature = "ssr")]
use super::request::{caller, set_status, state};
#[cfg(feature = "ssr")]
use super::ApiError;
#[cfg(feature = "ssr")]
use crate::domain::webhooks;

/// A webhook as its managers and its token holders see it; never with the token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookInfo {
    pub id: String,
    pub name: String,
    pub chat_id: String,
    /// The bot account its messages are posted as.
    pub username: String,
    /// RFC 3339 UTC.
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreatedWebhook {
    pub id: String,
    pub name: String,
    pub chat_id: String,
    pub username: String,
    pub created_at: String,
    /// Shown this once; only its hash is kept.
    pub token: String,
    /// `POST` here to post into the chat.
    pub url: String,
}

/// `GET /api/webhook/{id}`: nchat's WebhookInfo, for the token's holder (never with the token).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PublicWebhookInfo {
    pub id: String,
    pub name: String,
    pub channel_id: String,
    /// `active` (a revoked webhook is not found).
    pub status: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// When it last posted; absent if never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
}

/// `POST /api/webhook/{id}/{token}`: where the message went, and the message as `/ws` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookPosted {
    pub message_id: String,
    pub channel_id: String,
    pub message: super::ws::ChatMessage,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RevokedWebhook {
    pub id: String,
    pub revoked: bool,
}

#[cfg(feature = "ssr")]
pub fn webhook_info(webhook: webhooks::Webhook) -> WebhookInfo {
    WebhookInfo {
        id: webhook.id.to_string(),
        name: webhook.name,
        chat_id: webhook.chat_id.to_string(),
        username: webhook.bot_username,
        created_at: crate::domain::store::rfc3339(webhook.created_at),
    }
}

/// Admins, and a group's creator for that group.
#[server(prefix = "/api", endpoint = "webhooks", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn create_webhook(
    #[server(rename = "chatId")] chat_id: Id,
    name: String,
) -> Result<Success<CreatedWebhook>, NchatError> {
    let state = state()?;
    let caller = caller(&state).await.map_err(ApiError::nchat)?;
    let created = webhooks::create(&state, &caller, chat_id.0, &name).await.map_err(ApiError::nchat)?;
    let info = webhook_info(created.webhook);
    set_status(http::StatusCode::CREATED);
    Ok(Success::new(CreatedWebhook {
        id: info.id,
        name: info.name,
        chat_id: info.chat_id,
        username: info.username,
        created_at: info.created_at,
        token: created.token,
        url: created.url,
    }))
}

#[server(prefix = "/api", endpoint = "webhooks", input = GetUrl, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn list_webhooks(#[server(rename = "chatId")] chat_id: Id) -> Result<Success<Vec<WebhookInfo>>, NchatError> {
    let state = state()?;
    let caller = caller(&state).await.map_err(ApiError::nchat)?;
    let list = webhooks::list(&state, &caller, chat_id.0).await.map_err(ApiError::nchat)?;
    Ok(Success::new(list.into_iter().map(webhook_info).collect()))
}

/// Revokes a webhook (also `DELETE /api/webhooks/{id}`); its URL answers 404 from then on.
#[server(prefix = "/api/webhooks", endpoint = "revoke", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn revoke_webhook(id: Id) -> Result<Success<RevokedWebhook>, NchatError> {
    let state = state()?;
    let caller = caller(&state).await.map_err(ApiError::nchat)?;
    webhooks::revoke(&state, &caller, id.0).await.map_err(ApiError::nchat)?;
    Ok(Success::new(RevokedWebhook { id: id.0.to_string(), revoked: true }))
}

/// `POST /api/webhook/{id}[/{token}]`'s body: nchat's WebhookPayload. The content is posted;
/// `username`, `avatar_url` and `embeds` are checked and not shown.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookPost {
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// At most 10 objects.
    #[serde(default)]
    pub embeds: Option<Vec<serde_json::Value>>,
}

/// A webhook's token given as `?token=` instead of in the path.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TokenQuery {
    pub token: Option<String>,
}
