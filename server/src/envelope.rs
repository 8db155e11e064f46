//! The way in to both REST surfaces: a path under a REST prefix that names no route is a 404, a
//! route asked with a method it does not serve a 405, both in the surface's envelope; bodies are
//! capped and must be a JSON object (ChatCLI: "Invalid JSON format."), and HTML form posts become
//! JSON. ChatCLI's `session_token` is lifted out for the `Caller` extractor. Answers are never
//! touched on the way out: each surface's error type (`ChatCliError`, `NchatError`) already
//! renders its own envelope and status.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use app::api::caller::BodySessionToken;
use app::api::error::{codes, ApiError, ChatCliError, NchatError};
use app::api::request::BrowserFormPost;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Method};
use serde::de::DeserializeOwned;
use serde_json::Value;

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
    // The catalogue's own server function (a language the browser switches to) is the browser
    // app's, not nchat's: it keeps the crate's form body and codec.
    if path.starts_with(app::locale::CATALOGUE_ROUTE_PREFIX) {
        return None;
    }
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

/// The catalogue crate's function answers every failure with 500 and a line of text. Its path is
/// under `/api`, so a failure takes nchat's envelope; one about the request's arguments (a missing
/// field, a body that is not its form) is the client's mistake: 400. Its answers are left as they
/// are when it succeeds.
async fn catalogue_failure(response: Response) -> Response {
    if response.status().is_success() {
        return response;
    }
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024).await.unwrap_or_default();
    let arguments =
        [b"Args|".as_slice(), b"Deserialization|", b"MissingArg|"].iter().any(|prefix| bytes.starts_with(prefix));
    let error = if arguments || status.is_client_error() {
        let status = if status.is_client_error() { status.as_u16() } else { 400 };
        ApiError::new(status, codes::VALIDATION_ERROR, "Send locale and translations_id as a form.")
    } else {
        ApiError::new(status.as_u16(), codes::INTERNAL_ERROR, "The language could not be loaded.")
    };
    render(Surface::Nchat, error)
}

fn is_chat_page(path: &str) -> bool {
    match path.strip_prefix("/chat") {
        Some("") | Some("/") => true,
        Some(rest) => rest.strip_prefix('/').is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())),
        None => false,
    }
}
/// Routes whose body the reference ignores, so none (or anything) is fine.
const BODY_IGNORED: &[&str] = &["/verify-connection"];

#[derive(Clone)]
pub struct EnvelopeConfig {
    pub body_limit_bytes: usize,
    /// Every REST route that exists, so anything else under a REST prefix is a JSON 404 whatever
    /// page route might match it (e.g. `POST /chat/nope`).
    pub api_routes: Arc<ApiRoutes>,
}

/// The REST routes and the methods each serves: the server functions' paths, plus axum routes
/// given as patterns where a `{name}` segment matches any one segment (`/api/webhook/{id}/{token}`).
#[derive(Debug, Default)]
pub struct ApiRoutes {
    exact: HashMap<String, Vec<Method>>,
    patterns: Vec<(Vec<String>, Vec<Method>)>,
}

/// What the route table says of a request.
#[derive(Debug, PartialEq, Eq)]
pub enum RouteMatch {
    Served,
    NoSuchRoute,
    WrongMethod,
}

impl ApiRoutes {
    /// Every registered server function's path and method, plus `routes` (the documented axum
    /// routes, whose paths may hold `{parameters}`).
    pub fn new(routes: impl IntoIterator<Item = (Method, String)>) -> Self {
        let mut exact: HashMap<String, Vec<Method>> = HashMap::new();
        for (path, method) in leptos::server_fn::axum::server_fn_paths() {
            exact.entry(path.to_string()).or_default().push(method);
        }
        let mut patterns: Vec<(Vec<String>, Vec<Method>)> = Vec::new();
        for (method, path) in routes {
            if !path.contains('{') {
                exact.entry(path).or_default().push(method);
                continue;
            }
            let pattern: Vec<String> = path.trim_matches('/').split('/').map(str::to_string).collect();
            match patterns.iter_mut().find(|(known, _)| *known == pattern) {
                Some((_, methods)) => methods.push(method),
                None => patterns.push((pattern, vec![method])),
            }
        }
        ApiRoutes { exact, patterns }
    }

    fn methods(&self, path: &str) -> Option<&[Method]> {
        if let Some(methods) = self.exact.get(path) {
            return Some(methods);
        }
        // Only the leading slash goes: axum does not match `/api/webhook/7/` to `/api/webhook/{id}`,
        // so a trailing slash must leave an empty last segment that no pattern matches.
        let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
        self.patterns
            .iter()
            .find(|(pattern, _)| {
                pattern.len() == segments.len()
                    && pattern
                        .iter()
                        .zip(&segments)
                        .all(|(want, got)| (want.starts_with('{') && !got.is_empty()) || want == got)
            })
            .map(|(_, methods)| methods.as_slice())
    }

