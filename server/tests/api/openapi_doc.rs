//! The OpenAPI document lists every route (each server function's path included) with schemas,
//! in JSON and YAML, and Swagger UI is served as HTML at `/api-docs`.

use serde_json::Value;

use crate::helpers::{spawn_app, Backend};
use crate::on_both_backends;

on_both_backends!(openapi_lists_every_route_and_swagger_ui_is_served);

async fn openapi_lists_every_route_and_swagger_ui_is_served(backend: Backend) {
    let app = spawn_app(backend).await;
    let reply = app.get("/openapi.json").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let doc = &reply.body;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{}", doc["openapi"]);
    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in
        leptos::server_fn::axum::server_fn_paths().filter(|(path, _)| hearth::openapi::is_documented(path))
    {
        let method = method.as_str().to_lowercase();
        assert!(paths.get(path).and_then(|item| item.get(&method)).is_some(), "{method} {path} is not in the document");
    }
    for (path, method) in [
        ("/ws", "get"),
        ("/ws/call/{call_id}", "get"),
        ("/api/logos/{name}", "get"),
        ("/api/translate", "post"),
        ("/api/gif", "get"),
        ("/api/link-preview", "get"),
        ("/api/save-svg", "post"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path} missing");
    }
    // Each operation names its success schema and its surface's error envelope.
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("path item") {
            let responses = operation["responses"].as_object().expect("responses");
            let error =
                responses["default"]["content"]["application/json"]["schema"]["$ref"].as_str().unwrap_or_default();
            let expected = if path.starts_with("/api/") { "NchatError" } else { "ChatCliError" };
            assert!(error.ends_with(expected), "{method} {path}: {error}");
            assert!(responses.len() >= 2, "{method} {path} has no success response");
        }
    }
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for name in [
        "ClientFrame",
        "ServerFrame",
        "CallFrame",
        "NchatError",
        "ChatCliError",
        "AuthData",
        "TranslateData",
        "LoginReply",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    let signup = &paths["/api/auth/signup"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(signup["required"], serde_json::json!(["email", "password", "username"]));

    let yaml = app.client.get(app.url("/openapi.yaml")).send().await.expect("yaml");
    assert_eq!(yaml.status(), 200);
    let text = yaml.text().await.expect("yaml body");
    assert!(text.contains("/api/auth/signin:") && text.contains("openapi:"), "{}", &text[..text.len().min(300)]);

    let docs = reqwest::get(app.url("/api-docs")).await.expect("swagger ui");
    assert_eq!(docs.status(), 200);
    let kind = docs.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(kind.starts_with("text/html"), "{kind}");
    let html = docs.text().await.expect("html");
    assert!(html.contains("swagger-ui"), "{html}");
    let config: Value = reqwest::get(app.url("/api-docs/swagger-initializer.js"))
        .await
        .expect("js")
        .text()
        .await
        .map(Value::String)
        .expect("js text");
    assert!(config.as_str().is_some_and(|js| js.contains("/openapi.json")), "{config}");
    app.stop().await;
}
