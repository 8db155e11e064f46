//! Request limits on every `/api` route (nchat's table): per signed-in user, else per address;
//! auth routes per address; webhooks per webhook; translate, GIF search and link previews without
//! a token under their own, lower, per-address limit. Every answer carries `X-RateLimit-*`; over the
//! limit: 429 `RATE_LIMIT_EXCEEDED` with `Retry-After`. Counted in memory, or in the database
//! when nodes share it (`HEARTH_RATE_LIMIT_SHARED=database`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::api::caller::bearer_token;
use app::api::error::{codes, ApiError, NchatError};
use app::domain::rate_limit::{count_shared, Quota};
use app::domain::store::now_ms;
use app::domain::{sessions, AppState};
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue};

/// Requests allowed per window, by route group.
#[derive(Debug, Clone)]
pub struct ApiLimitConfig {
    pub default: u32,
    pub upload: u32,
    pub search: u32,
    /// Per webhook, whoever calls it.
    pub webhook: u32,
    /// Translate, GIF search and link previews, per address, for callers without a token.
    pub anonymous_tools: u32,
    /// `/api/auth/*`, per address (the domain also limits attempts per account).
    pub auth: u32,
    pub window: Duration,
    /// Count in the database's `rate_limits` table, so every node sharing it agrees.
    pub shared: bool,
}

#[derive(Clone)]
pub struct ApiLimits {
    pub app: AppState,
    pub config: Arc<ApiLimitConfig>,
}

/// The routes anyone may call, each counted per address under `anonymous_tools`.
const ANONYMOUS_TOOLS: [&str; 3] = ["/api/translate", "/api/gif", "/api/link-preview"];

const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

pub async fn limit_api(State(limits): State<ApiLimits>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path != "/api" && !path.starts_with("/api/") {
        return next.run(request).await;
    }
    let (key, limit) = bucket(&limits, &request);
    let window = limits.config.window;
    let quota = if limits.config.shared {
        match count_shared(&limits.app.store, &key, limit, window).await {
            Ok(quota) => quota,
            Err(error) => {
                // Never refuse service because the counter is down: count on this node instead.
                tracing::warn!(%error, "shared rate-limit counter failed; counting in memory");
                limits.app.limiter.count(&key, limit, window)
            }
        }
    } else {
        limits.app.limiter.count(&key, limit, window)
    };
    let mut response = if quota.allowed {
        next.run(request).await
    } else {
        let error = ApiError::new(429, codes::RATE_LIMIT_EXCEEDED, "Rate limit exceeded. Please try again later.")
            .with_details(serde_json::json!({ "retryAfter": quota.resets_in, "limit": quota.limit }));
        NchatError(error).into_response()
    };
    add_headers(&mut response, &quota);
    response
}

/// The counter a request goes to, and its limit.
fn bucket(limits: &ApiLimits, request: &Request) -> (String, u32) {
    let config = &limits.config;
    let path = request.uri().path();
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
    if under("/api/auth") {
        return (format!("api-auth:ip:{ip}"), config.auth);
    }
    if let Some(rest) = path.strip_prefix("/api/webhook/") {
        // Per webhook: its id, cut short so a client cannot grow keys without bound.
        let id: String = rest.split('/').next().unwrap_or_default().chars().take(64).collect();
        return (format!("api-webhook:{id}"), config.webhook);
    }
    // Signed in: per user (the token's signature is checked; the session is not, which is
    // fine for counting). Otherwise per address.
    let user = bearer_token(request.headers()).and_then(|token| sessions::token_user_id(&limits.app, token));
    let tool = ANONYMOUS_TOOLS.iter().any(|prefix| under(prefix));
    if tool && user.is_none() {
        // Each spends the server's upstream quota or makes it fetch a URL: strangers get less.
        return (format!("api-tools:ip:{ip}"), config.anonymous_tools);
    }
    let who = user.map(|user| format!("user:{user}")).unwrap_or_else(|| format!("ip:{ip}"));
    if under("/api/upload") {
        (format!("api-upload:{who}"), config.upload)
    } else if under("/api/search") {
        (format!("api-search:{who}"), config.search)
    } else {
        (format!("api:{who}"), config.default)
    }
}

fn add_headers(response: &mut Response, quota: &Quota) {
    let reset_at = (now_ms() / 1000).saturating_add(quota.resets_in as i64);
    let headers = response.headers_mut();
    headers.insert(LIMIT, HeaderValue::from(quota.limit));
    headers.insert(REMAINING, HeaderValue::from(quota.remaining));
    headers.insert(RESET, HeaderValue::from(reset_at));
}
