//! What browsers are told about Hearth's answers: a page policy that allows only Hearth's own
//! origin (and its inline scripts by this response's nonce), no sniffing, no referrer, no
//! framing, no cookies, and CORS closed unless configured.

use reqwest::header::HeaderMap;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with, Backend, PASSWORD};
use crate::on_both_backends;

on_both_backends!(pages_allow_only_their_own_origin_and_nonce, cors_is_closed_unless_configured);

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

fn assert_common_headers(headers: &HeaderMap, what: &str) {
    assert_eq!(header(headers, "x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header(headers, "referrer-policy"), "no-referrer", "{what}");
    assert_eq!(header(headers, "x-frame-options"), "DENY", "{what}");
    assert!(headers.get("set-cookie").is_none(), "{what} sets a cookie");
    assert!(headers.get("access-control-allow-origin").is_none(), "{what} opens CORS");
}

/// Every source a directive allows.
fn directive<'a>(policy: &'a str, name: &str) -> Vec<&'a str> {
    policy
        .split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix(name).filter(|rest| rest.starts_with(' ')))
        .map(|rest| rest.split_whitespace().collect())
        .unwrap_or_default()
}

async fn pages_allow_only_their_own_origin_and_nonce(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        config.livekit_url = Some("ws://127.0.0.1:7880".into());
        config.livekit_api_key = Some("key".into());
        config.livekit_api_secret = Some("secret-secret-secret-secret-secret-00".into());
    })
    .await;
    let mut nonces = Vec::new();
    for path in ["/", "/user/reset-password?token=abc", "/chat/1", "/no/such/page"] {
        let reply = app.get(path).await;
        assert!(header(&reply.headers, "content-type").starts_with("text/html"), "{path}");
        assert_common_headers(&reply.headers, path);
        let policy = header(&reply.headers, "content-security-policy");
        assert_eq!(directive(policy, "default-src"), ["'self'"], "{path}: {policy}");
        let scripts = directive(policy, "script-src");
        let nonce = scripts
            .iter()
            .find_map(|s| s.strip_prefix("'nonce-")?.strip_suffix('\''))
            .unwrap_or_else(|| panic!("{path}: no nonce in {policy}"));
        assert_eq!(scripts.len(), 3, "{path}: {policy}");
        assert!(scripts.contains(&"'self'") && scripts.contains(&"'wasm-unsafe-eval'"), "{path}: {policy}");
        assert!(!policy.contains("unsafe-inline") && !policy.contains('*'), "{path}: {policy}");
        assert_eq!(directive(policy, "connect-src"), ["'self'", "ws://127.0.0.1:7880", "http://127.0.0.1:7880"]);
        assert_eq!(directive(policy, "frame-ancestors"), ["'none'"], "{path}");
        // Every inline script of the page carries this response's nonce, and only it.
        let scripts_in_page = reply.text.matches("<script").count();
        assert!(scripts_in_page > 0, "{path} has no hydration script");
        assert_eq!(
            reply.text.matches(&format!("<script nonce=\"{nonce}\"")).count()
                + reply.text.matches(&format!("<script type=\"module\" nonce=\"{nonce}\"")).count(),
            scripts_in_page,
            "{path}: {}",
            reply.text
        );
        nonces.push(nonce.to_string());
    }
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 4, "each response has its own nonce");

    // Swagger UI (own scripts, no inline ones) and the JSON APIs get the common headers too.
    let docs = app.get("/api-docs/").await;
    assert_eq!(docs.status, 200);
    assert_common_headers(&docs.headers, "/api-docs/");
    let docs_policy = header(&docs.headers, "content-security-policy");
    assert_eq!(directive(docs_policy, "script-src"), ["'self'"], "{docs_policy}");
    for reply in [app.get("/api/health").await, app.post("/user/login", json!({})).await] {
        assert_common_headers(&reply.headers, "an API answer");
    }
    // Signing in on either surface sets no cookie: tokens travel in bodies and headers.
    app.register_verified("alice").await;
    let chatcli = app.post("/user/login", json!({"username": "alice", "password": PASSWORD})).await;
    assert_eq!(chatcli.status, 200, "{}", chatcli.text);
    assert_common_headers(&chatcli.headers, "/user/login");
    let nchat = app.post("/api/auth/signin", json!({"email": "alice@example.org", "password": PASSWORD})).await;
    assert_eq!(nchat.status, 200, "{}", nchat.text);
    assert_common_headers(&nchat.headers, "/api/auth/signin");
}

async fn cors_is_closed_unless_configured(backend: Backend) {
    let preflight = |app: &crate::helpers::TestApp, origin: &str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/search"))
            .header("origin", origin.to_string())
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization,content-type")
    };
    // Closed: no answer lets another site's page read anything.
    let closed = spawn_app(backend).await;
    let reply = closed.send(preflight(&closed, "https://elsewhere.example")).await;
    assert!(reply.headers.get("access-control-allow-origin").is_none(), "{:?}", reply.headers);
    let reply =
        closed.send(closed.client.get(closed.url("/api/health")).header("origin", "https://elsewhere.example")).await;
    assert_eq!(reply.status, 200);
    assert!(reply.headers.get("access-control-allow-origin").is_none(), "{:?}", reply.headers);

    // Configured: the named origin, and only it, may call, and may read the limit headers.
    let open = spawn_app_with(backend, |config| {
        config.cors_origins = hearth::security::CorsOrigins::parse("https://chat.example.org").expect("origins");
    })
    .await;
    let reply = open.send(preflight(&open, "https://chat.example.org")).await;
    assert!(reply.status.is_success(), "{} {}", reply.status, reply.text);
    assert_eq!(header(&reply.headers, "access-control-allow-origin"), "https://chat.example.org");
    let methods = header(&reply.headers, "access-control-allow-methods").to_ascii_uppercase();
    assert!(methods.contains("POST") && methods.contains("DELETE"), "{methods}");
    assert!(header(&reply.headers, "access-control-allow-headers").to_ascii_lowercase().contains("authorization"));
    assert!(reply.headers.get("access-control-allow-credentials").is_none(), "no credentials: tokens are not cookies");
    let reply = open.send(preflight(&open, "https://elsewhere.example")).await;
    assert!(reply.headers.get("access-control-allow-origin").is_none(), "{:?}", reply.headers);
    let reply = open.send(open.client.get(open.url("/api/health")).header("origin", "https://chat.example.org")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(header(&reply.headers, "access-control-allow-origin"), "https://chat.example.org");
    assert!(header(&reply.headers, "access-control-expose-headers")
        .to_ascii_lowercase()
        .contains("x-ratelimit-remaining"));
}
