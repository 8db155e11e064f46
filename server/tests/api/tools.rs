//! `/api/translate`, `/api/gif` and `/api/link-preview` against stand-in upstreams on loopback,
//! and the link preview's refusal of private addresses when loopback is not allowed. They answer
//! without a token (the guide's "Auth: No") unless `HEARTH_ANONYMOUS_TOOLS=off`.

use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp};
use crate::on_both_backends;
use crate::upstream_standin::{self, StandIn, GIF_KEY, TRANSLATE_KEY};
use hearth::config::OnOff;

on_both_backends!(
    tools_answer_without_a_token_unless_sign_in_is_required,
    translate_without_a_service_returns_the_text_as_sent,
    anonymous_tool_callers_have_their_own_lower_limit,
    translate_calls_libretranslate,
    gif_search_normalises_giphy_and_tenor,
    link_preview_reads_the_page_head,
    link_preview_refuses_private_addresses_by_default,
    link_preview_checks_every_redirect,
);

async fn get_bearer(app: &TestApp, path: &str, token: &str) -> crate::helpers::Reply {
    app.send(app.client.get(app.url(path)).bearer_auth(token)).await
}

async fn with_standin(backend: Backend, standin: &StandIn, provider: &str, allow_private: bool) -> TestApp {
    let (translate, gif) = (standin.url(""), standin.url(""));
    let provider = provider.to_string();
    spawn_app_with(backend, move |config| {
        config.integrations.translate_url = Some(translate);
        config.integrations.translate_api_key = Some(TRANSLATE_KEY.into());
        config.integrations.gif_api_key = Some(GIF_KEY.into());
        config.integrations.gif_api_url = Some(gif);
        config.integrations.gif_provider = match provider.as_str() {
            "tenor" => hearth::integrations::GifProviderArg::Tenor,
            _ => hearth::integrations::GifProviderArg::Giphy,
        };
        config.integrations.link_preview_allow_private = allow_private;
        config.integrations.outbound_timeout_secs = 1;
    })
    .await
}

async fn tools_answer_without_a_token_unless_sign_in_is_required(backend: Backend) {
    let standin = upstream_standin::start().await;
    let app = with_standin(backend, &standin, "giphy", true).await;
    // The guide's table: no token needed. A dead token sent along changes nothing.
    let translated = app.post("/api/translate", json!({"text": "Hello", "targetLanguage": "es"})).await;
    assert_eq!(translated.status, 200, "{}", translated.text);
    assert_eq!(translated.body["data"]["translatedText"], "[es] Hello");
    let gif = app.get("/api/gif?q=cat").await;
    assert_eq!(gif.status, 200, "{}", gif.text);
    let preview = get_bearer(&app, &format!("/api/link-preview?url={}", standin.url("/page")), "not.a.token").await;
    assert_eq!(preview.status, 200, "{}", preview.text);
    assert_eq!(preview.body["data"]["cached"], false);
    // Bad input is still the caller's mistake, with or without a token.
    app.post("/api/translate", json!({"text": "", "targetLanguage": "es"}))
        .await
        .assert_nchat_error(400, "VALIDATION_ERROR");
    app.get("/api/gif?q=cat&limit=0").await.assert_nchat_error(400, "VALIDATION_ERROR");
    app.stop().await;

    let app = spawn_app_with(backend, |c| c.anonymous_tools = OnOff::Off).await;
    app.post("/api/translate", json!({"text": "hi", "targetLanguage": "es"}))
        .await
        .assert_nchat_error(401, "UNAUTHORIZED");
    app.get("/api/gif?q=cat").await.assert_nchat_error(401, "UNAUTHORIZED");
    app.get("/api/link-preview?url=https://example.org").await.assert_nchat_error(401, "UNAUTHORIZED");
    get_bearer(&app, "/api/gif?q=cat", "not.a.token").await.assert_nchat_error(401, "INVALID_TOKEN");
    let token = app.signed_in("alice").await.access;
    let reply = app.post_bearer("/api/translate", &token, json!({"text": "hi", "targetLanguage": "es"})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    get_bearer(&app, "/api/gif?q=cat", &token).await.assert_nchat_error(503, "SERVICE_UNAVAILABLE");
    app.stop().await;
}

/// nchat degrades gracefully when no translation service is configured: 200 with the text as sent.
async fn translate_without_a_service_returns_the_text_as_sent(backend: Backend) {
    let app = spawn_app(backend).await;
    let reply = app.post("/api/translate", json!({"text": "Hello, how are you?", "targetLanguage": "es"})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body["data"],
        json!({"translatedText": "Hello, how are you?", "sourceLanguage": "auto", "targetLanguage": "es",
            "translated": false})
    );
    let reply =
        app.post("/api/translate", json!({"text": "Hallo", "targetLanguage": "en", "sourceLanguage": "de"})).await;
    assert_eq!(reply.body["data"]["sourceLanguage"], "de", "{}", reply.text);
    app.post("/api/translate", json!({"text": "x".repeat(5001), "targetLanguage": "es"}))
        .await
        .assert_nchat_error(400, "VALIDATION_ERROR");
    app.post("/api/translate", json!({"text": "Hi", "targetLanguage": "<b>"}))
        .await
        .assert_nchat_error(400, "VALIDATION_ERROR");
    app.post("/api/translate", json!({"text": "Hi"})).await.assert_nchat_error(400, "BAD_REQUEST");
    app.stop().await;
}

/// Without a token, the three tools share one lower count per address
/// (HEARTH_API_LIMIT_ANONYMOUS_TOOLS); signed-in callers count against their own user limit.
async fn anonymous_tool_callers_have_their_own_lower_limit(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.api_limit = 100;
        c.api_limit_anonymous_tools = 2;
    })
    .await;
    let translate = json!({"text": "Hi", "targetLanguage": "es"});
    let first = app.post("/api/translate", translate.clone()).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.headers["x-ratelimit-limit"], "2");
    assert_eq!(app.post("/api/translate", translate.clone()).await.status, 200);
    let refused = app.get("/api/link-preview?url=https://example.org").await;
    refused.assert_nchat_error(429, "RATE_LIMIT_EXCEEDED");
    assert!(refused.headers.contains_key("retry-after"));
    // Other routes from the same address keep the ordinary limit.
    let health = app.get("/api/health").await;
    assert_eq!((health.status.as_u16(), health.headers["x-ratelimit-limit"].to_str().ok()), (200, Some("100")));
    let token = app.signed_in("alice").await.access;
    for _ in 0..3 {
        let reply = app.post_bearer("/api/translate", &token, translate.clone()).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.headers["x-ratelimit-limit"], "100");
    }
    app.stop().await;
}

