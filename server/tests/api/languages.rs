//! Which language a page speaks: chosen by the `hearth_locale` cookie, else `Accept-Language` by
//! preference; `<html lang dir>` says it, and the page carries that one language's strings (by
//! this response's script nonce). API errors stay English, with the field the browser needs to
//! say them in the person's language.

use serde_json::json;

use crate::helpers::{spawn_app, Backend};
use crate::on_both_backends;

on_both_backends!(
    pages_speak_the_language_the_browser_prefers,
    the_browser_fetches_only_the_language_it_switches_to,
    errors_stay_english_and_name_their_field
);

async fn page(app: &crate::helpers::TestApp, headers: &[(&str, &str)]) -> (String, String) {
    let mut request = app.client.get(app.url("/"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let reply = app.send(request).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let policy = reply.headers.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    (reply.text, policy)
}

fn html_tag(page: &str) -> &str {
    let start = page.find("<html").expect("an <html> tag");
    &page[start..start + page[start..].find('>').expect("tag end")]
}

async fn pages_speak_the_language_the_browser_prefers(backend: Backend) {
    let app = spawn_app(backend).await;

    // q-values decide, not the order written.
    let (german, policy) = page(&app, &[("accept-language", "fr;q=0.5, de-AT, en;q=0.1")]).await;
    assert_eq!(html_tag(&german), r#"<html lang="de" dir="ltr""#);
    assert!(german.contains("<title>Hearth: Chat auf dem eigenen Server</title>"), "{german}");
    // The strings travel in a script the page's policy allows, and only German ones.
    let nonce = policy.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a nonce");
    assert!(german.contains(&format!("<script nonce=\"{nonce}\">window.__LEPTOS_I18N_TRANSLATIONS=")), "{german}");
    assert!(german.contains("Deine Adresse ist bestätigt. Melde dich an."));
    assert!(!german.contains("Your address is confirmed. Sign in."));

    let (arabic, _) = page(&app, &[("accept-language", "ar-EG,ar;q=0.9")]).await;
    assert_eq!(html_tag(&arabic), r#"<html lang="ar" dir="rtl""#);
    assert!(arabic.contains("تسجيل الدخول"));

    // The cookie (the person's choice) wins over the browser's languages.
    let (spanish, _) = page(&app, &[("accept-language", "de"), ("cookie", "hearth_locale=es")]).await;
    assert_eq!(html_tag(&spanish), r#"<html lang="es" dir="ltr""#);
    assert!(spanish.contains("Iniciar sesión"));

    // A language Hearth does not have, or none at all: English.
    for headers in [&[("accept-language", "ja-JP, ko;q=0.8")][..], &[][..]] {
        let (english, _) = page(&app, headers).await;
        assert_eq!(html_tag(&english), r#"<html lang="en" dir="ltr""#, "{headers:?}");
        assert!(english.contains("Your address is confirmed. Sign in."));
    }
}

async fn the_browser_fetches_only_the_language_it_switches_to(backend: Backend) {
    let app = spawn_app(backend).await;
    let (route, _) = leptos::server_fn::axum::server_fn_paths()
        .find(|(path, _)| path.starts_with(app::locale::CATALOGUE_ROUTE_PREFIX))
        .expect("the catalogue's server function is registered");
    let reply = app.post_raw(route, "application/x-www-form-urlencoded", "locale=fr&translations_id=").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let strings: Vec<String> = serde_json::from_value(reply.body.clone()).expect("a list of strings");
    assert!(strings.iter().any(|s| s == "Se connecter"), "{strings:?}");
    assert!(!strings.iter().any(|s| s == "Sign in" || s == "Anmelden"), "{strings:?}");

    // A language Hearth does not have gets English, as pages do.
    let unknown = app.post_raw(route, "application/x-www-form-urlencoded", "locale=xx&translations_id=").await;
    assert_eq!(unknown.status, 200, "{}", unknown.text);
    assert!(unknown.text.contains("\"Sign in\""), "{}", unknown.text);
    // Its path is under /api: a mistake gets nchat's envelope, whatever the body's type.
    for (content_type, wrong) in [
        ("application/x-www-form-urlencoded", "locale=fr"),
        ("application/x-www-form-urlencoded", "translations_id="),
        ("application/x-www-form-urlencoded", ""),
        ("text/plain", ""),
    ] {
        let reply = app.post_raw(route, content_type, wrong).await;
        assert_eq!(reply.status, 400, "{wrong:?}: {}", reply.text);
        assert_eq!(reply.body["success"], false, "{wrong:?}: {}", reply.text);
        assert_eq!(reply.body["code"], "VALIDATION_ERROR", "{wrong:?}: {}", reply.text);
    }
}

async fn errors_stay_english_and_name_their_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let reply =
        app.post("/user/register", json!({"username": "weak", "password": "short", "email": "weak@example.org"})).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(reply.body["status"], "error");
    assert!(reply.body["message"].as_str().is_some_and(|m| m.contains("assword")), "{}", reply.text);
    assert_eq!(reply.body["details"]["field"], "password", "{}", reply.text);
    app.stop().await;
}
