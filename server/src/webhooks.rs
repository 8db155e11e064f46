//! The webhook routes with ids in the path: `GET`/`POST /api/webhook/{id}[/{token}]` (the token
//! also as `?token=`) for token holders, and `DELETE /api/webhooks/{id}` for managers.

use std::net::SocketAddr;

use app::api::error::{codes, ApiError, NchatError};
use app::api::nchat::Success;
use app::api::webhooks::{PublicWebhookInfo, WebhookPosted};
use app::api::ws::ChatMessage;
use app::domain::sessions::Caller;
use app::domain::store::rfc3339;
use app::domain::webhooks::{self, Webhook};
use app::domain::{AppState, DomainError};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::response::{IntoResponse, Response};
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use http::{HeaderMap, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use sha1::Sha1;
use sha2::Sha256;

use crate::envelope::NchatPath;
use crate::files::query_params;

fn nchat_error(error: ApiError) -> Response {
    NchatError(error).into_response()
}

fn success(status: StatusCode, data: impl serde::Serialize) -> Response {
    (status, axum::Json(Success::new(data))).into_response()
}

/// An id that is not a number names no webhook.
fn webhook_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::nchat(DomainError::NotFound("Webhook not found.".into())))
}

/// The token from the path, else from `?token=`.
fn token_of(path_token: Option<String>, query: Option<String>) -> Option<String> {
    path_token.or_else(|| query_params(query).remove("token"))
}

/// A known webhook with no token or the wrong one: 401, as nchat's spec and handler answer.
fn refused(error: DomainError) -> ApiError {
    match error {
        DomainError::SignInRequired => ApiError::new(
            401,
            codes::UNAUTHORIZED,
            "The webhook's token is missing: /api/webhook/{id}/{token} or /api/webhook/{id}?token=.",
        ),
        DomainError::InvalidSession => ApiError::new(401, codes::INVALID_TOKEN, "Invalid webhook token."),
        other => ApiError::nchat(other),
    }
}

async fn authenticated(state: &AppState, id: &str, token: Option<String>) -> Result<(Webhook, i64), ApiError> {
    let id = webhook_id(id)?;
    webhooks::authenticate(state, id, token.as_deref()).await.map_err(refused)
}

async fn info(state: &AppState, id: &str, token: Option<String>) -> Response {
    let result = async {
        let (webhook, bot_id) = authenticated(state, id, token).await?;
        let last_used = webhooks::last_used(state, bot_id).await.map_err(ApiError::nchat)?;
        Ok::<_, ApiError>(PublicWebhookInfo {
            id: webhook.id.to_string(),
            name: webhook.name,
            channel_id: webhook.chat_id.to_string(),
            status: "active".into(),
            created_at: rfc3339(webhook.created_at),
            last_used_at: last_used.map(rfc3339),
        })
    };
    match result.await {
        Ok(info) => success(StatusCode::OK, info),
        Err(error) => nchat_error(error),
    }
}

pub async fn info_query(
    State(state): State<AppState>,
    NchatPath(id): NchatPath<String>,
    RawQuery(query): RawQuery,
) -> Response {
    info(&state, &id, token_of(None, query)).await
}

pub async fn info_path(State(state): State<AppState>, NchatPath((id, token)): NchatPath<(String, String)>) -> Response {
    info(&state, &id, token_of(Some(token), None)).await
}

fn invalid(field: &'static str, message: String) -> ApiError {
    ApiError::nchat(DomainError::invalid(field, message))
}

/// nchat's WebhookPayload: `content` (a string, checked when posted), `username` and
/// `avatar_url` (strings, accepted and not shown), `embeds` (at most 10 objects, accepted and
/// not shown).
fn payload_content(body: &Value) -> Result<String, ApiError> {
    let content = match body.get("content") {
        Some(Value::String(content)) => content.clone(),
        None | Some(Value::Null) => String::new(),
        Some(_) => return Err(invalid("content", "content must be a string.".into())),
    };
    for (field, max) in [("username", 80), ("avatar_url", 2048)] {
        match body.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::String(text)) if text.chars().count() <= max => {}
            Some(Value::String(_)) => return Err(invalid(field, format!("{field} can be at most {max} characters."))),
            Some(_) => return Err(invalid(field, format!("{field} must be a string."))),
        }
    }
    match body.get("embeds") {
        None | Some(Value::Null) => {}
        Some(Value::Array(embeds)) if embeds.len() > webhooks::EMBEDS_MAX => {
            return Err(invalid("embeds", format!("At most {} embeds are allowed.", webhooks::EMBEDS_MAX)));
        }
        Some(Value::Array(embeds)) if embeds.iter().all(Value::is_object) => {}
        Some(_) => return Err(invalid("embeds", "embeds must be an array of objects.".into())),
    }
    Ok(content)
}

