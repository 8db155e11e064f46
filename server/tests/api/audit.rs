//! `/api/audit`: what Hearth records by itself, who reads what, adding, deleting and exporting.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app, Backend, Reply, TestApp, PASSWORD};
use crate::on_both_backends;

async fn audit(app: &TestApp, method: Method, path_and_query: &str, token: Option<&str>) -> Reply {
    let mut request = app.client.request(method, app.url(path_and_query));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    app.send(request).await
}

fn actions(reply: &Reply) -> Vec<String> {
    let items = reply.body["data"]["items"].as_array().unwrap_or_else(|| panic!("items: {}", reply.text));
    items.iter().map(|item| item["action"].as_str().unwrap_or_default().to_string()).collect()
}

async fn security_events_are_recorded_and_members_see_their_own(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signed_in("olivia").await;
    let signin = app.post("/api/auth/signin", json!({"email": "olivia", "password": PASSWORD})).await;
    let owner = signin.body["data"]["accessToken"].as_str().expect("token").to_string();
    let olivia_id = signin.body["data"]["user"]["id"].as_str().expect("id").to_string();
    let member = app.signed_in("mike").await.access;
    let wrong = app.post("/api/auth/signin", json!({"email": "mike", "password": "Wrong-pass1!"})).await;
    assert_eq!(wrong.status, 401, "{}", wrong.text);
    let output = app.hearth_command(&["user", "set-role", "mike", "moderator"]);
    assert!(output.status.success());
    app.signed_in("carol").await;
    let group = app.create_group(&owner, "Den", &["mike"]).await;
    let added =
        app.post("/chat/add-members", json!({"session_token": owner, "chatID": group, "members": ["carol"]})).await;
    assert_eq!(added.status, 200, "{}", added.text);
    let removed =
        app.post("/chat/remove-members", json!({"session_token": owner, "chatID": group, "members": ["carol"]})).await;
    assert_eq!(removed.status, 200, "{}", removed.text);

    audit(&app, Method::GET, "/api/audit", None).await.assert_nchat_error(401, "UNAUTHORIZED");

    // The member sees only entries they acted in.
    let mine = audit(&app, Method::GET, "/api/audit", Some(&member)).await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    assert!(
        mine.body["data"]["items"].as_array().unwrap().iter().all(|e| e["actor"]["username"] == "mike"),
        "{}",
        mine.text
    );
    let mine = actions(&mine);
    assert!(mine.contains(&"auth.signin".to_string()) && mine.contains(&"auth.signin.failed".to_string()), "{mine:?}");
    audit(&app, Method::GET, &format!("/api/audit?actor={olivia_id}"), Some(&member))
        .await
        .assert_nchat_error(403, "FORBIDDEN");

    // The owner sees everyone's, newest first, and filters them.
    let all = audit(&app, Method::GET, "/api/audit?limit=100", Some(&owner)).await;
    assert_eq!(all.status, 200, "{}", all.text);
    let all = actions(&all);
    for action in
        ["auth.signin", "auth.signin.failed", "user.role.changed", "channel.members.added", "channel.members.removed"]
    {
        assert!(all.contains(&action.to_string()), "{action} missing from {all:?}");
    }
    assert_eq!(all[0], "channel.members.removed", "newest first: {all:?}");
    let roles = audit(&app, Method::GET, "/api/audit?action=user.role.changed", Some(&owner)).await;
    assert_eq!(roles.body["data"]["total"], 1, "{}", roles.text);
    let entry = &roles.body["data"]["items"][0];
    assert_eq!(entry["category"], "admin");
    assert_eq!(entry["metadata"]["to"], "moderator");
    assert_eq!(entry["actor"]["type"], "system");
    let stranger = app.post("/api/auth/signin", json!({"email": "nobody", "password": PASSWORD})).await;
    assert_eq!(stranger.status, 401);
    let failed = audit(&app, Method::GET, "/api/audit?action=auth.signin.failed", Some(&owner)).await;
    assert_eq!(failed.body["data"]["total"], 2, "{}", failed.text);
    let newest = &failed.body["data"]["items"][0];
    assert_eq!((&newest["actor"]["type"], &newest["metadata"]["name"]), (&json!("anonymous"), &json!("nobody")));
    let older = &failed.body["data"]["items"][1];
    assert_eq!((&older["success"], &older["severity"]), (&json!(false), &json!("warning")));
    assert_eq!(older["actor"]["username"], "mike");
    app.stop().await;
}

