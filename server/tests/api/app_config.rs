//! `/api/config`: public and cacheable GET (ETag, 304), admin-only POST (replace) and PATCH
//! (merge) with field-level validation, versions and history.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Backend, Reply, TestApp};
use crate::on_both_backends;

async fn send_config(app: &TestApp, method: Method, token: Option<&str>, body: Value) -> Reply {
    let mut request = app.client.request(method, app.url("/api/config")).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    app.send(request).await
}

async fn get_config(app: &TestApp, query: &str, token: Option<&str>) -> Reply {
    let mut request = app.client.get(app.url(&format!("/api/config{query}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    app.send(request).await
}

/// The first account is the owner; the second a member; the third made admin by the command.
async fn owner_member_admin(app: &TestApp) -> (String, String, String) {
    let owner = app.signed_in("olivia").await.access;
    let member = app.signed_in("mike").await.access;
    let admin_user = app.signed_in("ada").await;
    let output = app.hearth_command(&["user", "set-role", "ada", "admin"]);
    assert!(output.status.success(), "set-role: {}", String::from_utf8_lossy(&output.stderr));
    (owner, member, admin_user.access)
}

async fn config_is_public_and_revalidates_with_its_etag(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = get_config(&app, "", None).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["success"], true);
    assert_eq!(first.body["data"]["version"], "0");
    assert_eq!(first.body["data"]["config"]["branding"]["appName"], "Hearth");
    assert_eq!(first.body["data"]["config"]["theme"]["colorScheme"], "system");
    assert!(first.body["data"].get("history").is_none());
    let etag = first.headers["etag"].to_str().expect("etag").to_string();
    assert!(first.headers["cache-control"].to_str().unwrap_or_default().contains("public"));

    let cached = app.send(app.client.get(app.url("/api/config")).header("if-none-match", &etag)).await;
    assert_eq!(cached.status, 304);
    assert!(cached.text.is_empty(), "304 has no body: {}", cached.text);
    let other = app.send(app.client.get(app.url("/api/config")).header("if-none-match", "\"config-v99\"")).await;
    assert_eq!(other.status, 200);

    // A change gives a new ETag: the old one no longer matches.
    let owner = app.signed_in("olivia").await.access;
    let patched = send_config(&app, Method::PATCH, Some(&owner), json!({"branding": {"appName": "Den"}})).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let after = app.send(app.client.get(app.url("/api/config")).header("if-none-match", &etag)).await;
    assert_eq!(after.status, 200);
    assert_eq!(after.body["data"]["config"]["branding"]["appName"], "Den");
    assert_ne!(after.headers["etag"], etag.as_str());
    app.stop().await;
}

async fn only_admins_and_owners_change_the_config(backend: Backend) {
    let app = spawn_app(backend).await;
    let (owner, member, admin) = owner_member_admin(&app).await;
    let change = json!({"branding": {"appName": "Den"}});

    send_config(&app, Method::PATCH, None, change.clone()).await.assert_nchat_error(401, "UNAUTHORIZED");
    send_config(&app, Method::POST, None, change.clone()).await.assert_nchat_error(401, "UNAUTHORIZED");
    send_config(&app, Method::PATCH, Some(&member), change.clone()).await.assert_nchat_error(403, "FORBIDDEN");
    send_config(&app, Method::POST, Some(&member), change.clone()).await.assert_nchat_error(403, "FORBIDDEN");

    let by_owner = send_config(&app, Method::PATCH, Some(&owner), change).await;
    assert_eq!(by_owner.status, 200, "{}", by_owner.text);
    assert_eq!(by_owner.body["data"]["version"], "1");
    assert_eq!(by_owner.body["data"]["config"]["branding"]["appName"], "Den");
    // PATCH merges: the rest of branding stays.
    assert_eq!(by_owner.body["data"]["config"]["branding"]["logoScale"], 1.0);

    let by_admin = send_config(&app, Method::PATCH, Some(&admin), json!({"theme": {"colorScheme": "dark"}})).await;
    assert_eq!(by_admin.status, 200, "{}", by_admin.text);
    assert_eq!(by_admin.body["data"]["config"]["branding"]["appName"], "Den");
    assert_eq!(by_admin.body["data"]["config"]["theme"]["colorScheme"], "dark");

    // POST replaces: what it leaves out returns to the defaults.
    let replaced = send_config(&app, Method::POST, Some(&admin), json!({"features": {"threads": true}})).await;
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    assert_eq!(replaced.body["data"]["version"], "3");
    assert_eq!(replaced.body["data"]["config"]["branding"]["appName"], "Hearth");
    assert_eq!(replaced.body["data"]["config"]["theme"]["colorScheme"], "system");
    assert_eq!(replaced.body["data"]["config"]["features"]["threads"], true);

    // History: admins only, newest first, with who changed what.
    get_config(&app, "?history=true", None).await.assert_nchat_error(401, "UNAUTHORIZED");
    get_config(&app, "?history=true", Some(&member)).await.assert_nchat_error(403, "FORBIDDEN");
    let history = get_config(&app, "?history=true", Some(&owner)).await;
    assert_eq!(history.status, 200, "{}", history.text);
    let entries = history.body["data"]["history"].as_array().expect("history").clone();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0]["version"], "3");
    assert_eq!(entries[0]["updatedBy"], "ada@example.org");
    assert_eq!(entries[2]["updatedBy"], "olivia@example.org");
    assert_eq!(entries[2]["changes"], json!({"branding": {"appName": "Den"}}));
    get_config(&app, "?history=maybe", Some(&owner)).await.assert_nchat_error(400, "BAD_REQUEST");
    app.stop().await;
}

