//! The webhook routes with ids in the path: `GET`/`POST /api/webhook/{id}[/{token}]` (the token
//! also as `?token=`) for token holders, and `DELETE /api/webhooks/{id}` for managers.

use std::net::SocketAddr;

use app::api::error::{codes, ApiError};
use app::api::webhooks::webhook_info;
use app::api::ws::ChatMessage;
use app::domain::{webhooks, AppState, DomainError};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde_json::{json, Value};

use crate::envelope::{render, Surface};
use crate::files::{bearer_caller, query_params};

fn nchat_error(error: ApiError) -> Response {
    render(Surface::Nchat, &error)
}

fn success(status: StatusCode, data: Value) -> Response {
    (status, axum::Json(json!({"success": true, "data": data}))).into_response()
}

/// An id that is not a number names no webhook.
fn webhook_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::nchat(DomainError::NotFound("Webhook not found.".into())))
}

/// The token from the path, else from `?token=`.
fn token_of(path_token: Option<String>, query: Option<String>) -> Result<String, ApiError> {
    path_token
        .or_else(|| query_params(query).remove("token"))
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| ApiError::new(401, codes::UNAUTHORIZED, "The webhook's token is missing."))
}

async fn info(state: &AppState, id: &str, token: Result<String, ApiError>) -> Response {
    let result = async {
        let id = webhook_id(id)?;
        let (webhook, _) = webhooks::authenticate(state, id, &token?).await.map_err(ApiError::nchat)?;
        Ok::<_, ApiError>(webhook)
    };
    match result.await {
        Ok(webhook) => success(StatusCode::OK, json!(webhook_info(webhook))),
        Err(error) => nchat_error(error),
    }
}

pub async fn info_query(State(state): State<AppState>, Path(id): Path<String>, RawQuery(query): RawQuery) -> Response {
    info(&state, &id, token_of(None, query)).await
}

pub async fn info_path(State(state): State<AppState>, Path((id, token)): Path<(String, String)>) -> Response {
    info(&state, &id, token_of(Some(token), None)).await
}

/// `{content, username?, avatar_url?}`; the message is posted as the webhook's bot account.
async fn post(state: &AppState, ip: SocketAddr, id: &str, token: Result<String, ApiError>, body: &[u8]) -> Response {
    let result = async {
        let id = webhook_id(id)?;
        let token = token?;
        // The envelope layer has checked that the body is a JSON object.
        let body: Value =
            serde_json::from_slice(body).map_err(|_| ApiError::bad_request("Request body must be a JSON object."))?;
        let content = match body.get("content") {
            Some(Value::String(content)) => content.clone(),
            None | Some(Value::Null) => String::new(),
            Some(_) => {
                return Err(ApiError::nchat(DomainError::invalid("content", "content must be a string.")));
            }
        };
        let message = webhooks::post(state, id, &token, &content, Some(ip.ip())).await.map_err(ApiError::nchat)?;
        Ok::<_, ApiError>(message)
    };
    match result.await {
        Ok(message) => success(StatusCode::CREATED, json!(ChatMessage::from(message))),
        Err(error) => nchat_error(error),
    }
}

pub async fn post_query(
    State(state): State<AppState>,
    ConnectInfo(ip): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    post(&state, ip, &id, token_of(None, query), &body).await
}

pub async fn post_path(
    State(state): State<AppState>,
    ConnectInfo(ip): ConnectInfo<SocketAddr>,
    Path((id, token)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    post(&state, ip, &id, token_of(Some(token), None), &body).await
}

/// Revokes a webhook, as `POST /api/webhooks/revoke` does.
pub async fn delete(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let result = async {
        let caller = bearer_caller(&state, &headers).await?;
        let id = webhook_id(&id)?;
        webhooks::revoke(&state, &caller, id).await.map_err(ApiError::nchat)?;
        Ok::<_, ApiError>(id)
    };
    match result.await {
        Ok(id) => success(StatusCode::OK, json!({"id": id.to_string(), "revoked": true})),
        Err(error) => nchat_error(error),
    }
}