/// The headers a sender may sign with, first found wins: nchat's own, then GitHub's two.
const SIGNATURE_HEADERS: [&str; 3] = ["x-webhook-signature", "x-hub-signature-256", "x-hub-signature"];

/// A signed post must be signed with the server's webhook secret: `sha256=<hex>` (or a bare hex
/// digest) or `sha1=<hex>`, an HMAC of the body's exact bytes. Without a secret, or unsigned,
/// there is nothing to check (the webhook's token has let the sender in).
fn check_signature(secret: Option<&SecretString>, headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    let Some(secret) = secret else { return Ok(()) };
    let Some(signature) = SIGNATURE_HEADERS.iter().find_map(|name| headers.get(*name)) else { return Ok(()) };
    let refused = || ApiError::new(401, codes::INVALID_SIGNATURE, "Invalid webhook signature.");
    let signature = signature.to_str().map_err(|_| refused())?.trim();
    let key = secret.expose_secret().as_bytes();
    let matches = match signature.split_once('=') {
        Some(("sha1", digest)) => verify::<Hmac<Sha1>>(key, body, digest),
        Some(("sha256", digest)) => verify::<Hmac<Sha256>>(key, body, digest),
        Some(_) => false,
        None => verify::<Hmac<Sha256>>(key, body, signature),
    };
    if matches {
        Ok(())
    } else {
        Err(refused())
    }
}

/// Compares in constant time (`verify_slice`).
fn verify<M: Mac + KeyInit>(key: &[u8], body: &[u8], hex_digest: &str) -> bool {
    let Ok(expected) = hex::decode(hex_digest) else { return false };
    let Ok(mut mac) = <M as KeyInit>::new_from_slice(key) else { return false };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// `{content, username?, avatar_url?, embeds?}`; the message is posted as the webhook's bot account.
async fn post(
    state: &AppState,
    ip: SocketAddr,
    id: &str,
    token: Option<String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let result = async {
        let (webhook, bot_id) = authenticated(state, id, token).await?;
        check_signature(state.settings.webhook_secret.as_ref(), headers, body)?;
        // The envelope layer has checked that the body is a JSON object.
        let body: Value =
            serde_json::from_slice(body).map_err(|_| ApiError::bad_request("Request body must be a JSON object."))?;
        let content = payload_content(&body)?;
        let message =
            webhooks::post(state, &webhook, bot_id, &content, Some(ip.ip())).await.map_err(ApiError::nchat)?;
        Ok::<_, ApiError>(message)
    };
    match result.await {
        Ok(message) => success(
            StatusCode::OK,
            WebhookPosted {
                message_id: message.id.to_string(),
                channel_id: message.chat_id.to_string(),
                message: ChatMessage::from(message),
            },
        ),
        Err(error) => nchat_error(error),
    }
}

pub async fn post_query(
    State(state): State<AppState>,
    ConnectInfo(ip): ConnectInfo<SocketAddr>,
    NchatPath(id): NchatPath<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    post(&state, ip, &id, token_of(None, query), &headers, &body).await
}

pub async fn post_path(
    State(state): State<AppState>,
    ConnectInfo(ip): ConnectInfo<SocketAddr>,
    NchatPath((id, token)): NchatPath<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    post(&state, ip, &id, token_of(Some(token), None), &headers, &body).await
}

/// Revokes a webhook, as `POST /api/webhooks/revoke` does.
pub async fn delete(State(state): State<AppState>, NchatPath(id): NchatPath<String>, caller: Caller) -> Response {
    let result = async {
        let id = webhook_id(&id)?;
        webhooks::revoke(&state, &caller, id).await.map_err(ApiError::nchat)?;
        Ok::<_, ApiError>(id)
    };
    match result.await {
        Ok(id) => success(StatusCode::OK, json!({"id": id.to_string(), "revoked": true})),
        Err(error) => nchat_error(error),
    }
}
