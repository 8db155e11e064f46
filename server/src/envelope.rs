//! The one place where both REST surfaces get their envelopes and statuses.
//!
//! On the way in, for the JSON routes: bodies are capped, must be a JSON object (ChatCLI: "Invalid
//! JSON format."), and HTML form posts become JSON. On the way out: a server function's error
//! (status 500 + `serverfnerror` header + `ApiError` JSON) becomes the surface's envelope with
//! the error's own status, and any non-JSON 404/405 under a REST prefix becomes a JSON one.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use app::api::error::{codes, ApiError};
use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use http::{HeaderValue, Method, StatusCode};
use serde_json::{json, Value};

/// Which public API a path belongs to; each has its own error envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// `/verify-connection`, `/subscribe`, `/user/*`, `/chat/*`: `{"status":"error","message"}`.
    ChatCli,
    /// `/api/*`: `{"success":false,"error","code","errorCode","details"}`.
    Nchat,
}

pub fn surface_of(method: &Method, path: &str) -> Option<Surface> {
    let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
    if under("/api") {
        return Some(Surface::Nchat);
    }
    // Pages: the reset form, and the chat screen (`/chat`, `/chat/42`); their POSTs are API routes.
    if method == Method::GET && (path == RESET_PAGE || is_chat_page(path)) {
        return None;
    }
    if under("/user") || under("/chat") || path == "/verify-connection" || path == "/subscribe" {
        return Some(Surface::ChatCli);
    }
    None
}

const RESET_PAGE: &str = "/user/reset-password";

fn is_chat_page(path: &str) -> bool {
    match path.strip_prefix("/chat") {
        Some("") | Some("/") => true,
        Some(rest) => rest.strip_prefix('/').is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())),
        None => false,
    }
}
/// Routes whose body the reference ignores, so none (or anything) is fine.
const BODY_IGNORED: &[&str] = &["/verify-connection"];
const SERVER_FN_ERROR_HEADER: &str = "serverfnerror";

#[derive(Clone)]
pub struct EnvelopeConfig {
    pub body_limit_bytes: usize,
    /// Every REST route that exists, so anything else under a REST prefix is a JSON 404 whatever
    /// page route might match it (e.g. `POST /chat/nope`).
    pub api_routes: Arc<ApiRoutes>,
}

/// The REST routes: the server functions' paths, plus axum routes given as patterns where a
/// `{name}` segment matches any one segment (e.g. `/api/webhook/{id}/{token}`).
#[derive(Debug, Default)]
pub struct ApiRoutes {
    exact: HashSet<String>,
    patterns: Vec<Vec<String>>,
}

impl ApiRoutes {
    /// Every registered server function's path, plus `patterns`.
    pub fn new(patterns: &[&str]) -> Self {
        let exact = leptos::server_fn::axum::server_fn_paths().map(|(path, _)| path.to_string()).collect();
        let patterns = patterns.iter().map(|p| p.trim_matches('/').split('/').map(str::to_string).collect()).collect();
        ApiRoutes { exact, patterns }
    }

    pub fn contains(&self, path: &str) -> bool {
        if self.exact.contains(path) {
            return true;
        }
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.patterns.iter().any(|pattern| {
            pattern.len() == segments.len()
                && pattern
                    .iter()
                    .zip(&segments)
                    .all(|(want, got)| (want.starts_with('{') && !got.is_empty()) || want == got)
        })
    }
}

