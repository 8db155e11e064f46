//! What went wrong, and how each surface says it. `ApiError` is the problem (status, code,
//! sentence, details); `ChatCliError` and `NchatError` are the error types of the two surfaces'
//! server functions, and each renders its own envelope (ChatCLI `{status:"error",message,code}`,
//! nchat `{success:false,error,code,errorCode,details}`) with the problem's status, directly:
//! nothing downstream reads error bodies back. Decoding accepts either envelope, so the browser
//! reads what the server wrote.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    /// The HTTP status the surface answers with (not part of either envelope; 0 on the browser side).
    #[serde(skip)]
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

pub mod codes {
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    pub const VALIDATION_ERROR: &str = "VALIDATION_ERROR";
    pub const UNAUTHORIZED: &str = "UNAUTHORIZED";
    pub const INVALID_TOKEN: &str = "INVALID_TOKEN";
    pub const INVALID_SIGNATURE: &str = "INVALID_SIGNATURE";
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

    /// Seconds a rate-limited client should wait, when the problem says.
    pub fn retry_after(&self) -> Option<u64> {
        self.details.as_ref()?.get("retryAfter")?.as_u64()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

/// How a server function's own failures (a body that does not fit, a wrong method) read.
fn from_server_fn_failure(error: ServerFnErrorErr) -> ApiError {
    match error {
        // The body did not match the route's fields: the client's mistake.
        ServerFnErrorErr::Args(why) | ServerFnErrorErr::Deserialization(why) | ServerFnErrorErr::MissingArg(why) => {
            ApiError::bad_request(describe_bad_body(&why))
        }
        ServerFnErrorErr::UnsupportedRequestMethod(_) => {
            ApiError::new(405, codes::METHOD_NOT_ALLOWED, "This route does not accept that method.")
        }
        // On the browser side: the request never got an answer.
        ServerFnErrorErr::Request(why) => {
            ApiError::new(0, "NETWORK_ERROR", format!("Could not reach the server: {why}"))
        }
        _ => ApiError::internal(),
    }
}

/// Gives the response the problem's status. Called while the error is encoded, inside the request's
/// reactive owner, so the status travels with the envelope instead of being patched in later. A
/// redirect already chosen (the reset page's plain form post) stands.
#[cfg(feature = "ssr")]
fn set_response_status(error: &ApiError) {
    use leptos::prelude::use_context;
    let Some(options) = use_context::<leptos_axum::ResponseOptions>() else { return };
    let status = http::StatusCode::from_u16(error.http_status)
        .ok()
        .filter(|s| s.is_client_error() || s.is_server_error())
        .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    let redirecting = options.0.read().map(|parts| parts.status.is_some_and(|s| s.is_redirection())).unwrap_or(false);
    if !redirecting {
        options.set_status(status);
        if let (http::StatusCode::TOO_MANY_REQUESTS, Some(seconds)) = (status, error.retry_after()) {
            options.insert_header(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
        }
    }
}

/// Declares a surface's error type: a problem rendered in that surface's envelope.
macro_rules! surface_error {
    ($(#[$doc:meta])* $name:ident, $envelope:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name(pub ApiError);

        impl $name {
            /// The surface's JSON body for this problem.
            pub fn body(&self) -> serde_json::Value {
                $envelope(&self.0)
            }
        }

        impl std::ops::Deref for $name {
            type Target = ApiError;
            fn deref(&self) -> &ApiError {
                &self.0
            }
        }

        impl From<ApiError> for $name {
            fn from(error: ApiError) -> Self {
                $name(error)
            }
        }

        impl From<$name> for ApiError {
            fn from(error: $name) -> Self {
                error.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0.message)
            }
        }

        impl std::error::Error for $name {}

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.body().serialize(serializer)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                ApiError::deserialize(deserializer).map($name)
            }
        }

        impl FromServerFnError for $name {
            type Encoder = JsonEncoding;

            fn from_server_fn_error(error: ServerFnErrorErr) -> Self {
                $name(from_server_fn_failure(error))
            }

            fn ser(&self) -> leptos::server_fn::Bytes {
                #[cfg(feature = "ssr")]
                set_response_status(&self.0);
                leptos::server_fn::Bytes::from(self.body().to_string())
            }
        }

        #[cfg(feature = "ssr")]
        impl axum::response::IntoResponse for $name {
            fn into_response(self) -> axum::response::Response {
                let status = http::StatusCode::from_u16(self.0.http_status)
                    .ok()
                    .filter(|s| s.is_client_error() || s.is_server_error())
                    .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
                let mut response = (status, axum::Json(self.body())).into_response();
                if let (http::StatusCode::TOO_MANY_REQUESTS, Some(seconds)) = (status, self.0.retry_after()) {
                    response.headers_mut().insert(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
                }
                response
            }
        }
    };
}

surface_error!(
    /// An error of the ChatCLI routes (`/verify-connection`, `/subscribe`, `/user/*`, `/chat/*`):
    /// `{"status":"error","message","code"}`, as ChatCLI's clients read it.
    ChatCliError,
    chatcli_envelope
);

surface_error!(
    /// An error of the nchat routes (`/api/*`): `{"success":false,"error","code","errorCode","details"}`.
    NchatError,
    nchat_envelope
);

fn chatcli_envelope(error: &ApiError) -> serde_json::Value {
    let mut body = serde_json::json!({ "status": "error", "message": error.message, "code": error.code });
    // Beyond the reference's keys, like `code`: which field was wrong, so the browser can say so
    // in the person's language. ChatCLI's clients read `message` and ignore the rest.
    if let Some(details) = &error.details {
        body["details"] = details.clone();
    }
    body
}

fn nchat_envelope(error: &ApiError) -> serde_json::Value {
    serde_json::json!({
        "success": false,
        "error": error.message,
        "code": error.code,
        "errorCode": error.code,
        "details": error.details.clone().unwrap_or_else(|| serde_json::json!({})),
    })
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

    impl From<DomainError> for super::ChatCliError {
        fn from(error: DomainError) -> Self {
            super::ChatCliError(ApiError::from(error))
        }
    }

    impl From<DomainError> for super::NchatError {
        fn from(error: DomainError) -> Self {
            super::NchatError(ApiError::nchat(error))
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
