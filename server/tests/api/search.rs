//! Search: nchat's typed results list, only the caller's chats, never deleted messages, FTS
//! syntax in queries is just text, filters (nchat's string ids too), sorting and pages; files by
//! name, people by username and groups as channels; anonymous callers find nothing.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, Backend, Reply, TestApp};
use crate::on_both_backends;
use crate::ws_client::WsClient;

on_both_backends!(
    the_guides_search_messages_runs_as_written,
    search_never_leaks_other_chats_or_deleted_messages,
    fts_syntax_in_queries_is_plain_text,
    advanced_search_filters_sorts_and_pages,
    files_people_and_channels_are_typed_results_in_one_list,
);

const PDF: &[u8] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n";

async fn quick(app: &TestApp, access: &str, query: &str) -> Reply {
    let url = reqwest::Url::parse_with_params(&app.url("/api/search"), &[("q", query)]).expect("url");
    app.send(app.client.get(url).bearer_auth(access)).await
}

async fn advanced(app: &TestApp, access: &str, body: Value) -> Reply {
    app.post_bearer("/api/search", access, body).await
}

/// The results of either route (`items` of GET, `results` of POST).
fn results(reply: &Reply) -> Vec<Value> {
    assert_eq!(reply.status, 200, "{}", reply.text);
    let data = &reply.body["data"];
    data.get("results").or_else(|| data.get("items")).and_then(Value::as_array).expect("a results list").clone()
}