pub async fn envelope(State(config): State<EnvelopeConfig>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let Some(surface) = surface_of(request.method(), &path) else {
        return next.run(request).await;
    };
    if !config.api_routes.contains(&path) {
        return render(surface, &ApiError::new(404, codes::NOT_FOUND, "No such route."));
    }
    // The presigned upload PUT streams raw bytes of any size; its handler caps and checks them.
    let raw_upload = request.method() == Method::PUT && path.starts_with("/api/upload/");
    let carries_body = matches!(*request.method(), Method::POST | Method::PUT | Method::PATCH) && !raw_upload;
    if !carries_body {
        // Server functions register GET only; HEAD is the same answer without its body.
        let head = request.method() == Method::HEAD && !head_served_directly(&path);
        let mut request = request;
        if head {
            *request.method_mut() = Method::GET;
        }
        let response = finish(surface, next.run(request).await).await;
        if head {
            let (parts, _) = response.into_parts();
            return Response::from_parts(parts, Body::empty());
        }
        return response;
    }

    let (mut parts, body) = request.into_parts();
    let bytes = match read_capped(body, config.body_limit_bytes).await {
        Ok(bytes) => bytes,
        Err(BodyRefused::TooLarge) => {
            let error = ApiError::new(
                413,
                codes::PAYLOAD_TOO_LARGE,
                format!("Request body is larger than {} bytes.", config.body_limit_bytes),
            );
            return render(surface, &error);
        }
        Err(BodyRefused::TooSlow) => {
            return render(surface, &ApiError::new(408, "REQUEST_TIMEOUT", "The request body did not arrive in time."));
        }
    };
    let is_form = header_starts_with(&parts.headers, CONTENT_TYPE, "application/x-www-form-urlencoded");
    // A browser posting the reset page's form without JavaScript wants a page back, not JSON.
    let browser_form = is_form && path == RESET_PAGE && header_contains(&parts.headers, ACCEPT, "text/html");
    let json_body = if BODY_IGNORED.contains(&path.as_str()) {
        Ok(Value::Object(Default::default()))
    } else if is_form {
        form_to_json(&bytes)
    } else {
        parse_json_object(&bytes, surface, parts.headers.contains_key(AUTHORIZATION))
    };
    let json_body = match json_body {
        Ok(value) => value,
        Err(error) => return render(surface, &error),
    };
    let form_fields = browser_form.then(|| json_body.clone());
    let bytes = Bytes::from(json_body.to_string());
    parts.headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    // Leptos redirects HTML-accepting requests to their Referer; API callers get answers.
    parts.headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    match form_fields {
        Some(fields) => redirect_back_to_reset_page(response, &fields).await,
        None => finish(surface, response).await,
    }
}

/// Routes with their own HEAD handler (the readiness probe).
fn head_served_directly(path: &str) -> bool {
    path == "/api/ready"
}

enum BodyRefused {
    TooLarge,
    TooSlow,
}

/// Reads a body of at most `limit` bytes. A longer one is read on (and thrown away) up to
/// `DRAIN_BYTES`, so the client finishes sending and reads the 413 instead of a reset connection.
async fn read_capped(body: Body, limit: usize) -> Result<Bytes, BodyRefused> {
    use http_body_util::BodyExt;
    const DRAIN_BYTES: usize = 1024 * 1024;
    let mut body = body;
    let mut kept = Vec::new();
    let mut seen = 0usize;
    let drained = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Some(Ok(frame)) = body.frame().await {
            let Ok(data) = frame.into_data() else { continue };
            seen += data.len();
            if seen <= limit {
                kept.extend_from_slice(&data);
            } else if seen > limit + DRAIN_BYTES {
                break;
            }
        }
    })
    .await;
    match (seen > limit, drained.is_ok()) {
        (true, _) => Err(BodyRefused::TooLarge),
        (false, false) => Err(BodyRefused::TooSlow),
        (false, true) => Ok(Bytes::from(kept)),
    }
}

fn header_starts_with(headers: &http::HeaderMap, name: http::HeaderName, prefix: &str) -> bool {
    headers.get(name).and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim().to_ascii_lowercase().starts_with(prefix))
}

fn header_contains(headers: &http::HeaderMap, name: http::HeaderName, needle: &str) -> bool {
    headers.get(name).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains(needle))
}

fn invalid_json(surface: Surface) -> ApiError {
    match surface {
        Surface::ChatCli => ApiError::bad_request("Invalid JSON format."),
        Surface::Nchat => ApiError::bad_request("Request body must be a JSON object."),
    }
}

fn parse_json_object(bytes: &[u8], surface: Surface, has_bearer: bool) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|_| invalid_json(surface))?;
    if contains_nul(&value) {
        // PostgreSQL cannot store NUL in text, and no person types one.
        return Err(ApiError::new(400, codes::VALIDATION_ERROR, "Text cannot contain NUL characters."));
    }
    match &value {
        // ChatCLI treats an empty object like no body at all (unless the token came as a header).
        Value::Object(fields) if fields.is_empty() && surface == Surface::ChatCli && !has_bearer => {
            Err(invalid_json(surface))
        }
        Value::Object(_) => Ok(value),
        _ => Err(invalid_json(surface)),
    }
}

fn contains_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(contains_nul),
        Value::Object(fields) => fields.iter().any(|(key, value)| key.contains('\0') || contains_nul(value)),
        _ => false,
    }
}

fn form_to_json(bytes: &[u8]) -> Result<Value, ApiError> {
    let fields: BTreeMap<String, String> =
        serde_urlencoded::from_bytes(bytes).map_err(|_| ApiError::bad_request("Invalid form data."))?;
    let value = Value::Object(fields.into_iter().map(|(k, v)| (k, Value::String(v))).collect());
    if contains_nul(&value) {
        return Err(ApiError::new(400, codes::VALIDATION_ERROR, "Text cannot contain NUL characters."));
    }
    Ok(value)
}

