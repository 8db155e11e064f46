//! `/api/*` rate limits: headers on every answer, 429 in nchat's envelope with `Retry-After`,
//! per user when signed in, per address otherwise, and one count across nodes sharing PostgreSQL.

use serde_json::json;

use crate::helpers::{spawn_app_with, Backend, Reply, PASSWORD};
use crate::on_both_backends;

fn header(reply: &Reply, name: &str) -> i64 {
    reply
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no numeric {name} on {} {}", reply.status, reply.text))
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

async fn every_answer_carries_the_limit_and_the_excess_gets_429(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.api_limit = 3).await;
    for remaining in [2, 1, 0] {
        let reply = app.get("/api/health").await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(header(&reply, "x-ratelimit-limit"), 3);
        assert_eq!(header(&reply, "x-ratelimit-remaining"), remaining);
        let reset = header(&reply, "x-ratelimit-reset");
        assert!((now_secs()..=now_secs() + 61).contains(&reset), "reset {reset} is Unix seconds within the window");
    }
    let refused = app.get("/api/config").await;
    refused.assert_nchat_error(429, "RATE_LIMIT_EXCEEDED");
    assert_eq!(refused.body["error"], "Rate limit exceeded. Please try again later.");
    assert_eq!(header(&refused, "x-ratelimit-remaining"), 0);
    let retry_after = header(&refused, "retry-after");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    // Unknown routes count too, and are refused the same way (no probing for free).
    app.get("/api/nope").await.assert_nchat_error(429, "RATE_LIMIT_EXCEEDED");
    // Other surfaces are not limited by this layer.
    let chatcli = app.post("/verify-connection", json!({})).await;
    assert!(chatcli.headers.get("x-ratelimit-limit").is_none());
    app.stop().await;
}

async fn signed_in_users_count_apart_from_their_address(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.api_limit = 2).await;
    let alice = app.signed_in("alice").await.access;
    let bob = app.signed_in("bob").await.access;
    for _ in 0..2 {
        assert_eq!(app.get("/api/health").await.status, 200);
    }
    app.get("/api/health").await.assert_nchat_error(429, "RATE_LIMIT_EXCEEDED");
    // Same address, but signed in: each user has their own count.
    for token in [&alice, &alice, &bob, &bob] {
        let reply = app.send(app.client.get(app.url("/api/config")).bearer_auth(token)).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let alice_again = app.send(app.client.get(app.url("/api/config")).bearer_auth(&alice)).await;
    alice_again.assert_nchat_error(429, "RATE_LIMIT_EXCEEDED");
    // A forged token counts as the address, which is used up.
    let forged = app.send(app.client.get(app.url("/api/config")).bearer_auth("not.a.token")).await;
    forged.assert_nchat_error(429, "RATE_LIMIT_EXCEEDED");
    app.stop().await;
}

async fn auth_routes_use_the_auth_limit(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.api_limit = 1000;
        c.auth_limit_per_ip = 2;
    })
    .await;
    for _ in 0..2 {
        let reply = app.post("/api/auth/signin", json!({"email": "nobody", "password": PASSWORD})).await;
        assert_eq!(header(&reply, "x-ratelimit-limit"), 2, "{}", reply.text);
    }
    let refused = app.post("/api/auth/signin", json!({"email": "nobody", "password": PASSWORD})).await;
    refused.assert_nchat_error(429, "RATE_LIMIT_EXCEEDED");
    assert!(refused.headers.contains_key("retry-after"));
    // Other /api routes have their own count.
    assert_eq!(app.get("/api/health").await.status, 200);
    app.stop().await;
}

async fn uploads_and_webhooks_have_their_own_counts(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.api_limit = 1000;
        c.api_limit_upload = 1;
        c.api_limit_webhook = 2;
    })
    .await;
    let upload = app.get("/api/upload").await;
    assert_eq!(header(&upload, "x-ratelimit-limit"), 1, "{}", upload.text);
    assert_ne!(upload.status, 429);
    app.get("/api/upload").await.assert_nchat_error(429, "RATE_LIMIT_EXCEEDED");
    // Per webhook, whatever the answer (these webhooks do not exist).
    for _ in 0..2 {
        let reply = app.get("/api/webhook/41/some-token").await;
        assert_eq!(header(&reply, "x-ratelimit-limit"), 2, "{}", reply.text);
        assert_ne!(reply.status, 429);
    }
    app.get("/api/webhook/41").await.assert_nchat_error(429, "RATE_LIMIT_EXCEEDED");
    assert_ne!(app.get("/api/webhook/42/other").await.status, 429, "another webhook counts apart");
    assert_eq!(app.get("/api/health").await.status, 200);
    app.stop().await;
}

on_both_backends!(
    every_answer_carries_the_limit_and_the_excess_gets_429,
    signed_in_users_count_apart_from_their_address,
    auth_routes_use_the_auth_limit,
    uploads_and_webhooks_have_their_own_counts,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_sharing_postgres_share_one_count() {
    use hearth::config::RateLimitStore;
    // A long window, so the test never straddles two (shared windows follow the clock).
    let first = spawn_app_with(Backend::Postgres, |c| {
        c.api_limit = 4;
        c.api_limit_window_secs = 3600;
        c.rate_limit_shared = RateLimitStore::Database;
    })
    .await;
    let shared_database = first.database_url.clone();
    let second = spawn_app_with(Backend::Postgres, |c| {
        c.storage.database_url = Some(shared_database.clone());
        c.api_limit = 4;
        c.api_limit_window_secs = 3600;
        c.rate_limit_shared = RateLimitStore::Database;
    })
    .await;
    let expected = [(&first, 3), (&second, 2), (&first, 1), (&second, 0)];
    for (node, remaining) in expected {
        let reply = node.get("/api/health").await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(header(&reply, "x-ratelimit-remaining"), remaining, "one count across both nodes");
    }
    first.get("/api/health").await.assert_nchat_error(429, "RATE_LIMIT_EXCEEDED");
    second.get("/api/health").await.assert_nchat_error(429, "RATE_LIMIT_EXCEEDED");

    // Without sharing, a node counts alone.
    let alone = spawn_app_with(Backend::Postgres, |c| {
        c.storage.database_url = Some(shared_database.clone());
        c.api_limit = 4;
    })
    .await;
    assert_eq!(alone.get("/api/health").await.status, 200);
    alone.stop().await;
    second.stop().await;
    first.stop().await;
}