async fn translate_calls_libretranslate(backend: Backend) {
    let standin = upstream_standin::start().await;
    let app = with_standin(backend, &standin, "giphy", false).await;
    let token = app.signed_in("alice").await.access;
    let reply = app.post_bearer("/api/translate", &token, json!({"text": "Hello", "targetLanguage": "es"})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let translation =
        json!({"translatedText": "[es] Hello", "sourceLanguage": "en", "targetLanguage": "es", "translated": true});
    assert_eq!(reply.body["data"], translation);
    assert_eq!(reply.body["translatedText"], translation["translatedText"], "the guide reads it at the top level");
    let reply = app
        .post_bearer("/api/translate", &token, json!({"text": "Hi", "targetLanguage": "de", "sourceLanguage": "fr"}))
        .await;
    assert_eq!(reply.body["data"]["sourceLanguage"], "fr", "{}", reply.text);

    app.post_bearer("/api/translate", &token, json!({"text": "Hi", "targetLanguage": "<script>"}))
        .await
        .assert_nchat_error(400, "VALIDATION_ERROR");
    app.post_bearer("/api/translate", &token, json!({"text": "", "targetLanguage": "es"}))
        .await
        .assert_nchat_error(400, "VALIDATION_ERROR");
    app.post_bearer("/api/translate", &token, json!({"text": "x".repeat(5001), "targetLanguage": "es"}))
        .await
        .assert_nchat_error(400, "VALIDATION_ERROR");
    let failed = app.post_bearer("/api/translate", &token, json!({"text": "fail", "targetLanguage": "es"})).await;
    failed.assert_nchat_error(502, "UPSTREAM_ERROR");
    assert!(failed.text.contains("model crashed"), "{}", failed.text);
    app.post_bearer("/api/translate", &token, json!({"text": "slow", "targetLanguage": "es"}))
        .await
        .assert_nchat_error(504, "UPSTREAM_TIMEOUT");
    app.stop().await;
}

async fn gif_search_normalises_giphy_and_tenor(backend: Backend) {
    let standin = upstream_standin::start().await;
    let app = with_standin(backend, &standin, "giphy", false).await;
    let token = app.signed_in("alice").await.access;
    let reply = get_bearer(&app, "/api/gif?q=happy%20cat&limit=2", &token).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let results = reply.body["data"]["results"].as_array().expect("results");
    assert_eq!(results.len(), 2);
    assert_eq!(
        results[0],
        json!({"id": "g0", "title": "happy cat 0", "url": "https://media.example/g0.gif",
        "previewUrl": "https://media.example/g0-s.gif", "width": 480, "height": 270})
    );
    get_bearer(&app, "/api/gif?q=cat&limit=0", &token).await.assert_nchat_error(400, "VALIDATION_ERROR");
    get_bearer(&app, "/api/gif?q=cat&limit=many", &token).await.assert_nchat_error(400, "BAD_REQUEST");
    get_bearer(&app, "/api/gif", &token).await.assert_nchat_error(400, "VALIDATION_ERROR");
    app.stop().await;

    let app = with_standin(backend, &standin, "tenor", false).await;
    let token = app.signed_in("bob").await.access;
    let reply = get_bearer(&app, "/api/gif?q=dog", &token).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body["data"]["results"],
        json!([{"id": "t1", "title": "dog", "url": "https://media.example/t1.gif",
        "previewUrl": "https://media.example/t1-s.gif", "width": 320, "height": 240}])
    );
    app.stop().await;
}