async fn invalid_changes_name_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.signed_in("olivia").await.access;

    let empty_name = send_config(&app, Method::PATCH, Some(&owner), json!({"branding": {"appName": ""}})).await;
    empty_name.assert_nchat_error(400, "VALIDATION_ERROR");
    assert_eq!(empty_name.body["error"], "Validation failed: branding.appName must be 1-50 characters");
    assert_eq!(empty_name.body["details"], json!({"field": "branding.appName", "constraint": "length"}));

    let cases = [
        (json!({"branding": {"appName": "x".repeat(51)}}), "branding.appName", "length"),
        (json!({"branding": {"logoScale": 3}}), "branding.logoScale", "range"),
        (json!({"theme": {"primaryColor": "blue"}}), "theme.primaryColor", "pattern"),
        (json!({"theme": {"colorScheme": "sepia"}}), "theme.colorScheme", "enum"),
        (json!({"features": {"threads": "yes"}}), "features.threads", "type"),
        (json!({"features": {"teleport": true}}), "features.teleport", "unknown"),
        (json!({"branding": "Den"}), "branding", "type"),
        (json!({"secrets": {}}), "secrets", "unknown"),
        (json!({"owner": {"email": "not-an-address"}}), "owner.email", "format"),
    ];
    for (body, field, constraint) in cases {
        let reply = send_config(&app, Method::PATCH, Some(&owner), body.clone()).await;
        reply.assert_nchat_error(400, "VALIDATION_ERROR");
        assert_eq!(reply.body["details"], json!({"field": field, "constraint": constraint}), "for {body}");
    }
    let not_object = app
        .send(
            app.client
                .patch(app.url("/api/config"))
                .bearer_auth(&owner)
                .header("content-type", "application/json")
                .body("[1,2]"),
        )
        .await;
    not_object.assert_nchat_error(400, "BAD_REQUEST");
    let malformed = app
        .send(
            app.client
                .post(app.url("/api/config"))
                .bearer_auth(&owner)
                .header("content-type", "application/json")
                .body("{"),
        )
        .await;
    malformed.assert_nchat_error(400, "BAD_REQUEST");
    // Just over the 64 KiB limit: small enough to be sent whole before the early answer.
    let huge = json!({"branding": {"tagline": "x".repeat(70_000)}});
    send_config(&app, Method::POST, Some(&owner), huge).await.assert_nchat_error(413, "PAYLOAD_TOO_LARGE");

    // Nothing invalid was stored.
    let now = get_config(&app, "", None).await;
    assert_eq!(now.body["data"]["version"], "0", "{}", now.text);
    app.stop().await;
}

on_both_backends!(
    config_is_public_and_revalidates_with_its_etag,
    only_admins_and_owners_change_the_config,
    invalid_changes_name_the_field,
);
