//! `/api/config`: public and cacheable GET (ETag, 304), admin-only POST and PATCH (both deep-merge,
//! as nchat's spec and handler do) over every section of nchat's AppConfig, with field-level
//! validation in the guide's words, versions and history.

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
    // nchat's spec has the owner's e-mail an address: none until one is set.
    assert!(first.body["data"]["config"]["owner"].get("email").is_none(), "{}", first.text);
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

    // POST merges too (nchat's "full update" is a deep merge): what it leaves out stays.
    let posted = send_config(&app, Method::POST, Some(&admin), json!({"features": {"threads": true}})).await;
    assert_eq!(posted.status, 200, "{}", posted.text);
    assert_eq!(posted.body["data"]["version"], "3");
    assert_eq!(posted.body["data"]["message"], "Configuration updated successfully");
    assert_eq!(posted.body["data"]["config"]["branding"]["appName"], "Den");
    assert_eq!(posted.body["data"]["config"]["theme"]["colorScheme"], "dark");
    assert_eq!(posted.body["data"]["config"]["features"]["threads"], true);
    assert_eq!(posted.body["data"]["config"]["features"]["publicChannels"], true);

    // History: admins only (nchat answers 403 to everyone else, with or without a token),
    // newest first, with who changed what.
    get_config(&app, "?history=true", None).await.assert_nchat_error(403, "FORBIDDEN");
    get_config(&app, "?history=true", Some("not.a.token")).await.assert_nchat_error(403, "FORBIDDEN");
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
    let scale = send_config(&app, Method::POST, Some(&owner), json!({"branding": {"logoScale": 0.1}})).await;
    assert_eq!(scale.body["error"], "Validation failed: branding.logoScale must be between 0.5 and 2.0");
    let color = send_config(&app, Method::POST, Some(&owner), json!({"theme": {"accentColor": "teal"}})).await;
    assert_eq!(color.body["error"], "Validation failed: theme.accentColor must be a valid hex color (e.g., #FF0000)");

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
        (json!({"owner": {"email": ""}}), "owner.email", "format"),
        (json!({"landingTheme": "retro"}), "landingTheme", "enum"),
        (json!({"homepage": {"landingPages": {"hero": 1}}}), "homepage.landingPages.hero", "type"),
        (json!({"authProviders": {"idme": {"enabled": "no"}}}), "authProviders.idme.enabled", "type"),
        (json!({"authPermissions": {"mode": "everyone"}}), "authPermissions.mode", "enum"),
        (json!({"authPermissions": {"allowedDomains": "example.org"}}), "authPermissions.allowedDomains", "type"),
        (json!({"features": {"maxCallParticipants": 0}}), "features.maxCallParticipants", "range"),
        (
            json!({"integrations": {"webhooks": {"customEndpoints": [1]}}}),
            "integrations.webhooks.customEndpoints",
            "type",
        ),
        (json!({"moderation": {"thresholds": {"toxic": 1.5}}}), "moderation.thresholds.toxic", "range"),
        (json!({"encryption": {"keyRotationDays": 0}}), "encryption.keyRotationDays", "range"),
        (json!({"theme": {"errorColor": "#12345"}}), "theme.errorColor", "pattern"),
        (json!({"seo": {"keywords": ["x".repeat(51)]}}), "seo.keywords", "type"),
        (json!({"legal": {"supportEmail": "help"}}), "legal.supportEmail", "format"),
        (json!({"legal": {"privacyPolicyUrl": "javascript:alert(1)"}}), "legal.privacyPolicyUrl", "format"),
        (json!({"social": {"github": 7}}), "social.github", "type"),
        (
            json!({"enterprise": {"sso": {"allowedProviders": ["okta", "okta"]}}}),
            "enterprise.sso.allowedProviders",
            "enum",
        ),
        (
            json!({"enterprise": {"compliance": {"passwordPolicy": {"minLength": 4}}}}),
            "enterprise.compliance.passwordPolicy.minLength",
            "range",
        ),
        (
            json!({"enterprise": {"audit": {"verificationSchedule": "yearly"}}}),
            "enterprise.audit.verificationSchedule",
            "enum",
        ),
        (json!({"setup": {"visitedSteps": [1, "two"]}}), "setup.visitedSteps", "type"),
        (json!({"backendSettings": "on"}), "backendSettings", "type"),
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

