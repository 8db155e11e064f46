//! `/api/health`, `/api/ready` (GET and HEAD) and `/api/metrics` (real Prometheus text).

use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp};
use crate::on_both_backends;
use crate::ws_client::WsClient;

/// The value of one sample line (`name{labels} value`), or None when absent.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

async fn metrics(app: &TestApp) -> String {
    let reply = app.get("/api/metrics").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.headers["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    reply.text
}

async fn health_and_readiness_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let health = app.get("/api/health").await;
    assert_eq!(health.status, 200, "{}", health.text);
    assert_eq!(health.body["success"], true);
    let data = &health.body["data"];
    assert_eq!(data["status"], "healthy");
    assert!(data["uptime"].as_f64().is_some_and(|u| u >= 0.0), "{}", health.text);
    assert_eq!(data["version"], env!("CARGO_PKG_VERSION"));
    assert!(data["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert!(["development", "production"].contains(&data["environment"].as_str().unwrap_or_default()));
    // nchat's handler: never cached, and how long it took.
    assert_eq!(health.headers["cache-control"], "no-cache");
    assert!(health.headers["x-response-time"].to_str().is_ok_and(|t| t.ends_with("ms")), "{:?}", health.headers);
    app.post("/api/health", json!({})).await.assert_nchat_error(405, "METHOD_NOT_ALLOWED");

    // The spec's check names; the test server mails through a real SMTP listener, checked too.
    let ready = app.get("/api/ready").await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    assert_eq!(ready.body["data"]["ready"], true);
    assert_eq!(ready.body["ready"], true, "the spec's fields at the top level too");
    assert!(ready.body["data"]["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    let checks = ready.body["data"]["checks"].as_array().expect("checks").clone();
    let names: Vec<&str> = checks.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, ["graphql", "auth", "config"]);
    assert!(checks.iter().all(|c| c["ready"] == true), "{}", ready.text);
    assert_eq!(checks[0]["message"], "database: ok");
    assert_eq!(checks[1]["message"], "smtp: ok");
    let head = app.send(app.client.head(app.url("/api/ready"))).await;
    assert_eq!(head.status, 200);
    assert!(head.text.is_empty());
    app.stop().await;
}

async fn readiness_names_what_is_down(backend: Backend) {
    // Nothing listens on port 9 of the loopback: the SMTP check fails at once.
    let app = spawn_app_with(backend, |c| c.smtp_url = Some("smtp://127.0.0.1:9".into())).await;
    let ready = app.get("/api/ready").await;
    ready.assert_nchat_error(503, "SERVICE_UNAVAILABLE");
    assert!(ready.body["error"].as_str().unwrap().contains("auth"), "{}", ready.text);
    // The spec's readiness fields at the top level, the same in `details`.
    assert_eq!(ready.body["ready"], false, "{}", ready.text);
    assert_eq!(ready.body["details"]["ready"], false);
    assert_eq!(ready.body["checks"], ready.body["details"]["checks"]);
    let checks = ready.body["checks"].as_array().expect("checks").clone();
    assert_eq!((checks[0]["name"].as_str(), checks[0]["ready"].as_bool()), (Some("graphql"), Some(true)));
    assert_eq!((checks[1]["name"].as_str(), checks[1]["ready"].as_bool()), (Some("auth"), Some(false)));
    assert!(checks[1]["message"].as_str().unwrap_or_default().starts_with("smtp: "), "{}", ready.text);
    assert_eq!(checks[2]["ready"], true);
    // HEAD is nchat's quick probe: the process answers.
    let head = app.send(app.client.head(app.url("/api/ready"))).await;
    assert_eq!(head.status, 200);
    // Health only says the process answers.
    assert_eq!(app.get("/api/health").await.status, 200);
    app.stop().await;
}

async fn metrics_count_real_traffic(backend: Backend) {
    let app = spawn_app(backend).await;
    for _ in 0..3 {
        assert_eq!(app.get("/api/health").await.status, 200);
    }
    assert_eq!(app.get("/api/nope/12345").await.status, 404);
    let alice = app.signed_in("alice").await;
    app.signed_in("bob").await;
    let chat = app.create_chat(&alice.access, "bob").await;
    let (mut socket, _) = WsClient::signed_in(&app, &alice.access).await;
    socket.send(json!({"type": "join_chat", "chatID": chat})).await;
    socket.sync().await;
    app.post_message(&alice.access, chat, "counted").await;
    socket.recv_type("new_message").await;

    let text = metrics(&app).await;
    let health = r#"hearth_http_requests_total{route="/api/health",method="GET",status="200"}"#;
    assert_eq!(sample(&text, health), Some(3.0), "{text}");
    assert!(
        sample(&text, r#"hearth_http_requests_total{route="unmatched",method="GET",status="404"}"#).is_some(),
        "{text}"
    );
    assert!(!text.contains("12345"), "raw paths never become labels");
    let bucket = r#"hearth_http_request_duration_seconds_bucket{route="/api/health",method="GET",le="+Inf"}"#;
    assert_eq!(sample(&text, bucket), Some(3.0), "{text}");
    assert!(text.contains("# TYPE hearth_http_request_duration_seconds histogram"));
    assert_eq!(sample(&text, "hearth_websocket_connections"), Some(1.0), "{text}");
    assert!(sample(&text, "hearth_messages_posted_total").is_some_and(|n| n >= 1.0), "{text}");
    assert!(sample(&text, "hearth_events_delivered_total").is_some_and(|n| n >= 1.0), "{text}");
    assert!(sample(&text, "hearth_db_pool_connections").is_some_and(|n| n >= 1.0), "{text}");
    assert!(sample(&text, "hearth_db_pool_idle_connections").is_some(), "{text}");

    drop(socket);
    let mut open = 1.0;
    for _ in 0..50 {
        open = sample(&metrics(&app).await, "hearth_websocket_connections").unwrap_or(-1.0);
        if open == 0.0 {
            break;
        }
        crate::helpers::pause(50).await;
    }
    assert_eq!(open, 0.0, "closed sockets leave the gauge");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_checks_nats_when_configured() {
    let nats = std::env::var("HEARTH_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let app = spawn_app_with(Backend::Sqlite, |c| c.nats_url = Some(nats)).await;
    let ready = app.get("/api/ready").await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    let checks = ready.body["data"]["checks"].as_array().expect("checks").clone();
    assert_eq!(checks[0]["name"], "graphql");
    assert_eq!(checks[0]["message"], "database: ok; nats: ok", "{}", ready.text);
    app.stop().await;
}

on_both_backends!(health_and_readiness_answer, readiness_names_what_is_down, metrics_count_real_traffic);
