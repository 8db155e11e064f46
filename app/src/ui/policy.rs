//! The Content-Security-Policy of Hearth's pages: scripts only from Hearth itself or inline with
//! this response's nonce (Leptos' hydration script carries it), WebAssembly allowed, and
//! connections to Hearth and, when calls use one, the LiveKit server.

use leptos::prelude::*;

use crate::domain::AppState;

/// Makes a nonce for this page and sends the policy that allows it. Runs in the shell, before
/// anything that renders a script.
pub fn provide_page_policy() {
    leptos::nonce::provide_nonce();
    let Some(nonce) = leptos::nonce::use_nonce() else { return };
    let livekit = use_context::<AppState>().and_then(|state| state.settings.livekit.as_ref()?.url.clone());
    let policy = page_policy(&nonce, livekit.as_deref());
    if let (Some(response), Ok(value)) =
        (use_context::<leptos_axum::ResponseOptions>(), http::HeaderValue::from_str(&policy))
    {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

pub fn page_policy(nonce: &str, livekit_url: Option<&str>) -> String {
    let mut connect = String::from("'self'");
    if let Some(origin) = livekit_url.and_then(origin_of) {
        // livekit-client signals over WebSocket and falls back to HTTP for its checks.
        let (secure, host) = origin;
        let (ws, web) = if secure { ("wss", "https") } else { ("ws", "http") };
        connect.push_str(&format!(" {ws}://{host} {web}://{host}"));
    }
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data: blob:; media-src 'self' blob:; connect-src {connect}; object-src 'none'; \
         base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )
}

/// `(secure, host[:port])` of a `ws`, `wss`, `http` or `https` URL.
fn origin_of(url: &str) -> Option<(bool, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let secure = match scheme.to_ascii_lowercase().as_str() {
        "wss" | "https" => true,
        "ws" | "http" => false,
        _ => return None,
    };
    let host = rest.split(['/', '?', '#']).next().filter(|h| !h.is_empty() && !h.contains([' ', ';', '\'']))?;
    Some((secure, host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn livekit_origin_joins_connect_src() {
        let policy = page_policy("abc", Some("wss://lk.example.org:7880/rtc?x=1"));
        assert!(
            policy.contains("connect-src 'self' wss://lk.example.org:7880 https://lk.example.org:7880;"),
            "{policy}"
        );
        assert!(policy.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval';"), "{policy}");
        let plain = page_policy("abc", Some("http://127.0.0.1:7880"));
        assert!(plain.contains("connect-src 'self' ws://127.0.0.1:7880 http://127.0.0.1:7880;"), "{plain}");
        for odd in [None, Some("ftp://x"), Some("wss://a b"), Some("nonsense")] {
            assert!(page_policy("n", odd).contains("connect-src 'self';"), "{odd:?}");
        }
    }
}
