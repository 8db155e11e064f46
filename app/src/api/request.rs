//! What a server function knows about its HTTP request: the shared state, the caller's address,
//! and who is calling (through `caller`, the one place that reads session tokens).

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use leptos::prelude::use_context;

use super::ApiError;
use crate::domain::sessions::Caller;
use crate::domain::{AppState, DomainError, DomainResult};
use crate::locale::{locale_for_tag, Locale};

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

/// The signed-in caller of this request (see `caller`: the body's `session_token`, else Bearer).
pub async fn caller(state: &AppState) -> DomainResult<Caller> {
    let Some(parts) = parts() else { return Err(DomainError::SignInRequired) };
    super::caller::caller_of_request(&parts, state).await
}

/// The language a request comes with, for an account it creates: the `hearth_locale` cookie the
/// pages set, else the first of `Accept-Language`'s languages (by q-value) the catalogue has.
pub fn request_language() -> Option<Locale> {
    language_of(&parts()?.headers)
}

fn language_of(headers: &http::HeaderMap) -> Option<Locale> {
    let from_cookie = headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|cookie| cookie.trim().split_once('='))
        .find(|(name, _)| *name == crate::locale::COOKIE)
        .and_then(|(_, value)| locale_for_tag(value));
    from_cookie.or_else(|| {
        let header = headers.get(http::header::ACCEPT_LANGUAGE)?.to_str().ok()?;
        accept_language::parse_with_quality(header)
            .into_iter()
            // q=0 says "not this one".
            .filter(|(_, quality)| *quality > 0.0)
            .find_map(|(tag, _)| locale_for_tag(&tag))
    })
}

/// Answers with `status` instead of 200 (e.g. 201 Created).
pub fn set_status(status: http::StatusCode) {
    if let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
        options.set_status(status);
    }
}

/// Marks a request that is the reset page's plain HTML form post (a browser without JavaScript):
/// it wants a page back, so the route answers with a redirect to the page instead of JSON.
#[derive(Debug, Clone, Copy)]
pub struct BrowserFormPost;

/// True for the reset page's plain form post (set by the server's envelope layer).
pub fn is_browser_form_post() -> bool {
    parts().is_some_and(|parts| parts.extensions.get::<BrowserFormPost>().is_some())
}

/// Answers `303 See Other` to `location`, whatever the body says.
pub fn redirect_to(location: &str) {
    if let (Some(options), Ok(value)) =
        (use_context::<leptos_axum::ResponseOptions>(), http::HeaderValue::from_str(location))
    {
        options.set_status(http::StatusCode::SEE_OTHER);
        options.insert_header(http::header::LOCATION, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
        pairs.iter().map(|(name, value)| (name.parse().expect("a name"), value.parse().expect("a value"))).collect()
    }

    #[test]
    fn the_cookie_wins_then_the_most_preferred_language_the_catalogue_has() {
        let both = headers(&[("cookie", "a=1; hearth_locale=ar"), ("accept-language", "de")]);
        assert_eq!(language_of(&both), Some(Locale::ar));
        assert_eq!(language_of(&headers(&[("accept-language", "fr;q=0.5, es-MX")])), Some(Locale::es));
        assert_eq!(language_of(&headers(&[("accept-language", "ja, de-AT;q=0.8")])), Some(Locale::de));
        let unknown_cookie = headers(&[("cookie", "hearth_locale=xx"), ("accept-language", "fr")]);
        assert_eq!(language_of(&unknown_cookie), Some(Locale::fr));
        assert_eq!(language_of(&headers(&[("accept-language", "de;q=0, ja")])), None);
        assert_eq!(language_of(&headers(&[])), None);
    }
}
