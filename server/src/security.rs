//! Headers every response carries, a Content-Security-Policy for HTML that has none of its own
//! (Swagger UI, error pages; the Leptos pages set theirs with a nonce, see app/src/ui/policy.rs),
//! and CORS: closed unless `HEARTH_CORS_ORIGINS` names who may call the API from a browser.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::header::{self, HeaderName, HeaderValue};
use http::Method;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Own origin only. Styles may be inline: Swagger UI sets some.
const HTML_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Reset links carry their token in the URL: never hand it to another site.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if html && !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(HTML_POLICY));
    }
    response
}

/// Who may call Hearth from a browser page on another origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// No CORS headers at all: browsers keep other sites' pages out (the default).
    Closed,
    Any,
    List(Vec<HeaderValue>),
}

impl CorsOrigins {
    /// `""` (closed), `"*"`, or origins separated by commas, each `scheme://host[:port]`.
    pub fn parse(raw: &str) -> Result<CorsOrigins, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(CorsOrigins::Closed);
        }
        if raw == "*" {
            return Ok(CorsOrigins::Any);
        }
        let mut origins = Vec::new();
        for origin in raw.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let (scheme, rest) = origin.split_once("://").ok_or_else(|| not_an_origin(origin))?;
            let well_formed = matches!(scheme, "http" | "https")
                && !rest.is_empty()
                && !rest.contains(['/', '?', '#', '@', ' '])
                && !origin.ends_with(':');
            if !well_formed {
                return Err(not_an_origin(origin));
            }
            origins.push(HeaderValue::from_str(origin).map_err(|_| not_an_origin(origin))?);
        }
        Ok(CorsOrigins::List(origins))
    }

    /// The layer answering preflights and adding the headers; None when closed.
    pub fn layer(&self) -> Option<CorsLayer> {
        let allow = match self {
            CorsOrigins::Closed => return None,
            CorsOrigins::Any => AllowOrigin::any(),
            CorsOrigins::List(origins) => AllowOrigin::list(origins.clone()),
        };
        // Bearer tokens, not cookies: no credentials.
        Some(
            CorsLayer::new()
                .allow_origin(allow)
                .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::IF_NONE_MATCH])
                .expose_headers([
                    HeaderName::from_static("x-ratelimit-limit"),
                    HeaderName::from_static("x-ratelimit-remaining"),
                    HeaderName::from_static("x-ratelimit-reset"),
                    header::RETRY_AFTER,
                    header::ETAG,
                ])
                .max_age(std::time::Duration::from_secs(600)),
        )
    }
}

fn not_an_origin(origin: &str) -> String {
    format!("HEARTH_CORS_ORIGINS: {origin:?} is not an origin like https://chat.example.org (or use *)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_origins_parse() {
        assert_eq!(CorsOrigins::parse("  "), Ok(CorsOrigins::Closed));
        assert_eq!(CorsOrigins::parse("*"), Ok(CorsOrigins::Any));
        assert_eq!(
            CorsOrigins::parse("https://a.example, http://localhost:8080"),
            Ok(CorsOrigins::List(vec![
                HeaderValue::from_static("https://a.example"),
                HeaderValue::from_static("http://localhost:8080")
            ]))
        );
        for bad in ["a.example", "https://a.example/path", "ftp://a.example", "https://", "https://u@a.example"] {
            assert!(CorsOrigins::parse(bad).is_err(), "{bad} should be refused");
        }
    }
}