    /// HEAD is served wherever GET is.
    pub fn find(&self, method: &Method, path: &str) -> RouteMatch {
        let Some(methods) = self.methods(path) else { return RouteMatch::NoSuchRoute };
        let asked = if method == Method::HEAD { &Method::GET } else { method };
        if methods.contains(asked) || methods.contains(method) {
            RouteMatch::Served
        } else {
            RouteMatch::WrongMethod
        }
    }
}

pub async fn envelope(State(config): State<EnvelopeConfig>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let Some(surface) = surface_of(request.method(), &path) else {
        let response = next.run(request).await;
        if path.starts_with(app::locale::CATALOGUE_ROUTE_PREFIX) {
            return catalogue_failure(response).await;
        }
        return response;
    };
    match config.api_routes.find(request.method(), &path) {
        RouteMatch::Served => {}
        RouteMatch::NoSuchRoute => return render(surface, ApiError::new(404, codes::NOT_FOUND, "No such route.")),
        RouteMatch::WrongMethod => {
            let error = ApiError::new(405, codes::METHOD_NOT_ALLOWED, "This route does not accept that method.");
            return render(surface, error);
        }
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
        let response = next.run(request).await;
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
            return render(surface, error);
        }
        Err(BodyRefused::TooSlow) => {
            return render(surface, ApiError::new(408, "REQUEST_TIMEOUT", "The request body did not arrive in time."));
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
        Err(error) => return render(surface, error),
    };
    if browser_form {
        // The reset route answers it with a redirect back to the page (see `BrowserFormPost`).
        parts.extensions.insert(BrowserFormPost);
    }
    if surface == Surface::ChatCli {
        // Where the `Caller` extractor finds ChatCLI's token (a blank one counts as none).
        let token = json_body.get("session_token").and_then(Value::as_str).filter(|t| !t.trim().is_empty());
        if let Some(token) = token {
            parts.extensions.insert(BodySessionToken(token.to_string()));
        }
    }
    // What routes read is the JSON the body became (a form's fields, duplicate keys settled as the
    // last one), except a webhook's post: its signature covers the exact bytes sent.
    let signed_as_sent = !is_form && path.starts_with("/api/webhook/");
    let bytes = if signed_as_sent { bytes } else { Bytes::from(json_body.to_string()) };
    parts.headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    // Leptos redirects HTML-accepting requests to their Referer; API callers get answers. Other
    // Accept values stay: the audit export answers JSON or a file by it.
    if header_contains(&parts.headers, ACCEPT, "text/html") {
        parts.headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
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

/// The surface's error envelope, with the error's status (and `Retry-After` on 429).
pub fn render(surface: Surface, error: ApiError) -> Response {
    match surface {
        Surface::ChatCli => ChatCliError(error).into_response(),
        Surface::Nchat => NchatError(error).into_response(),
    }
}

/// `Path` for the nchat surface's axum routes: a segment that does not decode (e.g. not UTF-8)
/// is a 400 in nchat's envelope instead of axum's plain-text refusal.
pub struct NchatPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for NchatPath<T> {
    type Rejection = NchatError;

    async fn from_request_parts(parts: &mut http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(NchatPath(value)),
            Err(rejection) => {
                let text: String = rejection.body_text().chars().take(200).collect();
                Err(NchatError(ApiError::new(rejection.status().as_u16(), codes::BAD_REQUEST, text)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_one_segment_per_placeholder_and_know_their_methods() {
        let routes = ApiRoutes {
            exact: HashMap::from([("/user/login".to_string(), vec![Method::POST])]),
            patterns: vec![(vec!["api".into(), "webhook".into(), "{id}".into(), "{token}".into()], vec![Method::GET])],
        };
        assert_eq!(routes.find(&Method::POST, "/user/login"), RouteMatch::Served);
        assert_eq!(routes.find(&Method::GET, "/user/login"), RouteMatch::WrongMethod);
        assert_eq!(routes.find(&Method::GET, "/api/webhook/7/abc"), RouteMatch::Served);
        assert_eq!(routes.find(&Method::HEAD, "/api/webhook/7/abc"), RouteMatch::Served);
        assert_eq!(routes.find(&Method::POST, "/api/webhook/7/abc"), RouteMatch::WrongMethod);
        assert_eq!(routes.find(&Method::GET, "/api/webhook/7"), RouteMatch::NoSuchRoute);
        assert_eq!(routes.find(&Method::GET, "/api/webhook/7/abc/more"), RouteMatch::NoSuchRoute);
        assert_eq!(routes.find(&Method::GET, "/api/webhook/7/"), RouteMatch::NoSuchRoute);
        assert_eq!(routes.find(&Method::GET, "/api/webhook/7/abc/"), RouteMatch::NoSuchRoute);
        assert_eq!(routes.find(&Method::POST, "/user/nope"), RouteMatch::NoSuchRoute);
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