/// One change in each of nchat's sixteen sections, and the whole configuration sent back as
/// nchat's own client does (it loads the config, changes a field and posts all of it, with its
/// setup wizard's scratch state, which is accepted and not kept).
async fn every_section_of_nchats_config_is_accepted(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.signed_in("olivia").await.access;
    let changes = json!({
        "setup": {"isCompleted": true, "completedAt": "2025-01-02T03:04:05.000Z"},
        "owner": {"name": "Olivia", "email": "olivia@example.org", "company": "Den", "role": "Founder"},
        "branding": {"tagline": "Talk", "companyName": "Den Ltd", "websiteUrl": "https://den.example", "logoScale": 1.5},
        "landingTheme": "community",
        "homepage": {"mode": "redirect", "redirectTo": "/auth/signin", "landingPages": {"blog": true}},
        "authProviders": {"github": true, "idme": {"enabled": true, "allowGovernment": true}},
        "authPermissions": {"mode": "domain-restricted", "allowedDomains": ["example.org"], "allowedIdMeRoles": ["police"]},
        "features": {"reactions": true, "maxCallParticipants": 8, "maxStreamDuration": 90},
        "integrations": {"github": {"enabled": true}, "webhooks": {"customEndpoints": ["https://hooks.example/1"]}},
        "moderation": {"profanityFilter": true, "thresholds": {"spam": 0.9}, "customWords": {"blocked": ["spam"]}},
        "encryption": {"enabled": true, "keyRotationDays": 30},
        "theme": {"preset": "ocean", "backgroundColor": "#0F0F1A", "borderRadius": "12px", "colorScheme": "dark"},
        "seo": {"title": "Den", "keywords": ["den", "chat"], "twitterHandle": "@den"},
        "legal": {"privacyPolicyUrl": "/privacy", "supportEmail": "help@den.example"},
        "social": {"github": "https://github.com/den"},
        "enterprise": {
            "sso": {"allowedProviders": ["okta", "auth0"], "defaultRole": "moderator"},
            "audit": {"exportFormats": ["json", "cef"], "verificationSchedule": "weekly"},
            "compliance": {"mode": "gdpr", "passwordPolicy": {"minLength": 12, "requireSymbols": true}},
            "security": {"allowedIPs": ["10.0.0.0/8"], "maxRequestsPerMinute": 120}
        }
    });
    let patched = send_config(&app, Method::PATCH, Some(&owner), changes.clone()).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let config = &patched.body["data"]["config"];
    assert_eq!(config["landingTheme"], "community");
    assert_eq!(config["authProviders"]["idme"]["allowGovernment"], true);
    assert_eq!(config["authProviders"]["idme"]["allowPolice"], true, "nested objects merge too");
    assert_eq!(config["enterprise"]["compliance"]["passwordPolicy"]["minLength"], 12);
    assert_eq!(config["enterprise"]["compliance"]["passwordPolicy"]["requireUppercase"], true);
    assert_eq!(config["homepage"]["landingPages"]["hero"], true);
    assert_eq!(config["moderation"]["customWords"]["blocked"], json!(["spam"]));

    // What GET answers is what was stored, every section present.
    let read = get_config(&app, "", None).await;
    let mut whole = read.body["data"]["config"].clone();
    assert_eq!(whole, *config, "{}", read.text);
    assert_eq!(whole.as_object().map(|sections| sections.len()), Some(16), "{whole}");

    // nchat's client posts the whole thing back, with its wizard's state beside it.
    whole["branding"]["appName"] = json!("My Team Chat");
    whole["environmentSettings"] = json!({"setupMode": "local", "environment": "development"});
    let posted = send_config(&app, Method::POST, Some(&owner), whole).await;
    assert_eq!(posted.status, 200, "{}", posted.text);
    let after = get_config(&app, "", None).await;
    assert_eq!(after.body["data"]["config"]["branding"]["appName"], "My Team Chat");
    assert_eq!(after.body["data"]["config"]["seo"]["keywords"], json!(["den", "chat"]));
    assert!(after.body["data"]["config"].get("environmentSettings").is_none(), "wizard state is not kept");
    app.stop().await;
}

/// nchat's POST records the step the setup wizard reports among the visited ones; PATCH does not.
async fn posting_a_setup_step_marks_it_visited(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.signed_in("olivia").await.access;
    for step in [2, 3, 2] {
        let reply = send_config(&app, Method::POST, Some(&owner), json!({"setup": {"currentStep": step}})).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let patched = send_config(&app, Method::PATCH, Some(&owner), json!({"setup": {"currentStep": 5}})).await;
    assert_eq!(patched.body["data"]["config"]["setup"]["currentStep"], 5);
    assert_eq!(patched.body["data"]["config"]["setup"]["visitedSteps"], json!([2, 3]));
    app.stop().await;
}

/// The guide's Python `update_config` posts `{"branding":{"appName":"My Team Chat"}}` with a
/// Bearer token; its `get_config` and JavaScript `getConfig()` then read the config back.
async fn the_guides_update_config_example_changes_one_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.signed_in("olivia").await.access;
    let update = app
        .send(
            app.client
                .post(app.url("/api/config"))
                .bearer_auth(&owner)
                .header("content-type", "application/json")
                .body(r#"{"branding": {"appName": "My Team Chat"}}"#),
        )
        .await;
    assert_eq!(update.status, 200, "raise_for_status passes: {}", update.text);
    let read = get_config(&app, "", None).await;
    assert_eq!(read.status, 200);
    // getConfig() and get_config() read `config` at the top level.
    let config = &read.body["config"];
    assert_eq!(*config, read.body["data"]["config"]);
    assert_eq!(config["branding"]["appName"], "My Team Chat");
    assert_eq!(config["branding"]["logoScale"], 1.0, "the rest of branding stays");
    assert_eq!(config["theme"]["primaryColor"], "#6366F1");
    app.stop().await;
}

on_both_backends!(
    config_is_public_and_revalidates_with_its_etag,
    only_admins_and_owners_change_the_config,
    invalid_changes_name_the_field,
    every_section_of_nchats_config_is_accepted,
    posting_a_setup_step_marks_it_visited,
    the_guides_update_config_example_changes_one_field,
);