async fn entries_are_added_paged_and_filtered(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.signed_in("olivia").await.access;
    let member = app.signed_in("mike").await.access;

    let anonymous = app.post("/api/audit", json!({"category": "user", "action": "x", "description": "y"})).await;
    anonymous.assert_nchat_error(401, "UNAUTHORIZED");
    for n in 0..5 {
        let body = json!({
            "category": "message", "action": "export.viewed", "severity": "info",
            "description": format!("Viewed page {n}"), "success": true,
            "metadata": {"page": n}, "actor": {"id": "999", "type": "system"},
        });
        let created = app.post_bearer("/api/audit", &member, body).await;
        assert_eq!(created.status, 201, "{}", created.text);
        assert_eq!(created.body["data"]["actor"]["username"], "mike", "attributed to the caller");
        assert_eq!(created.body["data"]["actor"]["type"], "user");
    }
    let bad = [
        (json!({"category": "weather", "action": "a", "description": "d"}), "category"),
        (json!({"category": "user", "action": "a", "description": "d", "severity": "meh"}), "severity"),
        (json!({"category": "user", "action": "", "description": "d"}), "action"),
        (json!({"category": "user", "action": "a", "description": "d", "metadata": [1]}), "metadata"),
    ];
    for (body, field) in bad {
        let reply = app.post_bearer("/api/audit", &member, body).await;
        reply.assert_nchat_error(400, "VALIDATION_ERROR");
        assert_eq!(reply.body["details"]["field"], field, "{}", reply.text);
    }
    app.post_bearer("/api/audit", &member, json!({"category": "user", "action": 5, "description": "d"}))
        .await
        .assert_nchat_error(400, "BAD_REQUEST");

    let page = audit(&app, Method::GET, "/api/audit?action=export.viewed&page=2&limit=2", Some(&owner)).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let data = &page.body["data"];
    assert_eq!((data["total"].as_i64(), data["page"].as_i64(), data["limit"].as_i64()), (Some(5), Some(2), Some(2)));
    assert_eq!(data["hasMore"], true);
    assert_eq!(data["items"][0]["description"], "Viewed page 2");
    let last = audit(&app, Method::GET, "/api/audit?action=export.viewed&page=3&limit=2", Some(&owner)).await;
    assert_eq!(last.body["data"]["hasMore"], false);
    assert_eq!(last.body["data"]["items"].as_array().map(Vec::len), Some(1));

    let today =
        audit(&app, Method::GET, "/api/audit?category=message&from=2000-01-01&to=2999-12-31", Some(&owner)).await;
    assert_eq!(today.body["data"]["total"], 5, "{}", today.text);
    let past = audit(&app, Method::GET, "/api/audit?category=message&to=2000-01-01T00:00:00Z", Some(&owner)).await;
    assert_eq!(past.body["data"]["total"], 0, "{}", past.text);
    for query in [
        "from=yesterday",
        "to=2024-02-30",
        "limit=0",
        "limit=101",
        "page=abc",
        "category=weather",
        "actor=bob",
        "from=2024-02-01&to=2024-01-01",
    ] {
        audit(&app, Method::GET, &format!("/api/audit?{query}"), Some(&owner))
            .await
            .assert_nchat_error(400, "VALIDATION_ERROR");
    }
    app.stop().await;
}

async fn admins_delete_and_export(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.signed_in("olivia").await.access;
    let member = app.signed_in("mike").await.access;
    let tricky = "Said \"hi\", then left\nfor good";
    let created = app
        .post_bearer("/api/audit", &member, json!({"category": "user", "action": "note.added", "description": tricky}))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);

    // Export: admins only, CSV escaped, JSON, and a download name.
    audit(&app, Method::GET, "/api/audit/export?format=csv", None).await.assert_nchat_error(401, "UNAUTHORIZED");
    audit(&app, Method::GET, "/api/audit/export?format=csv", Some(&member)).await.assert_nchat_error(403, "FORBIDDEN");
    audit(&app, Method::GET, "/api/audit/export?format=xml", Some(&owner))
        .await
        .assert_nchat_error(400, "VALIDATION_ERROR");
    audit(&app, Method::GET, "/api/audit/export?from=nope", Some(&owner))
        .await
        .assert_nchat_error(400, "VALIDATION_ERROR");
    let csv = audit(&app, Method::GET, "/api/audit/export?format=csv&action=note.added", Some(&owner)).await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    let disposition = csv.headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"hearth-audit-") && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    let mut lines = csv.text.split("\r\n");
    assert!(lines.next().unwrap().starts_with("id,timestamp,category,action"));
    assert!(csv.text.contains(",\"Said \"\"hi\"\", then left\nfor good\","), "{}", csv.text);
    let as_json = audit(&app, Method::GET, "/api/audit/export?format=json&action=note.added", Some(&owner)).await;
    assert_eq!(as_json.status, 200);
    assert_eq!(as_json.body[0]["description"], tricky);

    // Delete: admins only, by filter, answering the count; the deletion is itself recorded.
    audit(&app, Method::DELETE, "/api/audit?action=note.added", Some(&member))
        .await
        .assert_nchat_error(403, "FORBIDDEN");
    audit(&app, Method::DELETE, "/api/audit", Some(&owner)).await.assert_nchat_error(400, "BAD_REQUEST");
    audit(&app, Method::DELETE, "/api/audit?to=someday", Some(&owner))
        .await
        .assert_nchat_error(400, "VALIDATION_ERROR");
    let deleted = audit(&app, Method::DELETE, "/api/audit?action=note.added", Some(&owner)).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert_eq!(deleted.body["data"]["deleted"], 1);
    let gone = audit(&app, Method::GET, "/api/audit?action=note.added", Some(&owner)).await;
    assert_eq!(gone.body["data"]["total"], 0);
    let noted = audit(&app, Method::GET, "/api/audit?action=audit.deleted", Some(&owner)).await;
    assert_eq!(noted.body["data"]["items"][0]["metadata"]["count"], 1, "{}", noted.text);

    // Password changes are recorded too.
    let changed = app
        .post_bearer(
            "/api/auth/change-password",
            &member,
            json!({"currentPassword": PASSWORD, "newPassword": "N3w-passw0rd!"}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let password = audit(&app, Method::GET, "/api/audit?action=auth.password.changed", Some(&owner)).await;
    assert_eq!(password.body["data"]["total"], 1, "{}", password.text);
    app.stop().await;
}

on_both_backends!(
    security_events_are_recorded_and_members_see_their_own,
    entries_are_added_paged_and_filtered,
    admins_delete_and_export,
);
