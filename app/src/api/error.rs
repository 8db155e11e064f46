//! The one error type of every server function. Server functions answer it as JSON with status
//! 500 and a `serverfnerror` header; the server's envelope layer turns that into the surface's
//! envelope (ChatCLI `{status:"error",message}`, nchat `{success:false,error,code,…}`) with
//! `http_status`. Decoding accepts either envelope, so the browser reads what the layer wrote.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    /// The HTTP status the envelope layer answers with; stripped from what clients see.
    #[serde(rename = "httpStatus", default, skip_serializing_if = "is_zero")]
    pub http_status: u16,
    /// Machine-readable, e.g. `VALIDATION_ERROR` (nchat's code list, plus Hearth's own).
    #[serde(default)]
    pub code: String,
    /// A sentence a person understands.
    #[serde(alias = "error")]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

fn is_zero(status: &u16) -> bool {
    *status == 0
}

pub mod codes {
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    pub const VALIDATION_ERROR: &str = "VALIDATION_ERROR";
    pub const UNAUTHORIZED: &str = "UNAUTHORIZED";
    pub const INVALID_TOKEN: &str = "INVALID_TOKEN";
    pub const INVALID_CREDENTIALS: &str = "INVALID_CREDENTIALS";
    pub const INVALID_CODE: &str = "INVALID_CODE";
    pub const INVALID_RESET_LINK: &str = "INVALID_RESET_LINK";
    pub const EMAIL_NOT_VERIFIED: &str = "EMAIL_NOT_VERIFIED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
    pub const CONFLICT: &str = "CONFLICT";
    pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
    pub const RATE_LIMIT_EXCEEDED: &str = "RATE_LIMIT_EXCEEDED";
    pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
    pub const INTERNAL_ERROR: &str = "INTERNAL_ERROR";
}

impl ApiError {
    pub fn new(http_status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError { http_status, code: code.into(), message: message.into(), details: None }
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(400, codes::BAD_REQUEST, message)
    }

    pub fn internal() -> Self {
        ApiError::new(500, codes::INTERNAL_ERROR, "Something went wrong on our side. Try again later.")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(error: ServerFnErrorErr) -> Self {
        match error {
            // The body did not match the route's fields: the client's mistake.
            ServerFnErrorErr::Args(why)
            | ServerFnErrorErr::Deserialization(why)
            | ServerFnErrorErr::MissingArg(why) => ApiError::bad_request(describe_bad_body(&why)),
            ServerFnErrorErr::UnsupportedRequestMethod(_) => {
                ApiError::new(405, codes::METHOD_NOT_ALLOWED, "Method not allowed.")
            }
            // On the browser side: the request never got an answer.
            ServerFnErrorErr::Request(why) => {
                ApiError::new(0, "NETWORK_ERROR", format!("Could not reach the server: {why}"))
            }
            _ => ApiError::internal(),
        }
    }
}

/// Turns serde's wording into a sentence about the request body.
fn describe_bad_body(why: &str) -> String {
    let why = why.trim();
    if let Some(field) = why.strip_prefix("missing field `").and_then(|rest| rest.split('`').next()) {
        return format!("Missing field: {field}.");
    }
    let short: String = why.chars().take(200).collect();
    format!("Invalid request body: {short}")
}

#[cfg(feature = "ssr")]
mod from_domain {
    use super::{codes, ApiError};
    use crate::domain::DomainError;

    /// The ChatCLI surface's reading of a domain error (also the default for `?`).
    impl From<DomainError> for ApiError {
        fn from(error: DomainError) -> Self {
            let message = error.to_string();
            match error {
                DomainError::Invalid { field, .. } => ApiError::new(400, codes::VALIDATION_ERROR, message)
                    .with_details(serde_json::json!({ "field": field })),
                DomainError::InvalidConfig { field, constraint, .. } => {
                    ApiError::new(400, codes::VALIDATION_ERROR, message)
                        .with_details(serde_json::json!({ "field": field, "constraint": constraint }))
                }
                DomainError::BadRequest(_) => ApiError::new(400, codes::BAD_REQUEST, message),
                DomainError::BadCredentials | DomainError::EmailNotVerified => {
                    ApiError::new(400, codes::INVALID_CREDENTIALS, DomainError::BadCredentials.to_string())
                }
                DomainError::InvalidSession | DomainError::SignInRequired => {
                    ApiError::new(401, codes::UNAUTHORIZED, DomainError::InvalidSession.to_string())
                }
                DomainError::InvalidRefreshToken => ApiError::new(401, codes::INVALID_TOKEN, message),
                DomainError::InvalidCode => ApiError::new(400, codes::INVALID_CODE, message),
                DomainError::InvalidResetLink => ApiError::new(400, codes::INVALID_RESET_LINK, message),
                DomainError::Forbidden(_) => ApiError::new(403, codes::FORBIDDEN, message),
                DomainError::NotFound(_) => ApiError::new(404, codes::NOT_FOUND, message),
                DomainError::Conflict(_) => ApiError::new(409, codes::CONFLICT, message),
                DomainError::RateLimited { retry_after } => ApiError::new(429, codes::RATE_LIMIT_EXCEEDED, message)
                    .with_details(serde_json::json!({ "retryAfter": retry_after })),
                DomainError::MailUnavailable => ApiError::new(503, codes::SERVICE_UNAVAILABLE, message),
                DomainError::Internal(detail) => {
                    tracing::error!(%detail, "internal error");
                    ApiError::internal()
                }
            }
        }
    }

    impl ApiError {
        /// The nchat surface's reading: the same, but for its own words on sign-in and tokens.
        pub fn nchat(error: DomainError) -> Self {
            match error {
                DomainError::BadCredentials => ApiError::new(401, codes::UNAUTHORIZED, "Invalid email or password."),
                DomainError::EmailNotVerified => ApiError::new(403, codes::EMAIL_NOT_VERIFIED, error.to_string()),
                DomainError::InvalidSession => ApiError::new(401, codes::INVALID_TOKEN, "Invalid or expired token."),
                DomainError::SignInRequired => {
                    ApiError::new(401, codes::UNAUTHORIZED, "Sign in first (Authorization: Bearer <token>).")
                }
                other => ApiError::from(other),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_surfaces_envelopes() {
        let chatcli: ApiError =
            serde_json::from_str(r#"{"status":"error","message":"No.","code":"FORBIDDEN"}"#).unwrap();
        assert_eq!((chatcli.code.as_str(), chatcli.message.as_str()), ("FORBIDDEN", "No."));
        let nchat: ApiError = serde_json::from_str(
            r#"{"success":false,"error":"Gone.","code":"NOT_FOUND","errorCode":"NOT_FOUND","details":{}}"#,
        )
        .unwrap();
        assert_eq!((nchat.code.as_str(), nchat.message.as_str()), ("NOT_FOUND", "Gone."));
    }

    #[test]
    fn missing_fields_are_named() {
        assert_eq!(describe_bad_body("missing field `username` at line 1"), "Missing field: username.");
    }
}
