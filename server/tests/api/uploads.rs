//! Uploads: the announcement rules, the presigned PUT (tampering, expiry, size and type lies),
//! attaching to a message that reaches WebSocket clients, and downloads for members only.

use serde_json::{json, Value};

use crate::helpers::{pause, spawn_app, spawn_app_with, Backend, Reply, TestApp, Tokens};
use crate::on_both_backends;
use crate::ws_client::WsClient;

on_both_backends!(
    the_guides_upload_file_runs_as_written,
    announcements_are_checked,
    uploaded_file_is_attached_and_downloaded_by_members_only,
    tampered_or_expired_upload_urls_are_refused,
    uploads_that_lie_about_size_or_type_are_caught,
);

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

async fn announce(app: &TestApp, access: &str, body: Value) -> Reply {
    app.post_bearer("/api/upload", access, body).await
}

/// Announces a file and returns (fileId, uploadUrl), asserting 201.
async fn presigned(
    app: &TestApp,
    access: &str,
    content_type: &str,
    size: usize,
    chat: Option<i64>,
) -> (String, String) {
    let mut body = json!({"filename": "picture.png", "contentType": content_type, "size": size});
    if let Some(chat) = chat {
        body["channelId"] = json!(chat.to_string());
    }
    let reply = announce(app, access, body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let data = &reply.body["data"];
    assert_eq!(data["method"], "PUT");
    assert_eq!(data["headers"]["Content-Type"], content_type);
    // nchat's UploadInitResponse: where the bytes are kept, and until when the URL works.
    assert_eq!((&data["bucket"], &data["key"]), (&json!("uploads"), &data["fileId"]), "{}", reply.text);
    assert!(data["expiresAt"].as_str().is_some_and(|t| t.ends_with('Z')), "{}", reply.text);
    (data["fileId"].as_str().expect("fileId").into(), data["uploadUrl"].as_str().expect("uploadUrl").into())
}

async fn put(app: &TestApp, url: &str, content_type: &str, bytes: &[u8]) -> Reply {
    app.send(app.client.put(url).header("content-type", content_type).body(bytes.to_vec())).await
}

/// A chunked PUT (no Content-Length) over a raw socket; returns the response's status line.
async fn put_chunked(app: &TestApp, url: &str, chunks: &[&[u8]]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let target = url.strip_prefix(&app.base).expect("upload URL on this server");
    let mut socket = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://")).await.expect("connect");
    let head = format!(
        "PUT {target} HTTP/1.1\r\nHost: hearth\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let mut request = head.into_bytes();
    for chunk in chunks {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    // The server may answer and close before reading everything; that is the point.
    let _ = socket.write_all(&request).await;
    let mut response = Vec::new();
    let _ = socket.read_to_end(&mut response).await;
    String::from_utf8_lossy(&response).lines().next().unwrap_or_default().to_string()
}

async fn complete(app: &TestApp, access: &str, body: Value) -> Reply {
    app.post_bearer("/api/upload/complete", access, body).await
}

async fn download(app: &TestApp, access: Option<&str>, file_id: &str) -> reqwest::Response {
    let mut request = app.client.get(app.url(&format!("/api/files/{file_id}")));
    if let Some(access) = access {
        request = request.bearer_auth(access);
    }
    request.send().await.expect("download answers")
}

async fn trio(app: &TestApp) -> (Tokens, Tokens, Tokens, i64) {
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    let carol = app.signed_in("carol").await;
    let chat = app.create_chat(&alice.access, "bob").await;
    (alice, bob, carol, chat)
}

/// The guide's `uploadFile()`: announce, then send the file to `uploadUrl` with exactly the
/// `method` and `headers` of the answer (no token), and keep `fileId`.
async fn the_guides_upload_file_runs_as_written(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob, _carol, chat) = trio(&app).await;
    let file = b"meeting notes";
    let init = announce(
        &app,
        &alice.access,
        json!({"filename": "notes.txt", "contentType": "text/plain", "size": file.len()}),
    )
    .await;
    assert_eq!(init.status, 201, "{}", init.text);
    // `const { fileId, uploadUrl, method, headers } = await initResponse.json()`: the top level.
    let data = &init.body;
    let (file_id, upload_url, method) = (
        data["fileId"].as_str().expect("fileId"),
        data["uploadUrl"].as_str().expect("uploadUrl"),
        data["method"].as_str().expect("method"),
    );
    let mut upload = app.client.request(method.parse().expect("an HTTP method"), upload_url).body(file.to_vec());
    for (name, value) in data["headers"].as_object().expect("headers") {
        upload = upload.header(name.as_str(), value.as_str().expect("a header value"));
    }
    let uploaded = app.send(upload).await;
    assert!(uploaded.status.is_success(), "uploadResponse.ok: {}", uploaded.text);
    // The fileId it returns is the one the rest of the API knows.
    let done = complete(&app, &alice.access, json!({"fileId": file_id, "channelId": chat.to_string()})).await;
    assert_eq!(done.status, 200, "{}", done.text);
    let response = download(&app, Some(&bob.access), file_id).await;
    assert_eq!(response.bytes().await.expect("bytes").as_ref(), file);
    app.stop().await;
}

async fn announcements_are_checked(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, _bob, carol, chat) = trio(&app).await;

    // nchat's upload status, with Hearth's own limits.
    let status = app.get("/api/upload").await;
    assert_eq!(status.status, 200, "{}", status.text);
    let data = &status.body["data"];
    assert_eq!((&data["service"], &data["status"]), (&json!("upload"), &json!("available")), "{}", status.text);
    assert_eq!(data["config"]["maxFileSize"], "10 MB");
    assert_eq!(data["config"]["maxFileSizeBytes"], 10 * 1024 * 1024);
    assert_eq!(data["config"]["presignedUrlExpiry"], 900);
    assert!(data["config"]["allowedTypes"].as_array().expect("types").contains(&json!("image/png")));
    assert!(data["limits"].as_array().expect("limits").contains(&json!({"type": "image/png", "maxSize": "10 MB"})));

    let png = json!({"filename": "a.png", "contentType": "image/png", "size": 10});
    app.post("/api/upload", png.clone()).await.assert_nchat_error(401, "UNAUTHORIZED");
    // Refused announcements are 400 with nchat's codes (its spec documents only 400 here).
    let exe = json!({"filename": "a.exe", "contentType": "application/x-msdownload", "size": 10});
    let refused = announce(&app, &alice.access, exe).await;
    refused.assert_nchat_error(400, "INVALID_FILE_TYPE");
    assert_eq!(refused.body["details"]["field"], "contentType");
    let html = json!({"filename": "a.html", "contentType": "text/html", "size": 10});
    announce(&app, &alice.access, html).await.assert_nchat_error(400, "INVALID_FILE_TYPE");
    let huge = json!({"filename": "a.png", "contentType": "image/png", "size": 10 * 1024 * 1024 + 1});
    let refused = announce(&app, &alice.access, huge).await;
    refused.assert_nchat_error(400, "FILE_TOO_LARGE");
    assert_eq!(refused.body["details"]["field"], "size");
    let empty = json!({"filename": "a.png", "contentType": "image/png", "size": 0});
    announce(&app, &alice.access, empty).await.assert_nchat_error(400, "VALIDATION_ERROR");
    let sneaky = json!({"filename": "../../etc/passwd", "contentType": "text/plain", "size": 5});
    announce(&app, &alice.access, sneaky).await.assert_nchat_error(400, "VALIDATION_ERROR");
    announce(&app, &alice.access, json!({"filename": "a.png"})).await.assert_nchat_error(400, "BAD_REQUEST");
    let wrong_size = json!({"filename": "a.png", "contentType": "image/png", "size": "ten"});
    announce(&app, &alice.access, wrong_size).await.assert_nchat_error(400, "BAD_REQUEST");
    let bad_channel = json!({"filename": "a.png", "contentType": "image/png", "size": 10, "channelId": true});
    announce(&app, &alice.access, bad_channel).await.assert_nchat_error(400, "BAD_REQUEST");
    // nchat's ids are strings: one Hearth does not know names a chat the caller is not in.
    let unknown = json!({"filename": "a.png", "contentType": "image/png", "size": 10, "channelId": "channel-1"});
    announce(&app, &alice.access, unknown).await.assert_nchat_error(404, "NOT_FOUND");
    // `messageId` is accepted as nchat sends it, and ignored.
    let with_message = json!({"filename": "a.png", "contentType": "image/png", "size": 10, "messageId": "msg-1"});
    assert_eq!(announce(&app, &alice.access, with_message).await.status, 201);
    // A chat the caller is not in does not exist for them.
    let elsewhere = json!({"filename": "a.png", "contentType": "image/png", "size": 10, "channelId": chat});
    announce(&app, &carol.access, elsewhere).await.assert_nchat_error(404, "NOT_FOUND");
    // Parameters on the type are fine.
    presigned(&app, &alice.access, "image/png", 10, Some(chat)).await;
    let with_charset = json!({"filename": "notes.txt", "contentType": "text/plain; charset=utf-8", "size": 3});
    assert_eq!(announce(&app, &alice.access, with_charset).await.status, 201);
    app.stop().await;
}

async fn uploaded_file_is_attached_and_downloaded_by_members_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob, carol, chat) = trio(&app).await;
    let (mut bob_socket, _) = WsClient::signed_in(&app, &bob.access).await;
    bob_socket.send(json!({"type": "join_chat", "chatID": chat})).await;
    bob_socket.sync().await;

    let (file_id, url) = presigned(&app, &alice.access, "image/png", PNG.len(), Some(chat)).await;
    // Not uploaded yet: nothing to attach.
    complete(&app, &alice.access, json!({"fileId": file_id})).await.assert_nchat_error(409, "CONFLICT");
    let stored = put(&app, &url, "image/png", PNG).await;
    assert_eq!(stored.status, 200, "{}", stored.text);
    // Only the uploader may attach it.
    complete(&app, &bob.access, json!({"fileId": file_id})).await.assert_nchat_error(404, "NOT_FOUND");
    let done = complete(
        &app,
        &alice.access,
        json!({"fileId": file_id, "text": "Look!", "etag": "\"abc\"", "width": 1, "height": 1}),
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.text);
    let data = &done.body["data"];
    // nchat's attachment record, and the message it now belongs to.
    let record = &data["attachment"];
    assert_eq!(record["id"], file_id.as_str());
    assert_eq!((&record["filename"], &record["originalFilename"]), (&json!("picture.png"), &json!("picture.png")));
    assert_eq!((&record["mimeType"], &record["size"]), (&json!("image/png"), &json!(PNG.len())));
    assert_eq!((&record["category"], &record["url"]), (&json!("image"), &json!(format!("/api/files/{file_id}"))));
    assert_eq!((&record["width"], &record["height"]), (&json!(1), &json!(1)));
    assert_eq!(record["channelId"], chat.to_string());
    assert_eq!(record["messageId"], data["message"]["messageID"].to_string());
    assert!(record["uploadedBy"].as_str().is_some_and(|id| !id.is_empty()), "{}", done.text);
    assert_eq!(record["createdAt"], data["message"]["timestamp"]);
    assert_eq!(data["etag"], "\"abc\"");
    assert_eq!(data["message"]["chatID"], chat);
    let text = data["message"]["message"].as_str().expect("message text");
    assert!(text.starts_with("Look!\n") && text.contains("picture.png"), "{text}");

    let attachment = json!([{
        "fileId": file_id,
        "filename": "picture.png",
        "contentType": "image/png",
        "size": PNG.len(),
        "url": format!("/api/files/{file_id}"),
    }]);
    assert_eq!(data["message"]["attachments"], attachment);
    let live = bob_socket.recv_type("new_message").await;
    assert_eq!(live["messageID"], data["message"]["messageID"], "{live}");
    assert_eq!(live["message"], text);
    assert_eq!(live["attachments"], attachment);
    // The file can be fetched as soon as the message arrives.
    assert_eq!(download(&app, Some(&bob.access), &file_id).await.status(), 200);
    let history = app.messages(&bob.access, chat, json!({})).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["attachments"], attachment);
    // Edits keep the file; messages without files have no `attachments` at all.
    let (mut alice_socket, _) = WsClient::signed_in(&app, &alice.access).await;
    alice_socket.send(json!({"type": "join_chat", "chatID": chat})).await;
    let message_id = data["message"]["messageID"].clone();
    alice_socket.send(json!({"type": "edit_msg", "chatID": chat, "messageID": message_id, "text": "Edited"})).await;
    let edited = bob_socket.recv_type("edited_message").await;
    assert_eq!((edited["message"].as_str(), &edited["attachments"]), (Some("Edited"), &attachment), "{edited}");
    let plain = app.post_message(&bob.access, chat, "no files here").await;
    let newest = bob_socket.recv_type("new_message").await;
    assert_eq!(newest["messageID"], plain);
    assert!(newest.get("attachments").is_none(), "{newest}");
    complete(&app, &alice.access, json!({"fileId": file_id})).await.assert_nchat_error(409, "CONFLICT");

    let response = download(&app, Some(&bob.access), &file_id).await;
    assert_eq!(response.status(), 200);
    let header =
        |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert_eq!(header("content-type"), "image/png");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(header("content-disposition").starts_with("attachment; filename=\"picture.png\""));
    assert_eq!(response.bytes().await.expect("bytes").as_ref(), PNG);

    let stranger = download(&app, Some(&carol.access), &file_id).await;
    assert_eq!(stranger.status(), 404);
    let body: Value = stranger.json().await.expect("json");
    assert_eq!(body["code"], "NOT_FOUND");
    assert_eq!(download(&app, None, &file_id).await.status(), 401);
    assert_eq!(download(&app, Some(&bob.access), "not-a-file").await.status(), 404);
    assert_eq!(download(&app, Some(&bob.access), &"0".repeat(32)).await.status(), 404);

    // Announced without a chat: attached wherever the uploader names, if they are in it.
    let (loose, url) = presigned(&app, &alice.access, "text/plain", 5, None).await;
    assert_eq!(put(&app, &url, "text/plain", b"hello").await.status, 200);
    complete(&app, &alice.access, json!({"fileId": loose})).await.assert_nchat_error(400, "VALIDATION_ERROR");
    let carol_chat = app.create_chat(&carol.access, "bob").await;
    complete(&app, &alice.access, json!({"fileId": loose, "chatID": carol_chat}))
        .await
        .assert_nchat_error(404, "NOT_FOUND");
    complete(&app, &alice.access, json!({"fileId": loose, "channelId": "channel-1"}))
        .await
        .assert_nchat_error(404, "NOT_FOUND");
    complete(&app, &alice.access, json!({"fileId": loose, "channelId": chat, "duration": -1}))
        .await
        .assert_nchat_error(400, "VALIDATION_ERROR");
    let done = complete(&app, &alice.access, json!({"fileId": loose, "channelId": chat.to_string()})).await;
    assert_eq!(done.status, 200, "{}", done.text);
    let response = download(&app, Some(&bob.access), &loose).await;
    assert_eq!(response.bytes().await.expect("bytes").as_ref(), b"hello");
    app.stop().await;
}

