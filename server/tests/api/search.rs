//! Search: only the caller's chats, never deleted messages, FTS syntax in queries is just text,
//! filters, sorting and pages; people by username and groups by name.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, Backend, Reply, TestApp};
use crate::on_both_backends;
use crate::ws_client::WsClient;

on_both_backends!(
    search_never_leaks_other_chats_or_deleted_messages,
    fts_syntax_in_queries_is_plain_text,
    advanced_search_filters_sorts_and_pages,
);

async fn quick(app: &TestApp, access: &str, query: &str) -> Reply {
    let url = reqwest::Url::parse_with_params(&app.url("/api/search"), &[("q", query)]).expect("url");
    app.send(app.client.get(url).bearer_auth(access)).await
}

async fn advanced(app: &TestApp, access: &str, body: Value) -> Reply {
    app.post_bearer("/api/search", access, body).await
}

fn contents(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["data"]["results"]["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn search_never_leaks_other_chats_or_deleted_messages(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    let carol = app.signed_in("carol").await;
    let with_bob = app.create_chat(&alice.access, "bob").await;
    let with_carol = app.create_chat(&alice.access, "carol").await;
    app.post_message(&alice.access, with_bob, "the quick brown fox").await;
    app.post_message(&alice.access, with_carol, "a quick secret for carol").await;
    let doomed = app.post_message(&bob.access, with_bob, "quick, delete me").await;

    assert_eq!(contents(&quick(&app, &alice.access, "quick").await).len(), 3);
    let bob_sees = contents(&quick(&app, &bob.access, "quick").await);
    assert_eq!(bob_sees.len(), 2, "{bob_sees:?}");
    assert!(bob_sees.iter().all(|m| !m.contains("secret")), "{bob_sees:?}");
    assert_eq!(contents(&quick(&app, &carol.access, "quick").await), vec!["a quick secret for carol"]);
    assert!(contents(&quick(&app, &bob.access, "secret").await).is_empty());
    // Naming a chat one is not in finds nothing there either.
    let filtered = advanced(&app, &bob.access, json!({"query": "secret", "channelIds": [with_carol]})).await;
    assert!(contents(&filtered).is_empty());

    let (mut socket, _) = WsClient::signed_in(&app, &bob.access).await;
    socket.send(json!({"type": "join_chat", "chatID": with_bob})).await;
    socket.send(json!({"type": "delete_msg", "chatID": with_bob, "messageID": doomed})).await;
    socket.recv_type("deleted_message").await;
    assert!(contents(&quick(&app, &alice.access, "delete").await).is_empty());
    assert_eq!(contents(&quick(&app, &bob.access, "quick").await), vec!["the quick brown fox"]);

    // Edits are searched as edited.
    let edited = app.post_message(&bob.access, with_bob, "lunch at noon").await;
    socket.send(json!({"type": "edit_msg", "chatID": with_bob, "messageID": edited, "text": "dinner at eight"})).await;
    socket.recv_until("edited_message").await;
    assert!(contents(&quick(&app, &alice.access, "lunch").await).is_empty());
    assert_eq!(contents(&quick(&app, &alice.access, "dinner").await), vec!["dinner at eight"]);

    app.get("/api/search?q=quick").await.assert_nchat_error(401, "UNAUTHORIZED");
    quick(&app, &alice.access, "   ").await.assert_nchat_error(400, "VALIDATION_ERROR");
    quick(&app, &alice.access, "fox\0").await.assert_nchat_error(400, "VALIDATION_ERROR");
    quick(&app, &alice.access, &"x".repeat(201)).await.assert_nchat_error(400, "VALIDATION_ERROR");
    app.stop().await;
}

async fn fts_syntax_in_queries_is_plain_text(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.signed_in("alice").await;
    app.signed_in("bob").await;
    let chat = app.create_chat(&alice.access, "bob").await;
    app.post_message(&alice.access, chat, "deploy NEAR the fox: done (really) -- 100% \"sure\"").await;
    for query in [
        "\"",
        "\"unbalanced",
        "*",
        "fox*",
        "a:b",
        "-fox",
        "NEAR(deploy fox)",
        "NEAR",
        "(",
        ")",
        "deploy OR",
        "AND",
        "NOT",
        "'",
        "\\",
        "%",
        "_",
        "^fox",
        "col:fox",
        "{fox}",
        "!@#$%^&*()",
        "über straße 日本",
    ] {
        let reply = quick(&app, &alice.access, query).await;
        assert_eq!(reply.status, 200, "query {query:?}: {}", reply.text);
        let reply = advanced(&app, &alice.access, json!({"query": query, "types": ["messages"]})).await;
        assert_eq!(reply.status, 200, "query {query:?}: {}", reply.text);
    }
    // The words still match, operators or not.
    assert_eq!(contents(&quick(&app, &alice.access, "NEAR fox").await).len(), 1);
    assert_eq!(contents(&quick(&app, &alice.access, "\"deploy\"").await).len(), 1);
    assert_eq!(contents(&quick(&app, &alice.access, "deploy -missing").await).len(), 0);
    app.stop().await;
}

async fn advanced_search_filters_sorts_and_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.signed_in("alice").await;
    app.signed_in("bob").await;
    app.signed_in("robert").await;
    let chat = app.create_chat(&alice.access, "bob").await;
    let group = app.create_group(&alice.access, "Quarterly reports", &["bob"]).await;
    for n in 1..=5 {
        app.post_message(&alice.access, chat, &format!("report number {n}")).await;
    }
    app.post_message(&alice.access, group, "report report report for the group").await;

    let page = advanced(
        &app,
        &alice.access,
        json!({"query": "report", "types": ["messages"], "channelIds": [chat], "limit": 2}),
    )
    .await;
    assert_eq!(contents(&page).len(), 2);
    let data = &page.body["data"];
    assert_eq!(data["pagination"], json!({"total": 5, "limit": 2, "offset": 0, "hasMore": true}));
    assert_eq!(data["totals"]["messages"], 5);
    assert_eq!(data["types"], json!(["messages"]));

    let oldest_first = advanced(
        &app,
        &alice.access,
        json!({"query": "report", "types": ["messages"], "channelIds": [chat.to_string()], "sortBy": "date", "sortOrder": "asc", "limit": 2, "offset": 4}),
    )
    .await;
    assert_eq!(contents(&oldest_first), vec!["report number 5"]);
    assert_eq!(oldest_first.body["data"]["pagination"]["hasMore"], false);
    let newest_first = advanced(
        &app,
        &alice.access,
        json!({"query": "report", "types": ["messages"], "channelIds": [chat], "sortBy": "date"}),
    )
    .await;
    assert_eq!(contents(&newest_first).first().map(String::as_str), Some("report number 5"));
    // Best match first: the message saying "report" three times.
    let ranked = advanced(&app, &alice.access, json!({"query": "report", "types": ["messages"]})).await;
    assert_eq!(contents(&ranked).first().map(String::as_str), Some("report report report for the group"));

    let future = advanced(&app, &alice.access, json!({"query": "report", "dateFrom": "2999-01-01T00:00:00Z"})).await;
    assert!(contents(&future).is_empty());
    let past = advanced(&app, &alice.access, json!({"query": "report", "dateTo": "2000-01-01"})).await;
    assert!(contents(&past).is_empty());
    let window = advanced(
        &app,
        &alice.access,
        json!({"query": "report", "dateFrom": 0, "dateTo": "2999-12-31T23:59:59.999+02:00"}),
    )
    .await;
    assert_eq!(contents(&window).len(), 6);

    let people = advanced(&app, &alice.access, json!({"query": "b", "types": ["users"]})).await;
    assert_eq!(people.status, 200, "{}", people.text);
    let names: Vec<&str> = people.body["data"]["results"]["users"]
        .as_array()
        .expect("users")
        .iter()
        .filter_map(|u| u["username"].as_str())
        .collect();
    assert_eq!(names, vec!["bob", "robert"]);
    assert!(people.body["data"]["results"]["users"][0].get("email").is_none());
    let groups = advanced(&app, &alice.access, json!({"query": "quarterly", "types": ["chats"]})).await;
    assert_eq!(
        groups.body["data"]["results"]["chats"],
        json!([{"id": group.to_string(), "name": "Quarterly reports"}])
    );
    let robert = app.login("robert", crate::helpers::PASSWORD).await;
    let outsider = advanced(&app, &robert.access, json!({"query": "quarterly", "types": ["chats"]})).await;
    assert_eq!(outsider.body["data"]["results"]["chats"], json!([]));

    for bad in [
        json!({"query": "report", "types": ["everything"]}),
        json!({"query": "report", "limit": 0}),
        json!({"query": "report", "limit": 101}),
        json!({"query": "report", "offset": -1}),
        json!({"query": "report", "sortBy": "size"}),
        json!({"query": "report", "sortOrder": "sideways"}),
        json!({"query": "report", "dateFrom": "last tuesday"}),
        json!({"query": "report", "dateFrom": true}),
    ] {
        advanced(&app, &alice.access, bad.clone()).await.assert_nchat_error(400, "VALIDATION_ERROR");
    }
    advanced(&app, &alice.access, json!({"query": "report", "channelIds": ["x"]}))
        .await
        .assert_nchat_error(400, "BAD_REQUEST");
    advanced(&app, &alice.access, json!({"types": ["messages"]})).await.assert_nchat_error(400, "BAD_REQUEST");
    let reply = app.send(app.client.get(app.url("/api/search?q=report&limit=abc")).bearer_auth(&alice.access)).await;
    reply.assert_nchat_error(400, "BAD_REQUEST");
    app.stop().await;
}