async fn link_preview_reads_the_page_head(backend: Backend) {
    let standin = upstream_standin::start().await;
    let app = with_standin(backend, &standin, "giphy", true).await;
    let token = app.signed_in("alice").await.access;
    let preview = |path: &str| format!("/api/link-preview?url={}", standin.url(path));

    let reply = get_bearer(&app, &preview("/redirect"), &token).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body["data"],
        json!({
            "url": standin.url("/page"),
            "title": "Tom & Jerry's page",
            "description": "A page about <cats>",
            "image": standin.url("/images/card.png"),
            "siteName": "Stand-in",
            "cached": false,
        })
    );
    // A host name: resolved once, checked, and connected to at the checked address.
    let by_name = format!("/api/link-preview?url=http://localhost:{}/page", standin.addr.port());
    let reply = get_bearer(&app, &by_name, &token).await;
    assert_eq!(reply.body["data"]["siteName"], "Stand-in", "{}", reply.text);
    let huge = get_bearer(&app, &preview("/huge"), &token).await;
    assert_eq!((huge.status.as_u16(), &huge.body["data"]["title"]), (200, &json!("Huge")), "{}", huge.text);
    assert_eq!(huge.body["data"]["siteName"], json!(null));

    get_bearer(&app, &preview("/loop"), &token).await.assert_nchat_error(502, "UPSTREAM_ERROR");
    get_bearer(&app, &preview("/not-found"), &token).await.assert_nchat_error(502, "UPSTREAM_ERROR");
    get_bearer(&app, &preview("/slow"), &token).await.assert_nchat_error(504, "UPSTREAM_TIMEOUT");
    // Every hop is checked again: a redirect off http(s) is refused.
    get_bearer(&app, &preview("/to-ftp"), &token).await.assert_nchat_error(403, "FORBIDDEN");
    app.stop().await;
}

async fn link_preview_refuses_private_addresses_by_default(backend: Backend) {
    let standin = upstream_standin::start().await;
    let app = with_standin(backend, &standin, "giphy", false).await;
    let token = app.signed_in("alice").await.access;
    let port = standin.addr.port();
    for target in [
        standin.url("/page"),
        standin.url("/redirect"),
        format!("http://localhost:{port}/page"),
        "http://10.0.0.1/".into(),
        "http://169.254.169.254/latest/meta-data/".into(),
        format!("http://[::1]:{port}/page"),
        format!("http://[::ffff:127.0.0.1]:{port}/page"),
        "http://0.0.0.0/".into(),
    ] {
        let path = format!("/api/link-preview?url={}", urlencode(&target));
        let reply = get_bearer(&app, &path, &token).await;
        reply.assert_nchat_error(403, "FORBIDDEN");
        assert_eq!(reply.body["details"]["reason"], "ADDRESS_NOT_ALLOWED", "{target}");
    }
    for bad in ["not a url", "ftp://example.org/", "javascript:alert(1)", "http://user:pw@example.org/"] {
        let path = format!("/api/link-preview?url={}", urlencode(bad));
        get_bearer(&app, &path, &token).await.assert_nchat_error(400, "VALIDATION_ERROR");
    }
    get_bearer(&app, "/api/link-preview", &token).await.assert_nchat_error(400, "VALIDATION_ERROR");
    app.stop().await;
}

/// One stand-in is let through, a second is not: a redirect from the first to the second (on
/// loopback, like any private address) is refused, so every hop is checked anew.
async fn link_preview_checks_every_redirect(backend: Backend) {
    let (allowed, other) = (upstream_standin::start().await, upstream_standin::start().await);
    let allowed_addr = allowed.addr;
    let app =
        spawn_app_with(backend, move |config| config.integrations.link_preview_allowed = vec![allowed_addr]).await;
    let token = app.signed_in("alice").await.access;
    let preview = |url: String| format!("/api/link-preview?url={}", urlencode(&url));
    let reply = get_bearer(&app, &preview(allowed.url("/redirect")), &token).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    get_bearer(&app, &preview(other.url("/page")), &token).await.assert_nchat_error(403, "FORBIDDEN");
    let onward = allowed.url(&format!("/redirect-to?to={}", urlencode(&other.url("/page"))));
    let reply = get_bearer(&app, &preview(onward), &token).await;
    reply.assert_nchat_error(403, "FORBIDDEN");
    assert_eq!(reply.body["details"]["reason"], "ADDRESS_NOT_ALLOWED");
    app.stop().await;
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
