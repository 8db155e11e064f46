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
    let items = reply.body["data"]["entries"].as_array().unwrap_or_else(|| panic!("entries: {}", reply.text));
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
        mine.body["data"]["entries"].as_array().unwrap().iter().all(|e| e["actor"]["username"] == "mike"),
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
    let entry = &roles.body["data"]["entries"][0];
    assert_eq!(entry["category"], "admin");
    assert_eq!(entry["metadata"]["to"], "moderator");
    assert_eq!(entry["actor"]["type"], "system");
    let stranger = app.post("/api/auth/signin", json!({"email": "nobody", "password": PASSWORD})).await;
    assert_eq!(stranger.status, 401);
    let failed = audit(&app, Method::GET, "/api/audit?action=auth.signin.failed", Some(&owner)).await;
    assert_eq!(failed.body["data"]["total"], 2, "{}", failed.text);
    let newest = &failed.body["data"]["entries"][0];
    assert_eq!((&newest["actor"]["type"], &newest["metadata"]["name"]), (&json!("anonymous"), &json!("nobody")));
    let older = &failed.body["data"]["entries"][1];
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
        assert_eq!(created.status, 200, "{}", created.text);
        assert_eq!(created.body["data"]["actor"]["username"], "mike", "attributed to the caller");
        assert_eq!(created.body["data"]["actor"]["type"], "user");
    }
    let bad = [
        (json!({"category": "weather", "action": "a", "description": "d"}), "category"),
        (json!({"category": "user", "action": "a", "description": "d", "severity": "meh"}), "severity"),
        (json!({"category": "user", "action": "", "description": "d"}), "action"),
        (json!({"category": "user", "action": "a", "description": "d", "metadata": [1]}), "metadata"),
        (json!({"category": "user", "action": "a", "description": "d", "actor": "bob"}), "actor"),
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
    // The spec's AuditLogResponse and the handler's pagination.
    assert_eq!((data["total"].as_i64(), data["page"].as_i64(), data["pageSize"].as_i64()), (Some(5), Some(2), Some(2)));
    assert_eq!(data["pagination"], json!({"page": 2, "pageSize": 2, "totalCount": 5, "totalPages": 3}));
    assert_eq!(data["entries"][0]["description"], "Viewed page 2");
    let last = audit(&app, Method::GET, "/api/audit?action=export.viewed&page=3&limit=2", Some(&owner)).await;
    assert_eq!(last.body["data"]["entries"].as_array().map(Vec::len), Some(1));

    let today =
        audit(&app, Method::GET, "/api/audit?category=message&from=2000-01-01&to=2999-12-31", Some(&owner)).await;
    assert_eq!(today.body["data"]["total"], 5, "{}", today.text);
    let past = audit(&app, Method::GET, "/api/audit?category=message&to=2000-01-01T00:00:00Z", Some(&owner)).await;
    assert_eq!(past.body["data"]["total"], 0, "{}", past.text);
    // nchat's filters: q, categories and severities (comma-separated), success, sort and order.
    let total = |reply: &Reply| reply.body["data"]["total"].as_i64().unwrap_or_else(|| panic!("{}", reply.text));
    let found = audit(&app, Method::GET, "/api/audit?q=VIEWED%20PAGE%203", Some(&owner)).await;
    assert_eq!(total(&found), 1);
    assert_eq!(
        audit(&app, Method::GET, "/api/audit?q=mike&categories=message", Some(&owner)).await.body["data"]["total"],
        5
    );
    let two_kinds = audit(&app, Method::GET, "/api/audit?categories=message,auth&limit=100", Some(&owner)).await;
    let kinds: std::collections::BTreeSet<String> = two_kinds.body["data"]["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["category"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(kinds, ["auth".to_string(), "message".to_string()].into_iter().collect(), "{}", two_kinds.text);
    // Categories of nchat's own client that Hearth never records: nothing, not an error.
    assert_eq!(total(&audit(&app, Method::GET, "/api/audit?categories=security", Some(&owner)).await), 0);
    assert_eq!(
        total(&audit(&app, Method::GET, "/api/audit?severities=warning,error&categories=message", Some(&owner)).await),
        0
    );
    assert_eq!(
        total(&audit(&app, Method::GET, "/api/audit?severities=info&categories=message", Some(&owner)).await),
        5
    );
    assert_eq!(total(&audit(&app, Method::GET, "/api/audit?success=false&categories=message", Some(&owner)).await), 0);
    // An actor or resource Hearth does not know: nothing.
    assert_eq!(total(&audit(&app, Method::GET, "/api/audit?actor=user-123", Some(&owner)).await), 0);
    assert_eq!(total(&audit(&app, Method::GET, "/api/audit?resource=channel-1", Some(&owner)).await), 0);
    let oldest =
        audit(&app, Method::GET, "/api/audit?action=export.viewed&sort=timestamp&order=asc", Some(&owner)).await;
    assert_eq!(oldest.body["data"]["entries"][0]["description"], "Viewed page 0");
    let by_action = audit(&app, Method::GET, "/api/audit?sort=action&order=asc&limit=1", Some(&owner)).await;
    assert_eq!(by_action.status, 200, "{}", by_action.text);
    for query in [
        "from=yesterday",
        "to=2024-02-30",
        "limit=0",
        "limit=101",
        "page=abc",
        "category=weather",
        "categories=auth,weather",
        "severities=loud",
        "success=maybe",
        "sort=size",
        "order=sideways",
        "from=2024-02-01&to=2024-01-01",
    ] {
        audit(&app, Method::GET, &format!("/api/audit?{query}"), Some(&owner))
            .await
            .assert_nchat_error(400, "VALIDATION_ERROR");
    }
    audit(&app, Method::GET, &format!("/api/audit?q={}", "x".repeat(201)), Some(&owner))
        .await
        .assert_nchat_error(400, "VALIDATION_ERROR");
    audit(&app, Method::GET, "/api/audit?q=a%00b", Some(&owner)).await.assert_nchat_error(400, "VALIDATION_ERROR");
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
    assert_eq!(created.status, 200, "{}", created.text);

    // Export by GET: admins only, CSV escaped, JSON, and a download name.
    audit(&app, Method::GET, "/api/audit/export?format=csv", None).await.assert_nchat_error(401, "UNAUTHORIZED");
    audit(&app, Method::GET, "/api/audit/export?format=csv", Some(&member)).await.assert_nchat_error(403, "FORBIDDEN");
    audit(&app, Method::GET, "/api/audit/export?format=xml", Some(&owner))
        .await
        .assert_nchat_error(400, "VALIDATION_ERROR");
    audit(&app, Method::GET, "/api/audit/export?format=csv&from=nope", Some(&owner))
        .await
        .assert_nchat_error(400, "VALIDATION_ERROR");
    let csv = audit(&app, Method::GET, "/api/audit/export?format=csv&action=note.added", Some(&owner)).await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    let disposition = csv.headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"audit-logs-") && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    let mut lines = csv.text.split("\r\n");
    assert!(lines.next().unwrap().starts_with("id,timestamp,category,action"));
    assert!(csv.text.contains(",\"Said \"\"hi\"\", then left\nfor good\","), "{}", csv.text);
    let as_json = audit(&app, Method::GET, "/api/audit/export?format=json&action=note.added", Some(&owner)).await;
    assert_eq!(as_json.status, 200);
    assert_eq!(as_json.body[0]["description"], tricky);
    // Without a format: nchat's export options.
    let options = audit(&app, Method::GET, "/api/audit/export", Some(&owner)).await;
    assert_eq!(options.status, 200, "{}", options.text);
    let formats: Vec<&str> =
        options.body["data"]["formats"].as_array().expect("formats").iter().filter_map(|f| f["id"].as_str()).collect();
    assert_eq!(formats, vec!["csv", "json"]);
    assert!(options.body["data"]["templates"].as_array().is_some_and(|t| !t.is_empty()), "{}", options.text);
    assert_eq!(options.body["data"]["maxRecords"], 10_000);

    // Export by POST, nchat's way: a file, or JSON when asked for JSON first.
    let export = |body: serde_json::Value, accept: &'static str, token: Option<String>| {
        let mut request = app.client.post(app.url("/api/audit/export")).header("accept", accept).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        app.send(request)
    };
    let body = json!({"format": "json", "filters": {"category": ["user"], "action": ["note.added"]},
                      "includeMetadata": false, "includeSummary": true});
    export(body.clone(), "application/json", None).await.assert_nchat_error(401, "UNAUTHORIZED");
    export(body.clone(), "application/json", Some(member.clone())).await.assert_nchat_error(403, "FORBIDDEN");
    let reply = export(body.clone(), "application/json", Some(owner.clone())).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let data = &reply.body["data"];
    assert_eq!((&data["mimeType"], &data["recordCount"]), (&json!("application/json"), &json!(1)), "{}", reply.text);
    assert!(data["filename"].as_str().is_some_and(|f| f.starts_with("audit-logs-") && f.ends_with(".json")));
    let exported: serde_json::Value =
        serde_json::from_str(data["exportData"].as_str().expect("exportData")).expect("JSON");
    assert_eq!(exported[0]["description"], tricky);
    assert!(data["summary"].as_str().is_some_and(|s| s.starts_with("1 audit entries")), "{}", reply.text);
    let file = export(json!({"format": "csv", "filters": {"action": "note.added"}}), "*/*", Some(owner.clone())).await;
    assert_eq!(file.status, 200, "{}", file.text);
    assert!(file.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(file.text.contains("note.added"), "{}", file.text);
    let dated = json!({"format": "json", "filters": {"action": ["note.added"]},
                       "dateRange": {"start": "2000-01-01", "end": "2000-12-31"}});
    let none = export(dated, "application/json", Some(owner.clone())).await;
    assert_eq!(none.body["data"]["recordCount"], 0, "{}", none.text);
    for bad in [
        json!({}),
        json!({"format": "xlsx"}),
        json!({"format": "csv", "filters": {"category": ["weather"]}}),
        json!({"format": "csv", "filters": {"severity": 5}}),
        json!({"format": "csv", "filters": {"startDate": "soon"}}),
        json!({"format": "csv", "dateRange": {"start": "2024-02-01", "end": "2024-01-01"}}),
    ] {
        export(bad, "application/json", Some(owner.clone())).await.assert_nchat_error(400, "VALIDATION_ERROR");
    }
    export(json!({"format": "csv", "filters": [1]}), "application/json", Some(owner.clone()))
        .await
        .assert_nchat_error(400, "BAD_REQUEST");

    // Delete: admins only, nchat's body (ids, or olderThan) or Hearth's filters, answering counts;
    // the deletion is itself recorded.
    let delete = |body: Option<serde_json::Value>, query: &'static str, token: &str| {
        let mut request = app.client.delete(app.url(&format!("/api/audit{query}"))).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        app.send(request)
    };
    delete(None, "?action=note.added", &member).await.assert_nchat_error(403, "FORBIDDEN");
    delete(None, "", &owner).await.assert_nchat_error(400, "BAD_REQUEST");
    delete(Some(json!({})), "", &owner).await.assert_nchat_error(400, "BAD_REQUEST");
    delete(Some(json!({"ids": []})), "", &owner).await.assert_nchat_error(400, "BAD_REQUEST");
    delete(None, "?to=someday", &owner).await.assert_nchat_error(400, "VALIDATION_ERROR");
    delete(Some(json!({"olderThan": "someday"})), "", &owner).await.assert_nchat_error(400, "VALIDATION_ERROR");
    delete(Some(json!({"olderThan": "2000-01-01", "severity": ["loud"]})), "", &owner)
        .await
        .assert_nchat_error(400, "VALIDATION_ERROR");
    delete(Some(json!({"ids": "1"})), "", &owner).await.assert_nchat_error(400, "BAD_REQUEST");
    delete(Some(json!({"category": "user"})), "?category=user", &owner).await.assert_nchat_error(400, "BAD_REQUEST");
    let raw = app
        .send(
            app.client
                .delete(app.url("/api/audit"))
                .bearer_auth(&owner)
                .header("content-type", "application/json")
                .body("[1]"),
        )
        .await;
    raw.assert_nchat_error(400, "BAD_REQUEST");
    let entry_id = created.body["data"]["id"].as_str().expect("id").to_string();
    // Ids Hearth does not know delete nothing.
    let nothing = delete(Some(json!({"ids": ["audit-123", "999999"]})), "", &owner).await;
    assert_eq!(nothing.status, 200, "{}", nothing.text);
    assert_eq!(nothing.body["data"]["deletedCount"], 0);
    let before = total_entries(&app, &owner).await;
    let deleted = delete(Some(json!({"ids": [entry_id]})), "", &owner).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert_eq!(deleted.body["data"]["deletedCount"], 1);
    // One gone, one added: the record of the deletion.
    assert_eq!(deleted.body["data"]["remainingCount"], before, "{}", deleted.text);
    let gone = audit(&app, Method::GET, "/api/audit?action=note.added", Some(&owner)).await;
    assert_eq!(gone.body["data"]["total"], 0);
    let noted = audit(&app, Method::GET, "/api/audit?action=audit.deleted", Some(&owner)).await;
    assert_eq!(noted.body["data"]["entries"][0]["metadata"]["count"], 1, "{}", noted.text);
    // Older than a date, narrowed by category and severity.
    let old =
        delete(Some(json!({"olderThan": "2000-01-01", "category": "auth", "severity": ["info"]})), "", &owner).await;
    assert_eq!(old.body["data"]["deletedCount"], 0, "{}", old.text);
    let auth_count =
        audit(&app, Method::GET, "/api/audit?category=auth", Some(&owner)).await.body["data"]["total"].clone();
    let aged = delete(Some(json!({"olderThan": "2999-01-01", "category": "auth"})), "", &owner).await;
    assert_eq!(aged.body["data"]["deletedCount"], auth_count, "{}", aged.text);
    assert_eq!(audit(&app, Method::GET, "/api/audit?category=auth", Some(&owner)).await.body["data"]["total"], 0);
    // Hearth's filters in the query string still work.
    let posted = app
        .post_bearer("/api/audit", &member, json!({"category": "user", "action": "note.again", "description": "d"}))
        .await;
    assert_eq!(posted.status, 200, "{}", posted.text);
    let by_query = delete(None, "?action=note.again", &owner).await;
    assert_eq!(by_query.body["data"]["deletedCount"], 1, "{}", by_query.text);

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

async fn total_entries(app: &TestApp, owner: &str) -> serde_json::Value {
    let all = audit(app, Method::GET, "/api/audit", Some(owner)).await;
    assert_eq!(all.status, 200, "{}", all.text);
    all.body["data"]["total"].clone()
}

on_both_backends!(
    security_events_are_recorded_and_members_see_their_own,
    entries_are_added_paged_and_filtered,
    admins_delete_and_export,
);