/// The contents of the message results.
fn contents(reply: &Reply) -> Vec<String> {
    results(reply)
        .iter()
        .filter(|item| item["type"] == "messages")
        .map(|m| m["content"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The guide's `searchMessages()`: no token, `data.results` read as a list. Nothing is public,
/// so an anonymous caller finds nothing, whatever matches for members.
async fn the_guides_search_messages_runs_as_written(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.signed_in("alice").await;
    app.signed_in("bob").await;
    let chat = app.create_chat(&alice.access, "bob").await;
    app.post_message(&alice.access, chat, "project update: all green").await;

    let body = json!({"query": "project update", "types": ["messages"], "channelIds": [chat.to_string()], "limit": 50});
    let anonymous = app.post("/api/search", body.clone()).await;
    assert_eq!(anonymous.status, 200, "{}", anonymous.text);
    // `const data = await response.json(); return data.results`: the top level, a list.
    assert_eq!(anonymous.body["results"], json!([]), "{}", anonymous.text);
    assert_eq!(anonymous.body["data"]["totals"]["total"], 0);
    // The same search with the member's token finds the message (so the empty list means something).
    let member = advanced(&app, &alice.access, body).await;
    assert_eq!(contents(&member), vec!["project update: all green"]);
    assert_eq!(member.body["results"], member.body["data"]["results"], "{}", member.text);
    // nchat's ids as the guide shows them: unknown to Hearth, so they match no chat.
    let theirs = app.post("/api/search", json!({"query": "project", "channelIds": ["channel-1"]})).await;
    assert_eq!((theirs.status.as_u16(), &theirs.body["data"]["results"]), (200, &json!([])), "{}", theirs.text);
    let quick_anonymous = app.get("/api/search?q=project").await;
    assert_eq!(quick_anonymous.status, 200, "{}", quick_anonymous.text);
    assert_eq!(quick_anonymous.body["data"]["items"], json!([]));
    // Anonymous callers still get the same 400s.
    app.post("/api/search", json!({"query": "x"})).await.assert_nchat_error(400, "VALIDATION_ERROR");
    app.get("/api/search?q=").await.assert_nchat_error(400, "VALIDATION_ERROR");
    // A token that does not work is refused, not read as anonymous.
    advanced(&app, "not-a-token", json!({"query": "project"})).await.assert_nchat_error(401, "INVALID_TOKEN");
    app.stop().await;
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

    quick(&app, &alice.access, "   ").await.assert_nchat_error(400, "VALIDATION_ERROR");
    quick(&app, &alice.access, "f").await.assert_nchat_error(400, "VALIDATION_ERROR");
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
        "\"\"",
        "\"unbalanced",
        "**",
        "fox*",
        "a:b",
        "-fox",
        "NEAR(deploy fox)",
        "NEAR",
        "((",
        "))",
        "deploy OR",
        "AND",
        "NOT",
        "''",
        "\\\\",
        "%%",
        "__",
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
    let bob = app.signed_in("bob").await;
    app.signed_in("robert").await;
    let chat = app.create_chat(&alice.access, "bob").await;
    let group = app.create_group(&alice.access, "Quarterly reports", &["bob"]).await;
    for n in 1..=5 {
        app.post_message(&alice.access, chat, &format!("report number {n}")).await;
    }
    app.post_message(&alice.access, group, "report report report for the group").await;
    app.post_message(&bob.access, chat, "bob's report").await;

    let page = advanced(
        &app,
        &alice.access,
        json!({"query": "number", "types": ["messages"], "channelIds": [chat], "limit": 2}),
    )
    .await;
    assert_eq!(contents(&page).len(), 2);
    let data = &page.body["data"];
    assert_eq!(data["pagination"], json!({"total": 5, "limit": 2, "offset": 0, "hasMore": true}));
    assert_eq!(data["totals"], json!({"messages": 5, "files": 0, "users": 0, "channels": 0, "total": 5}));
    assert_eq!((&data["types"], &data["query"]), (&json!(["messages"]), &json!("number")));
    // Each message result in nchat's SearchResultItem shape.
    let first = &results(&page)[0];
    assert_eq!((&first["type"], &first["channelId"]), (&json!("messages"), &json!(chat.to_string())), "{first}");
    assert_eq!((&first["title"], &first["userName"]), (&json!("Message from alice"), &json!("alice")), "{first}");
    assert_eq!(first["channelName"], "bob", "a private chat is named after the other member: {first}");
    assert!(first["id"].as_str().is_some() && first["createdAt"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(first["snippet"], first["content"]);

    let oldest_first = advanced(
        &app,
        &alice.access,
        json!({"query": "number", "types": ["messages"], "channelIds": [chat.to_string()], "sortBy": "date", "sortOrder": "asc", "limit": 2, "offset": 4}),
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
    assert_eq!(contents(&newest_first).first().map(String::as_str), Some("bob's report"));
    // Best match first: the message saying "report" three times.
    let ranked = advanced(&app, &alice.access, json!({"query": "report", "types": ["messages"]})).await;
    assert_eq!(contents(&ranked).first().map(String::as_str), Some("report report report for the group"));
    // By author; an author Hearth does not know wrote nothing.
    let bob_id = results(&newest_first)[0]["userId"].clone();
    let by_bob =
        advanced(&app, &alice.access, json!({"query": "report", "types": ["messages"], "userIds": [bob_id]})).await;
    assert_eq!(contents(&by_bob), vec!["bob's report"]);
    let by_nobody =
        advanced(&app, &alice.access, json!({"query": "report", "types": ["messages"], "userIds": ["user-123"]})).await;
    assert!(contents(&by_nobody).is_empty());
    // Known and unknown ids together: the known ones count.
    let mixed = advanced(
        &app,
        &alice.access,
        json!({"query": "report", "types": ["messages"], "channelIds": ["channel-1", group]}),
    )
    .await;
    assert_eq!(contents(&mixed), vec!["report report report for the group"]);
    let everywhere =
        advanced(&app, &alice.access, json!({"query": "report", "types": ["messages"], "channelIds": []})).await;
    assert_eq!(contents(&everywhere).len(), 7, "an empty list filters nothing");

    // The guide's dates: plain days.
    let future = advanced(&app, &alice.access, json!({"query": "report", "dateFrom": "2999-01-01"})).await;
    assert!(contents(&future).is_empty());
    let past = advanced(&app, &alice.access, json!({"query": "report", "dateTo": "2000-01-01"})).await;
    assert!(contents(&past).is_empty());
    let window = advanced(
        &app,
        &alice.access,
        json!({"query": "report", "dateFrom": "2024-01-01", "dateTo": "2999-12-31T23:59:59.999+02:00"}),
    )
    .await;
    assert_eq!(contents(&window).len(), 7);
    let guide = advanced(
        &app,
        &alice.access,
        json!({"query": "report number", "types": ["messages", "files"], "channelIds": [chat.to_string()],
               "dateFrom": "2024-01-01", "dateTo": "2999-12-31", "sortBy": "date", "sortOrder": "desc"}),
    )
    .await;
    assert_eq!(contents(&guide).first().map(String::as_str), Some("report number 5"));
    assert_eq!(guide.body["data"]["types"], json!(["messages", "files"]));

    for bad in [
        json!({"query": "report", "types": ["everything"]}),
        json!({"query": "r"}),
        json!({"query": "report", "limit": 0}),
        json!({"query": "report", "limit": 101}),
        json!({"query": "report", "offset": -1}),
        json!({"query": "report", "sortBy": "size"}),
        json!({"query": "report", "sortOrder": "sideways"}),
        json!({"query": "report", "dateFrom": "last tuesday"}),
        json!({"query": "report", "dateFrom": true}),
        json!({"query": "report", "dateFrom": "2024-02-01", "dateTo": "2024-01-01"}),
        json!({"query": "report", "channelIds": (0..101).collect::<Vec<i64>>()}),
    ] {
        advanced(&app, &alice.access, bad.clone()).await.assert_nchat_error(400, "VALIDATION_ERROR");
    }
    for bad in [
        json!({"query": "report", "channelIds": [true]}),
        json!({"query": "report", "channelIds": "channel-1"}),
        json!({"query": "report", "types": "messages"}),
        json!({"types": ["messages"]}),
        json!({"query": 5}),
    ] {
        advanced(&app, &alice.access, bad).await.assert_nchat_error(400, "BAD_REQUEST");
    }
    let reply = app.send(app.client.get(app.url("/api/search?q=report&limit=abc")).bearer_auth(&alice.access)).await;
    reply.assert_nchat_error(400, "BAD_REQUEST");
    app.stop().await;
}

async fn files_people_and_channels_are_typed_results_in_one_list(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    app.signed_in("robert").await;
    let carol = app.signed_in("carol").await;
    let group = app.create_group(&alice.access, "Quarterly reports", &["bob"]).await;
    app.post_message(&alice.access, group, "quarterly numbers are in").await;
    // A file attached in the group.
    let init = app
        .post_bearer(
            "/api/upload",
            &alice.access,
            json!({"filename": "Quarterly report.pdf", "contentType": "application/pdf", "size": PDF.len(), "channelId": group.to_string()}),
        )
        .await;
    assert_eq!(init.status, 201, "{}", init.text);
    let file_id = init.body["data"]["fileId"].as_str().expect("fileId").to_string();
    let url = init.body["data"]["uploadUrl"].as_str().expect("uploadUrl").to_string();
    let put = app.send(app.client.put(&url).header("content-type", "application/pdf").body(PDF.to_vec())).await;
    assert_eq!(put.status, 200, "{}", put.text);
    let done = app.post_bearer("/api/upload/complete", &alice.access, json!({"fileId": file_id})).await;
    assert_eq!(done.status, 200, "{}", done.text);

    // Files by name, for members of the chat only.
    let files = advanced(&app, &bob.access, json!({"query": "quarterly", "types": ["files"]})).await;
    let found = results(&files);
    assert_eq!(found.len(), 1, "{}", files.text);
    assert_eq!(
        (&found[0]["type"], &found[0]["id"], &found[0]["title"]),
        (&json!("files"), &json!(file_id), &json!("Quarterly report.pdf"))
    );
    assert_eq!((&found[0]["channelId"], &found[0]["userName"]), (&json!(group.to_string()), &json!("alice")));
    assert_eq!(found[0]["metadata"]["mimeType"], "application/pdf");
    assert_eq!(found[0]["metadata"]["size"], PDF.len());
    assert_eq!(found[0]["metadata"]["url"], format!("/api/files/{file_id}"));
    assert!(results(&advanced(&app, &carol.access, json!({"query": "quarterly", "types": ["files"]})).await).is_empty());

    // People by username (never by address); groups as channels.
    let people = advanced(&app, &alice.access, json!({"query": "ob", "types": ["users"]})).await;
    let people = results(&people);
    let names: Vec<&str> = people.iter().filter_map(|u| u["metadata"]["username"].as_str()).collect();
    assert_eq!(names, vec!["bob", "robert"]);
    assert!(people.iter().all(|u| u["type"] == "users" && u.get("content").is_none()), "{people:?}");
    let channels = results(&advanced(&app, &alice.access, json!({"query": "quarterly", "types": ["channels"]})).await);
    assert_eq!(channels.len(), 1);
    assert_eq!((&channels[0]["type"], &channels[0]["title"]), (&json!("channels"), &json!("Quarterly reports")));
    assert_eq!((&channels[0]["id"], &channels[0]["metadata"]["memberCount"]), (&json!(group.to_string()), &json!(2)));
    let hearths = advanced(&app, &alice.access, json!({"query": "quarterly", "types": ["chats"]})).await;
    assert_eq!(hearths.body["data"]["types"], json!(["channels"]), "Hearth's own name for them still works");
    assert!(
        results(&advanced(&app, &carol.access, json!({"query": "quarterly", "types": ["channels"]})).await).is_empty()
    );

    // Every type, one list: each type's results in turn, paged as a whole.
    let all =
        advanced(&app, &alice.access, json!({"query": "quarterly", "types": ["channels", "files", "messages"]})).await;
    let kinds: Vec<String> = results(&all).iter().map(|r| r["type"].as_str().unwrap_or_default().to_string()).collect();
    // Two messages: the one saying it, and the one carrying the file (its note names the file).
    assert_eq!(kinds, vec!["channels", "files", "messages", "messages"]);
    assert_eq!(all.body["data"]["totals"], json!({"messages": 2, "files": 1, "users": 0, "channels": 1, "total": 4}));
    let second = advanced(
        &app,
        &alice.access,
        json!({"query": "quarterly", "types": ["channels", "files", "messages"], "limit": 1, "offset": 1}),
    )
    .await;
    assert_eq!(results(&second).len(), 1);
    assert_eq!(results(&second)[0]["type"], "files");
    assert_eq!(second.body["data"]["pagination"], json!({"total": 4, "limit": 1, "offset": 1, "hasMore": true}));
    let past_the_end = advanced(
        &app,
        &alice.access,
        json!({"query": "quarterly", "types": ["channels", "files", "messages"], "offset": 4}),
    )
    .await;
    assert!(results(&past_the_end).is_empty());
    assert_eq!(past_the_end.body["data"]["totals"]["total"], 4, "the totals still tell where the end is");

    // The quick search: every type, nchat's SearchResults with pages.
    let quick_all = quick(&app, &alice.access, "quarterly").await;
    let data = &quick_all.body["data"];
    assert_eq!(
        (&data["total"], &data["page"], &data["limit"], &data["hasMore"]),
        (&json!(4), &json!(1), &json!(20), &json!(false))
    );
    let kinds: Vec<&str> = data["items"].as_array().expect("items").iter().filter_map(|r| r["type"].as_str()).collect();
    assert_eq!(kinds, vec!["messages", "messages", "files", "channels"]);
    let page_two =
        app.send(app.client.get(app.url("/api/search?q=quarterly&limit=2&page=2")).bearer_auth(&alice.access)).await;
    let kinds: Vec<String> =
        results(&page_two).iter().map(|r| r["type"].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(kinds, vec!["files", "channels"]);
    assert_eq!(
        page_two.body["data"]["pagination"],
        json!({"total": 4, "page": 2, "limit": 2, "totalPages": 2, "hasNext": false, "hasPrev": true})
    );
    app.send(app.client.get(app.url("/api/search?q=quarterly&page=0")).bearer_auth(&alice.access))
        .await
        .assert_nchat_error(400, "VALIDATION_ERROR");

    // A file whose message is deleted is gone from search.
    let message_id = done.body["data"]["message"]["messageID"].clone();
    let (mut socket, _) = WsClient::signed_in(&app, &alice.access).await;
    socket.send(json!({"type": "join_chat", "chatID": group})).await;
    socket.send(json!({"type": "delete_msg", "chatID": group, "messageID": message_id})).await;
    socket.recv_type("deleted_message").await;
    assert!(results(&advanced(&app, &bob.access, json!({"query": "quarterly", "types": ["files"]})).await).is_empty());
    app.stop().await;
}