async fn tampered_or_expired_upload_urls_are_refused(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.upload_url_ttl_secs = 2).await;
    let alice = app.signed_in("alice").await;
    let (file_id, url) = presigned(&app, &alice.access, "image/png", PNG.len(), None).await;
    let (_, other_url) = presigned(&app, &alice.access, "image/png", PNG.len(), None).await;
    let signature = url.split("signature=").nth(1).expect("signature").to_string();
    let expires: i64 =
        url.split("expires=").nth(1).and_then(|r| r.split('&').next()).and_then(|e| e.parse().ok()).expect("expires");
    let flipped = format!("{}{}", if signature.starts_with('0') { "1" } else { "0" }, &signature[1..]);
    let other_id = other_url.split("/api/upload/").nth(1).and_then(|r| r.split('?').next()).expect("id");
    for tampered in [
        url.replace(&signature, &flipped),
        url.replace(&format!("expires={expires}"), &format!("expires={}", expires + 3_600_000)),
        url.replace(&file_id, other_id),
        url.split('?').next().expect("path").to_string(),
        format!("{}?expires={expires}", url.split('?').next().expect("path")),
        url.replace(&file_id, "nope"),
    ] {
        put(&app, &tampered, "image/png", PNG).await.assert_nchat_error(403, "FORBIDDEN");
    }
    assert_eq!(put(&app, &url, "image/png", PNG).await.status, 200);
    // One PUT per URL.
    put(&app, &url, "image/png", PNG).await.assert_nchat_error(409, "CONFLICT");

    pause(2_200).await;
    put(&app, &other_url, "image/png", PNG).await.assert_nchat_error(403, "FORBIDDEN");
    app.stop().await;
}