/// Gives a finished response its surface's envelope where it is an error.
async fn finish(surface: Surface, response: Response) -> Response {
    match take_error(response).await {
        Ok(error) => render(surface, &error),
        Err(response) => response,
    }
}

/// The surface's error envelope, with the error's status (and `Retry-After` on 429).
pub fn render(surface: Surface, error: &ApiError) -> Response {
    let status = StatusCode::from_u16(error.http_status).ok().filter(|s| s.is_client_error() || s.is_server_error());
    let status = status.unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match surface {
        Surface::ChatCli => json!({ "status": "error", "message": error.message, "code": error.code }),
        Surface::Nchat => json!({
            "success": false,
            "error": error.message,
            "code": error.code,
            "errorCode": error.code,
            "details": error.details.clone().unwrap_or_else(|| json!({})),
        }),
    };
    let mut response = (status, axum::Json(body)).into_response();
    let retry_after = error.details.as_ref().and_then(|d| d.get("retryAfter")).and_then(Value::as_u64);
    if let (StatusCode::TOO_MANY_REQUESTS, Some(seconds)) = (status, retry_after) {
        response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

async fn redirect_back_to_reset_page(response: Response, fields: &Value) -> Response {
    let field = |name: &str| fields.get(name).and_then(Value::as_str).unwrap_or_default().to_string();
    let location = if response.status().is_success() {
        format!("{RESET_PAGE}?done=1")
    } else {
        let message = match take_error(response).await {
            Ok(error) => error.message,
            Err(_) => "Something went wrong. Try again.".to_string(),
        };
        let query = serde_urlencoded::to_string([
            ("token", field("token")),
            ("username", field("username")),
            ("error", message),
        ])
        .unwrap_or_default();
        format!("{RESET_PAGE}?{query}")
    };
    let mut redirect = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        redirect.headers_mut().insert(LOCATION, value);
    }
    redirect
}

/// The `ApiError` inside a server function's error response, or the response itself when it is
/// not one.
async fn take_error(response: Response) -> Result<ApiError, Response> {
    let status = response.status();
    let is_server_fn_error = response.headers().contains_key(SERVER_FN_ERROR_HEADER);
    let is_json = header_starts_with(response.headers(), CONTENT_TYPE, "application/json");
    if is_server_fn_error {
        let bytes = to_bytes(response.into_body(), 1024 * 1024).await.unwrap_or_default();
        let error = serde_json::from_slice::<ApiError>(&bytes).unwrap_or_else(|_| ApiError::internal());
        return Ok(error);
    }
    match status {
        StatusCode::NOT_FOUND if !is_json => Ok(ApiError::new(404, codes::NOT_FOUND, "No such route.")),
        StatusCode::METHOD_NOT_ALLOWED if !is_json => {
            Ok(ApiError::new(405, codes::METHOD_NOT_ALLOWED, "This route does not accept that method."))
        }
        // Axum's own refusals are plain text (e.g. a path segment that is not UTF-8 once decoded).
        _ if status.is_client_error() && !is_json => {
            let bytes = to_bytes(response.into_body(), 64 * 1024).await.unwrap_or_default();
            let text: String = String::from_utf8_lossy(&bytes).trim().chars().take(200).collect();
            let message = if text.is_empty() { "The request was refused.".to_string() } else { text };
            let code =
                if status == StatusCode::PAYLOAD_TOO_LARGE { codes::PAYLOAD_TOO_LARGE } else { codes::BAD_REQUEST };
            Ok(ApiError::new(status.as_u16(), code, message))
        }
        _ => Err(response),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_one_segment_per_placeholder() {
        let routes = ApiRoutes { exact: HashSet::from(["/user/login".to_string()]), ..ApiRoutes::default() };
        let routes = ApiRoutes {
            patterns: vec![vec!["api".into(), "webhook".into(), "{id}".into(), "{token}".into()]],
            ..routes
        };
        assert!(routes.contains("/user/login"));
        assert!(routes.contains("/api/webhook/7/abc"));
        assert!(!routes.contains("/api/webhook/7"));
        assert!(!routes.contains("/api/webhook/7/abc/more"));
        assert!(!routes.contains("/user/nope"));
    }

    #[test]
    fn chat_pages_are_not_api_routes() {
        assert_eq!(surface_of(&Method::GET, "/chat/42"), None);
        assert_eq!(surface_of(&Method::GET, "/chat"), None);
        assert_eq!(surface_of(&Method::POST, "/chat/42"), Some(Surface::ChatCli));
        assert_eq!(surface_of(&Method::GET, "/chat/messages"), Some(Surface::ChatCli));
        assert_eq!(surface_of(&Method::GET, "/api/health"), Some(Surface::Nchat));
    }
}
