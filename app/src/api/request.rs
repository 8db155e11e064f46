//! What a server function knows about its HTTP request: the shared state, the caller's address,
//! and the session token (in the body as ChatCLI sends it, or as `Authorization: Bearer`).

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use leptos::prelude::use_context;

use super::ApiError;
use crate::domain::sessions::{self, Caller};
use crate::domain::{AppState, DomainError, DomainResult};

pub fn state() -> Result<AppState, ApiError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the server function context");
        ApiError::internal()
    })
}

fn parts() -> Option<http::request::Parts> {
    use_context::<http::request::Parts>()
}

/// The peer's IP address (the socket's; Hearth does not trust forwarding headers).
pub fn client_ip() -> Option<IpAddr> {
    parts()?.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip())
}

/// A request header's value, when present and text.
pub fn header(name: http::header::HeaderName) -> Option<String> {
    parts()?.headers.get(name)?.to_str().ok().map(str::to_string)
}

/// Adds a header to the response (e.g. `ETag`, `Cache-Control`).
pub fn set_header(name: http::header::HeaderName, value: &str) {
    if let (Some(options), Ok(value)) =
        (use_context::<leptos_axum::ResponseOptions>(), http::HeaderValue::from_str(value))
    {
        options.insert_header(name, value);
    }
}

fn bearer_token() -> Option<String> {
    let parts = parts()?;
    let value = parts.headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
}

/// The signed-in caller, from the body's `session_token` or else the Bearer header.
pub async fn caller(state: &AppState, body_token: Option<&str>) -> DomainResult<Caller> {
    let token = body_token.map(str::to_string).filter(|t| !t.trim().is_empty()).or_else(bearer_token);
    let token = token.ok_or(DomainError::SignInRequired)?;
    sessions::authenticate(state, &token).await
}

/// Answers with `status` instead of 200 (e.g. 201 Created).
pub fn set_status(status: http::StatusCode) {
    if let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
        options.set_status(status);
    }
}