async fn uploads_that_lie_about_size_or_type_are_caught(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    let chat = app.create_chat(&alice.access, "bob").await;

    let (too_much, url) = presigned(&app, &alice.access, "image/png", 10, Some(chat)).await;
    put(&app, &url, "image/png", PNG).await.assert_nchat_error(413, "FILE_TOO_LARGE");
    let (_, url) = presigned(&app, &alice.access, "image/png", PNG.len() + 10, Some(chat)).await;
    put(&app, &url, "image/png", PNG).await.assert_nchat_error(400, "VALIDATION_ERROR");

    // The PUT names another type than the one signed.
    let (_, url) = presigned(&app, &alice.access, "image/png", PNG.len(), Some(chat)).await;
    put(&app, &url, "text/html", PNG).await.assert_nchat_error(415, "INVALID_FILE_TYPE");
    assert_eq!(put(&app, &url, "image/png; charset=binary", PNG).await.status, 200);

    let lies: [(&str, &[u8]); 6] = [
        ("image/png", b"GIF89a\x01\0\x01\0\0\0\0;"),
        ("image/jpeg", PNG),
        ("application/pdf", b"<!DOCTYPE html><script>alert(1)</script>"),
        ("text/plain", b"<html><body onload=alert(1)></body></html>"),
        ("text/plain", b"MZ\x90\0\x03\0\0\0\x04\0\0\0"),
        ("application/zip", b"\x7fELF\x02\x01\x01\0"),
    ];
    for (content_type, bytes) in lies {
        let (file_id, url) = presigned(&app, &alice.access, content_type, bytes.len(), Some(chat)).await;
        put(&app, &url, content_type, bytes).await.assert_nchat_error(415, "INVALID_FILE_TYPE");
        // Nothing was kept, so nothing can be attached or downloaded.
        complete(&app, &alice.access, json!({"fileId": file_id})).await.assert_nchat_error(409, "CONFLICT");
        assert_eq!(download(&app, Some(&alice.access), &file_id).await.status(), 404);
    }
    complete(&app, &alice.access, json!({"fileId": too_much})).await.assert_nchat_error(409, "CONFLICT");

    assert!(app.message_texts(&bob.access, chat, json!({})).await.is_empty());

    // Without a Content-Length the cap still holds: the stream is cut at the declared size.
    let (streamed, url) = presigned(&app, &alice.access, "text/plain", 10, Some(chat)).await;
    let status = put_chunked(&app, &url, &[b"0123456789", b"0123456789", b"0123456789"]).await;
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
    complete(&app, &alice.access, json!({"fileId": streamed})).await.assert_nchat_error(409, "CONFLICT");
    let (streamed, url) = presigned(&app, &alice.access, "text/plain", 10, Some(chat)).await;
    let status = put_chunked(&app, &url, &[b"01234", b"56789"]).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert_eq!(complete(&app, &alice.access, json!({"fileId": streamed})).await.status, 200);
    app.stop().await;
}
