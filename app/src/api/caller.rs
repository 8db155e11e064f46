//! Who is calling, found one way for every route and socket: the session token a request
//! presents (ChatCLI's `session_token` body field, else `Authorization: Bearer`, else a live
//! socket's `auth` frame) becomes the signed-in `Caller`, as the database says now.

use axum::extract::{FromRef, FromRequestParts};
use http::request::Parts;
use http::HeaderMap;

use super::error::{ApiError, NchatError};
use crate::domain::sessions::{self, Caller};
use crate::domain::{AppState, DomainError, DomainResult};

/// ChatCLI's `session_token` body field, lifted into the request by the server's envelope layer
/// (which reads every body anyway), so no route has to hand it on. The field stays in each
/// ChatCLI route's request type: it is part of the contract clients read.
#[derive(Debug, Clone)]
pub struct BodySessionToken(pub String);

/// The token of `Authorization: Bearer <token>`, when the header says so.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The token a request presents: the body's `session_token`, else the Bearer header.
fn presented_token(parts: &Parts) -> Option<&str> {
    parts.extensions.get::<BodySessionToken>().map(|token| token.0.as_str()).or_else(|| bearer_token(&parts.headers))
}

/// The caller behind a token, or why there is none (no token: `SignInRequired`).
pub async fn caller_of_token(state: &AppState, token: Option<&str>) -> DomainResult<Caller> {
    let token = token.ok_or(DomainError::SignInRequired)?;
    sessions::authenticate(state, token).await
}

/// The caller of a request; server functions reach it through `request::caller`.
pub async fn caller_of_request(parts: &Parts, state: &AppState) -> DomainResult<Caller> {
    caller_of_token(state, presented_token(parts)).await
}

/// `caller: Caller` in an axum handler. Those handlers are all nchat's routes, so a refusal is in
/// nchat's envelope (401).
impl<S> FromRequestParts<S> for Caller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = NchatError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        caller_of_request(parts, &AppState::from_ref(state)).await.map_err(|error| NchatError(ApiError::nchat(error)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts_with(authorization: Option<&str>, body_token: Option<&str>) -> Parts {
        let mut request = http::Request::builder().uri("/chat/list");
        if let Some(value) = authorization {
            request = request.header(http::header::AUTHORIZATION, value);
        }
        let (mut parts, ()) = request.body(()).expect("a valid request").into_parts();
        if let Some(token) = body_token {
            parts.extensions.insert(BodySessionToken(token.into()));
        }
        parts
    }

    #[test]
    fn the_body_token_comes_first_then_a_bearer_header_of_any_case() {
        assert_eq!(presented_token(&parts_with(Some("Bearer h"), Some("b"))), Some("b"));
        assert_eq!(presented_token(&parts_with(Some("bearer  h "), None)), Some("h"));
        assert_eq!(presented_token(&parts_with(Some("Basic h"), None)), None);
        assert_eq!(presented_token(&parts_with(Some("Bearer "), None)), None);
        assert_eq!(presented_token(&parts_with(None, None)), None);
    }
}
